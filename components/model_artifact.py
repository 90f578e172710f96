"""Pack the model's files and its code into the `model.tar.gz` SageMaker extracts into /opt/ml/model, reproducibly.

`pulumi up` with no change must change nothing, so the same files always give the same bytes: entries in sorted
order, fixed times, owners and modes, no compiled caches, and a gzip header with mtime 0 and no file name. The
archive is named by a hash of what it holds (each member's name, size and SHA-256), computed before anything is
compressed: an unchanged model and code cost one read of the files, not a fresh compression of 90 MB, and a machine
whose zlib compresses differently still finds the same key and rolls nothing out.
"""

from __future__ import annotations

import gzip
import hashlib
import os
import tarfile
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from components.model_files import file_sha256

ARCHIVE_NAME = "model.tar.gz"
CODE_DIRECTORY = "code"
# The entry point the Hugging Face inference toolkit imports from /opt/ml/model/code (SAGEMAKER_PROGRAM default).
ENTRY_POINT = f"{CODE_DIRECTORY}/inference.py"
FIXED_MTIME = 0
FILE_MODE = 0o644
DIRECTORY_MODE = 0o755
HASH_LENGTH = 16  # hex characters of SHA-256 in file names and object keys: 64 bits, no accidental collision
# Part of the hashed listing: a change to how members are written must change every key.
FORMAT = "alex-model-artifact/2 pax gzip-9"
_SKIPPED_DIRECTORIES = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".git"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
_SKIPPED_FILES = frozenset({".DS_Store"})


class ModelArtifactError(ValueError):
    """The files cannot become a model artifact (a missing folder, no entry point, a clash of names)."""


@dataclass(frozen=True)
class ModelArtifact:
    """A built `model.tar.gz`: where it is on disk and the hash of what it contains."""

    path: Path
    content_sha256: str
    members: tuple[str, ...]

    @property
    def short_hash(self) -> str:
        return self.content_sha256[:HASH_LENGTH]

    @property
    def object_key(self) -> str:
        """The S3 key: the content hash in the key makes a new model or new code a new SageMaker model."""
        return f"model-artifacts/{self.short_hash}/{ARCHIVE_NAME}"


def code_dir_problems(code_dir: Path) -> list[str]:
    """Why `code_dir` cannot be the archive's code/, as sentences naming it; empty when it can."""
    if not code_dir.is_dir():
        return [f"inference code folder {str(code_dir)!r} does not exist: it must hold inference.py"]
    if not (code_dir / "inference.py").is_file():
        return [
            f"inference code folder {str(code_dir)!r} has no inference.py: the Hugging Face inference toolkit "
            f"imports the handler from /opt/ml/model/{ENTRY_POINT}"
        ]
    return []


def _included(relative: Path) -> bool:
    if any(part in _SKIPPED_DIRECTORIES for part in relative.parts[:-1]):
        return False
    return relative.name not in _SKIPPED_FILES and not relative.name.endswith(_SKIPPED_SUFFIXES)


def code_members(code_dir: Path) -> dict[str, Path]:
    """The code folder's files as archive members under code/, without caches."""
    members: dict[str, Path] = {}
    for root, directories, files in os.walk(code_dir):
        directories[:] = sorted(d for d in directories if d not in _SKIPPED_DIRECTORIES)
        base = Path(root).relative_to(code_dir)
        for name in files:
            if _included(base / name):
                members[(PurePosixPath(CODE_DIRECTORY) / (base / name).as_posix()).as_posix()] = Path(root) / name
    return members


def _directories(names: list[str]) -> list[str]:
    """Every folder the members sit in, so extraction creates them with fixed modes."""
    found = {str(parent) for name in names for parent in PurePosixPath(name).parents if str(parent) != "."}
    return sorted(found)


def content_listing(members: Mapping[str, Path], known_sha256: Mapping[str, str] | None = None) -> str:
    """What the key is the hash of: the format, then each member's name, size and SHA-256, in archive order.

    `known_sha256` holds digests of members just verified against them (archive name -> SHA-256); the others are
    hashed here."""
    known = known_sha256 or {}
    lines = [FORMAT]
    for name in sorted(members):
        path = members[name]
        digest = known.get(name) or file_sha256(path)
        lines.append(f"{name}\t{path.stat().st_size}\t{digest}")
    return "\n".join(lines) + "\n"


def _tar_info(name: str, *, directory: bool, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mode = DIRECTORY_MODE if directory else FILE_MODE
    info.size = size
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def write_archive(members: Mapping[str, Path], target: Path) -> None:
    """Stream the members into a gzip'd tar at `target`, entries sorted, with fixed metadata and gzip header."""
    names = sorted(members)
    entries = sorted([*_directories(names), *names])
    with (
        target.open("wb") as raw,
        gzip.GzipFile(filename="", mode="wb", fileobj=raw, compresslevel=9, mtime=0) as compressed,
        tarfile.open(fileobj=compressed, mode="w", format=tarfile.PAX_FORMAT) as archive,
    ):
        for name in entries:
            if name not in members:
                archive.addfile(_tar_info(name, directory=True))
                continue
            path = members[name]
            with path.open("rb") as source:
                archive.addfile(_tar_info(name, directory=False, size=path.stat().st_size), source)


def build_model_artifact(
    members: Mapping[str, Path], output_dir: Path, *, known_sha256: Mapping[str, str] | None = None
) -> ModelArtifact:
    """`output_dir/model-<hash>.tar.gz` holding `members` (archive name -> file), built only if not there yet.
    `known_sha256`: digests of members already verified (ModelFiles.known_sha256()), not read again for the key.

    Written to a temporary name and renamed, so a crash or a parallel build never leaves half an archive under the
    final name.
    """
    if not members:
        raise ModelArtifactError("a model artifact needs at least one file")
    clashes = sorted(set(members) & set(_directories(list(members))))
    if clashes:
        raise ModelArtifactError(f"{', '.join(clashes)} would be both a file and a folder in model.tar.gz")
    content_sha256 = hashlib.sha256(content_listing(members, known_sha256).encode("utf-8")).hexdigest()
    target = output_dir / f"model-{content_sha256[:HASH_LENGTH]}.tar.gz"
    if not target.is_file():
        output_dir.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
        try:
            write_archive(members, partial)
            os.replace(partial, target)
        finally:
            partial.unlink(missing_ok=True)
    entries = tuple(sorted([*_directories(sorted(members)), *members]))
    return ModelArtifact(path=target, content_sha256=content_sha256, members=entries)
