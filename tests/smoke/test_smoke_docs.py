"""docs/smoke.md names every option of scripts/smoke.py, with the defaults the script has."""

from __future__ import annotations

import argparse
import re

from scripts import smoke
from tests.paths import PROJECT_DIR

DOC = (PROJECT_DIR / "docs" / "smoke.md").read_text(encoding="utf-8")


def script_options() -> dict[str, argparse.Action]:
    return {
        action.option_strings[0]: action
        for action in smoke._parser({})._actions
        if action.option_strings and not isinstance(action, argparse._HelpAction)
    }


def test_the_tables_name_every_option_and_nothing_else() -> None:
    documented = set(re.findall(r"^\|[^|\n]*\| `(--[a-z-]+)[^|\n]*` \|", DOC, flags=re.M))
    documented |= set(re.findall(r"^\| `(--[a-z-]+)[^|\n]*` \|", DOC, flags=re.M))

    assert documented == set(script_options())


def test_the_documented_timeouts_are_the_scripts() -> None:
    defaults = dict(re.findall(r"^\| `(--[a-z-]+) SECONDS` \| (\d+) \|", DOC, flags=re.M))

    assert {name: float(value) for name, value in defaults.items()} == {
        name: action.default for name, action in script_options().items() if isinstance(action.default, float)
    }
