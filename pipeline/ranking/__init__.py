"""Ranking (`voc rank`): the statistics of which topics to fix first, and the HTML report."""
