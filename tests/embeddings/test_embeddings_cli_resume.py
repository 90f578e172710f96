"""Issue 20's cases for `python -m embeddings -o FILE` and `--resume`, each as the red team reproduced it: the output
file is the user's data (1, 2, 3), option combinations that cannot work (4), the handler's limit (6), progress and
vectors on one terminal and the flush promise (11), and a resumed file byte for byte an uninterrupted one (13)."""

from __future__ import annotations

import json
import os
import sys
import threading
import time
import zlib
from pathlib import Path
from typing import Any

import pytest

from embeddings.__main__ import main
from tests.embeddings.embeddings_fakes import (
    DIMENSION,
    FakeSageMaker,
    aws_error,
    endpoint_not_found,
    float32_unit_row,
    ok_json,
    pooled_container,
    request_json,
)

TEXTS = [f"line {i}: the report for region {i % 7} was filed on time" for i in range(40)]


pytestmark = pytest.mark.usefixtures("no_cli_env")


def write_texts(path: Path, texts: list[str]) -> Path:
    path.write_text("".join(f"{text}\n" for text in texts), encoding="utf-8")
    return path


def run(argv: list[str], sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    options = {"--pooling": "server", "--batch-size": "4", "--max-wait": "0"}
    defaults = [item for option, value in options.items() if option not in argv for item in (option, value)]
    code = main([*argv, *defaults, "--quiet"], runtime_client=sagemaker.runtime_client)
    out, err = capsys.readouterr()
    return code, out, err


def failing_at(text: str, then: Any = None) -> Any:
    """`then` (a pooled endpoint), except ServiceUnavailable for the batch holding `text` and any after it."""
    answer = then or pooled_container()

    def respond(request: Any) -> Any:
        if text in request_json(request)["inputs"]:
            return aws_error(503, "ServiceUnavailable", {"message": "try again"})(request)
        return answer(request)

    return respond


def snapshot(path: Path) -> tuple[bytes, int]:
    return path.read_bytes(), path.stat().st_mtime_ns


def test_case_1_a_file_that_is_not_vectors_is_refused_and_untouched(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    texts = write_texts(tmp_path / "T", TEXTS)
    config = tmp_path / "n.json"
    config.write_bytes(b'{"important": "config"}')
    before = snapshot(config)
    sagemaker.answer(pooled_container())

    code, _, err = run(["-f", str(texts), "-o", str(config), "--resume"], sagemaker, capsys)

    assert code == 1 and f"cannot resume {config}: line 1 is not a JSON array of numbers" in err, err
    assert snapshot(config) == before and sagemaker.requests == []
    assert sorted(p.name for p in tmp_path.iterdir()) == ["T", "n.json"]


def interrupted(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], texts: Path, target: Path, at: str, *options: str
) -> str:
    """A run that fails for the batch holding `at`: its vectors before it stay in target.partial."""
    sagemaker.answer(failing_at(at))
    code, _, err = run(["-f", str(texts), "-o", str(target), "--jsonl", *options], sagemaker, capsys)
    assert code == 1 and "rerun with --resume to continue" in err, err
    return err


def test_case_2_a_different_input_of_the_same_length_is_refused_naming_its_first_differing_line(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    a = [f"text a{i}" for i in range(120)]
    b = a[:30] + [f"text b{i}" for i in range(30, 120)]
    file_a, file_b = write_texts(tmp_path / "A.txt", a), write_texts(tmp_path / "B.txt", b)
    target = tmp_path / "out.jsonl"
    partial = tmp_path / "out.jsonl.partial"
    interrupted(sagemaker, capsys, file_a, target, a[52], "--batch-size", "5")
    assert partial.read_bytes().count(b"\n") == 50
    before = snapshot(partial)

    sagemaker.answer(pooled_container())
    code, _, err = run(["-f", str(file_b), "-o", str(target), "--resume", "--batch-size", "5"], sagemaker, capsys)

    assert code == 1 and f"its line 31 was embedded from another text than line 31 of {file_b}" in err, err
    assert snapshot(partial) == before and not target.exists() and sagemaker.requests[-1] is not None


def test_case_2_every_kept_line_is_checked_not_only_the_first_and_last(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    texts = write_texts(tmp_path / "T", TEXTS)
    target = tmp_path / "out.jsonl"
    partial = tmp_path / "out.jsonl.partial"
    interrupted(sagemaker, capsys, texts, target, TEXTS[30])
    lines = partial.read_bytes().splitlines(keepends=True)
    lines[12] = b"[" + b", ".join([b"0.5"] * 4) + b"]\n"  # valid JSON, not a vector of this run
    partial.write_bytes(b"".join(lines) + lines[20][:100])  # and a line cut short after it
    before = snapshot(partial)
    sent = len(sagemaker.requests)

    code, _, err = run(["-f", str(texts), "-o", str(target), "--resume"], sagemaker, capsys)

    assert code == 1 and f"cannot resume {partial}: line 13 has 4 numbers, not {DIMENSION}" in err, err
    # Case 3: the refusal cut nothing, not even the half line a resume would redo.
    assert snapshot(partial) == before and len(sagemaker.requests) == sent


def test_case_3_a_run_that_fails_at_once_leaves_the_existing_output_untouched(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    texts = write_texts(tmp_path / "T", TEXTS)
    for form in (["--jsonl"], []):
        target = tmp_path / "vectors.out"
        target.write_bytes(b"last week's vectors\n")
        before = snapshot(target)
        sagemaker.answer(endpoint_not_found())

        code, _, err = run(["-f", str(texts), "-o", str(target), *form], sagemaker, capsys)

        assert code == 1 and "not found" in err and "--resume" not in err, err
        assert snapshot(target) == before
        assert sorted(p.name for p in tmp_path.iterdir()) == ["T", "vectors.out"]


def test_case_3_a_permanent_error_part_way_keeps_the_vectors_without_telling_to_rerun(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    texts = write_texts(tmp_path / "T", TEXTS)
    target = tmp_path / "out.jsonl"

    def denied_from_text_20(request: Any) -> Any:
        if TEXTS[20] in request_json(request)["inputs"]:
            return aws_error(403, "AccessDeniedException", {"Message": "not authorized"})(request)
        return pooled_container()(request)

    sagemaker.answer(denied_from_text_20)
    code, _, err = run(["-f", str(texts), "-o", str(target), "--jsonl"], sagemaker, capsys)

    assert code == 1 and err.endswith(f"; 20 of 40 vectors kept in {target}.partial\n"), err
    assert "rerun" not in err and not target.exists()


def interrupted_at_20(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> tuple[Path, Path, list[Path]]:
    """TEXTS in a file, and a run for out.jsonl stopped at text 20: the input, the target, and the two files it
    kept (its vectors and their record)."""
    texts = write_texts(tmp_path / "T", TEXTS)
    target = tmp_path / "out.jsonl"
    interrupted(sagemaker, capsys, texts, target, TEXTS[20])
    return texts, target, [tmp_path / "out.jsonl.partial", tmp_path / "out.jsonl.partial.resume"]


def test_a_new_run_does_not_overwrite_the_partial_output_of_an_interrupted_one(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    _, target, kept = interrupted_at_20(sagemaker, capsys, tmp_path)
    before = [snapshot(path) for path in kept]
    other = write_texts(tmp_path / "other", TEXTS[::-1])

    code, _, err = run(["-f", str(other), "-o", str(target), "--jsonl"], sagemaker, capsys)

    assert code == 1 and "out.jsonl.partial exists" in err and "--resume" in err, err
    assert [snapshot(path) for path in kept] == before


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX; Windows runs are not locked (documented)")
def test_a_resume_while_another_run_still_writes_the_file_is_refused_and_changes_nothing(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    import fcntl

    texts, target, kept = interrupted_at_20(sagemaker, capsys, tmp_path)
    before = [snapshot(path) for path in kept]
    calls = len(sagemaker.requests)
    with kept[0].open("r+b") as other_run:  # what a run still writing the file holds
        fcntl.flock(other_run.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        code, _, err = run(["-f", str(texts), "-o", str(target), "--resume"], sagemaker, capsys)

    assert code == 1 and "out.jsonl.partial is being written by another run" in err, err
    assert [snapshot(path) for path in kept] == before and not target.exists()
    assert len(sagemaker.requests) == calls
    sagemaker.answer(pooled_container())
    code, _, err = run(["-f", str(texts), "-o", str(target), "--resume"], sagemaker, capsys)  # once it has ended
    assert code == 0 and len(target.read_bytes().splitlines()) == len(TEXTS), err


def test_a_longer_output_than_the_input_is_refused(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "out.jsonl"
    sagemaker.answer(pooled_container())
    assert run(["-f", str(write_texts(tmp_path / "T", TEXTS)), "-o", str(target), "--jsonl"], sagemaker, capsys)[0] == 0
    before = snapshot(target)

    code, _, err = run(
        ["-f", str(write_texts(tmp_path / "T", TEXTS[:39])), "-o", str(target), "--resume"], sagemaker, capsys
    )

    assert code == 1 and "it holds 40 vectors but the input has 39 texts" in err
    assert snapshot(target) == before


@pytest.mark.parametrize(
    ("argv", "expected"),
    [
        (["--raw", "--resume", "-o", "f.jsonl"], "--raw prints the endpoint's raw answer, not one vector per line"),
        (["--raw", "--jsonl"], "--raw prints the endpoint's raw answer, not one vector per line"),
        (["--raw", "--jsonl", "-o", "f.jsonl"], "--raw prints the endpoint's raw answer"),
        (["--resume"], "--resume needs --output FILE"),
        (["-o", "T"], "--output T is the --file input: the vectors would replace the texts"),
        (["-o", "."], "--output . is a folder"),
    ],
)
def test_case_4_option_combinations_that_cannot_work_are_usage_errors(
    sagemaker: FakeSageMaker,
    capsys: pytest.CaptureFixture[str],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    argv: list[str],
    expected: str,
) -> None:
    monkeypatch.chdir(tmp_path)
    write_texts(tmp_path / "T", TEXTS)
    (tmp_path / "f.jsonl").write_bytes(b"")
    with pytest.raises(SystemExit) as caught:
        run(["-f", "T", *argv], sagemaker, capsys)
    err = capsys.readouterr().err
    assert caught.value.code == 2 and expected in err and err.count("\n") == 1, err
    assert (tmp_path / "f.jsonl").read_bytes() == b"" and sagemaker.requests == []


def test_case_6_raw_with_more_texts_than_the_endpoint_takes_is_a_usage_error(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    texts = write_texts(tmp_path / "T", [f"t{i}" for i in range(257)])
    with pytest.raises(SystemExit) as caught:
        run(["-f", str(texts), "--raw"], sagemaker, capsys)
    assert caught.value.code == 2 and "the endpoint takes at most 256" in capsys.readouterr().err
    assert sagemaker.requests == []


def composition_dependent() -> Any:
    """A pooling endpoint whose numbers, like the real one's, depend in their last bits on the batch's other texts
    (inference.py pads each sub-batch to its longest text)."""

    def respond(request: Any) -> Any:
        inputs = request_json(request)["inputs"]
        batch = zlib.crc32("\n".join(inputs).encode()) / 2**32
        rows = []
        for text in inputs:
            row = float32_unit_row(text)
            row[0] += 1e-7 * batch
            rows.append([row])
        return ok_json(rows)(request)

    return respond


@pytest.mark.parametrize(("pooling", "kept"), [("server", 18), ("auto", 18), ("auto", 2), ("client", 9)])
def test_case_13_a_resumed_file_is_byte_for_byte_the_uninterrupted_one(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], tmp_path: Path, pooling: str, kept: int
) -> None:
    """Interrupted mid-batch (a kill after `kept` lines and half of the next), then resumed."""
    texts = write_texts(tmp_path / "T", TEXTS)
    options = ["--pooling", pooling, "--max-concurrency", "2"]
    sagemaker.answer(composition_dependent())
    complete = tmp_path / "complete.jsonl"
    assert run(["-f", str(texts), "-o", str(complete), "--jsonl", *options], sagemaker, capsys)[0] == 0

    target = tmp_path / "out.jsonl"
    partial = tmp_path / "out.jsonl.partial"
    sagemaker.answer(failing_at(TEXTS[30], then=composition_dependent()))
    assert run(["-f", str(texts), "-o", str(target), "--jsonl", *options], sagemaker, capsys)[0] == 1
    lines = partial.read_bytes().splitlines(keepends=True)
    partial.write_bytes(b"".join(lines[:kept]) + lines[kept][:500])

    sagemaker.answer(composition_dependent())
    code, _, err = run(["-f", str(texts), "-o", str(target), "--resume", *options], sagemaker, capsys)

    assert code == 0, err
    assert target.read_bytes() == complete.read_bytes()


class Screen:
    """One terminal that stdout and stderr both write to, in the order the writes happen."""

    def __init__(self) -> None:
        self.text = ""
        screen = self

        class Bytes:
            def write(self, data: bytes) -> int:
                screen.text += bytes(data).decode()
                return len(data)

            def flush(self) -> None:
                pass

        class Text:
            buffer = Bytes()

            def write(self, text: str) -> int:
                screen.text += text
                return len(text)

            def flush(self) -> None:
                pass

            def isatty(self) -> bool:
                return True

        self.stdout, self.stderr = Text(), Text()


@pytest.mark.parametrize("form", [["--jsonl"], []])
def test_case_11_the_progress_line_is_cleared_before_vectors_on_the_same_terminal(
    sagemaker: FakeSageMaker,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
    form: list[str],
) -> None:
    screen = Screen()
    monkeypatch.setattr("sys.stdout", screen.stdout)
    monkeypatch.setattr("sys.stderr", screen.stderr)
    sagemaker.answer(pooled_container())

    code = main(
        ["-f", str(write_texts(tmp_path / "T", TEXTS)), *form, "--pooling", "server", "--batch-size", "4"],
        runtime_client=sagemaker.runtime_client,
    )

    assert code == 0 and "texts embedded" in screen.text, screen.text[-300:]
    vector_lines = [line for line in screen.text.split("\n") if "[0." in line or "[-0." in line]
    assert vector_lines
    for line in vector_lines:
        assert line.rsplit("\r\x1b[K", 1)[-1].startswith("["), line[:120]


def test_case_11_jsonl_to_a_file_flushes_each_batch_before_the_next_is_awaited(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    """The endpoint holds each batch until every batch before it is in the file. Short vectors (one-hot) keep a
    batch's lines under a write buffer's size, so only a flush puts them there. The wait is bounded so a missing
    flush fails the test instead of hanging it; nothing is timed."""
    texts = [f"text {i}" for i in range(12)]
    target = tmp_path / "out.jsonl"
    seen: list[bool] = []

    def file_lines() -> int:
        files = (target, tmp_path / "out.jsonl.partial")
        return max((p.read_bytes().count(b"\n") for p in files if p.exists()), default=0)

    def respond(request: Any) -> Any:
        inputs = request_json(request)["inputs"]
        first = texts.index(inputs[0])
        if first:
            deadline = time.monotonic() + 10
            while file_lines() < first and time.monotonic() < deadline:
                threading.Event().wait(0.01)
            seen.append(file_lines() >= first)
        return ok_json([[[float(j == texts.index(t)) for j in range(DIMENSION)]] for t in inputs])(request)

    sagemaker.answer(respond)
    argv = ["-f", str(write_texts(tmp_path / "T", texts)), "-o", str(target), "--jsonl", "--max-concurrency", "1"]
    code, _, err = run([*argv, "--batch-size", "2"], sagemaker, capsys)

    assert code == 0, err
    assert seen == [True] * 5
    assert [json.loads(line).index(1.0) for line in target.read_text().splitlines()] == list(range(12))


def test_a_resume_continues_an_input_that_grew_and_keeps_the_complete_file_until_done(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "out.jsonl"
    sagemaker.answer(pooled_container())
    assert run(["-f", str(write_texts(tmp_path / "T", TEXTS)), "-o", str(target), "--jsonl"], sagemaker, capsys)[0] == 0
    assert (tmp_path / "out.jsonl.resume").exists() and not (tmp_path / "out.jsonl.partial").exists()
    first = target.read_bytes()
    grown = write_texts(tmp_path / "T", [*TEXTS, "one more", "and another"])
    sent = len(sagemaker.requests)

    code, _, err = run(["-f", str(grown), "-o", str(target), "--resume"], sagemaker, capsys)

    assert code == 0, err
    assert [t for body in sagemaker.request_bodies[sent:] for t in body["inputs"]] == ["one more", "and another"]
    assert target.read_bytes().startswith(first) and target.read_bytes().count(b"\n") == 42


def test_the_partial_output_keeps_the_targets_permissions(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], tmp_path: Path
) -> None:
    target = tmp_path / "out.jsonl"
    target.write_bytes(b"")
    os.chmod(target, 0o640)
    sagemaker.answer(pooled_container())
    assert run(["-f", str(write_texts(tmp_path / "T", TEXTS)), "-o", str(target), "--jsonl"], sagemaker, capsys)[0] == 0
    assert target.stat().st_mode & 0o777 == 0o640 and target.read_bytes().count(b"\n") == 40
