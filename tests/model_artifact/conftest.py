"""The deployed artifact's inference.py served through the toolkit's handler contract, on the real model.

These tests also run in `.venv-image` (transformers 5.5.3, the image's pin; `make test-image-transformers`), so
they import only pytest, the standard library, the project's `local_endpoint.artifact`/`local_endpoint.codec`, and
the reference model through tests/conftest.py's fixtures (sentence-transformers, torch, transformers).
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from local_endpoint.artifact import ArtifactContainer
from tests.paths import MODEL_ARTIFACT_DIR


@pytest.fixture(scope="session")
def artifact_container(minilm_dir: Path) -> Iterator[ArtifactContainer]:
    """The artifact folder as deployed, with the packaged weights standing in for the container's Hub download."""
    with ArtifactContainer(MODEL_ARTIFACT_DIR, model_dir=minilm_dir) as container:
        yield container
