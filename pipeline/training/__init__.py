"""Training and retraining: train, evaluate, compare and promote bundles, label review and active learning."""
