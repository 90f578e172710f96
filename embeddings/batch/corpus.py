"""The runner's input as texts it reads again for each pass (check and count, name, upload), one text at a time,
so that a corpus of millions is never held in memory.

A local file is read line by line, exactly as `python -m embeddings --file` reads it (every `\\n` line, blank
ones too, UTF-8, `\\r\\n` accepted), each pass afresh. What cannot be read twice is spooled once into a temporary
folder, removed when the run is done with it, however it ends: stdin as its raw bytes, and an `s3://` prefix of
JSON Lines records (objects in key order, lines in order, the text under "inputs", other keys ignored) as one
JSON string per text, so that each object is downloaded once.
"""

from __future__ import annotations

import bisect
import json
import os
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embeddings.batch.errors import BatchError, UsageError
from embeddings.errors import InputTextError
from embeddings.lines import decode_utf8, iter_lines

SPOOL_PREFIX = "alex-embed-batch-"
"""The temporary folder's name starts with this (under $TMPDIR), so a left-over one can be recognised."""
_CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class Corpus:
    """Texts that `texts()` reads again on every call, and how to name a text's place to the user."""

    texts: Callable[[], Iterator[str]]
    where: Callable[[int], str]
    """`FILE line N` or `s3://BUCKET/KEY line N` for the text at a position."""
    lines_of: str | None
    """The file (or "stdin") whose lines are the texts, where blank lines are worth a note; None for records."""


@contextmanager
def opened(source: str, s3: Any, skip: Callable[[str, str], bool]) -> Iterator[Corpus]:
    """The texts of INPUT, as the user gave it: a file, '-' for stdin, or an s3:// prefix whose objects `skip`
    does not name (the runner's own files, when the corpus sits in the batch bucket's input/)."""
    if source.startswith("s3://"):
        with tempfile.TemporaryDirectory(prefix=SPOOL_PREFIX) as folder:
            yield _s3_corpus(s3, source, skip, Path(folder) / "texts.jsonl")
    elif source == "-":
        with tempfile.TemporaryDirectory(prefix=SPOOL_PREFIX) as folder:
            spool = Path(folder) / "stdin.txt"
            _spool_stdin(spool)
            yield _file_corpus(spool, "stdin")
    else:
        yield _file_corpus(Path(source), source)


def _file_corpus(path: Path, name: str) -> Corpus:
    first_read: list[tuple[int, int]] = []  # size and modification time when the first pass opened it

    def texts() -> Iterator[str]:
        try:
            with path.open("rb") as file:
                stat = os.fstat(file.fileno())
                if not first_read:
                    first_read.append((stat.st_size, stat.st_mtime_ns))
                elif first_read[0] != (stat.st_size, stat.st_mtime_ns):
                    raise BatchError(f"{name} changed while it was being read; run again once it is complete")
                yield from iter_lines(file, name)
        except OSError as error:
            raise InputTextError(f"cannot read {name}: {error.strerror or error}") from None

    return Corpus(texts, lambda index: f"{name} line {index + 1}", name)


def _spool_stdin(spool: Path) -> None:
    if sys.stdin is None:
        raise InputTextError("cannot read texts from stdin: it is closed")
    stream = getattr(sys.stdin, "buffer", None)
    with spool.open("wb") as file:
        if stream is not None:
            while chunk := stream.read(_CHUNK_BYTES):
                file.write(chunk)
        else:
            while text := sys.stdin.read(_CHUNK_BYTES):
                file.write(text.encode("utf-8"))


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


def _object_lines(body: Any) -> Iterator[bytes]:
    """An object's `\\n` lines, without their `\\n`, read a chunk at a time; a last empty line is none."""
    pending = b""
    while chunk := body.read(_CHUNK_BYTES):
        *lines, pending = (pending + chunk).split(b"\n")
        yield from lines
    if pending:
        yield pending


def _s3_corpus(s3: Any, uri: str, skip: Callable[[str, str], bool], spool: Path) -> Corpus:
    bucket, prefix = parse_s3_uri(uri)
    keys = sorted(
        item["Key"]
        for page in s3.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
        for item in page.get("Contents", [])
        if not item["Key"].endswith("/") and not skip(bucket, item["Key"])
    )
    if not keys:
        raise BatchError(f"INPUT {uri} holds no objects: give a prefix of JSON Lines files")
    starts: list[int] = []  # the position of each object's first text, to name a text's object and line
    count = 0
    with spool.open("w", encoding="ascii") as file:
        for key in keys:
            starts.append(count)
            body = s3.get_object(Bucket=bucket, Key=key)["Body"]
            for number, line in enumerate(_object_lines(body), 1):
                text = _record_text(line.removesuffix(b"\r"), f"s3://{bucket}/{key} line {number}")
                file.write(json.dumps(text) + "\n")  # ASCII, so even a lone surrogate comes back as it was
                count += 1

    def texts() -> Iterator[str]:
        with spool.open(encoding="ascii") as file:
            for line in file:
                yield json.loads(line)

    def where(index: int) -> str:
        position = bisect.bisect_right(starts, index) - 1
        return f"s3://{bucket}/{keys[position]} line {index - starts[position] + 1}"

    return Corpus(texts, where, None)
