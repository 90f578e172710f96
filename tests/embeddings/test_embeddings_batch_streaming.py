"""The batch runner reads its input in passes instead of holding it: the same shard files, job name and manifest
as when it read everything at once (pinned below from that implementation), errors that still name their line, a
peak of memory far below the corpus's size, and no temporary file left behind."""

from __future__ import annotations

import hashlib
import io
import tracemalloc
import sys
from pathlib import Path
from typing import Any

import pytest

from embeddings.batch import runner, shards
from tests.embeddings import test_embeddings_batch_runner as runner_tests
from tests.embeddings.batch_fakes import BUCKET

aws = runner_tests.aws  # the same moto-backed fixture as the runner's own tests
Setup = runner_tests.Setup
SETTINGS = (*runner_tests.SETTINGS, "--instance-count", "2")


def tricky_corpus() -> bytes:
    """What a corpus holds, spread over more texts than one check chunk and one shard: a byte-order mark, Windows
    line ends, blank and whitespace-only lines, non-ASCII, characters `str.splitlines()` would break at, JSON's
    special characters, a lone `\\r`, and a last line without `\\n`."""
    special = [
        "\ufefffirst line after a byte-order mark\r\n",
        "\n",
        "   \t \n",
        "ünïcode — 日本語 🙂\n",
        "a\u2028b\u2029c\x0cd\x1ce\x85f\n",
        'quotes " and \\ backslashes \\n and a tab\t\r\n',
        "carriage\rreturn inside\n",
        "\r\n",
    ]
    generated = [f"generated text number {i}: {'ü' * (i % 7)} {i * i}\n" for i in range(25_000)]
    lines = special + generated[:12_345] + special[1:] + generated[12_345:] + ["last line without a newline"]
    return "".join(lines).encode("utf-8")


def s3_corpus() -> dict[str, bytes]:
    """JSON Lines objects: `\\r\\n`, a last line without `\\n`, an empty object, other keys, escapes, non-ASCII."""
    records = [f'{{"inputs": "record {i} ü", "id": {i}}}' for i in range(25_000)]
    return {
        "corpus/a.jsonl": ("\r\n".join(records[:10_001]) + "\r\n").encode(),
        "corpus/b.jsonl": b"",
        "corpus/c.jsonl": b'{"inputs": "\\u00fcber \\"quoted\\" \\ud83d\\ude42", "x": [1]}\n{"inputs": ""}\n',
        "corpus/d.jsonl": "\n".join(records[10_001:]).encode(),
        "corpus/e.jsonl": '{"inputs": "日本語\\u2028 the end"}'.encode(),
    }


def submitted(aws: Setup, source: str, capsys: Any) -> tuple[str, str, str]:
    """The job's name, a SHA-256 of its shard files in order and of its manifest."""
    status = runner_tests.batch(aws, "submit", source, *SETTINGS, "--yes")
    out, err = capsys.readouterr()
    assert status == 0, err
    name = out.strip()
    keys = aws.keys(f"input/{name}/")
    assert len(keys) == 8
    shards = hashlib.sha256()
    for key in keys:
        shards.update(aws.s3.get_object(Bucket=BUCKET, Key=key)["Body"].read())
    manifest = aws.s3.get_object(Bucket=BUCKET, Key=f"input/{name}.manifest.json")["Body"].read()
    return name, shards.hexdigest(), hashlib.sha256(manifest).hexdigest()


# Pinned from the implementation that read the whole input into a list (main at 0a6eb82).
FILE_NAME = "alex-embedding-endpoint-batch-aeb73f730c3cac82"
FILE_SHARDS = "ae17a33c92b02d1527641c8c40d493d33754c21b0ad8fcf3e4007ce224b81ddb"
FILE_MANIFEST = "ee903123d9fe3ad475e43d9f73970380ae9f5deb596260d32ead35f3237e0cd1"
S3_NAME = "alex-embedding-endpoint-batch-0563c5208a09db24"
S3_SHARDS = "23b465fcb94eb7d71262e861f3b4b52c999573d25c5dc202d53b7d4f4e1b7e6c"
S3_MANIFEST = "17dcf9f42ccf6fb1b3b356e8dd30b3f873ad01487ad074ea06712e1fb4c4d7ea"


def test_a_files_shards_name_and_manifest_are_those_of_reading_it_whole(
    aws: Setup, tmp_path: Path, capsys: Any
) -> None:
    source = tmp_path / "corpus.txt"
    source.write_bytes(tricky_corpus())
    assert submitted(aws, str(source), capsys) == (FILE_NAME, FILE_SHARDS, FILE_MANIFEST)


@pytest.mark.parametrize("binary", [True, False], ids=["bytes", "text-only stdin"])
def test_stdin_gives_what_the_same_file_gives(
    aws: Setup, monkeypatch: pytest.MonkeyPatch, capsys: Any, binary: bool
) -> None:
    data = tricky_corpus()
    stdin: Any = io.TextIOWrapper(io.BytesIO(data), encoding="utf-8", newline="") if binary else _TextOnly(data)
    monkeypatch.setattr(sys, "stdin", stdin)
    assert submitted(aws, "-", capsys) == (FILE_NAME, FILE_SHARDS, FILE_MANIFEST)


class _TextOnly(io.StringIO):
    """A stdin without a binary buffer (as some embedding hosts replace it)."""

    def __init__(self, data: bytes) -> None:
        super().__init__(data.decode("utf-8"), newline="")


def test_an_s3_prefixs_shards_name_and_manifest_are_those_of_reading_it_whole(aws: Setup, capsys: Any) -> None:
    for key, body in s3_corpus().items():
        aws.s3.put_object(Bucket=BUCKET, Key=key, Body=body)
    assert submitted(aws, f"s3://{BUCKET}/corpus/", capsys) == (S3_NAME, S3_SHARDS, S3_MANIFEST)


def lines(count: int) -> list[bytes]:
    return [f"text {i}\n".encode() for i in range(count)]


def test_a_text_refused_past_the_first_chunks_is_named_by_its_line_after_the_blank_line_note(
    aws: Setup, tmp_path: Path, capsys: Any
) -> None:
    body = lines(30_000)
    body[2] = b"\n"
    body[25_000] = b"x" * 1_100_000 + b"\n"
    source = tmp_path / "corpus.txt"
    source.write_bytes(b"".join(body))
    assert runner_tests.batch(aws, "submit", str(source), *SETTINGS, "--yes") == 1
    note, error = capsys.readouterr().err.splitlines()
    assert note.startswith(f"note: 1 blank line(s) in {source} (3) are embedded as they are")
    assert error.startswith(f"error: {source} line 25001: texts[25000] (1,100,000 characters) makes a ")
    assert aws.jobs.created == [] and aws.keys("input/") == []


def test_bad_utf_8_anywhere_is_reported_before_any_refused_text_with_its_offset_and_line(
    aws: Setup, tmp_path: Path, capsys: Any
) -> None:
    body = lines(30_000)
    body[1] = b"x" * 1_100_000 + b"\n"  # refused, but the file is not even UTF-8 further on
    body[25_000] = b"caf\xc3\n"  # an incomplete sequence cut by the line's end: not "unexpected end of data"
    source = tmp_path / "corpus.txt"
    source.write_bytes(b"".join(body))
    offset = sum(map(len, body[:25_000])) + 3
    assert runner_tests.batch(aws, "submit", str(source), *SETTINGS, "--yes") == 1
    assert capsys.readouterr().err == (
        f"error: {source} is not UTF-8 text: byte 0xc3 at offset {offset:,} (line 25001): invalid continuation "
        "byte; convert it first, e.g. with iconv -f LATIN1 -t UTF-8\n"
    )


def test_a_last_line_cut_inside_a_character_is_the_end_of_the_data(aws: Setup, tmp_path: Path, capsys: Any) -> None:
    source = tmp_path / "corpus.txt"
    source.write_bytes(b"".join(lines(3)) + b"caf\xc3")
    assert runner_tests.batch(aws, "submit", str(source), *SETTINGS, "--yes") == 1
    assert "byte 0xc3 at offset 24 (line 4): unexpected end of data" in capsys.readouterr().err


@pytest.mark.parametrize(("data", "records"), [(b"", 0), (b"\xef\xbb\xbf", 0), (b"\xef\xbb\xbf\n", 1), (b"\r\n", 1)])
def test_an_input_of_nothing_but_a_byte_order_mark_holds_no_texts(
    aws: Setup, tmp_path: Path, capsys: Any, data: bytes, records: int
) -> None:
    source = tmp_path / "corpus.txt"
    source.write_bytes(data)
    status = runner_tests.batch(aws, "submit", str(source), *SETTINGS, "--yes")
    err = capsys.readouterr().err
    if records:
        assert status == 0 and "1 records in 1 shards" in err
    else:
        assert (status, err) == (1, f"error: INPUT {source} holds no texts: nothing to embed\n")


def test_a_text_refused_in_a_later_chunk_of_an_s3_corpus_is_named_by_its_object_and_line(
    aws: Setup, capsys: Any
) -> None:
    records = [f'{{"inputs": "record {i}"}}\n'.encode() for i in range(30_000)]
    records[25_000] = b'{"inputs": "lone \\udc80 surrogate"}\n'
    aws.s3.put_object(Bucket=BUCKET, Key="corpus/a.jsonl", Body=b"".join(records[:20_000]))
    aws.s3.put_object(Bucket=BUCKET, Key="corpus/b.jsonl", Body=b"".join(records[20_000:]))
    assert runner_tests.batch(aws, "submit", f"s3://{BUCKET}/corpus/", *SETTINGS, "--yes") == 1
    assert capsys.readouterr().err.startswith(
        f"error: s3://{BUCKET}/corpus/b.jsonl line 5001: texts[25000] has a lone surrogate U+DC80 at character 5"
    )


class _Prepared(Exception):
    """Raised where the runner, having read, checked, sharded and named, first asks SageMaker about the job."""


def test_preparing_a_corpus_holds_about_one_shard_not_the_corpus(
    aws: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    """~20 MB of texts in shards of 1,000: reading, checking, sharding and naming peak at a few MB, where holding
    the texts as a list of str takes several times the file."""
    source = tmp_path / "corpus.txt"
    with source.open("wb") as file:
        for i in range(250_000):
            file.write(f"text {i:07d} about the ingest pipeline, the search index and the vectors it holds\n".encode())
    size = source.stat().st_size
    assert size > 18_000_000
    monkeypatch.setattr(shards, "MAX_RECORDS_PER_SHARD", 1_000)
    peaks: list[int] = []

    def prepared(sagemaker: Any, name: str) -> Any:
        peaks.append(tracemalloc.get_traced_memory()[1])
        raise _Prepared

    monkeypatch.setattr(runner.jobs, "attempts", prepared)
    tracemalloc.start()
    try:
        status = runner_tests.batch(aws, "submit", str(source), *SETTINGS, "--yes")
    finally:
        tracemalloc.stop()
    assert status == 1 and "_Prepared" in capsys.readouterr().err
    (peak,) = peaks
    print(f"peak {peak:,} bytes traced while preparing {size:,} bytes of texts", file=sys.stderr)
    assert peak < 5_000_000
