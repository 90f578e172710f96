"""What the AWS APIs accept, read from the service models of the pinned botocore instead of copied by hand.

botocore ships each API's shapes with the rules the service enforces: patterns, lengths, ranges and enums. Reading
them here keeps validation in step with the SDK this project pins, and a value AWS would refuse minutes into
`pulumi up` is refused before anything is registered. Three things are added to what the models say:

- Patterns are Java regular expressions, matched against the whole value. In Java `\\d` and `\\w` are ASCII while
  `\\p{L}` is Unicode; the `regex` package reads `\\p{...}`, and `\\d`/`\\w` are rewritten to their ASCII classes.
  Python's `$` would also match before a final newline; `fullmatch` does not.
- An `integer` shape without a maximum is still a Java int on the wire: at most 2**31 - 1.
- A string shape's `min` can be 0 while its pattern needs a character (EndpointName: min 0, and a pattern that
  starts with a letter or digit); the length stated in messages is the one the pattern really allows, 1-63.
- The models load lazily, once per process (about 0.1 s for SageMaker's).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

import regex

INT32_MAX = 2**31 - 1

# (service, shape) of every rule the component checks.
ENDPOINT_NAME = ("sagemaker", "EndpointName")
ROLE_ARN = ("sagemaker", "RoleArn")
ROLE_NAME = ("iam", "roleNameType")
ROLE_PATH = ("iam", "pathType")
CONTAINER_IMAGE = ("sagemaker", "ContainerImage")
TAG_KEYS = (("sagemaker", "TagKey"), ("iam", "tagKeyType"))
TAG_VALUES = (("sagemaker", "TagValue"), ("iam", "tagValueType"))
TAG_LIST = ("sagemaker", "TagList")
MEMORY_SIZE = ("sagemaker", "ServerlessMemorySizeInMB")
MAX_CONCURRENCY = ("sagemaker", "ServerlessMaxConcurrency")
PROVISIONED_CONCURRENCY = ("sagemaker", "ServerlessProvisionedConcurrency")
INITIAL_INSTANCE_COUNT = ("sagemaker", "InitialTaskCount")
SCALING_CAPACITY = ("application-autoscaling", "ResourceCapacity")
SCALING_COOLDOWN = ("application-autoscaling", "Cooldown")
SCHEDULED_ACTION_NAME = ("application-autoscaling", "ScheduledActionName")
SCALABLE_DIMENSIONS = ("application-autoscaling", "ScalableDimension")
PREDEFINED_METRICS = ("application-autoscaling", "MetricType")
INSTANCE_TYPE = ("sagemaker", "ProductionVariantInstanceType")
TRANSFORM_INSTANCE_TYPE = ("sagemaker", "TransformInstanceType")
LIFECYCLE_DAYS = ("s3", "Days")

_ASCII_CLASSES = {"d": "0-9", "w": "A-Za-z0-9_"}


@dataclass(frozen=True)
class StringRule:
    """A string shape: its Java pattern as botocore states it, and its length limits."""

    source: str
    pattern: str | None
    min_length: int
    max_length: int | None

    def accepts(self, value: str) -> bool:
        if len(value) < self.min_length or (self.max_length is not None and len(value) > self.max_length):
            return False
        return self.pattern is None or java_pattern(self.pattern).fullmatch(value) is not None

    def describe(self) -> str:
        shortest = self.min_length if self.min_length or self.accepts("") else 1
        size = f"{shortest}-{self.max_length}" if self.max_length is not None else f"{shortest}+"
        pattern = f" matching {self.pattern}" if self.pattern else ""
        return f"{size} characters{pattern} ({self.source})"


@dataclass(frozen=True)
class IntegerRule:
    """An integer shape's range, with Java's int as the ceiling the model leaves unsaid."""

    source: str
    minimum: int
    maximum: int

    def accepts(self, value: int) -> bool:
        return self.minimum <= value <= self.maximum


def _to_python(pattern: str) -> str:
    """Rewrite Java's ASCII `\\d` and `\\w` as explicit classes, inside and outside brackets alike."""
    out: list[str] = []
    index, depth = 0, 0
    while index < len(pattern):
        char = pattern[index]
        if char == "\\" and index + 1 < len(pattern):
            escaped = pattern[index + 1]
            if escaped in _ASCII_CLASSES:
                members = _ASCII_CLASSES[escaped]
                out.append(members if depth else f"[{members}]")
            else:
                out.append(pattern[index : index + 2])
            index += 2
            continue
        if char == "[":
            depth += 1
        elif char == "]" and depth:
            depth -= 1
        out.append(char)
        index += 1
    return "".join(out)


@cache
def java_pattern(pattern: str) -> regex.Pattern[str]:
    return regex.compile(_to_python(pattern))


@cache
def _service_model(service: str) -> Any:
    import botocore.session  # imported here: loading botocore costs nothing until a rule is needed

    return botocore.session.get_session().get_service_model(service)


def _metadata(rule: tuple[str, str]) -> dict[str, Any]:
    service, shape = rule
    return dict(_service_model(service).shape_for(shape).metadata)


@cache
def string_rule(rule: tuple[str, str]) -> StringRule:
    metadata = _metadata(rule)
    return StringRule(
        source=f"{rule[0]} {rule[1]}",
        pattern=metadata.get("pattern"),
        min_length=int(metadata.get("min", 0)),
        max_length=int(metadata["max"]) if "max" in metadata else None,
    )


@cache
def integer_rule(rule: tuple[str, str]) -> IntegerRule:
    metadata = _metadata(rule)
    return IntegerRule(
        source=f"{rule[0]} {rule[1]}",
        minimum=int(metadata.get("min", -INT32_MAX - 1)),
        maximum=min(int(metadata.get("max", INT32_MAX)), INT32_MAX),
    )


@cache
def list_limit(rule: tuple[str, str]) -> int:
    return int(_metadata(rule)["max"])


@cache
def enum_values(rule: tuple[str, str]) -> tuple[str, ...]:
    return tuple(_metadata(rule)["enum"])
