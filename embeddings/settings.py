"""Checks for the client's settings, made when it is built, under the names the caller used.

A bad setting found late is worse than one refused early: `max_wait_s=nan` would crash inside `time.sleep`
after the first failed attempt, and `batch_size=2.5` or `True` would quietly become a batch size. Every check
raises `InvalidSettingError` with the argument's name, the value, and what is allowed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from embeddings.errors import InvalidSettingError

# botocore's model for EndpointName (sagemaker-runtime 2017-05-13): at most 63 characters of this pattern.
_ENDPOINT_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")
_ENDPOINT_NAME_MAX = 63


@dataclass(frozen=True)
class Rule:
    """What a numeric setting must be, in words and as a test. The client checks its arguments with it, and the CLI
    its options, so the two cannot drift apart."""

    requirement: str
    test: Callable[[Any], bool]

    def check(self, name: str, value: Any) -> Any:
        if not self.test(value):
            raise InvalidSettingError(f"{name} must be {self.requirement}, got {value!r}")
        return value


def _is_finite_number(value: Any) -> bool:
    """A real number: not a bool (True would count as 1), not nan or inf (they break `time.sleep` or wait forever)."""
    return not isinstance(value, bool) and isinstance(value, int | float) and math.isfinite(value)


def whole_number_rule(minimum: int, maximum: int | None = None, why: str = "") -> Rule:
    """An int (not a bool, not 2.5, not "3") of at least `minimum` (and at most `maximum`); `why` explains the
    maximum to the user."""
    if maximum is None:
        return Rule(
            f"a whole number of at least {minimum}",
            lambda value: not isinstance(value, bool) and isinstance(value, int) and value >= minimum,
        )
    return Rule(
        f"a whole number from {minimum} to {maximum}{why}",
        lambda value: not isinstance(value, bool) and isinstance(value, int) and minimum <= value <= maximum,
    )


SECONDS = Rule("a finite number of seconds, 0 or more", lambda value: _is_finite_number(value) and value >= 0)
# A deadline of 0 would fail every call before it is sent.
POSITIVE_SECONDS = Rule("a finite number of seconds above 0", lambda value: _is_finite_number(value) and value > 0)


def whole_number(name: str, value: Any, *, minimum: int, maximum: int | None = None) -> int:
    return int(whole_number_rule(minimum, maximum).check(name, value))


def seconds(name: str, value: Any) -> float:
    return float(SECONDS.check(name, value))


def positive_seconds(name: str, value: Any) -> float:
    return float(POSITIVE_SECONDS.check(name, value))


def one_of(name: str, value: Any, allowed: Iterable[str]) -> str:
    choices = tuple(allowed)
    if value not in choices:
        raise InvalidSettingError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return str(value)


ENDPOINT_NAME_RULE = f"1-{_ENDPOINT_NAME_MAX} letters, digits and hyphens, starting and ending with a letter or digit"


def is_endpoint_name(value: Any) -> bool:
    return isinstance(value, str) and len(value) <= _ENDPOINT_NAME_MAX and bool(_ENDPOINT_NAME.fullmatch(value))


def endpoint_name(value: Any) -> str:
    """SageMaker's own rule, so a typo fails here with the rule instead of as an AWS ValidationError."""
    if not is_endpoint_name(value):
        raise InvalidSettingError(f"endpoint_name must be {ENDPOINT_NAME_RULE}, got {value!r}")
    return str(value)
