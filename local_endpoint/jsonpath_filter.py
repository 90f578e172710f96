"""The part of JSONPath that a transform job's `DataProcessing` filters may use on the twin.

SageMaker documents more operators (array indexes and slices, wildcards; batch-transform-data-processing.html).
The twin applies the forms this project's runner writes and the documented examples for JSON records:

- `$`: the whole record;
- `$.key` and `$['key']`: the value under one key;
- `$['a','b',...]`: an object holding those of the keys the record has, in the order given (the documented
  `$['id','SageMakerOutput']` keeps the id next to the vector).

Anything else is refused when the job is created, with the forms allowed, rather than applied by a guess.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

_DOT_KEY = re.compile(r"\$\.([A-Za-z_][A-Za-z0-9_-]*)")
_BRACKETS = re.compile(r"\$\[(.*)\]", re.S)
_QUOTED_KEY = re.compile(r"""\s*(?:'([^'\\]*)'|"([^"\\]*)")\s*(,|$)""")

SUPPORTED_FORMS = "$, $.key, $['key'] or $['key1','key2',...]"


class UnsupportedFilter(ValueError):
    """A JSONPath expression outside the subset the twin applies."""


class FilterError(ValueError):
    """A record that the filter cannot be applied to (not an object, or without the key)."""


@dataclass(frozen=True)
class JsonPathFilter:
    """One parsed filter: `keys` is None for `$`; `projection` says whether it keeps an object of several keys."""

    expression: str
    keys: tuple[str, ...] | None = None
    projection: bool = False

    @property
    def is_identity(self) -> bool:
        return self.keys is None

    def apply(self, record: Any) -> Any:
        if self.keys is None:
            return record
        if not isinstance(record, dict):
            raise FilterError(f"{self.expression} selects keys, but the record is a JSON {_json_kind(record)}")
        if self.projection:
            return {key: record[key] for key in self.keys if key in record}
        key = self.keys[0]
        if key not in record:
            raise FilterError(f"{self.expression} selects the key {key!r}, which the record does not have")
        return record[key]


def parse(expression: str | None) -> JsonPathFilter:
    """The filter for `expression` (None or "" mean `$`, SageMaker's default); UnsupportedFilter otherwise."""
    text = (expression or "$").strip()
    if text == "$":
        return JsonPathFilter("$")
    if match := _DOT_KEY.fullmatch(text):
        return JsonPathFilter(text, (match.group(1),))
    if match := _BRACKETS.fullmatch(text):
        keys = _quoted_keys(match.group(1))
        if keys:
            return JsonPathFilter(text, keys, projection=len(keys) > 1)
    raise UnsupportedFilter(f"{expression!r} is not a JSONPath the local twin applies: use {SUPPORTED_FORMS}")


def _quoted_keys(inside: str) -> tuple[str, ...] | None:
    keys: list[str] = []
    position = 0
    while position < len(inside):
        match = _QUOTED_KEY.match(inside, position)
        if match is None:
            return None
        keys.append(match.group(1) if match.group(1) is not None else match.group(2))
        position = match.end()
        if match.group(3) == "" and position < len(inside):
            return None
    if inside.rstrip().endswith(","):
        return None
    return tuple(keys) or None


def _json_kind(value: Any) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string"
    if isinstance(value, bool):
        return "boolean"
    if value is None:
        return "null"
    return "number"
