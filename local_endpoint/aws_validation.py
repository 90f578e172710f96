"""A request checked against botocore's input shape, with the messages AWS's JSON services answer.

botocore's own ParamValidator checks only what a client can know cheaply (required members, types, minimums); the
service also enforces the model's maximums, patterns and enums, and says so in one `ValidationException`:

    1 validation error detected: Value 'ml.c5.large' at 'transformResources.instanceType' failed to satisfy
    constraint: Member must satisfy enum value set: [ml.m4.xlarge, ...]

(the wording as in aws-samples/sagemaker-ml-workflow-with-apache-airflow#3, quoting SageMaker's CreateModel:
"2 validation errors detected: Value '...' at 'modelName' failed to satisfy constraint: Member must have length
less than or equal to 63; Value '...' at 'modelName' failed to satisfy constraint: Member must satisfy regular
expression pattern: ..."). Members are named in lower camel case along their path. Unknown members are ignored,
as the service ignores them. A value of the wrong JSON type is not a constraint failure but a
`SerializationException`, raised here as WrongType. (components/aws_rules.py reads the same patterns for the
Pulumi program; the twin sits in another layer and does not import it.)
"""

from __future__ import annotations

from functools import cache
from typing import Any

import regex
from botocore.model import ListShape, MapShape, Shape, StructureShape


class WrongType(ValueError):
    """A member whose JSON type is not the shape's (what a botocore client never sends)."""


def problems(shape: StructureShape, request: Any, *, unknown_members: bool = False) -> list[str]:
    """Every constraint `request` breaks, as AWS words each one; WrongType for a value of the wrong type.

    `unknown_members` also reports members the shape does not have, which the service ignores but which mean a
    misspelled parameter in whoever built the request (the tests hold the Pulumi program's requests to this)."""
    found: list[str] = []
    _check(shape, request, "", found, unknown_members)
    return found


def message(found: list[str]) -> str:
    count = len(found)
    return f"{count} validation error{'s' if count != 1 else ''} detected: " + "; ".join(found)


def _member_path(parent: str, name: str) -> str:
    member = name[:1].lower() + name[1:]
    return f"{parent}.{member}" if parent else member


def _check(shape: Shape, value: Any, path: str, found: list[str], unknown: bool) -> None:
    kind = shape.type_name
    if kind == "structure":
        assert isinstance(shape, StructureShape)
        if not isinstance(value, dict):
            raise WrongType(f"{path or 'the request'} must be a JSON object")
        for name in shape.required_members:
            if value.get(name) is None:
                member_path = _member_path(path, name)
                found.append(f"Value null at '{member_path}' failed to satisfy constraint: Member must not be null")
        for name, member in shape.members.items():
            if value.get(name) is not None:
                _check(member, value[name], _member_path(path, name), found, unknown)
        if unknown:
            found += [
                f"Member '{_member_path(path, name)}' is not in {shape.name}"
                for name in value
                if name not in shape.members
            ]
    elif kind == "list":
        assert isinstance(shape, ListShape)
        if not isinstance(value, list):
            raise WrongType(f"{path} must be a JSON array")
        _check_length(shape, value, len(value), path, found)
        for index, item in enumerate(value, start=1):
            _check(shape.member, item, f"{path}.{index}.member", found, unknown)
    elif kind == "map":
        assert isinstance(shape, MapShape)
        if not isinstance(value, dict):
            raise WrongType(f"{path} must be a JSON object")
        _check_length(shape, value, len(value), path, found)
        for key, item in value.items():
            _check(shape.key, key, f"{path}.key", found, unknown)
            _check(shape.value, item, f"{path}.value", found, unknown)
    elif kind == "string":
        if not isinstance(value, str):
            raise WrongType(f"{path} must be a string")
        _check_length(shape, value, len(value), path, found)
        enum = shape.enum
        if enum and value not in enum:
            found.append(_failed(value, path, f"Member must satisfy enum value set: [{', '.join(enum)}]"))
        pattern = shape.metadata.get("pattern")
        if pattern is not None and _regex(pattern).fullmatch(value) is None:
            found.append(_failed(value, path, f"Member must satisfy regular expression pattern: {pattern}"))
    elif kind in ("integer", "long"):
        if not isinstance(value, int) or isinstance(value, bool):
            raise WrongType(f"{path} must be a whole number")
        if "min" in shape.metadata and value < shape.metadata["min"]:
            minimum = shape.metadata["min"]
            found.append(_failed(value, path, f"Member must have value greater than or equal to {minimum}"))
        if "max" in shape.metadata and value > shape.metadata["max"]:
            maximum = shape.metadata["max"]
            found.append(_failed(value, path, f"Member must have value less than or equal to {maximum}"))
    elif kind == "boolean":
        if not isinstance(value, bool):
            raise WrongType(f"{path} must be true or false")
    elif kind == "timestamp" and (not isinstance(value, int | float) or isinstance(value, bool)):
        raise WrongType(f"{path} must be a timestamp in seconds since the epoch")


def _check_length(shape: Shape, value: Any, length: int, path: str, found: list[str]) -> None:
    if "min" in shape.metadata and length < shape.metadata["min"]:
        found.append(_failed(value, path, f"Member must have length greater than or equal to {shape.metadata['min']}"))
    if "max" in shape.metadata and length > shape.metadata["max"]:
        found.append(_failed(value, path, f"Member must have length less than or equal to {shape.metadata['max']}"))


def _failed(value: Any, path: str, constraint: str) -> str:
    shown = value if isinstance(value, str | int) else "..."
    return f"Value '{shown}' at '{path}' failed to satisfy constraint: {constraint}"


# A character outside the Basic Multilingual Plane written as Java writes it, a UTF-16 surrogate pair of escapes
# (`\uD800\uDC00-\uDBFF\uDFFF` is U+10000-U+10FFFF in the XML-safe string patterns of several services).
_SURROGATE_PAIR = regex.compile(r"\\u(D[89AB][0-9A-F]{2})\\u(D[C-F][0-9A-F]{2})", regex.IGNORECASE)


def _code_point(pair: regex.Match[str]) -> str:
    high, low = int(pair[1], 16), int(pair[2], 16)
    return f"\\U{0x10000 + ((high - 0xD800) << 10) + (low - 0xDC00):08X}"


@cache
def _regex(pattern: str) -> regex.Pattern[str]:
    """The model's Java pattern: `regex` reads Java's `\\p{L}` classes, and `.` does not match a line break in either;
    surrogate pairs of escapes become the code points Java reads them as. `\\d`, `\\w` and `\\s` stay Unicode here
    where Java's are ASCII (`regex`'s ASCII flag would also narrow `\\p{L}`): a non-ASCII digit passes where AWS may
    refuse it, so the check is more lenient there, never stricter."""
    return regex.compile(_SURROGATE_PAIR.sub(_code_point, pattern))
