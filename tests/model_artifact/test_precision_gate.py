"""The quality gate for `precision: bf16`: bf16's vectors against fp32's on a fixed corpus, through inference.py.

bf16 is forced here whatever the CPU: the gate checks what bf16 computes, and a CI machine without native bf16
computes the same numbers, only more slowly. tests/model_artifact/precision_gate.py holds the floors.
"""

from __future__ import annotations

from pathlib import Path
from types import ModuleType
from typing import Any

import pytest
import torch

from local_endpoint.artifact import import_user_module
from tests.model_artifact import precision_gate
from tests.paths import MODEL_ARTIFACT_DIR


@pytest.fixture(scope="module")
def inference() -> ModuleType:
    return import_user_module(MODEL_ARTIFACT_DIR / "code", "inference")


@pytest.fixture(scope="module")
def encoders(inference: ModuleType, minilm_dir: Path) -> dict[str, Any]:
    """fp32 (the reference) and bf16, each loaded by model_fn as the container would, bf16 on any CPU."""
    with pytest.MonkeyPatch.context() as patch:
        patch.delenv(inference.PRECISION_ENV, raising=False)
        fp32 = inference.model_fn(str(minilm_dir))
        patch.setenv(inference.PRECISION_ENV, "bf16")
        patch.setattr(inference, "native_bf16_support", lambda: inference.Bf16Support(True, "forced by the gate"))
        bf16 = inference.model_fn(str(minilm_dir))
    assert fp32.model.dtype == torch.float32 and bf16.model.dtype == torch.bfloat16  # else the gate compares nothing
    return {"fp32": fp32, "bf16": bf16}


@pytest.fixture(scope="module")
def fp32_vectors(inference: ModuleType, encoders: dict[str, Any]) -> torch.Tensor:
    queries, passages = precision_gate.corpus()
    return precision_gate.embed(inference, encoders["fp32"], queries + passages)


def test_the_corpus_is_the_size_the_gate_promises() -> None:
    queries, passages = precision_gate.corpus()

    assert (len(queries), len(passages)) == (50, 1000)
    assert len(set(queries + passages)) == 1050  # every text distinct, none counted twice
    assert precision_gate.corpus() == (queries, passages)  # the same texts every time


def test_bf16_vectors_pass_the_gate(inference: ModuleType, encoders: dict[str, Any], fp32_vectors: Any) -> None:
    queries, passages = precision_gate.corpus()

    bf16_vectors = precision_gate.embed(inference, encoders["bf16"], queries + passages)
    figures = precision_gate.measure(fp32_vectors, bf16_vectors, len(queries))

    print(f"bf16 {figures.describe()}")
    assert figures.passes, figures.describe()
    # The vectors leave in fp32 and unit length: pooled and normalised after the cast back from bf16.
    off_unit = float((bf16_vectors.norm(dim=1) - 1).abs().max())
    assert off_unit <= 1e-6, f"bf16 vectors are not unit length: a norm is off by {off_unit:.1e}"
    assert not torch.equal(bf16_vectors, bf16_vectors.to(torch.bfloat16).float()), "vectors rounded to bf16"


@pytest.mark.parametrize(
    ("damage", "fails_on"),
    [
        ("noise", "worst cosine"),  # every vector nudged, like a coarser precision
        ("swap", "overlap"),  # a few vectors exchanged: most cosines stay 1, rankings change
    ],
)
def test_the_gate_fails_a_candidate_that_strays_from_fp32(
    fp32_vectors: torch.Tensor, damage: str, fails_on: str
) -> None:
    queries = 50
    generator = torch.Generator().manual_seed(0)
    candidate = fp32_vectors.clone()
    if damage == "noise":
        candidate += torch.randn(candidate.shape, generator=generator) * 0.004
        candidate = torch.nn.functional.normalize(candidate, dim=1)
    else:
        passages = torch.randperm(len(candidate) - queries, generator=generator)[:200] + queries
        candidate[passages] = candidate[passages.flip(0)]

    figures = precision_gate.measure(fp32_vectors, candidate, queries)

    assert not figures.passes, figures.describe()
    if fails_on == "worst cosine":
        assert figures.worst_cosine < precision_gate.WORST_COSINE_FLOOR
    else:
        assert figures.mean_overlap < precision_gate.MEAN_OVERLAP_FLOOR
