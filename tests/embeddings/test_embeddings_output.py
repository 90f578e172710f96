"""embeddings.output's public API for any writer of vector JSON Lines (the CLI, the batch runner): the target is
replaced only by a complete file, and a stopped writer keeps its lines under the name it reports."""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from embeddings.errors import OutputFileError
from embeddings.output import check_vector_lines, partial_path, vector_line, vector_lines_file, write_file

VECTORS = [[1.0] + [0.0] * 383, [0.0, 1.0] + [0.0] * 382, [0.6, 0.8] + [0.0] * 382]


class Stop(Exception):
    pass


def test_a_finished_writer_replaces_the_target_and_its_companions(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_bytes(b"old\n")
    with vector_lines_file(target, companions=(".resume",)) as lines:
        assert lines.path == partial_path(target) == tmp_path / "out.jsonl.partial"
        partial_path(target).with_name("out.jsonl.partial.resume").write_text("record")
        lines.write(VECTORS[:2])
        assert target.read_bytes() == b"old\n"  # untouched while the writer works
        lines.write(VECTORS[2:])
    assert target.read_bytes() == b"".join(map(vector_line, VECTORS)) and lines.lines == 3
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out.jsonl", "out.jsonl.resume"]
    assert check_vector_lines(target, 384).lines == 3


def test_a_stopped_writer_keeps_its_lines_beside_the_untouched_target(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    target.write_bytes(b"old\n")
    with pytest.raises(Stop), vector_lines_file(target) as lines:
        lines.write(VECTORS[:2])
        raise Stop
    assert target.read_bytes() == b"old\n"
    assert lines.path.read_bytes() == b"".join(map(vector_line, VECTORS[:2])) and lines.lines == 2

    # ...and continues them, after a line cut short, where check_vector_lines says.
    with lines.path.open("ab") as file:
        file.write(vector_line(VECTORS[2])[:50])
    kept = check_vector_lines(lines.path, 384)
    assert (kept.lines, kept.cut) == (2, True)
    with vector_lines_file(target, kept=kept) as more:
        more.write(VECTORS[2:])
    assert target.read_bytes() == b"".join(map(vector_line, VECTORS)) and not lines.path.exists()


def test_a_writer_stopped_before_its_first_line_leaves_nothing(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    with pytest.raises(Stop), vector_lines_file(target, companions=(".resume",)):
        partial_path(target).with_name("out.jsonl.partial.resume").write_text("record")
        raise Stop
    assert list(tmp_path.iterdir()) == []


def test_an_existing_partial_file_is_never_overwritten(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    partial_path(target).write_bytes(b"someone's lines\n")
    expected = r"out\.jsonl\.partial exists: it holds the vectors of an interrupted run"
    with pytest.raises(OutputFileError, match=expected), vector_lines_file(target):
        pass
    assert partial_path(target).read_bytes() == b"someone's lines\n"


@pytest.mark.skipif(sys.platform == "win32", reason="flock is POSIX; Windows runs are not locked (documented)")
def test_a_partial_file_another_run_is_writing_is_not_continued_and_not_touched(tmp_path: Path) -> None:
    target = tmp_path / "out.jsonl"
    with pytest.raises(Stop), vector_lines_file(target) as first:
        first.write(VECTORS[:2])
        kept = check_vector_lines(first.path, 384)
        before = first.path.read_bytes()
        expected = r"out\.jsonl\.partial is being written by another run for .*out\.jsonl, which is still going"
        with pytest.raises(OutputFileError, match=expected), vector_lines_file(target, kept=kept):
            pass
        assert first.path.read_bytes() == before
        first.write(VECTORS[2:])  # the first run goes on as if nothing happened
        raise Stop
    assert first.path.read_bytes() == b"".join(map(vector_line, VECTORS))
    with vector_lines_file(target, kept=check_vector_lines(first.path, 384)):  # its lock ended with it
        pass
    assert target.read_bytes() == b"".join(map(vector_line, VECTORS))


def test_write_file_replaces_whole_and_keeps_the_permissions(tmp_path: Path) -> None:
    target = tmp_path / "vectors.json"
    target.write_bytes(b"old")
    target.chmod(0o600)
    write_file(target, b"[1.0]\n")
    assert target.read_bytes() == b"[1.0]\n" and target.stat().st_mode & 0o777 == 0o600
    assert [p.name for p in tmp_path.iterdir()] == ["vectors.json"]
    with pytest.raises(OutputFileError, match="cannot write"):
        write_file(tmp_path / "missing" / "x.json", b"")
