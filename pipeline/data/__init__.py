"""Reading and writing posts, the labelled datasets and training sources."""
