"""The serving-stack cases and the texts they are checked with; shared by the renderer (main venv) and the tests
(serving venv), so the standard library only.

A case is what the Pulumi program would deploy for one `modelSource` x `pooling`: the model.tar.gz it builds (or
none) and the environment it gives the model. `render.py` writes one JSON file per case; `RenderedCases` reads them.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CASE_NAMES = ("artifact-server", "artifact-client", "hub-server", "hub-client")
REFERENCES_FILE = "references.json"
CASES_DIR = "cases"

TUTORIAL_TEXT = "vectorize me"
LIST_TEXTS = [
    "The quarterly report summarises the revenue forecast.",
    "short",
    "東京は日本の首都です。北京是中国的首都。",
    "An autonomous agent questions the product roadmap while the auditor validates the legal review.",
]
EMPTY_TEXT = ""
# About 850 tokens: far past the model's 256, and past the 512 positions BERT has.
LONG_TEXT = " ".join(
    f"word{index % 97} the quarterly report mentions revenue and churn" if index % 10 == 0 else f"token{index % 53}"
    for index in range(300)
)
TEXTS = {"tutorial": TUTORIAL_TEXT, "empty": EMPTY_TEXT, "long": LONG_TEXT} | {
    f"list{index}": text for index, text in enumerate(LIST_TEXTS)
}
# What the project's client sends with token-level (`pooling: client`) requests: the model's own token limit.
CLIENT_PARAMETERS = {"tokenize_kwargs": {"truncation": True, "max_length": 256}}

# Files a Hub repository of this model also holds, in formats the toolkit must not download for PyTorch (its
# create_artifact_filter("safetensors") ignores them): served by the fake Hub beside the real files.
DECOY_FILES = {
    "pytorch_model.bin": b"decoy: the toolkit ignores pytorch* when safetensors exist",
    "tf_model.h5": b"decoy: tf*",
    "rust_model.ot": b"decoy: rust*",
    "onnx/model.onnx": b"decoy: *onnx*",
    "openvino/openvino_model.xml": b"decoy: *openvino*",
}


# What SageMaker Batch Transform adds to the model's environment for a job with MaxPayloadInMB=1, BatchStrategy=
# MultiRecord and MaxConcurrentTransforms=1 (the AWS docs' "How Batch Transform works" / your-algorithms-batch-code).
BATCH_ENVIRONMENT = {
    "SAGEMAKER_BATCH": "true",
    "SAGEMAKER_MAX_PAYLOAD_IN_MB": "1",
    "SAGEMAKER_BATCH_STRATEGY": "MULTI_RECORD",
    "SAGEMAKER_MAX_CONCURRENT_TRANSFORMS": "1",
}
BATCH_PAYLOAD_BYTES = 1024 * 1024  # sagemaker-inference: max_request_size = SAGEMAKER_MAX_PAYLOAD_IN_MB * 1024 * 1024
BATCH_REFERENCES_FILE = "batch-references.npy"
_SUBJECTS = ("The quarterly report", "An autonomous agent", "The ingest pipeline", "Our search index", "The auditor")
_VERBS = ("summarises", "questions", "archives", "depends on", "validates", "rejects", "forecasts")
_OBJECTS = ("the revenue forecast", "the product roadmap", "every late invoice", "the churn numbers", "the cloud bill")


def batch_text(index: int) -> str:
    """The corpus of the Batch Transform case: short texts of ~65 characters, every one different, with an empty
    text, non-ASCII texts and a text past the model's 256 tokens among them."""
    if index == 4321:
        return LONG_TEXT
    if index % 2500 == 1234:
        return EMPTY_TEXT
    if index % 1000 == 500:
        return f"{LIST_TEXTS[2]} {index}"
    subject, verb, thing = _SUBJECTS[index % 5], _VERBS[(index // 5) % 7], _OBJECTS[(index // 35) % 5]
    return f"{subject} {verb} {thing} in week {index % 53}, item {index}."


def batch_record(index: int) -> bytes:
    """One JSON Lines record as the project's batch runner writes them, with its newline."""
    return (json.dumps({"id": f"r{index:05d}", "inputs": batch_text(index)}, ensure_ascii=False) + "\n").encode()


def multi_record_count(limit: int = BATCH_PAYLOAD_BYTES) -> int:
    """How many records MultiRecord packs into one request of at most `limit` bytes, newlines included."""
    size = count = 0
    while size + len(batch_record(count)) <= limit:
        size += len(batch_record(count))
        count += 1
    return count


@dataclass(frozen=True)
class Case:
    """One deployment as the program renders it."""

    name: str
    model_source: str
    pooling: str
    artifact: Path | None
    environment: dict[str, str]

    def to_json(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "model_source": self.model_source,
            "pooling": self.pooling,
            "artifact": str(self.artifact) if self.artifact is not None else None,
            "environment": self.environment,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Case:
        return cls(
            name=data["name"],
            model_source=data["model_source"],
            pooling=data["pooling"],
            artifact=Path(data["artifact"]) if data["artifact"] else None,
            environment=dict(data["environment"]),
        )


@dataclass(frozen=True)
class RenderedCases:
    """A folder written by render.py."""

    folder: Path

    def case(self, name: str) -> Case:
        path = self.folder / CASES_DIR / f"{name}.json"
        return Case.from_json(json.loads(path.read_text(encoding="utf-8")))

    def references(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads((self.folder / REFERENCES_FILE).read_text(encoding="utf-8"))
        return data
