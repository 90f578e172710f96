"""The README's configuration table and Pulumi.yaml declare the same keys, with the same defaults."""

from __future__ import annotations

import re

import yaml

from tests.paths import PROJECT_DIR

# In the table but not declared, on purpose: a provider key (namespaced), and `tags`, an object, which
# Pulumi.yaml cannot declare (its config types are string, integer, boolean and array).
UNDECLARED = {"aws:region", "tags"}
_ROW = re.compile(r"^\| `(?P<key>[^`]+)` \| (?P<default>[^|]*) \|")


def _readme_table() -> dict[str, str]:
    readme = (PROJECT_DIR / "README.md").read_text()
    section = readme.split("\n## Configuration\n", 1)[1].split("\n## ", 1)[0]
    rows = {}
    for line in section.splitlines():
        match = _ROW.match(line)
        if match:
            rows[match["key"]] = match["default"].strip()
    return rows


def _declared() -> dict[str, object]:
    project = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())
    return {key: spec["default"] for key, spec in project["config"].items()}


def _as_readme(default: object) -> str:
    if isinstance(default, bool):
        return "true" if default else "false"
    return '""' if default == "" else str(default)


def test_the_readme_table_lists_exactly_the_declared_keys() -> None:
    table, declared = _readme_table(), _declared()
    assert set(table) - UNDECLARED == set(declared)
    assert set(table) >= UNDECLARED


def test_the_readme_shows_each_declared_default() -> None:
    table = _readme_table()
    for key, default in _declared().items():
        shown = re.match(r"`([^`]*)`", table[key])
        assert shown is not None and shown.group(1) == _as_readme(default), f"{key}: README {table[key]!r}"
