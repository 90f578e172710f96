"""The batch runner reads its input in passes instead of holding it: the same shard files, job name and manifest
as when it read everything at once (pinned below from that implementation), errors that still name their line, a
peak of memory far below the corpus's size, and no temporary file left behind."""

from __future__ import annotations

import hashlib
import io
import sys
import tempfile
import tracemalloc
from pathlib import Path
from typing import Any

import pytest

from embeddings.batch import corpus, runner, shards
from embeddings.errors import InputTextError
from embeddings.lines import iter_lines, split_lines
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
    """8 MB of texts, checked 1,000 at a time into shards of 1,000: reading, checking, sharding and naming peak
    below 1 MB (2 MB allowed), where holding the texts as a list of str takes several times the file (the reader
    of the whole input peaked at 31 MB for this file, 78 MB for 20 MB)."""
    source = tmp_path / "corpus.txt"
    with source.open("wb") as file:
        for i in range(100_000):
            file.write(f"text {i:07d} about the ingest pipeline, the search index and the vectors it holds\n".encode())
    size = source.stat().st_size
    assert size > 8_000_000
    monkeypatch.setattr(shards, "MAX_RECORDS_PER_SHARD", 1_000)
    monkeypatch.setattr(shards, "CHECKED_AT_ONCE", 1_000)
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
    assert peak < 2_000_000


@pytest.mark.parametrize(
    "data",
    [
        b"",
        b"\xef\xbb\xbf",
        b"\xef\xbb\xbf\n",
        b"a\r\nb",
        b"a\n\n",
        b"\r\n",
        b"a\r\r\nb\r",
        b"\xef\xbb\xbfx\xe2\x80\xa8y\n\x0c\n",
    ],
)
def test_lines_read_one_at_a_time_are_the_lines_read_at_once(data: bytes) -> None:
    assert list(iter_lines(io.BytesIO(data), "f")) == split_lines(data, "f")


@pytest.mark.parametrize("data", [b"ab\ncaf\xc3\nx", b"ab\ncaf\xc3", b"\xff", b"a\n\xe2\x82\n", b"ok\n\xed\xa0\x80\n"])
def test_lines_read_one_at_a_time_fail_as_the_lines_read_at_once(data: bytes) -> None:
    with pytest.raises(InputTextError) as whole:
        split_lines(data, "f")
    with pytest.raises(InputTextError) as streamed:
        list(iter_lines(io.BytesIO(data), "f"))
    assert str(streamed.value) == str(whole.value)


@pytest.fixture
def spools(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> list[Path]:
    """The temporary folders the runner makes, all under a folder of the test's own."""
    root = tmp_path / "tmp"
    root.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(root))
    made: list[Path] = []
    original = tempfile.TemporaryDirectory

    def recorded(*args: Any, **kwargs: Any) -> Any:
        folder = original(*args, **kwargs)
        made.append(Path(folder.name))
        return folder

    monkeypatch.setattr(corpus.tempfile, "TemporaryDirectory", recorded)
    return made


def _listing(folders: list[Path]) -> list[list[str]]:
    return [sorted(p.name for p in folder.iterdir()) for folder in folders]


@pytest.mark.parametrize("answer", [True, False], ids=["started", "declined"])
def test_stdin_is_spooled_once_and_the_spool_removed_however_the_run_ends(
    aws: Setup, monkeypatch: pytest.MonkeyPatch, capsys: Any, spools: list[Path], answer: bool
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"one\ntwo\n"), encoding="utf-8"))
    seen: list[list[list[str]]] = []

    def ask(question: str) -> bool:
        seen.append(_listing(spools))
        return answer

    status = runner_tests.batch(aws, "submit", "-", *SETTINGS, terminal=True, ask=ask)
    assert status == (0 if answer else 1), capsys.readouterr().err
    assert seen == [[["stdin.txt"]]]  # while the job is being started, the spool is there
    assert len(spools) == 1 and not spools[0].exists()
    assert len(aws.jobs.created) == (1 if answer else 0)


def test_a_spool_is_removed_when_its_input_is_refused(
    aws: Setup, monkeypatch: pytest.MonkeyPatch, capsys: Any, spools: list[Path]
) -> None:
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"one\ncaf\xe9\n"), encoding="utf-8"))
    assert runner_tests.batch(aws, "submit", "-", *SETTINGS, "--yes") == 1
    assert "stdin is not UTF-8 text: byte 0xe9 at offset 7 (line 2)" in capsys.readouterr().err
    aws.s3.put_object(Bucket=BUCKET, Key="corpus/a.jsonl", Body=b'{"inputs": "one"}\n')
    aws.s3.put_object(Bucket=BUCKET, Key="corpus/b.jsonl", Body=b'{"inputs": "two"}\n{"inputs": 3}\n')
    assert runner_tests.batch(aws, "submit", f"s3://{BUCKET}/corpus/", *SETTINGS, "--yes") == 1
    assert f's3://{BUCKET}/corpus/b.jsonl line 2 is not a JSON object with a string "inputs"' in capsys.readouterr().err
    assert len(spools) == 2 and not any(folder.exists() for folder in spools)
    assert aws.keys("input/") == []


def test_an_s3_corpus_is_downloaded_once_and_its_spool_removed(
    aws: Setup, monkeypatch: pytest.MonkeyPatch, capsys: Any, spools: list[Path]
) -> None:
    aws.s3.put_object(Bucket=BUCKET, Key="corpus/a.jsonl", Body=b'{"inputs": "one"}\n{"inputs": "two"}\n')
    aws.s3.put_object(Bucket=BUCKET, Key="corpus/b.jsonl", Body=b'{"inputs": "three"}')
    downloads: list[str] = []
    get_object = aws.s3.get_object

    def counted(**kwargs: Any) -> Any:
        downloads.append(kwargs["Key"])
        return get_object(**kwargs)

    monkeypatch.setattr(aws.s3, "get_object", counted)
    assert runner_tests.batch(aws, "submit", f"s3://{BUCKET}/corpus/", *SETTINGS, "--yes") == 0, capsys.readouterr()
    assert downloads == ["corpus/a.jsonl", "corpus/b.jsonl"]
    assert len(spools) == 1 and not spools[0].exists()


def test_a_file_that_changes_between_passes_uploads_nothing(
    aws: Setup, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: Any
) -> None:
    source = tmp_path / "corpus.txt"
    source.write_bytes(b"".join(lines(10)))
    plan = shards.plan

    def appended_to(records: int, instances: int) -> list[shards.Shard]:
        with source.open("ab") as file:
            file.write(b"one more line\n")
        return plan(records, instances)

    monkeypatch.setattr(runner, "plan", appended_to)
    assert runner_tests.batch(aws, "submit", str(source), *SETTINGS, "--yes") == 1
    assert capsys.readouterr().err == (
        f"error: {source} changed while it was being read; run again once it is complete\n"
    )
    assert aws.jobs.created == [] and aws.keys("input/") == []
