"""Checks for the client's settings, made when it is built, under the names the caller used.

A bad setting found late is worse than one refused early: `max_wait_s=nan` would crash inside `time.sleep`
after the first failed attempt, and `batch_size=2.5` or `True` would quietly become a batch size. Every check
raises `InvalidSettingError` with the argument's name, the value, and what is allowed.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from typing import Any

from embeddings.errors import InvalidSettingError

# botocore's model for EndpointName (sagemaker-runtime 2017-05-13): at most 63 characters of this pattern.
_ENDPOINT_NAME = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9])*")
_ENDPOINT_NAME_MAX = 63


def whole_number(name: str, value: Any, *, minimum: int) -> int:
    """An int (not a bool, not 2.5, not "3") of at least `minimum`."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise InvalidSettingError(f"{name} must be a whole number of at least {minimum:,}, got {value!r}")
    return value


def seconds(name: str, value: Any) -> float:
    """A finite, non-negative number of seconds: nan and inf would break `time.sleep` or wait forever."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value < 0:
        raise InvalidSettingError(f"{name} must be a finite number of seconds, 0 or more, got {value!r}")
    return float(value)


def positive_seconds(name: str, value: Any) -> float:
    """A finite number of seconds above 0: a deadline of 0 would fail every call before it is sent."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value) or value <= 0:
        raise InvalidSettingError(f"{name} must be a finite number of seconds above 0, got {value!r}")
    return float(value)


def one_of(name: str, value: Any, allowed: Iterable[str]) -> str:
    choices = tuple(allowed)
    if value not in choices:
        raise InvalidSettingError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return str(value)


def endpoint_name(value: Any) -> str:
    """SageMaker's own rule, so a typo fails here with the rule instead of as an AWS ValidationError."""
    if not isinstance(value, str) or len(value) > _ENDPOINT_NAME_MAX or not _ENDPOINT_NAME.fullmatch(value):
        raise InvalidSettingError(
            f"endpoint_name must be 1-{_ENDPOINT_NAME_MAX} letters, digits and hyphens, starting and ending with a "
            f"letter or digit, got {value!r}"
        )
    return value
