"""What `python -m embeddings --resume` checks before it keeps a single vector: that the file continues *this* run.

Beside each JSON Lines output the CLI writes (`out.jsonl.partial` while it runs, `out.jsonl` when done) lies a
record, the same name plus `.resume`. Its first line is a JSON object of the settings that shape the vectors (the
endpoint's URL, which holds its region and name; --pooling; --batch-size, since a batch's texts shape its numbers;
the dimension). Then one line per input text: the first 16 hex digits of the text's BLAKE2b digest, so line i of
the record stands for line i of the input. An `auto` run appends `{"learned_pooling": ...}` once it knows where
the endpoint pools, before its first vector is written, so a resumed run plans the same batches.

A resume compares the settings, then the digest of every text it keeps against the record, and refuses at the first
difference, naming it; only then is anything written. The record is 17 bytes per text, about 0.2 % of the
vectors' 8 kB per line.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from embeddings.errors import OutputFileError

RECORD_SUFFIX = ".resume"
FORMAT = "python -m embeddings resume record 1"
_DIGEST_BYTES = 8

# The settings in the record, and how a user sets each one on the command line.
_SETTING_NAMES = {
    "endpoint": "endpoint URL (-e/--endpoint-name, -r/--region, AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME)",
    "pooling": "--pooling",
    "batch_size": "--batch-size",
    "dimension": "vector dimension",
}


def record_path(data: Path) -> Path:
    return data.with_name(data.name + RECORD_SUFFIX)


def text_digest(text: str) -> str:
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=_DIGEST_BYTES).hexdigest()


def write_record(data: Path, settings: dict[str, Any], texts: Sequence[str], learned_pooling: str | None) -> None:
    """The record of `data` for these texts and settings, replacing any before it in one step."""
    path = record_path(data)
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    header = {"format": FORMAT, **settings}
    try:
        with temporary.open("w", encoding="utf-8") as file:
            file.write(json.dumps(header) + "\n")
            file.writelines(text_digest(text) + "\n" for text in texts)
            if learned_pooling is not None:
                file.write(json.dumps({"learned_pooling": learned_pooling}) + "\n")
        os.replace(temporary, path)
    except OSError as error:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise OutputFileError(f"cannot write {path}: {error.strerror or error}") from None


def note_learned_pooling(data: Path, mode: str) -> None:
    """An `auto` run found where the endpoint pools: appended before the first vector is written."""
    try:
        with record_path(data).open("a", encoding="utf-8") as file:
            file.write(json.dumps({"learned_pooling": mode}) + "\n")
    except OSError as error:
        raise OutputFileError(f"cannot write {record_path(data)}: {error.strerror or error}") from None


def check_record(data: Path, settings: dict[str, Any], texts: Sequence[str], kept: int, source: str) -> str | None:
    """Refuse, naming the first difference, unless `data`'s `kept` vectors came from these settings and from
    `texts[:kept]`; returns the pooling the run learned (`auto`), if any. Reads only."""
    path = record_path(data)
    refuse = f"cannot resume {data}"
    unchanged = "it was left unchanged"
    if kept > len(texts):
        raise OutputFileError(
            f"{refuse}: it holds {kept} vectors but the input has {len(texts)} texts, so it is not this input's "
            f"output; {unchanged}"
        )
    if kept == 0:
        return None  # nothing is kept, so nothing can be mixed (a run killed before its record was written)
    try:
        with path.open(encoding="utf-8") as file:
            lines = iter(file)
            header = json.loads(next(lines, "{}"))
            if not isinstance(header, dict) or header.get("format") != FORMAT:
                raise ValueError
            for key, value in settings.items():
                if header.get(key) != value:
                    raise OutputFileError(
                        f"{refuse}: its vectors were made with {_SETTING_NAMES.get(key, key)} {header.get(key)!r}, "
                        f"and this run has {value!r}; vectors of both would not match. Run with the same setting to "
                        f"continue it; {unchanged}"
                    )
            learned: str | None = None
            digests = 0
            for line in lines:
                if line.startswith("{"):
                    learned = json.loads(line)["learned_pooling"]
                    continue
                digests += 1
                if digests <= kept and line.rstrip("\n") != text_digest(texts[digests - 1]):
                    raise OutputFileError(
                        f"{refuse}: its line {digests} was embedded from another text than line {digests} of "
                        f"{source} (the first difference); {unchanged}. Give the input that run embedded, or drop "
                        "--resume to start over"
                    )
            if digests < kept:
                raise ValueError("fewer texts recorded than vectors kept")
            return learned
    except OutputFileError:
        raise
    except FileNotFoundError:
        raise OutputFileError(
            f"{refuse}: {path} is missing, the record of the texts and settings its vectors were made from, so "
            f"they cannot be checked against this input; {unchanged}. Drop --resume to embed everything again"
        ) from None
    except (ValueError, UnicodeDecodeError, AttributeError, KeyError, TypeError):
        raise OutputFileError(
            f"{refuse}: {path} is not a complete record of this command, so its vectors cannot be checked; "
            f"{unchanged}. Drop --resume to embed everything again"
        ) from None
    except OSError as error:
        raise OutputFileError(f"{refuse}: cannot read {path}: {error.strerror or error}") from None
