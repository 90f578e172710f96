"""Importing a model artifact's user module: what the twin says when Python cannot load the file at all."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

from local_endpoint.artifact import ModelArtifactError, import_user_module


def test_a_module_python_finds_no_loader_for_is_a_model_artifact_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """spec_from_file_location answers None for a file no import loader claims; that is the artifact's problem,
    reported like the others, not an AssertionError (or, under `python -O`, an AttributeError)."""
    (tmp_path / "inference.py").write_text("def model_fn(model_dir):\n    return None\n")
    monkeypatch.setattr(importlib.util, "spec_from_file_location", lambda name, location: None)

    with pytest.raises(ModelArtifactError) as raised:
        import_user_module(tmp_path, "inference")

    assert str(tmp_path / "inference.py") in str(raised.value)
    assert "no loader" in str(raised.value)
