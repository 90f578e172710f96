"""The committed reference vector is still what sentence-transformers computes for the tutorial's text with the
stack's pinned model, and it is what the smoke script reads."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

from scripts import smoke
from tests.smoke.reference import REFERENCE_FILE, reference_document


def test_the_committed_reference_is_sentence_transformers_vector_of_the_tutorial_text(
    sentence_transformer: Any, minilm_dir: Path
) -> None:
    committed = json.loads(REFERENCE_FILE.read_text(encoding="utf-8"))
    fresh = reference_document(sentence_transformer, minilm_dir)

    assert {key: committed[key] for key in ("text", "model_id", "model_revision")} == {
        key: fresh[key] for key in ("text", "model_id", "model_revision")
    }
    assert len(committed["vector"]) == len(fresh["vector"]) == 384
    worst = max(abs(a - b) for a, b in zip(committed["vector"], fresh["vector"], strict=True))
    assert worst <= 1e-6, f"stale reference (max difference {worst:g}): rebuild it with python -m tests.smoke.reference"


def test_the_script_reads_the_reference_as_committed() -> None:
    committed = json.loads(REFERENCE_FILE.read_text(encoding="utf-8"))

    reference = smoke.load_reference()

    assert reference.vector == tuple(committed["vector"])
    assert (reference.text, reference.model_id) == (smoke.REQUEST_TEXT, committed["model_id"])
    assert math.isclose(math.hypot(*reference.vector), 1.0, abs_tol=1e-6)
