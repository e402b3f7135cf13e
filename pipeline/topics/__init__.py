"""Topics: taxonomies, guided assignment, discovery of new topics."""
