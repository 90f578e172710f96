"""docs/local-twin.md documents every option of `python -m local_endpoint`, with the default the CLI has.

(Its AWS CLI example is run in tests/local_endpoint/test_twin_model_artifact.py, against a twin with the model.)
"""

from __future__ import annotations

import argparse
import re

import pytest

import local_endpoint.__main__ as twin_cli
from tests.paths import PROJECT_DIR

DOC = PROJECT_DIR / "docs" / "local-twin.md"


def documented_options() -> dict[str, str]:
    """The options table: each option's long name and its Default cell."""
    rows = re.findall(r"^\| `(--[a-z-]+)[^|]*\| ([^|]*) \|", DOC.read_text(encoding="utf-8"), flags=re.M)
    return dict(rows)


def cli_options() -> list[argparse.Action]:
    return [
        action
        for action in twin_cli._parser()._actions
        if action.option_strings and not isinstance(action, argparse._HelpAction)
    ]


def long_name(action: argparse.Action) -> str:
    return next(name for name in action.option_strings if name.startswith("--"))


def test_the_table_lists_every_option_and_nothing_else() -> None:
    assert sorted(documented_options()) == sorted(long_name(action) for action in cli_options())


@pytest.mark.parametrize(
    "action",
    [a for a in cli_options() if isinstance(a.default, int | float) and not isinstance(a.default, bool)],
    ids=long_name,
)
def test_a_numeric_default_is_the_one_documented(action: argparse.Action) -> None:
    assert float(documented_options()[long_name(action)]) == action.default
