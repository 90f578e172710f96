"""The precision gate's measure, shared by its test and benchmarks/bench_precision.py so both judge alike.

A candidate precision passes when every vector stays close to fp32's (worst cosine) and a search over the corpus
finds nearly the same top 10 (mean overlap): a vector store built with one precision and queried with the other,
or rebuilt after switching, then ranks as before. The corpus is tests/model_artifact/gate_corpus.py's.
"""

from __future__ import annotations

from types import ModuleType
from typing import Any, NamedTuple

import torch

from tests.model_artifact import gate_corpus

WORST_COSINE_FLOOR = 0.999
MEAN_OVERLAP_FLOOR = 0.97
NEIGHBOURS = 10


class GateFigures(NamedTuple):
    """How far a candidate's vectors are from fp32's on the gate corpus."""

    texts: int
    queries: int
    passages: int
    worst_cosine: float
    mean_cosine: float
    mean_overlap: float
    worst_overlap: float

    @property
    def passes(self) -> bool:
        return self.worst_cosine >= WORST_COSINE_FLOOR and self.mean_overlap >= MEAN_OVERLAP_FLOOR

    def describe(self) -> str:
        verdict = "passes" if self.passes else "FAILS"
        return (
            f"{verdict} the gate: worst cosine {self.worst_cosine:.6f} (floor {WORST_COSINE_FLOOR}, mean "
            f"{self.mean_cosine:.6f}) over {self.texts} texts; mean top-{NEIGHBOURS} overlap {self.mean_overlap:.3f} "
            f"(floor {MEAN_OVERLAP_FLOOR}, worst query {self.worst_overlap:.1f}) for {self.queries} queries over "
            f"{self.passages} passages"
        )


def corpus() -> tuple[list[str], list[str]]:
    """The gate's queries and passages."""
    return gate_corpus.queries(), gate_corpus.passages()


def embed(inference: ModuleType, encoder: Any, texts: list[str]) -> torch.Tensor:
    """inference.py's vectors for `texts`, through its predict_fn as one request (so sorted into sub-batches)."""
    answer = inference.predict_fn(inference.EmbeddingRequest(texts, False, inference.MAX_TOKENS), encoder)
    vectors: torch.Tensor = answer.vectors.to(torch.float32)
    return vectors


def measure(reference: torch.Tensor, candidate: torch.Tensor, queries: int) -> GateFigures:
    """Compare `candidate` with `reference` (fp32), row by row; the first `queries` rows are the queries.

    The cosine is the true cosine, whatever the vectors' lengths (the test checks the length on its own). The
    neighbours are ranked by dot product, as a vector store using the inner product ranks the vectors it is given.
    """
    if reference.shape != candidate.shape or not 0 < queries < len(reference):
        raise ValueError(
            f"cannot compare vectors of shapes {tuple(reference.shape)} and {tuple(candidate.shape)} with {queries} "
            "queries: both need the same shape and more rows than queries"
        )
    cosines = torch.nn.functional.cosine_similarity(reference.double(), candidate.double(), dim=1)
    overlaps = []
    for vectors in (reference, candidate):
        scores = vectors[:queries].double() @ vectors[queries:].double().T
        overlaps.append(scores.topk(NEIGHBOURS, dim=1).indices.tolist())
    shared = [len(set(a) & set(b)) / NEIGHBOURS for a, b in zip(*overlaps, strict=True)]
    return GateFigures(
        texts=len(reference),
        queries=queries,
        passages=len(reference) - queries,
        worst_cosine=float(cosines.min()),
        mean_cosine=float(cosines.mean()),
        mean_overlap=sum(shared) / len(shared),
        worst_overlap=min(shared),
    )
