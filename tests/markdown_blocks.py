"""The fenced code blocks of the user docs (README.md and docs/*.md), with the tags that say how each is proven.

A block's info string is its language and then its tags, e.g. ```` ```bash offline ````. Shell and Python blocks carry
exactly one tag; tests/test_docs_commands.py holds each tag to its meaning:

- `offline`: runs here as written, in seconds; the docs test runs it, from a copy of the project, against the twin.
- `background`: a server the offline blocks need (`make twin`); the docs test starts it first.
- `needs-aws`: needs an AWS account or a deployed endpoint; only its `make` targets and variables are checked.
- `long`: offline but minutes long (the serving stack's venv and tests); CI runs it (`.ci/run`).
- `pulumi`: a Pulumi program; tests/examples runs it under mocks.
- `fragment`: part of a program (names the reader supplies); not run.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from tests.paths import PROJECT_DIR

USER_DOCS: tuple[Path, ...] = (PROJECT_DIR / "README.md", *sorted((PROJECT_DIR / "docs").glob("*.md")))
TAGS = ("offline", "background", "needs-aws", "long", "pulumi", "fragment")
TAGGED_LANGUAGES = ("bash", "python")
_FENCE = re.compile(r"^```(.*)$")


@dataclass(frozen=True)
class CodeBlock:
    path: Path
    line: int  # of the opening fence, 1-based
    language: str
    tags: tuple[str, ...]
    text: str

    @property
    def where(self) -> str:
        return f"{self.path.relative_to(PROJECT_DIR)}:{self.line}"

    @property
    def tag(self) -> str | None:
        return self.tags[0] if len(self.tags) == 1 else None


def code_blocks(path: Path) -> list[CodeBlock]:
    blocks: list[CodeBlock] = []
    opening: tuple[int, str] | None = None
    body: list[str] = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        fence = _FENCE.match(line)
        if fence is None:
            if opening is not None:
                body.append(line)
        elif opening is None:
            opening, body = (number, fence[1].strip()), []
        else:
            language, *tags = opening[1].split() or [""]
            blocks.append(CodeBlock(path, opening[0], language, tuple(tags), "\n".join(body) + "\n"))
            opening = None
    if opening is not None:
        raise AssertionError(f"{path.relative_to(PROJECT_DIR)}:{opening[0]}: a code block is never closed")
    return blocks


def all_code_blocks() -> list[CodeBlock]:
    return [block for path in USER_DOCS for block in code_blocks(path)]
