"""Placeholder until the server-pooling handler (model_fn/transform_fn) is merged; replaced on merge."""
