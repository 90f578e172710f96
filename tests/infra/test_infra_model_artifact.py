"""The packer: the same files give the same bytes and the same key, wherever they live and whatever their times."""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import shutil
import tarfile
from pathlib import Path

import pytest

from components.model_artifact import (
    FORMAT,
    ModelArtifactError,
    build_model_artifact,
    code_dir_problems,
    code_members,
)


def _make_source(root: Path) -> dict[str, Path]:
    """A model folder and a code folder, with the caches a working tree collects."""
    model, code = root / "model", root / "code"
    (model / "1_Pooling").mkdir(parents=True)
    (model / "config.json").write_text('{"model_type": "bert"}\n')
    (model / "model.safetensors").write_bytes(os.urandom(4096))
    (model / "1_Pooling" / "config.json").write_text('{"pooling_mode_mean_tokens": true}\n')
    (code / "__pycache__").mkdir(parents=True)
    (code / "inference.py").write_text("def model_fn(model_dir):\n    return model_dir\n")
    (code / "helpers.py").write_text("VALUE = 1\n")
    (code / "__pycache__" / "inference.cpython-311.pyc").write_bytes(b"\x00compiled")
    (code / "stale.pyc").write_bytes(b"\x00compiled")
    members = {name: model / name for name in ("config.json", "model.safetensors", "1_Pooling/config.json")}
    return members | code_members(code)


def _members(archive: Path) -> list[tarfile.TarInfo]:
    with tarfile.open(archive, "r:gz") as opened:
        return opened.getmembers()


def test_two_builds_are_byte_identical_even_after_touching_files(tmp_path: Path) -> None:
    members = _make_source(tmp_path)
    first = build_model_artifact(members, tmp_path / "out-1")
    for path in tmp_path.rglob("*"):
        os.utime(path, (1_700_000_000, 1_700_000_000))
        path.chmod(0o700 if path.is_dir() else 0o600)
    second = build_model_artifact(members, tmp_path / "out-2")

    assert first.path.read_bytes() == second.path.read_bytes()
    assert first.content_sha256 == second.content_sha256 and first.object_key == second.object_key


def test_a_copy_elsewhere_gives_the_same_bytes(tmp_path: Path) -> None:
    members = _make_source(tmp_path / "a")
    shutil.copytree(tmp_path / "a", tmp_path / "b")
    copied = {name: tmp_path / "b" / path.relative_to(tmp_path / "a") for name, path in members.items()}
    assert (
        build_model_artifact(members, tmp_path / "o1").path.read_bytes()
        == build_model_artifact(copied, tmp_path / "o2").path.read_bytes()
    )


@pytest.mark.parametrize("changed", ["code/inference.py", "model.safetensors"])
def test_a_code_or_model_change_changes_the_hash_and_the_key(tmp_path: Path, changed: str) -> None:
    members = _make_source(tmp_path)
    before = build_model_artifact(members, tmp_path / "out")
    members[changed].write_bytes(members[changed].read_bytes() + b"\n")
    after = build_model_artifact(members, tmp_path / "out")

    assert after.content_sha256 != before.content_sha256
    assert after.object_key != before.object_key
    assert after.path != before.path and before.path.exists(), "content-addressed files never overwrite each other"


def test_entries_are_sorted_without_caches_with_fixed_metadata(tmp_path: Path) -> None:
    artifact = build_model_artifact(_make_source(tmp_path), tmp_path / "out")
    members = _members(artifact.path)

    assert [m.name for m in members] == [
        "1_Pooling",
        "1_Pooling/config.json",
        "code",
        "code/helpers.py",
        "code/inference.py",
        "config.json",
        "model.safetensors",
    ]
    assert artifact.members == tuple(m.name for m in members)
    for member in members:
        assert (member.mtime, member.uid, member.gid, member.uname, member.gname) == (0, 0, 0, "", ""), member.name
        assert member.mode == (0o755 if member.isdir() else 0o644), member.name
    with tarfile.open(artifact.path, "r:gz") as opened:
        assert opened.extractfile("code/inference.py").read().startswith(b"def model_fn")


def test_the_key_is_the_hash_of_what_the_archive_holds_and_the_gzip_header_has_no_time_or_name(tmp_path: Path) -> None:
    artifact = build_model_artifact(_make_source(tmp_path), tmp_path / "out")
    raw = artifact.path.read_bytes()

    assert raw[:2] == b"\x1f\x8b"
    assert raw[4:8] == b"\x00\x00\x00\x00", "gzip MTIME must be 0"
    assert raw[3] & 0x08 == 0, "no FNAME field in the header"
    # Recomputed from the archive alone: each file's name, size and SHA-256, after the format line.
    lines = [FORMAT]
    with tarfile.open(fileobj=io.BytesIO(gzip.decompress(raw))) as archive:
        for member in sorted((m for m in archive.getmembers() if m.isfile()), key=lambda m: m.name):
            data = archive.extractfile(member).read()
            lines.append(f"{member.name}\t{len(data)}\t{hashlib.sha256(data).hexdigest()}")
    assert artifact.content_sha256 == hashlib.sha256(("\n".join(lines) + "\n").encode()).hexdigest()
    assert artifact.path.name == f"model-{artifact.content_sha256[:16]}.tar.gz"
    assert artifact.object_key == f"model-artifacts/{artifact.content_sha256[:16]}/model.tar.gz"


def test_an_existing_archive_is_reused_not_written_again(tmp_path: Path) -> None:
    members = _make_source(tmp_path)
    first = build_model_artifact(members, tmp_path / "out")
    written = first.path.stat().st_mtime_ns
    os.utime(first.path, ns=(written - 10**9, written - 10**9))

    again = build_model_artifact(members, tmp_path / "out")
    assert again.path == first.path and again.path.stat().st_mtime_ns == written - 10**9


def test_no_partial_file_is_left_behind(tmp_path: Path) -> None:
    build_model_artifact(_make_source(tmp_path), tmp_path / "out")
    assert [p.name for p in (tmp_path / "out").iterdir() if p.name.startswith(".")] == []


def test_a_file_named_like_a_folder_of_another_member_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a").write_text("x")
    with pytest.raises(ModelArtifactError, match="code would be both a file and a folder"):
        build_model_artifact({"code": tmp_path / "a", "code/inference.py": tmp_path / "a"}, tmp_path / "out")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("layout", ["missing", "no entry point"])
def test_a_code_folder_that_cannot_be_packed_is_named(tmp_path: Path, layout: str) -> None:
    code = tmp_path / "code"
    if layout == "no entry point":
        code.mkdir()
        (code / "handler.py").write_text("")
    [problem] = code_dir_problems(code)
    assert f"inference code folder '{code}'" in problem and "inference.py" in problem
