"""The README's table of contents lists every section, in order, with links that resolve."""

from __future__ import annotations

import re

from tests.paths import PROJECT_DIR


def _github_anchor(title: str) -> str:
    """GitHub's heading anchor: lower case, punctuation dropped except '-' and '_', spaces become '-'."""
    return re.sub(r"[^\w\- ]", "", title.strip().lower()).replace(" ", "-")


def _headings(markdown: str) -> list[tuple[int, str]]:
    headings, in_code = [], False
    for line in markdown.splitlines():
        if line.startswith("```"):
            in_code = not in_code
        elif not in_code and (match := re.match(r"^(#{2,3}) (.+)$", line)):
            headings.append((len(match[1]), match[2]))
    return headings


def test_the_contents_list_every_section_in_order_with_working_links() -> None:
    readme = (PROJECT_DIR / "README.md").read_text()
    contents = readme.split("## Contents\n", 1)[1].split("\n## ", 1)[0]
    entries = re.findall(r"^( *)- \[(.+)\]\(#(.+)\)$", contents, flags=re.M)
    sections = [(level, title) for level, title in _headings(readme) if title != "Contents"]

    assert [(2 + len(indent) // 2, title) for indent, title, _ in entries] == sections
    assert [anchor for _, _, anchor in entries] == [_github_anchor(title) for _, title in sections]
