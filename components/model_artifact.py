"""Pack a folder into the `model.tar.gz` SageMaker extracts into `/opt/ml/model`, byte for byte reproducibly.

`pulumi up` with no change must change nothing, so the same folder always gives the same bytes: entries in
sorted order, fixed times, owners and modes, no compiled caches, and a gzip header with mtime 0 and no file
name. The content hash is taken over the uncompressed tar stream, so a machine whose zlib compresses
differently (zlib-ng, another level of optimisation) still computes the same key and rolls nothing out.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import os
import tarfile
from dataclasses import dataclass
from pathlib import Path

# The entry point the Hugging Face inference toolkit imports from /opt/ml/model/code (SAGEMAKER_PROGRAM default).
ENTRY_POINT = Path("code") / "inference.py"
ARCHIVE_NAME = "model.tar.gz"
FIXED_MTIME = 0
FILE_MODE = 0o644
DIRECTORY_MODE = 0o755
HASH_LENGTH = 16  # hex characters of SHA-256 in file names and object keys: 64 bits, no accidental collision
_SKIPPED_DIRECTORIES = frozenset({"__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".git"})
_SKIPPED_SUFFIXES = (".pyc", ".pyo")
_SKIPPED_FILES = frozenset({".DS_Store"})


class ModelArtifactError(ValueError):
    """The folder cannot become a model artifact (missing, empty, or without the entry point)."""


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
        """The S3 key: the content hash in the key makes a code change a new model, like a memory change."""
        return f"model-artifacts/{self.short_hash}/{ARCHIVE_NAME}"


def artifact_problems(source_dir: Path) -> list[str]:
    """Why `source_dir` cannot be packed, as sentences naming it; empty when it can."""
    if not source_dir.is_dir():
        return [f"model artifact folder {str(source_dir)!r} does not exist: it must hold {ENTRY_POINT.as_posix()}"]
    if not (source_dir / ENTRY_POINT).is_file():
        return [
            f"model artifact folder {str(source_dir)!r} has no {ENTRY_POINT.as_posix()}: the Hugging Face "
            "inference toolkit imports the handler from /opt/ml/model/code/inference.py"
        ]
    return []


def _included(relative: Path) -> bool:
    if any(part in _SKIPPED_DIRECTORIES for part in relative.parts[:-1]):
        return False
    return relative.name not in _SKIPPED_FILES and not relative.name.endswith(_SKIPPED_SUFFIXES)


def _entries(source_dir: Path) -> list[Path]:
    """Every file and directory to pack, relative and sorted, so the order never depends on the file system."""
    found: list[Path] = []
    for root, directories, files in os.walk(source_dir):
        directories[:] = sorted(d for d in directories if d not in _SKIPPED_DIRECTORIES)
        base = Path(root).relative_to(source_dir)
        found.extend(base / d for d in directories)
        found.extend(base / f for f in files if _included(base / f))
    return sorted(found, key=lambda path: path.as_posix())


def _tar_info(name: str, *, directory: bool, size: int = 0) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type = tarfile.DIRTYPE if directory else tarfile.REGTYPE
    info.mode = DIRECTORY_MODE if directory else FILE_MODE
    info.size = size
    info.mtime = FIXED_MTIME
    info.uid = info.gid = 0
    info.uname = info.gname = ""
    return info


def tar_bytes(source_dir: Path) -> tuple[bytes, tuple[str, ...]]:
    """The uncompressed tar stream of `source_dir` and the names in it."""
    buffer = io.BytesIO()
    names: list[str] = []
    with tarfile.open(fileobj=buffer, mode="w", format=tarfile.PAX_FORMAT) as archive:
        for relative in _entries(source_dir):
            path = source_dir / relative
            name = relative.as_posix()
            if path.is_dir():
                archive.addfile(_tar_info(name, directory=True))
            else:
                data = path.read_bytes()
                archive.addfile(_tar_info(name, directory=False, size=len(data)), io.BytesIO(data))
            names.append(name)
    return buffer.getvalue(), tuple(names)


def gzip_bytes(data: bytes) -> bytes:
    """gzip with mtime 0 and an empty file name in the header: the same input gives the same bytes."""
    buffer = io.BytesIO()
    with gzip.GzipFile(filename="", mode="wb", fileobj=buffer, compresslevel=9, mtime=0) as compressed:
        compressed.write(data)
    return buffer.getvalue()


def build_model_artifact(source_dir: Path, output_dir: Path) -> ModelArtifact:
    """Pack `source_dir` into `output_dir/model-<hash>.tar.gz` (content-addressed, written atomically).

    Raises ModelArtifactError naming the folder if it cannot be packed.
    """
    problems = artifact_problems(source_dir)
    if problems:
        raise ModelArtifactError("; ".join(problems))
    stream, members = tar_bytes(source_dir)
    content_sha256 = hashlib.sha256(stream).hexdigest()
    output_dir.mkdir(parents=True, exist_ok=True)
    target = output_dir / f"model-{content_sha256[:HASH_LENGTH]}.tar.gz"
    partial = target.with_name(f".{target.name}.{os.getpid()}.partial")
    partial.write_bytes(gzip_bytes(stream))
    os.replace(partial, target)
    return ModelArtifact(path=target, content_sha256=content_sha256, members=members)
