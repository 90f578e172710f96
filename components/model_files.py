"""The model's own files: which of a model folder's files the artifact carries, where they come from, and proof that
the default model's files are the pinned ones.

The container loads the model from /opt/ml/model, which SageMaker fills from model.tar.gz, so the endpoint never
needs the Hugging Face Hub at start-up: a Hub outage, a rate limit or a moved `main` branch cannot change or break a
running endpoint. The files come from a local folder (`modelDir`: air-gapped deploys, fine-tuned models, tests) or
from one download on the deploying machine into the Hugging Face cache, reused by every later `pulumi up`.

huggingface_hub checks only the size of what it downloads, so the default model's files are checked here against
SHA-256 sums pinned with its revision; a damaged cache or a changed repository is an error naming the file. A local
folder named as the pinned revision is checked the same way; one named as no revision is reported as that commit
only when its files are the pinned ones, and as `local` otherwise.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import NamedTuple

DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_MODEL_REVISION = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
"""The Hub commit the default model is pinned to (`main` since June 2026; its weights are those of every commit since
2024). Its small files match the Hub's git blob ids at this commit, and model.safetensors its LFS SHA-256."""

DEFAULT_MODEL_FILES: Mapping[str, str] = {
    "1_Pooling/config.json": "4be450dde3b0273bb9787637cfbd28fe04a7ba6ab9d36ac48e92b11e350ffc23",
    "config.json": "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
    "config_sentence_transformers.json": "061ca9d39661d6c6d6de5ba27f79a1cd5770ea247f8d46412a68a498dc5ac9f3",
    "model.safetensors": "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
    "modules.json": "84e40c8e006c9b1d6c122e02cba9b02458120b5fb0c87b746c41e0207cf642cf",
    "sentence_bert_config.json": "fc1993fde0a95c24ec6c022539d41cf6e2f7c9721e5415d6fb6897472a9cd4b7",
    "special_tokens_map.json": "303df45a03609e4ead04bc3dc1536d0ab19b5358db685b6f3da123d05ec200e3",
    "tokenizer.json": "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
    "tokenizer_config.json": "acb92769e8195aabd29b7b2137a9e6d6e25c476a4f15aa4355c233426c61576b",
    "vocab.txt": "07eced375cec144d27c900241f3e339478dec958f92fddbc551f295c992038a3",
}
"""SHA-256 of every file the artifact carries for the default model at its pinned revision."""

# What a model needs at inference: configuration and tokenizer files (.json, .txt such as vocab.txt or merges.txt,
# sentencepiece .model files) and safetensors weights, including sentence-transformers' module folders such as
# 1_Pooling/. Other frameworks' weights (ONNX, OpenVINO, PyTorch .bin, TensorFlow, Rust) are left out, as the
# toolkit's own Hub download leaves them out when safetensors weights exist.
_INCLUDED_SUFFIXES = (".json", ".txt", ".safetensors", ".model")
_EXCLUDED_DIRECTORIES = frozenset({"onnx", "openvino", "__pycache__"})
# A sentence-transformers training record (the data sets and their weights); nothing reads it at inference.
_EXCLUDED_FILES = frozenset({"data_config.json"})
# model.tar.gz's code/ holds this project's inference.py; a model folder must not bring its own.
CODE_DIRECTORY = "code"
_COMMIT = re.compile(r"[0-9a-f]{40}")
_HASH_CHUNK_BYTES = 1 << 20


class ModelFilesError(ValueError):
    """The model's files cannot be found, fetched or trusted; raised before anything is registered."""


class ModelDirMismatchError(ModelFilesError):
    """A local folder named as the pinned revision holds other files; `sentence` says which, after the folder's name."""

    def __init__(self, model_dir: Path, sentence: str) -> None:
        self.model_dir = model_dir
        self.sentence = sentence
        super().__init__(f"model folder {str(model_dir)!r} {sentence}")


@dataclass(frozen=True)
class ModelFiles:
    """The files the artifact carries for one model, and what an operator is told it serves.

    `revision` is the Hub commit for downloaded or verified files; for a local folder of another model it is the
    revision the stack names, or `local` when it names none.
    """

    model_id: str
    revision: str
    root: Path
    files: tuple[str, ...]
    verified: bool

    def paths(self) -> dict[str, Path]:
        """Archive name -> file on disk, for the packer."""
        return {name: self.root / name for name in self.files}

    def known_sha256(self) -> dict[str, str]:
        """Archive name -> SHA-256 of the files already hashed to verify them, so the packer need not read 90 MB
        again for the archive's key."""
        return dict(DEFAULT_MODEL_FILES) if self.verified else {}


def is_commit(revision: str | None) -> bool:
    return revision is not None and _COMMIT.fullmatch(revision) is not None


def default_revision(model_id: str) -> str | None:
    """The pinned commit for the default model; None for any other model (its default branch)."""
    return DEFAULT_MODEL_REVISION if model_id == DEFAULT_MODEL_ID else None


def _included(relative: PurePosixPath) -> bool:
    if any(part.startswith(".") or part in _EXCLUDED_DIRECTORIES for part in relative.parts):
        return False
    return relative.name not in _EXCLUDED_FILES and relative.name.endswith(_INCLUDED_SUFFIXES)


def select_model_files(root: Path) -> tuple[str, ...]:
    """The files of `root` that the artifact carries, as sorted POSIX paths relative to `root`."""
    found = (PurePosixPath(path.relative_to(root).as_posix()) for path in root.rglob("*") if path.is_file())
    return tuple(sorted(str(relative) for relative in found if _included(relative)))


def model_dir_problems(model_dir: Path, *, server_pooling: bool) -> list[str]:
    """Why `model_dir` cannot be served from /opt/ml/model; each sentence follows the folder's name."""
    if not model_dir.is_dir():
        return ["is not a folder: give the folder that holds the model's config.json and weights"]
    problems = []
    if (model_dir / CODE_DIRECTORY).exists():
        problems.append(
            f"has a {CODE_DIRECTORY}/ entry, but model.tar.gz's {CODE_DIRECTORY}/ holds this project's inference.py: "
            "move it out of the model folder"
        )
    if not (model_dir / "config.json").is_file():
        problems.append("has no config.json: it must be a transformers model folder (save_pretrained)")
    if not any(model_dir.glob("*.safetensors")):
        other = sorted(p.name for p in model_dir.glob("*.bin")) + sorted(p.name for p in model_dir.glob("*.h5"))
        found = f" (found {', '.join(other)})" if other else ""
        problems.append(
            f"has no .safetensors weights{found}: save the model with safetensors (model.save_pretrained(folder), "
            "the default since transformers 4.35)"
        )
    if not any((model_dir / name).is_file() for name in ("tokenizer.json", "tokenizer_config.json", "vocab.txt")):
        problems.append("has no tokenizer (tokenizer.json, tokenizer_config.json or vocab.txt)")
    if server_pooling:
        problems += _pooling_problems(model_dir)
    return problems


def _pooling_problems(model_dir: Path) -> list[str]:
    """inference.py computes the mean of the token vectors; a model trained with another pooling would answer
    vectors that look right and rank wrong."""
    pooling_config = model_dir / "1_Pooling" / "config.json"
    if not pooling_config.is_file():
        return []
    try:
        pooling = json.loads(pooling_config.read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        return [f"has a 1_Pooling/config.json that cannot be read ({error})"]
    if isinstance(pooling, dict) and pooling.get("pooling_mode_mean_tokens", False):
        return []
    return [
        f"pools with {pooling} (1_Pooling/config.json), but pooling server computes the mean of the token vectors: "
        "use a mean-pooled sentence-transformers model, or pooling client"
    ]


def file_sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as file:
        while chunk := file.read(_HASH_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def short_digest(digest: str) -> str:
    return f"{digest[:12]}…"


def _default_mismatch(root: Path, files: tuple[str, ...]) -> str | None:
    """The first of the pinned files that the folder lacks or holds with other bytes, as a sentence about the folder;
    None when every one matches. Each file is read once, and not at all after the first difference."""
    for name, expected in DEFAULT_MODEL_FILES.items():
        if name not in files:
            return f"has no {name}, one of the files of {DEFAULT_MODEL_ID} at {short_digest(DEFAULT_MODEL_REVISION)}"
        actual = file_sha256(root / name)
        if actual != expected:
            return (
                f"has a {name} with SHA-256 {short_digest(actual)}, but {DEFAULT_MODEL_ID} at "
                f"{short_digest(DEFAULT_MODEL_REVISION)} has {short_digest(expected)}"
            )
    return None


def local_model_files(model_dir: Path, *, model_id: str, revision: str | None) -> ModelFiles:
    """A local folder's files. Holding the default model's pinned files, it is reported as that commit (verified)
    and carries exactly those files. Named as the pinned commit (`revision`) but holding other files, it is refused
    (ModelDirMismatchError); any other folder is reported as `revision`, or `local` when none is named."""
    root = model_dir.resolve()
    files = select_model_files(root)
    is_default = model_id == DEFAULT_MODEL_ID
    if is_default and revision in (None, DEFAULT_MODEL_REVISION):
        mismatch = _default_mismatch(root, files)
        if mismatch is None:
            return ModelFiles(model_id, DEFAULT_MODEL_REVISION, root, tuple(sorted(DEFAULT_MODEL_FILES)), verified=True)
        if revision is not None:
            raise ModelDirMismatchError(model_dir, mismatch)
    return ModelFiles(model_id, revision or "local", root, files, verified=False)


def _verify_default(snapshot: Path, revision: str) -> None:
    for name, expected in DEFAULT_MODEL_FILES.items():
        path = snapshot / name
        if not path.is_file():
            raise ModelFilesError(
                f"{DEFAULT_MODEL_ID} at {revision}: {name} is missing from the copy in {snapshot}, and the Hub did not "
                "supply it. Check the network (HF_HUB_OFFLINE unset, HF_ENDPOINT if set) and run pulumi up again, or "
                "set modelDir to a folder holding the model's files"
            )
        actual = file_sha256(path)
        if actual != expected:
            raise ModelFilesError(
                f"{DEFAULT_MODEL_ID} at {revision}: {name} has SHA-256 {actual}, but the pinned file has {expected}: "
                f"the copy in {snapshot} is damaged or not the Hub's. Delete that folder (the Hugging Face cache) and "
                "run pulumi up again, or set modelDir to a folder holding the model's files"
            )


def fetch_model_files(
    model_id: str, revision: str | None, *, token: str | None = None, cache_dir: Path | None = None
) -> ModelFiles:
    """The model's files from the Hugging Face cache, downloading them once if they are not all there.

    A pinned commit is looked up in the cache without touching the network; a branch or tag needs the Hub to say
    which commit it means. The token, if any, is used for this download and nowhere else.
    """
    revision = revision or default_revision(model_id)
    pinned_default = model_id == DEFAULT_MODEL_ID and revision == DEFAULT_MODEL_REVISION
    patterns = _Patterns(
        allow=sorted(DEFAULT_MODEL_FILES) if pinned_default else [f"*{s}" for s in _INCLUDED_SUFFIXES],
        ignore=[f"{d}/*" for d in sorted(_EXCLUDED_DIRECTORIES)] + sorted(_EXCLUDED_FILES),
    )
    snapshot = _cached_snapshot(model_id, revision, patterns, cache_dir) if is_commit(revision) else None
    if snapshot is None or (pinned_default and not all((snapshot / name).is_file() for name in DEFAULT_MODEL_FILES)):
        snapshot = _download(model_id, revision, token, patterns, cache_dir)
    commit = snapshot.name if is_commit(snapshot.name) else (revision or "unknown")
    if pinned_default:
        _verify_default(snapshot, commit)
        return ModelFiles(model_id, commit, snapshot, tuple(sorted(DEFAULT_MODEL_FILES)), verified=True)
    return ModelFiles(model_id, commit, snapshot, select_model_files(snapshot), verified=False)


class _Patterns(NamedTuple):
    """snapshot_download's file filters: the same files whether they come from the cache or the Hub."""

    allow: list[str]
    ignore: list[str]


def _cached_snapshot(model_id: str, revision: str | None, patterns: _Patterns, cache_dir: Path | None) -> Path | None:
    from huggingface_hub import snapshot_download  # imported here: only a deploy that builds an artifact pays for it
    from huggingface_hub.errors import IncompleteSnapshotError, LocalEntryNotFoundError

    try:
        folder = snapshot_download(
            model_id,
            revision=revision,
            local_files_only=True,
            cache_dir=cache_dir,
            allow_patterns=patterns.allow,
            ignore_patterns=patterns.ignore,
        )
        return Path(folder)
    except (LocalEntryNotFoundError, IncompleteSnapshotError):
        return None


def _download(
    model_id: str, revision: str | None, token: str | None, patterns: _Patterns, cache_dir: Path | None
) -> Path:
    from huggingface_hub import snapshot_download

    at = f" at {revision}" if revision else ""
    try:
        folder = snapshot_download(
            model_id,
            revision=revision,
            token=token,
            cache_dir=cache_dir,
            allow_patterns=patterns.allow,
            ignore_patterns=patterns.ignore,
        )
        return Path(folder)
    except Exception as error:  # whatever stopped the download, one error that names the model and the fixes
        reason = " ".join(f"{type(error).__name__}: {error}".split())
        raise ModelFilesError(
            f"cannot download {model_id}{at} from the Hugging Face Hub ({reason}). Check the network (and "
            "HF_ENDPOINT if set), set hfToken for a gated or private model, or set modelDir to a local folder "
            "holding the model's files"
        ) from error
