"""Where things are, in one place: tests run from any working directory and any virtualenv."""

from __future__ import annotations

from pathlib import Path

PROJECT_DIR = Path(__file__).resolve().parents[1]
# What gets packed into model.tar.gz for `pooling: server`: code/inference.py.
MODEL_ARTIFACT_DIR = PROJECT_DIR / "model_artifact"
