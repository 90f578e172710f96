"""What `pulumi up` would do is exactly what was recorded on purpose (`make snapshot`, see tests/infra/snapshots.py).

The snapshots pin every registration with its URN, parent, provider, dependencies, options and inputs, every invoke
and every export. A refactoring that changes none of them changes nothing on a live stack.
"""

from __future__ import annotations

import pytest

from tests.infra.snapshots import CASES, load


@pytest.mark.parametrize("case", sorted(CASES))
def test_the_program_registers_exactly_what_was_recorded(case: str) -> None:
    recorded, now = load(case), CASES[case]().snapshot()

    assert [r["urn"] for r in now["registrations"]] == [r["urn"] for r in recorded["registrations"]]
    for current, expected in zip(now["registrations"], recorded["registrations"], strict=True):
        assert current == expected, current["urn"]
    assert now["invokes"] == recorded["invokes"]
    assert now["exports"] == recorded["exports"]
