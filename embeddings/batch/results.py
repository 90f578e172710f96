"""The job's answers, checked and turned into OUTPUT: line i is the vector of text i, in the JSON Lines that
`python -m embeddings --file FILE --jsonl` writes (embeddings.output.vector_line), so bulk and batch are
interchangeable.

Every answer is checked before it is written: each shard's output holds each of its ids exactly once, and each
vector is 384 finite numbers of unit length. The vector is then normalised in float64 as the client normalises a
pooled answer, so the same text gives the same line either way. Shards are read one at a time, in order, and
their lines streamed out: a corpus's vectors (~8 kB of JSON each) are never all in memory.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Iterator, Sequence
from pathlib import Path
from typing import Any

from embeddings.batch.errors import BatchError, OutputCheckError
from embeddings.batch.shards import Shard
from embeddings.batch.store import Store
from embeddings.batching import EMBEDDING_DIMENSION
from embeddings.errors import InvalidVectorError, OutputFileError
from embeddings.output import replaced_file, vector_line
from embeddings.pooling import all_numbers, describe_shape, l2_normalize

UNIT_LENGTH_TOLERANCE = 1e-4
"""How far from 1 an answer's length may be: the container normalises in float32 (rounding ~1e-7 per value), and
a vector that was not normalised at all is off by far more."""


def checked_vector(value: Any, where: str, dimension: int = EMBEDDING_DIMENSION) -> list[float]:
    if not (isinstance(value, list) and len(value) == dimension and all_numbers(value)):
        raise OutputCheckError(f"{where}: expected {dimension} numbers, got {describe_shape(value)}")
    try:
        unit = l2_normalize(value)
    except InvalidVectorError as error:
        raise OutputCheckError(f"{where}: {error}") from None
    length = math.hypot(*value)
    if abs(length - 1.0) > UNIT_LENGTH_TOLERANCE:
        raise OutputCheckError(f"{where}: the vector's length is {length:.6g}, not 1 (is the model's pooling on?)")
    return unit


def _answer(raw: bytes, where: str, shard: Shard) -> tuple[int, Any]:
    try:
        record = json.loads(raw)
    except ValueError as error:
        raise OutputCheckError(f"{where} is not JSON: {error}") from None
    if not isinstance(record, dict) or "SageMakerOutput" not in record:
        raise OutputCheckError(f'{where}: expected {{"id": ..., "SageMakerOutput": ...}}, got {raw[:80]!r}')
    identifier = record.get("id")
    end = shard.first + shard.count
    if type(identifier) is not int or not shard.first <= identifier < end:
        raise OutputCheckError(f"{where}: id {identifier!r} is not one of this shard's ({shard.first}-{end - 1})")
    return identifier, record["SageMakerOutput"]


def shard_lines(store: Store, job: str, shard: Shard) -> Iterator[bytes]:
    """One shard's output lines in id order, each answer checked; ids in order (as Line assembly keeps them) are
    passed straight on, any others held until their turn."""
    url = store.output_url(job, shard)
    expected = shard.first
    held: dict[int, bytes] = {}
    for number, raw in enumerate(store.output_lines(job, shard), 1):
        if not raw.strip():
            continue
        where = f"{url} line {number}"
        identifier, value = _answer(raw, where, shard)
        if identifier < expected or identifier in held:
            raise OutputCheckError(f"{where}: id {identifier} is answered twice")
        line = vector_line(checked_vector(value, where))
        if identifier != expected:
            held[identifier] = line
            continue
        yield line
        expected += 1
        while expected in held:
            yield held.pop(expected)
            expected += 1
    end = shard.first + shard.count
    if expected != end:
        missing = end - expected - len(held)
        raise OutputCheckError(
            f"{url}: no answer for {missing:,} of its {shard.count:,} texts, the first being text {expected} "
            f"(input line {expected + 1})"
        )


def output_lines(store: Store, sources: Sequence[tuple[Shard, str]]) -> Iterator[bytes]:
    """Every shard's lines, in shard order; `sources` pairs each shard with the job whose output has it."""
    for shard, job in sources:
        yield from shard_lines(store, job, shard)


def write_output(path: Path, lines: Iterable[bytes]) -> int:
    """OUTPUT, written whole or not at all (embeddings.output.replaced_file, as the CLI writes a JSON list): a
    failed check or download part way leaves an existing OUTPUT as it was. Returns the line count."""
    count = 0
    try:
        with replaced_file(path) as file:
            for line in lines:
                file.write(line)
                count += 1
    except OutputFileError as error:
        raise BatchError(str(error)) from None
    return count
