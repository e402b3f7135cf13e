"""Classifiers, their features and calibration, model bundles and prediction."""
