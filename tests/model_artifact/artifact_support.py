"""Helpers for the artifact tests: JSON through the handler contract, cosines, texts, small artifacts on disk."""

from __future__ import annotations

import io
import json
import math
import tarfile
import textwrap
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from local_endpoint.artifact import ContainerResponse

JSON = "application/json"

LONG_WORDS = 1500
LONG_TEXT = " ".join(
    f"word{index % 97} the quarterly report mentions revenue and churn" if index % 10 == 0 else f"token{index % 53}"
    for index in range(LONG_WORDS)
)
EDGE_TEXTS = {
    "empty": "",
    "cjk": "東京は日本の首都です。北京是中国的首都。서울은 한국의 수도입니다.",
    "emoji": "🎉🚀 launch day! 👩\u200d💻 ships the 🔥 feature 🙌",
    "long": LONG_TEXT,
}
# Short and long mixed, more than one sub-batch, so sorting and restoring the order is exercised.
MIXED_TEXTS = [
    EDGE_TEXTS["long"],
    "The quarterly report summarises the revenue forecast.",
    EDGE_TEXTS["empty"],
    "Our search index depends on every invoice that was paid late last year, and on nothing else at all.",
    EDGE_TEXTS["cjk"],
    "short",
    EDGE_TEXTS["emoji"],
    "The ingest pipeline archives documents nightly.",
    "An autonomous agent questions the product roadmap while the auditor validates the legal review.",
    "ok",
]


def invoke_json(container: Any, payload: Any, content_type: str | None = JSON, accept: str | None = None) -> Any:
    """Send `payload` as JSON and return the decoded 200 answer."""
    response = container.invoke(json.dumps(payload).encode("utf-8"), content_type, accept)
    assert response.status == 200, response.body
    return json.loads(response.body)


def error_message(response: ContainerResponse) -> str:
    """The message of the model server's 400 body."""
    assert response.status == 400, response.body
    assert response.content_type == JSON
    return json.loads(response.body)["message"]


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


def write_artifact(root: Path, inference_py: str, extra_files: dict[str, str] | None = None) -> Path:
    """A folder artifact holding code/inference.py (and helpers beside it)."""
    code = root / "code"
    code.mkdir(parents=True)
    (code / "inference.py").write_text(textwrap.dedent(inference_py), encoding="utf-8")
    for name, text in (extra_files or {}).items():
        (code / name).write_text(textwrap.dedent(text), encoding="utf-8")
    return root


def pack(folder: Path, archive: Path) -> Path:
    """A model.tar.gz of `folder`, members relative to its root as SageMaker expects."""
    with tarfile.open(archive, "w:gz") as tar:
        for path in sorted(folder.rglob("*")):
            if "__pycache__" not in path.parts:
                tar.add(path, arcname=str(path.relative_to(folder)), recursive=False)
    return archive


def add_member(tar: tarfile.TarFile, name: str, data: bytes = b"x", **attributes: Any) -> None:
    info = tarfile.TarInfo(name)
    info.size = len(data)
    for key, value in attributes.items():
        setattr(info, key, value)
    tar.addfile(info, io.BytesIO(data) if info.isfile() else None)
