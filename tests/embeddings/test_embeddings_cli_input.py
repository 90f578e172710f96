"""What `python -m embeddings` reads: one text per line and only per line, UTF-8 or a clear error, and options
checked before anything is sent. In process, against the fake SageMaker."""

from __future__ import annotations

import io
import json
import re
from pathlib import Path
from typing import Any

import pytest

from embeddings.__main__ import main
from embeddings.lines import split_lines
from tests.embeddings.embeddings_fakes import (
    FakeSageMaker,
    Terminal,
    piped,
    pooled_container,
    synthetic_container,
    synthetic_row,
    typical_texts,
    unit,
)

# Every character str.splitlines() breaks at besides \n and \r\n; none of them ends a line here.
NOT_LINE_BREAKS = "\u2028\u2029\x85\f\v\x1c\x1d\x1e\r"


pytestmark = pytest.mark.usefixtures("no_cli_env")


def run(argv: list[str], sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main(argv, runtime_client=sagemaker.runtime_client)
    out, err = capsys.readouterr()
    return code, out, err


def assert_one_line_error(code: int, out: str, err: str, *fragments: str) -> None:
    assert code != 0 and out == ""
    assert err.count("\n") == 1 and err.endswith("\n") and "Traceback" not in err, err
    for fragment in fragments:
        assert fragment in err


def test_lines_end_only_at_newline() -> None:
    data = f"one{NOT_LINE_BREAKS}still one\ntwo\r\nthree\r\r\n\nfive".encode()
    assert split_lines(data, "f") == [f"one{NOT_LINE_BREAKS}still one", "two", "three\r", "", "five"]
    assert split_lines(b"", "f") == [] and split_lines(b"\n", "f") == [""] and split_lines(b"a\n\n", "f") == ["a", ""]
    assert split_lines("\ufeffwith BOM\r\n".encode(), "f") == ["with BOM"]


def test_every_vector_belongs_to_its_line(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    lines = ["first\u2028half", "form\ffeed\vand\x1cgroup\x1d\x1eseparators", "next\x85line", "", "  ", "last"]
    file = tmp_path / "texts.txt"
    file.write_bytes("\r\n".join(lines).encode("utf-8"))  # Windows line ends, no final newline
    sagemaker.answer(synthetic_container())

    code, out, err = run(["--file", str(file)], sagemaker, capsys)

    assert code == 0
    assert sagemaker.request_bodies[0]["inputs"] == lines
    assert json.loads(out) == [pytest.approx(unit(synthetic_row(line))) for line in lines]
    assert err == (
        f"note: 2 blank line(s) in {file} (4, 5) are embedded as they are, so that the output keeps one vector per "
        "line; filter them out first to skip them, e.g. grep -v '^[[:space:]]*$'\n"
    )


def test_a_file_always_gives_a_list(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sagemaker.answer(synthetic_container())
    (tmp_path / "one.txt").write_text("only line\n", encoding="utf-8")
    (tmp_path / "empty.txt").write_bytes(b"")

    code, out, _ = run(["--file", str(tmp_path / "one.txt")], sagemaker, capsys)
    assert code == 0 and json.loads(out) == [pytest.approx(unit(synthetic_row("only line")))]

    code, out, _ = run(["--file", str(tmp_path / "empty.txt")], sagemaker, capsys)
    assert (code, out) == (0, "[]\n") and len(sagemaker.requests) == 1


@pytest.mark.parametrize(
    ("data", "expected"),
    [
        ("first line\ncafé au lait\n".encode("latin-1"), "byte 0xe9 at offset 14 (line 2): invalid continuation byte"),
        (b"\x89PNG\r\n\x1a\n\x00\x00", "byte 0x89 at offset 0 (line 1): invalid start byte"),
        ("emoji 🚀".encode()[:-1], "byte 0xf0 at offset 6 (line 1): unexpected end of data"),
    ],
)
def test_a_file_that_is_not_utf8_is_one_clear_error(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], tmp_path: Path, data: bytes, expected: str
) -> None:
    file = tmp_path / "texts.txt"
    file.write_bytes(data)
    sagemaker.answer(synthetic_container())

    code, out, err = run(["--file", str(file)], sagemaker, capsys)

    assert_one_line_error(code, out, err, f"error: {file} is not UTF-8 text: {expected}")
    assert sagemaker.requests == []


def test_stdin_the_same_way(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sagemaker.answer(synthetic_container())
    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO("a\u2028b\r\nc\n".encode())))
    code, out, _ = run(["--file", "-"], sagemaker, capsys)
    assert code == 0 and len(json.loads(out)) == 2
    assert sagemaker.request_bodies[0]["inputs"] == ["a\u2028b", "c"]

    monkeypatch.setattr("sys.stdin", io.TextIOWrapper(io.BytesIO("Grüße\n".encode("latin-1"))))
    code, out, err = run(["--file", "-"], sagemaker, capsys)
    assert_one_line_error(code, out, err, "error: stdin is not UTF-8 text: byte 0xfc at offset 2 (line 1)")
    assert len(sagemaker.requests) == 1


def test_piped_stdin_without_a_text_is_read_like_file_dash(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`echo hello | python -m embeddings`: a list, one vector per line, as with --file -."""
    sagemaker.answer(synthetic_container())
    monkeypatch.setattr("sys.stdin", piped(b"hello\nworld\n"))

    code, out, _ = run(["--quiet"], sagemaker, capsys)

    assert code == 0
    assert json.loads(out) == [pytest.approx(unit(synthetic_row(t))) for t in ("hello", "world")]
    assert sagemaker.request_bodies[0]["inputs"] == ["hello", "world"]


def test_a_text_wins_over_piped_stdin(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sagemaker.answer(synthetic_container())
    monkeypatch.setattr("sys.stdin", piped(b"not read\n"))

    code, out, _ = run(["argument", "--quiet"], sagemaker, capsys)

    assert code == 0 and json.loads(out) == pytest.approx(unit(synthetic_row("argument")))
    assert sagemaker.request_bodies[0]["inputs"] == ["argument"]


def test_nothing_on_a_terminal_or_an_empty_pipe_is_a_usage_error(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("sys.stdin", Terminal())
    with pytest.raises(SystemExit) as caught:
        run([], sagemaker, capsys)
    assert caught.value.code == 2
    assert "give at least one TEXT or --file (or pipe texts into stdin)" in capsys.readouterr().err

    monkeypatch.setattr("sys.stdin", piped(b""))  # e.g. a script run with stdin on /dev/null
    code, out, err = run([], sagemaker, capsys)
    assert (code, out) == (2, "")
    assert err == "python -m embeddings: error: give at least one TEXT or --file; stdin was empty (see --help)\n"
    assert sagemaker.requests == []


def test_unreadable_inputs_are_one_line_errors(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    sagemaker.answer(synthetic_container())
    assert_one_line_error(*run(["--file", str(tmp_path / "missing.txt")], sagemaker, capsys), "No such file")
    assert_one_line_error(*run(["--file", str(tmp_path)], sagemaker, capsys), "Is a directory")
    # A non-UTF-8 argument reaches Python as lone surrogates (surrogateescape).
    assert_one_line_error(*run(["ok", "caf\udce9"], sagemaker, capsys), "TEXT argument 2 is not UTF-8 text: byte 0xe9")
    assert sagemaker.requests == []


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--batch-size", "0"], "argument --batch-size: must be a whole number from 1 to 256 .*, got '0'"),
        (["--batch-size", "2.5"], "argument --batch-size: must be a whole number from 1 to 256 .*, got '2.5'"),
        (
            ["--batch-size", "300"],
            r"argument --batch-size: must be a whole number from 1 to 256 \(the endpoint takes at most 256 texts per "
            r"request\), got '300'",
        ),
        (["-e", "my_endpoint"], "argument -e/--endpoint-name: must be 1-63 letters, .* got 'my_endpoint'"),
        (["--endpoint-name", ""], "argument -e/--endpoint-name: must be 1-63 letters, .* got ''"),
        (["--region", "eu west 1"], "argument -r/--region: 'eu west 1' is not a region name"),
        (["--max-wait", "nan"], "argument --max-wait: must be a finite number of seconds, 0 or more, got 'nan'"),
        (["--max-wait", "inf"], "argument --max-wait: must be .* got 'inf'"),
        (["--max-wait", "-1"], "argument --max-wait: must be .* got '-1'"),
        (["--pooling", "both"], "argument --pooling: invalid choice: 'both'"),
        ([], "give at least one TEXT or --file"),  # stdin is a terminal here
    ],
)
def test_bad_options_are_one_line_usage_errors(
    sagemaker: FakeSageMaker,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    expected: str,
) -> None:
    monkeypatch.setattr("sys.stdin", Terminal())
    with pytest.raises(SystemExit) as caught:
        run([*argv, *(["x"] if argv else [])], sagemaker, capsys)
    err = capsys.readouterr().err
    assert caught.value.code == 2
    assert err.count("\n") == 1 and err.startswith("python -m embeddings: error: ")
    assert re.search(expected, err), err


@pytest.mark.parametrize(
    ("variable", "value", "expected"),
    [
        ("EMBEDDINGS_POOLING", "yes", "$EMBEDDINGS_POOLING is 'yes'; use one of auto, client, server"),
        ("SAGEMAKER_ENDPOINT", "my_endpoint", "$SAGEMAKER_ENDPOINT is 'my_endpoint'; it must be 1-63 letters"),
    ],
)
def test_bad_settings_from_the_environment_are_usage_errors_in_their_own_names(
    sagemaker: FakeSageMaker,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
    value: str,
    expected: str,
) -> None:
    """Issue 20 case 9: a bad -e or $SAGEMAKER_ENDPOINT exited 1 and named `endpoint_name`."""
    monkeypatch.setenv(variable, value)
    with pytest.raises(SystemExit) as caught:
        run(["x"], sagemaker, capsys)
    err = capsys.readouterr().err
    assert caught.value.code == 2 and err.count("\n") == 1 and expected in err
    assert "endpoint_name" not in err and sagemaker.requests == []


@pytest.mark.parametrize(
    ("option", "environment", "invocations"),
    [([], None, 2), (["--pooling", "server"], None, 1), ([], "server", 1), ([], "client", 9)],
)
def test_pooling_from_the_option_or_the_environment(
    sagemaker: FakeSageMaker,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    option: list[str],
    environment: str | None,
    invocations: int,
) -> None:
    if environment is not None:
        monkeypatch.setenv("EMBEDDINGS_POOLING", environment)
    sagemaker.answer(pooled_container())
    code, out, _ = run([*typical_texts(100), *option, "--quiet"], sagemaker, capsys)
    assert code == 0 and len(json.loads(out)) == 100
    assert len(sagemaker.requests) == invocations


def test_an_unexpected_failure_is_still_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    class Broken:
        def invoke_endpoint(self, **_: Any) -> Any:
            raise RuntimeError("boom\nsecond line")

    code = main(["x", "--quiet"], runtime_client=Broken())
    out, err = capsys.readouterr()
    assert_one_line_error(code, out, err, "error: unexpected RuntimeError: boom second line")
