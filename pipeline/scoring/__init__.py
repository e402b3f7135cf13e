"""Batch scoring (`voc score`): the local job, its manifest, the Ray engine, class-mix adaptation."""
