"""Check request parameters against the AWS API's own shape definitions (botocore's service models).

botocore validates types and required members on the client side, but not the constraints that make a real
API call fail: string patterns, maximum lengths, enums, numeric ranges. This walks the operation's input shape
and reports every one of those that the parameters break.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

import botocore.session
from botocore.model import ListShape, MapShape, Shape, StructureShape


@cache
def _service_model(service: str) -> Any:
    return botocore.session.get_session().get_service_model(service)


@cache
def _compiled(pattern: str) -> re.Pattern[str] | None:
    try:
        return re.compile(pattern)
    except re.error:  # a Java-only construct such as \p{...}; nothing to check it with
        return None


def violations(service: str, operation: str, params: dict[str, Any]) -> list[str]:
    shape = _service_model(service).operation_model(operation).input_shape
    return list(_check(shape, params, operation))


def _check(shape: Shape, value: Any, path: str) -> Any:
    metadata = shape.metadata
    if isinstance(shape, StructureShape):
        if not isinstance(value, dict):
            yield f"{path}: expected a structure, got {type(value).__name__}"
            return
        for name in shape.required_members:
            if name not in value:
                yield f"{path}.{name}: required"
        for name, member in value.items():
            if name not in shape.members:
                yield f"{path}.{name}: not a member of {shape.name}"
            else:
                yield from _check(shape.members[name], member, f"{path}.{name}")
    elif isinstance(shape, ListShape):
        yield from _check_size(metadata, len(value), path, "items")
        for index, item in enumerate(value):
            yield from _check(shape.member, item, f"{path}[{index}]")
    elif isinstance(shape, MapShape):
        yield from _check_size(metadata, len(value), path, "entries")
        for key, item in value.items():
            yield from _check(shape.key, key, f"{path}<key {key!r}>")
            yield from _check(shape.value, item, f"{path}[{key!r}]")
    elif shape.type_name == "string":
        yield from _check_size(metadata, len(value), path, "characters")
        if "enum" in metadata and value not in metadata["enum"]:
            yield f"{path}: {value!r} is not one of {metadata['enum']}"
        pattern = _compiled(metadata["pattern"]) if "pattern" in metadata else None
        if pattern is not None and not pattern.fullmatch(value):
            yield f"{path}: {value!r} does not match {metadata['pattern']}"
    elif shape.type_name in ("integer", "long"):
        if "min" in metadata and value < metadata["min"]:
            yield f"{path}: {value} is below the minimum {metadata['min']}"
        if "max" in metadata and value > metadata["max"]:
            yield f"{path}: {value} is above the maximum {metadata['max']}"


def _check_size(metadata: dict[str, Any], size: int, path: str, unit: str) -> Any:
    if "min" in metadata and size < metadata["min"]:
        yield f"{path}: {size} {unit}, at least {metadata['min']} required"
    if "max" in metadata and size > metadata["max"]:
        yield f"{path}: {size} {unit}, at most {metadata['max']} allowed"
