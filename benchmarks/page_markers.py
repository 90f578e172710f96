"""Writing generated Markdown into a hand-written page: between two marker lines, and nowhere else.

make bench's tables (docs/performance.md) and the cost page (docs/cost.md) both live between markers, so the prose
around them stays the author's and a rerun replaces exactly the generated part.
"""

from __future__ import annotations

from pathlib import Path


def write_between(path: Path, start: str, end: str, block: str, program: str) -> None:
    """Replace `start`...`end` in `path` (the markers included, as `block` holds them); refuse a page without
    exactly one of each in that order, naming `program` and the page."""
    text = path.read_text(encoding="utf-8")
    if text.count(start) != 1 or text.count(end) != 1 or text.index(start) > text.index(end):
        raise SystemExit(
            f"{program}: {path} needs exactly one {start} line followed by one {end} line; the tables go between them"
        )
    before, rest = text.split(start, 1)
    path.write_text(before + block + rest.split(end, 1)[1], encoding="utf-8")
