"""The packer: the same folder gives the same bytes, wherever it lives and whatever its files' times and owners."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from components.model_artifact import ModelArtifactError, build_model_artifact, tar_bytes


def _make_source(root: Path) -> Path:
    source = root / "model_artifact"
    (source / "code" / "__pycache__").mkdir(parents=True)
    (source / "code" / "inference.py").write_text("def model_fn(model_dir):\n    return model_dir\n")
    (source / "code" / "helpers.py").write_text("VALUE = 1\n")
    (source / "code" / "__pycache__" / "inference.cpython-311.pyc").write_bytes(b"\x00compiled")
    (source / "code" / "stale.pyc").write_bytes(b"\x00compiled")
    (source / "README.txt").write_text("what is in here\n")
    return source


def _members(archive: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(archive, "r:gz") as opened:
        return opened.getmembers()


def test_two_builds_are_byte_identical_even_after_touching_files(tmp_path: Path) -> None:
    source = _make_source(tmp_path)
    first = build_model_artifact(source, tmp_path / "out-1")
    for path in source.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
        path.chmod(0o700 if path.is_dir() else 0o600)
    second = build_model_artifact(source, tmp_path / "out-2")

    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.content_sha256 == second.content_sha256 and first.object_key == second.object_key


def test_a_copy_elsewhere_gives_the_same_bytes(tmp_path: Path) -> None:
    source = _make_source(tmp_path / "a")
    copy = tmp_path / "b" / "elsewhere"
    shutil.copytree(source, copy)
    assert (
        build_model_artifact(source, tmp_path / "o1").path.read_bytes()
        == build_model_artifact(copy, tmp_path / "o2").path.read_bytes()
    )


def test_a_code_change_changes_the_hash_and_the_key(tmp_path: Path) -> None:
    source = _make_source(tmp_path)
    before = build_model_artifact(source, tmp_path / "out")
    (source / "code" / "inference.py").write_text("def model_fn(model_dir):\n    return None\n")
    after = build_model_artifact(source, tmp_path / "out")

    assert after.content_sha256 != before.content_sha256
    assert after.object_key != before.object_key
    assert after.path != before.path and before.path.exists(), "content-addressed files never overwrite each other"


def test_entries_are_sorted_without_caches_with_fixed_metadata(tmp_path: Path) -> None:
    artifact = build_model_artifact(_make_source(tmp_path), tmp_path / "out")
    members = _members(artifact.path)

    assert [m.name for m in members] == ["README.txt", "code", "code/helpers.py", "code/inference.py"]
    assert artifact.members == tuple(m.name for m in members)
    for member in members:
        assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (0, 0, 0, "", ""), member.name
        assert member.mode == (0o755 if member.isdir() else 0o644), member.name
    with tarfile.open(artifact.path, "r:gz") as opened:
        assert opened.extractfile("code/inference.py").read().startswith(b"def model_fn")


def test_gzip_header_has_no_time_and_no_name_and_the_hash_is_of_the_tar(tmp_path: Path) -> None:
    source = _make_source(tmp_path)
    artifact = build_model_artifact(source, tmp_path / "out")
    raw = artifact.path.read_bytes()

    assert raw[:2] == b"\x1f\x8b"
    assert raw[4:8] == b"\x00\x00\x00\x00", "gzip MTIME must be 0"
    assert raw[3] & 0x08 == 0, "no FNAME field in the header"
    stream = gzip.decompress(raw)
    assert stream == tar_bytes(source)[0]
    assert artifact.content_sha256 == hashlib.sha256(stream).hexdigest()
    assert artifact.path.name == f"model-{artifact.content_sha256[:16]}.tar.gz"
    assert artifact.object_key == f"model-artifacts/{artifact.content_sha256[:16]}/model.tar.gz"
    with tarfile.open(fileobj=io.BytesIO(stream)) as archive:
        assert archive.getnames()[0] == "README.txt"


def test_no_partial_file_is_left_behind(tmp_path: Path) -> None:
    build_model_artifact(_make_source(tmp_path), tmp_path / "out")
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")] == []


@pytest.mark.parametrize("layout", ["missing", "no entry point"])
def test_a_folder_that_cannot_be_packed_is_named(tmp_path: Path, layout: str) -> None:
    source = tmp_path / "model_artifact"
    if layout == "no entry point":
        (source / "code").mkdir(parents=True)
        (source / "code" / "handler.py").write_text("")
    with pytest.raises(ModelArtifactError, match=f"model artifact folder '{source}'"):
        build_model_artifact(source, tmp_path / "out")
    assert not (tmp_path / "out").exists()
