"""Turn what the endpoint returns into sentence vectors, in pure Python so a Lambda needs no numpy.

With HF_TASK=feature-extraction the container returns the transformer's last hidden state: one vector per token,
`[1][n_tokens][dim]` per text. all-MiniLM-L6-v2 was trained to be used through mean pooling over those token
vectors followed by L2 normalisation; the first token ([CLS]) alone is a poor sentence vector for this model.
The container tokenises each text of a list on its own, so there are no padding tokens and a plain mean equals
sentence-transformers' attention-masked mean.

A container that pools on the server returns `[dim]` or `[[dim]]` per text instead. Both are accepted: the mean
of a single vector is that vector, so one code path serves both.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from embeddings.errors import InvalidVectorError, ResponseShapeError

POOLING_MODES = ("auto", "client", "server")
"""Who pools, as the stack's `pooling` output says: `client` (token-level answers), `server` (one vector per
text), or `auto`: find out from the answers."""

ZERO_NORM_FLOOR = 1e-12
"""A pooled vector shorter than this counts as zero and is refused. It is torch.nn.functional.normalize's eps,
which sentence-transformers normalises with: below it the reference answers no unit vector either (it divides by
the eps), so nothing the client could hand out would match it."""

UNIT_TOLERANCE = 1e-9
"""How far from 1 a handed-out vector's length may be; float64 rounding over 384 values stays below 1e-15."""


def describe_shape(value: Any) -> str:
    """A short shape description such as `list[1][12][384]`, for error messages about unexpected payloads."""
    dims: list[str] = []
    while isinstance(value, list):
        dims.append(f"[{len(value)}]")
        if not value:
            break
        value = value[0]
    if dims:
        return "list" + "".join(dims) + ("" if isinstance(value, list) else f" of {type(value).__name__}")
    return type(value).__name__


# json.loads gives exactly int or float for a JSON number; an exact type test also rules out bool, and is what
# keeps checking every one of ~384 numbers per vector cheap: the set test over map(type, ...) runs in C.
_NUMBER_TYPES = frozenset({int, float})


def all_numbers(values: list[Any]) -> bool:
    """Every value an int or a float, by exact type: a JSON true is no number."""
    return _NUMBER_TYPES.issuperset(map(type, values))


def _has_batch_axis(item: Any) -> bool:
    """`[1][n][dim]`: the pipeline keeps the tokenizer's batch axis of size 1 for each text."""
    return (
        isinstance(item, list)
        and len(item) == 1
        and isinstance(item[0], list)
        and bool(item[0])
        and isinstance(item[0][0], list)
    )


def _rows(item: Any) -> list[list[float]]:
    """The vectors to average for one text: token vectors, or a single already-pooled vector."""
    if _has_batch_axis(item):
        item = item[0]
    if isinstance(item, list) and item:
        if all_numbers(item):
            return [item]  # [dim]: pooled on the server.
        if all(isinstance(row, list) and row and all_numbers(row) for row in item):
            return item  # [n][dim] token vectors, or [[dim]] pooled on the server.
    raise ResponseShapeError(
        "expected token vectors ([1][n][dim] or [n][dim]) or a pooled vector ([dim] or [[dim]]) per text, "
        f"got {describe_shape(item)}"
    )


def vector_count(item: Any) -> int:
    """How many vectors one text's answer holds: 1 if the server pooled, at least 2 ([CLS], [SEP]) if not.

    Only for an answer `sentence_vectors` has accepted: it reads the shape without checking every number again.
    """
    if _has_batch_axis(item):
        item = item[0]
    return len(item) if item and isinstance(item[0], list) else 1


def l2_normalize(vector: Sequence[float]) -> list[float]:
    """Unit length, so that a dot product is the cosine, as with `normalize_embeddings=True`.

    math.hypot scales internally, so a vector of 1e200s or 1e-300s keeps its direction where a plain sum of
    squares overflows to infinity or underflows to zero. Raises InvalidVectorError when there is no direction
    to keep: non-finite values, a length of zero or below ZERO_NORM_FLOOR, or one beyond the largest float.
    """
    norm = math.hypot(*vector)
    if not math.isfinite(norm):
        if not all(math.isfinite(x) for x in vector):
            raise InvalidVectorError("the endpoint returned non-finite values (NaN or infinity)")
        largest = max(abs(x) for x in vector)
        raise InvalidVectorError(f"the vector's length overflows a float (largest value {largest:.3g})")
    if norm < ZERO_NORM_FLOOR:
        what = "all zeros" if norm == 0 else f"length {norm:.3g} is below {ZERO_NORM_FLOOR:g}, which counts as zero"
        raise InvalidVectorError(f"the vector is {what}: it has no direction to normalise")
    unit = [x / norm for x in vector]
    length = math.hypot(*unit)
    if abs(length - 1.0) > UNIT_TOLERANCE:
        raise InvalidVectorError(f"the vector normalised to length {length!r}, not 1 within {UNIT_TOLERANCE:g}")
    return unit


def _mean(rows: list[list[float]]) -> list[float]:
    """The column means; a pooled answer is its own mean.

    The plain sum is the fast path. If it overflowed although each value was finite (token values near 1e308),
    the mean is taken again from values divided first, which cannot overflow.
    """
    count = len(rows)
    if count == 1:
        return rows[0]
    mean = [sum(column) / count for column in zip(*rows, strict=True)]
    if all(map(math.isfinite, mean)) or not all(math.isfinite(x) for row in rows for x in row):
        return mean
    return [sum(x / count for x in column) for column in zip(*rows, strict=True)]


def sentence_vector(item: Any, dimension: int | None = None) -> list[float]:
    """One text's answer from the endpoint, reduced to its normalised sentence vector."""
    rows = _rows(item)
    width = len(rows[0])
    if any(len(row) != width for row in rows):
        raise ResponseShapeError(f"token vectors of different lengths in {describe_shape(item)}")
    if dimension is not None and width != dimension:
        raise ResponseShapeError(
            f"vectors have {width} dimensions, expected {dimension} (is this the all-MiniLM-L6-v2 endpoint?)"
        )
    return l2_normalize(_mean(rows))


def sentence_vectors(
    payload: Any, expected_count: int, dimension: int | None = None, *, first_index: int = 0
) -> list[list[float]]:
    """The whole response of one invocation: one entry per input text, in input order.

    `first_index` is the caller's index of the invocation's first text, so an error names the text as the caller
    numbers it, not as the batch does.
    """
    if not isinstance(payload, list) or len(payload) != expected_count:
        raise ResponseShapeError(
            f"expected a JSON list with one entry per text ({expected_count}), got {describe_shape(payload)}"
        )
    vectors: list[list[float]] = []
    for offset, item in enumerate(payload):
        try:
            vectors.append(sentence_vector(item, dimension))
        except ResponseShapeError as error:
            index = first_index + offset
            raise type(error)(f"text {index}: {error}", index=index) from error
    return vectors
