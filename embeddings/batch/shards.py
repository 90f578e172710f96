"""Texts in, shard files out: records `{"id": <position>, "inputs": <text>}`, one per line, several files per
instance, because a transform job hands whole S3 objects to its instances (one big file keeps one instance busy).

Texts come from a file read exactly as `python -m embeddings --file` reads it (every `\\n` line, blank ones too,
UTF-8, `\\r\\n` accepted), or from an `s3://` prefix of JSON Lines records that carry the text under "inputs"
(objects in key order, lines in order; other keys are ignored). Either way the record's id is the text's position,
so line i of the output is the vector of text i.
"""

from __future__ import annotations

import bisect
import json
import math
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embeddings.batch.errors import BatchError, UsageError
from embeddings.batch.job import MAX_PAYLOAD_BYTES
from embeddings.errors import InputTextError, InvalidTextError
from embeddings.lines import decode_utf8, split_lines
from embeddings.texts import checked_texts

SHARDS_PER_INSTANCE = 4
"""Several files per instance, so the last file of one instance is not the whole job's tail."""
MAX_RECORDS_PER_SHARD = 20_000
"""~2 MB of short texts, ~100 s on 2 cores: a failed shard costs little to redo, and one shard's answers
(~8 kB of JSON per vector) stay small enough to check in memory."""
_BLANK_LINES_SHOWN = 5


@dataclass(frozen=True)
class Shard:
    """One input file: the records of texts [first, first + count)."""

    index: int
    first: int
    count: int

    @property
    def file_name(self) -> str:
        return f"shard-{self.index:05d}.jsonl"


def plan(records: int, instances: int) -> list[Shard]:
    """Contiguous shards of nearly equal size: SHARDS_PER_INSTANCE per instance, more if they would be too big."""
    if records == 0:
        return []
    count = min(records, max(instances * SHARDS_PER_INSTANCE, math.ceil(records / MAX_RECORDS_PER_SHARD)))
    size, extra = divmod(records, count)
    shards, first = [], 0
    for index in range(count):
        length = size + (index < extra)
        shards.append(Shard(index, first, length))
        first += length
    return shards


def record_line(position: int, text: str) -> bytes:
    return json.dumps({"id": position, "inputs": text}, ensure_ascii=False, separators=(",", ":")).encode() + b"\n"


def bodies(texts: Sequence[str], shards: Sequence[Shard]) -> Iterator[bytes]:
    """Each shard's file, in order, built when asked for (a corpus's files are not all held at once)."""
    for shard in shards:
        yield b"".join(record_line(i, texts[i]) for i in range(shard.first, shard.first + shard.count))


def _read(file: str) -> bytes:
    if file == "-":
        if sys.stdin is None:
            raise InputTextError("cannot read texts from stdin: it is closed")
        stream = getattr(sys.stdin, "buffer", None)
        return stream.read() if stream is not None else sys.stdin.read().encode("utf-8")
    try:
        return Path(file).read_bytes()
    except OSError as error:
        raise InputTextError(f"cannot read {file}: {error.strerror or error}") from None


def file_texts(file: str, report: Callable[[str], None]) -> list[str]:
    """The texts of a local file (or stdin for '-'), one per line, as `python -m embeddings --file` reads them."""
    source = "stdin" if file == "-" else file
    lines = split_lines(_read(file), source)
    blank = [number for number, line in enumerate(lines, 1) if not line.strip()]
    if blank:
        shown = ", ".join(map(str, blank[:_BLANK_LINES_SHOWN])) + (", ..." if len(blank) > _BLANK_LINES_SHOWN else "")
        report(
            f"note: {len(blank)} blank line(s) in {source} ({shown}) are embedded as they are, so that the output "
            "keeps one vector per line; filter them out first to skip them, e.g. grep -v '^[[:space:]]*$'"
        )
    return checked(lines, lambda index: f"{source} line {index + 1}")


def checked(texts: list[str], where: Callable[[int], str]) -> list[str]:
    """The client's checks on every text (type, encodability, size), then each record against the payload limit."""
    try:
        checked_texts(texts, MAX_PAYLOAD_BYTES)
    except InvalidTextError as error:
        if error.index is None:
            raise
        raise InputTextError(f"{where(error.index)}: {error}") from None
    for index, text in enumerate(texts):
        size = len(record_line(index, text))
        if size > MAX_PAYLOAD_BYTES:
            raise InputTextError(
                f"{where(index)}: its record takes {size:,} bytes, over the job's {MAX_PAYLOAD_BYTES:,}-byte "
                "MaxPayloadInMB; the model reads only its first 256 tokens, so send its start"
            )
    return texts


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """`s3://bucket/prefix` as (bucket, prefix); the prefix may be empty."""
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise UsageError(f"INPUT is {uri!r}; an S3 input is s3://BUCKET/PREFIX, a prefix of JSON Lines files")
    return bucket, prefix


def _record_text(line: bytes, where: str) -> str:
    try:
        record: Any = json.loads(decode_utf8(line, where))
    except ValueError as error:
        raise InputTextError(f"{where} is not a JSON record: {error}") from None
    if not isinstance(record, dict) or not isinstance(record.get("inputs"), str):
        raise InputTextError(f'{where} is not a JSON object with a string "inputs", got {line[:80]!r}')
    text: str = record["inputs"]
    return text


def s3_texts(s3: Any, uri: str, skip: Callable[[str, str], bool] = lambda bucket, key: False) -> list[str]:
    """The "inputs" of every record under an s3:// prefix: objects in key order, lines in order, except the
    objects `skip` names (the runner's own files, when the corpus sits in the batch bucket's input/)."""
    bucket, prefix = parse_s3_uri(uri)
    keys = [
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
        if not item["Key"].endswith("/") and not skip(bucket, item["Key"])
    ]
    if not keys:
        raise BatchError(f"INPUT {uri} holds no objects: give a prefix of JSON Lines files")
    texts: list[str] = []
    starts: list[int] = []  # the index of each object's first text, to name a text's object and line on error
    keys.sort()
    for key in keys:
        data = s3.get_object(Bucket=bucket, Key=key)["Body"].read()
        lines = data.split(b"\n")
        if lines and lines[-1] == b"":
            lines.pop()
        starts.append(len(texts))
        for number, line in enumerate(lines, 1):
            texts.append(_record_text(line.removesuffix(b"\r"), f"s3://{bucket}/{key} line {number}"))

    def where(index: int) -> str:
        position = bisect.bisect_right(starts, index) - 1
        return f"s3://{bucket}/{keys[position]} line {index - starts[position] + 1}"

    return checked(texts, where)
