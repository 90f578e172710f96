"""Where the twin loads its model from: offline unless told otherwise."""

from __future__ import annotations

from pathlib import Path

import pytest

from local_endpoint import DEFAULT_MODEL_ID, ModelNotAvailableError, resolve_model


def test_the_endpoints_model_comes_from_its_package(minilm_dir: Path) -> None:
    source = resolve_model(DEFAULT_MODEL_ID)

    assert Path(source.location) == minilm_dir.resolve()
    assert not source.from_hub


def test_a_local_directory_is_used_as_is(tmp_path: Path) -> None:
    source = resolve_model(str(tmp_path), revision="ignored")

    assert source.location == str(tmp_path.resolve())
    assert not source.from_hub and source.revision is None


def test_any_other_hub_id_is_refused_offline() -> None:
    with pytest.raises(ModelNotAvailableError, match="--allow-download"):
        resolve_model("BAAI/bge-small-en-v1.5")


def test_allow_download_passes_the_hub_id_and_revision() -> None:
    source = resolve_model("BAAI/bge-small-en-v1.5", revision="abc123", allow_download=True)

    assert source.from_hub and source.location == "BAAI/bge-small-en-v1.5" and source.revision == "abc123"


def test_another_model_directory_is_served(tmp_path: Path, minilm_dir: Path) -> None:
    """--model DIR: a copy of the weights elsewhere loads and answers like the packaged model."""
    import shutil

    from local_endpoint import HuggingFaceContainer, load_pipeline

    copy = tmp_path / "my-model"
    shutil.copytree(minilm_dir, copy)
    container = HuggingFaceContainer(load_pipeline(resolve_model(str(copy)), "feature-extraction"))

    response = container.invoke(b'{"inputs": "vectorize me"}', "application/json", None)
    assert response.status == 200 and response.body.startswith(b"[[[")
