"""Texts in, shard files out: records `{"id": <position>, "inputs": <text>}`, one per line, several files per
instance, because a transform job hands whole S3 objects to its instances (one big file keeps one instance busy).

The record's id is the text's position, so line i of the output is the vector of text i. The texts come from a
`Corpus` (corpus.py), read in passes: one checks and counts them a chunk at a time, and each later pass (the job's
name, the upload) builds the shard files one at a time, so no pass holds more than a chunk or a shard.
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass

from embeddings.batch.corpus import Corpus
from embeddings.batch.errors import BatchError
from embeddings.batch.job import MAX_PAYLOAD_BYTES
from embeddings.errors import InputTextError, InvalidTextError
from embeddings.texts import checked_texts

SHARDS_PER_INSTANCE = 4
"""Several files per instance, so the last file of one instance is not the whole job's tail."""
MAX_RECORDS_PER_SHARD = 20_000
"""~2 MB of short texts, ~100 s on 2 cores: a failed shard costs little to redo, and one shard's answers
(~8 kB of JSON per vector) stay small enough to check in memory."""
CHECKED_AT_ONCE = 10_000
"""Texts in one call of the client's checks: what the checking pass holds, with at most _CHECKED_CHARACTERS."""
_CHECKED_CHARACTERS = 16 * 1024 * 1024
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


def bodies(texts: Iterable[str], shards: Sequence[Shard]) -> Iterator[bytes]:
    """Each shard's file, in order, built when asked for from one pass over the texts (`Corpus.texts()`), so only
    one shard's texts are held at a time. The shards must be in order, as `plan` gives them."""
    stream = iter(texts)
    position = 0
    for shard in shards:
        if shard.first < position:
            raise ValueError(f"shards out of order: {shard.file_name} starts at {shard.first}, before {position}")
        lines = []
        for index in range(position, shard.first + shard.count):
            text = next(stream, None)
            if text is None:
                raise BatchError(f"INPUT ended at text {index:,}, not where it did when checked: it changed; run again")
            if index >= shard.first:
                lines.append(record_line(index, text))
        position = shard.first + shard.count
        yield b"".join(lines)


def _chunks(texts: Iterable[str]) -> Iterator[tuple[int, list[str]]]:
    """The texts in lists of at most CHECKED_AT_ONCE (fewer if they are long), each with its first's position."""
    first, chunk, characters = 0, [], 0
    for text in texts:
        chunk.append(text)
        characters += len(text)
        if len(chunk) >= CHECKED_AT_ONCE or characters >= _CHECKED_CHARACTERS:
            yield first, chunk
            first, chunk, characters = first + len(chunk), [], 0
    if chunk:
        yield first, chunk


@dataclass
class _BlankLines:
    count: int = 0
    shown: tuple[int, ...] = ()

    def see(self, first: int, chunk: list[str]) -> None:
        for index, text in enumerate(chunk, first):
            if not text.strip():
                self.count += 1
                if len(self.shown) < _BLANK_LINES_SHOWN:
                    self.shown += (index + 1,)

    def note(self, source: str) -> str:
        shown = ", ".join(map(str, self.shown)) + (", ..." if self.count > _BLANK_LINES_SHOWN else "")
        return (
            f"note: {self.count} blank line(s) in {source} ({shown}) are embedded as they are, so that the output "
            "keeps one vector per line; filter them out first to skip them, e.g. grep -v '^[[:space:]]*$'"
        )


def _oversized(first: int, chunk: list[str], where: Callable[[int], str]) -> InputTextError | None:
    for index, text in enumerate(chunk, first):
        size = len(record_line(index, text))
        if size > MAX_PAYLOAD_BYTES:
            return InputTextError(
                f"{where(index)}: its record takes {size:,} bytes, over the job's {MAX_PAYLOAD_BYTES:,}-byte "
                "MaxPayloadInMB; the model reads only its first 256 tokens, so send its start"
            )
    return None


def checked(corpus: Corpus, report: Callable[[str], None]) -> int:
    """One pass over every text: the client's checks (type, encodability, size), then each record against the
    payload limit; the number of texts.

    What is reported comes in the order it came when the whole input was read first: unreadable input (not UTF-8,
    not a JSON record) wherever it is, then the note on blank lines, then the first text the client's checks
    refuse, and only if there is none, the first record over the payload limit. So the pass goes on to the end
    after a refused text, checking nothing more than it must.
    """
    blank = _BlankLines()
    refused: InputTextError | None = None
    oversized: InputTextError | None = None
    count = 0
    for first, chunk in _chunks(corpus.texts()):
        count = first + len(chunk)
        if corpus.lines_of is not None:
            blank.see(first, chunk)
        if refused is not None:
            continue
        try:
            checked_texts(chunk, MAX_PAYLOAD_BYTES, first=first)
        except InvalidTextError as error:
            if error.index is None:
                raise
            refused = InputTextError(f"{corpus.where(error.index)}: {error}")
            continue
        if oversized is None:
            oversized = _oversized(first, chunk, corpus.where)
    if blank.count and corpus.lines_of is not None:
        report(blank.note(corpus.lines_of))
    failure = refused or oversized
    if failure is not None:
        raise failure
    return count
