"""Stack configuration (the Pulumi.yaml keys) -> the component's arguments, every key checked first.

This is the program's layer, not the library's: it knows the Pulumi.yaml key of each argument and speaks those names
in every error, and it refuses what the Pulumi CLI lets through (a key the project does not declare, a value of the
wrong type), all in one error and before anything is registered.

The Pulumi CLI requires a declared key that has no default, and hands the program the declared default of any other,
so the program cannot tell "unset" from "set to the default". Optional keys therefore default to "", meaning "the
component's default". A typed default must be of its type, so the integer keys are declared without a type, with ""
as their default too; this layer reads them as whole numbers, and 0 is a number like any other, refused where AWS
refuses it. The keys of one endpoint type are refused by name when the other type is chosen.

Values are echoed as the stack wrote them (`7168`, `007`), and problems found later, while the component plans
(`in_stack_terms`), are written with the keys too.
"""

from __future__ import annotations

import difflib
import json
import os
import re
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
from pulumi.runtime.config import CONFIG, get_config_env

from components import (
    BatchTransform,
    InstancesVariant,
    Monitoring,
    ProvisionedConcurrencyScaling,
    ScalingSchedule,
    ServerlessEmbeddingEndpointArgs,
    ServerlessVariant,
)
from components.validation import InvalidEndpointArgsError

ENDPOINT_TYPES = ("serverless", "instances")
# Built archives go beside the program (git-ignored), where `pulumi up` reads them.
ARTIFACT_BUILD_DIR = Path(__file__).resolve().parent / ".build" / "model-artifacts"
_WHOLE_NUMBER = re.compile(r"-?[0-9]+", flags=re.ASCII)
_BOOLEANS = {"true": True, "false": False}


@dataclass(frozen=True)
class Key:
    """One Pulumi.yaml key: its type and the component argument it sets (a field path of the args)."""

    name: str
    field: str
    kind: str  # string | integer | boolean | object
    endpoint_type: str | None = None
    """Set only for the keys of one endpoint type."""


KEYS = (
    Key("endpointName", "endpoint_name", "string"),
    Key("modelSource", "model_source", "string"),
    Key("modelId", "model_id", "string"),
    Key("modelRevision", "model_revision", "string"),
    Key("modelDir", "model_dir", "string"),
    Key("task", "task", "string"),
    Key("pooling", "pooling", "string"),
    Key("precision", "precision", "string"),
    Key("endpointType", "endpoint_type", "string"),
    Key("memorySizeMb", "serverless.memory_size_mb", "integer", "serverless"),
    Key("maxConcurrency", "serverless.max_concurrency", "integer", "serverless"),
    Key("provisionedConcurrency", "serverless.provisioned_concurrency", "integer", "serverless"),
    Key(
        "provisionedConcurrencyScaling",
        "serverless.provisioned_concurrency_scaling",
        "object",
        "serverless",
    ),
    Key("instanceType", "instances.instance_type", "string", "instances"),
    Key("minInstances", "instances.min_instances", "integer", "instances"),
    Key("maxInstances", "instances.max_instances", "integer", "instances"),
    Key("targetInvocationsPerInstance", "instances.target_invocations_per_instance", "integer", "instances"),
    Key("monitoring", "monitoring", "boolean"),
    Key("alarmEmail", "monitoring.alarm_email", "string"),
    Key("batchTransform", "batch_transform", "boolean"),
    Key("batchTransformExpiryDays", "batch_transform.expiry_days", "integer"),
    Key("batchTransformInstanceType", "batch_transform.instance_type", "string"),
    Key("imageUri", "image_uri", "string"),
    Key("executionRoleArn", "execution_role_arn", "string"),
    Key("hfToken", "hf_token", "string"),
    Key("tags", "tags", "object"),
)
KEY_NAMES = tuple(key.name for key in KEYS)
_NAME_OF_FIELD = {key.field: key.name for key in KEYS} | {
    # The variants are chosen by endpointType's value, so the stack names them by that setting.
    "serverless": "endpointType serverless",
    "instances": "endpointType instances",
    "region": "aws:region",
}


# Structured keys (`pulumi config set --path`): the key, then the argument's own path in camelCase, indices kept.
_STRUCTURED_KEYS = {"serverless.provisioned_concurrency_scaling": "provisionedConcurrencyScaling"}


def config_name(field: str) -> str:
    """The Pulumi.yaml key for a component argument, so every error names what the user wrote."""
    for prefix, key in _STRUCTURED_KEYS.items():
        if field == prefix or field.startswith((f"{prefix}.", f"{prefix}[")):
            return key + re.sub(r"_([a-z])", lambda match: match.group(1).upper(), field[len(prefix) :])
    return _NAME_OF_FIELD.get(field, field)


@contextmanager
def in_stack_terms() -> Iterator[None]:
    """Problems the component finds while it plans (a model folder's files, the provider's region) are written in
    its argument names; under this they reach the user in the stack's keys, like every other problem."""
    try:
        yield
    except InvalidEndpointArgsError as error:
        raise InvalidEndpointArgsError(error.problems, names=config_name) from None


class WholeNumber(int):
    """An integer key's value: compares as the number, prints as the stack wrote it, so a message quotes the user.

    Python refuses to convert more than 4300 digits; such a value is still a number, far beyond any range AWS has,
    and is refused as out of range rather than crashing."""

    text: str

    def __new__(cls, text: str) -> WholeNumber:
        try:
            value = int(text)
        except ValueError:
            value = (-1 if text.startswith("-") else 1) * 2**64
        number = super().__new__(cls, value)
        number.text = text
        return number

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__


def _wanted(kind: str, name: str = "") -> str:
    if kind == "object" and name != "tags":
        return f"an object, set key by key with `pulumi config set --path {name}.<setting> <value>`"
    return {
        "integer": "a whole number",
        "boolean": "true or false",
        "object": 'an object of tag keys to values, e.g. {"team": "search"}',
    }.get(kind, "a string")


class _Reader:
    """Reads each key once, converting it by its declared kind and keeping a sentence for each that cannot be."""

    def __init__(self, config: pulumi.Config) -> None:
        self.config = config
        self.problems: list[str] = []

    def raw(self, key: Key) -> str | None:
        value = self.config.get(key.name)
        return None if value in (None, "") else value

    def value(self, key: Key) -> Any:
        """The key's value, or None when it is unset ("") or of the wrong type."""
        raw = self.raw(key)
        if raw is None:
            return None
        if key.kind == "integer":
            if not _WHOLE_NUMBER.fullmatch(raw.strip()):
                return self._refuse(key, raw)
            return WholeNumber(raw.strip())
        if key.kind == "boolean":
            if raw.strip().lower() not in _BOOLEANS:
                return self._refuse(key, raw)
            return _BOOLEANS[raw.strip().lower()]
        if key.kind == "object":
            try:
                parsed = json.loads(raw)
            except ValueError:
                return self._refuse(key, raw)
            if not isinstance(parsed, dict):
                return self._refuse(key, parsed)
            return parsed
        return raw

    def _refuse(self, key: Key, value: object) -> None:
        shown = f"a {_json_type(value)} {json.dumps(value)}" if not isinstance(value, str) else repr(value)
        self.problems.append(f"{key.name} is {shown}: use {_wanted(key.kind, key.name)}")
        return None


def _json_type(value: object) -> str:
    names = {dict: "object", list: "list", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def unknown_keys(project: str) -> list[str]:
    """Keys of this project's namespace that the program does not read: a typo would otherwise be ignored."""
    given = {*CONFIG.get(), *get_config_env()}
    prefix = f"{project}:"
    lowered = {name.lower(): name for name in KEY_NAMES}
    problems = []
    for full_key in sorted(given):
        if not full_key.startswith(prefix) or full_key[len(prefix) :] in KEY_NAMES:
            continue
        key = full_key[len(prefix) :]
        close = difflib.get_close_matches(key.lower(), lowered, n=1, cutoff=0.6)
        hint = f": did you mean {lowered[close[0]]}?" if close else f": the keys are {', '.join(KEY_NAMES)}"
        problems.append(f"{key} is not a setting of this stack{hint} (`pulumi config rm {key}` removes it)")
    return problems


def stack_region() -> str | None:
    """The region the AWS provider will use; None lets the component ask the provider itself."""
    return pulumi.Config("aws").get("region") or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")


def _hf_token(config: pulumi.Config, reader: _Reader) -> str | None:
    """The Hub token, accepted only as a secret: a plain-text value in the stack file is refused."""
    token = reader.raw(next(key for key in KEYS if key.name == "hfToken"))
    if token is None:
        return None
    if not pulumi.runtime.is_config_secret(config.full_key("hfToken")):
        reader.problems.append(
            "hfToken is stored in plain text: set it with `pulumi config set --secret hfToken <token>`"
        )
        return None
    return token


def endpoint_args_from_config(config: pulumi.Config) -> ServerlessEmbeddingEndpointArgs:
    """Read every key, and raise one InvalidEndpointArgsError listing every problem before anything exists."""
    reader = _Reader(config)
    values = {key.name: reader.value(key) for key in KEYS}
    problems = unknown_keys(pulumi.get_project())
    endpoint_type = values["endpointType"] or "serverless"
    if endpoint_type not in ENDPOINT_TYPES:
        problems.append(f"endpointType {endpoint_type!r} is not supported: use one of {', '.join(ENDPOINT_TYPES)}")
    problems += _misplaced_keys(endpoint_type, values)
    monitoring = _monitoring(values, problems)
    batch_transform = _batch_transform(values, problems)
    args = ServerlessEmbeddingEndpointArgs(
        **_given(
            endpoint_name=values["endpointName"],
            model_source=values["modelSource"],
            model_id=values["modelId"],
            model_revision=values["modelRevision"],
            model_dir=values["modelDir"],
            task=values["task"],
            pooling=values["pooling"],
            precision=values["precision"],
            image_uri=values["imageUri"],
            execution_role_arn=values["executionRoleArn"],
            tags=values["tags"],
        ),
        **_variant(endpoint_type, values, problems),
        monitoring=monitoring,
        batch_transform=batch_transform,
        artifact_build_dir=ARTIFACT_BUILD_DIR,
        hf_token=_hf_token(config, reader),
        region=stack_region(),
    )
    problems = [*reader.problems, *problems, *(problem.render(config_name) for problem in args.problems())]
    if problems:
        raise InvalidEndpointArgsError(problems)
    return args


def _given(**values: Any) -> dict[str, Any]:
    """The arguments the stack sets; the others keep the component's defaults."""
    return {name: value for name, value in values.items() if value is not None}


def _misplaced_keys(endpoint_type: str, values: Mapping[str, Any]) -> list[str]:
    if endpoint_type not in ENDPOINT_TYPES:
        return []
    return [
        f"{key.name} {values[key.name]!r} is a setting of endpointType {key.endpoint_type!r}, but endpointType is "
        f"{endpoint_type!r}: remove it (`pulumi config rm {key.name}`) or set endpointType {key.endpoint_type}"
        for key in KEYS
        if key.endpoint_type not in (None, endpoint_type) and values[key.name] is not None
    ]


def _variant(endpoint_type: str, values: Mapping[str, Any], problems: list[str]) -> dict[str, Any]:
    if endpoint_type == "instances":
        return {
            "instances": InstancesVariant(
                **_given(
                    instance_type=values["instanceType"],
                    min_instances=values["minInstances"],
                    max_instances=values["maxInstances"],
                    target_invocations_per_instance=values["targetInvocationsPerInstance"],
                )
            )
        }
    return {
        "serverless": ServerlessVariant(
            **_given(
                memory_size_mb=values["memorySizeMb"],
                max_concurrency=values["maxConcurrency"],
                provisioned_concurrency=values["provisionedConcurrency"],
                provisioned_concurrency_scaling=_scaling(values["provisionedConcurrencyScaling"], problems),
            )
        )
    }


_SCALING_FIELDS = {"min": "min", "max": "max", "targetUtilization": "target_utilization", "schedules": "schedules"}
_SCHEDULE_FIELDS = {"name": "name", "schedule": "schedule", "timezone": "timezone", "min": "min", "max": "max"}


def _scaling(value: Mapping[str, Any] | None, problems: list[str]) -> ProvisionedConcurrencyScaling | None:
    """provisionedConcurrencyScaling, as `pulumi config set --path` writes it, to the component's dataclass.

    Unknown keys are refused by their path; the values' types and ranges are the component's to check (so the
    errors are the same for a library user), except that a whole number the CLI stored as a string is read as one.
    """
    if value is None:
        return None
    key = "provisionedConcurrencyScaling"
    given = _known(key, value, _SCALING_FIELDS, problems)
    schedules = given.get("schedules")
    if isinstance(schedules, dict) and all(_WHOLE_NUMBER.fullmatch(index) for index in schedules):
        schedules = [schedules[index] for index in sorted(schedules, key=int)]  # a list the CLI kept as a map
    if isinstance(schedules, list):
        given["schedules"] = [
            ScalingSchedule(**_known(f"{key}.schedules[{index}]", item, _SCHEDULE_FIELDS, problems, required=True))
            if isinstance(item, dict)
            else item
            for index, item in enumerate(schedules)
        ]
    for name in ("min", "max"):
        if name in given:
            given[name] = _number(given[name])
    if "target_utilization" in given:
        given["target_utilization"] = _number(given["target_utilization"], real=True)
    return ProvisionedConcurrencyScaling(**given)


def _known(
    where: str, value: Mapping[str, Any], fields: Mapping[str, str], problems: list[str], *, required: bool = False
) -> dict[str, Any]:
    """The component's arguments for the keys of `value` it knows; a sentence for each other key."""
    for name in value:
        if name not in fields:
            hint = difflib.get_close_matches(name, list(fields), n=1)
            wanted = f"did you mean {hint[0]}?" if hint else f"the keys are {', '.join(fields)}"
            problems.append(f"{where}.{name} is not a setting of {where}: {wanted}")
    given = {fields[name]: item for name, item in value.items() if name in fields}
    if required:
        for name in ("name", "schedule"):
            given.setdefault(name, None)  # the component names what is missing
        for name in ("min", "max"):
            if name in given:
                given[name] = _number(given[name])
    return given


def _number(value: Any, *, real: bool = False) -> Any:
    """A number the CLI kept as a string (`"2"`), as the number; anything else as it is, for the component to judge."""
    if isinstance(value, str) and _WHOLE_NUMBER.fullmatch(value.strip()):
        return int(value)
    if real and isinstance(value, str):
        try:
            return float(value)
        except ValueError:
            return value
    return value


def _monitoring(values: Mapping[str, Any], problems: list[str]) -> Monitoring | None:
    email = values["alarmEmail"]
    if values["monitoring"] is not False:
        return Monitoring(alarm_email=email)
    if email is not None:
        problems.append(
            f"alarmEmail {email!r} is set but monitoring is false: with monitoring off there are no alarms to send; "
            "remove alarmEmail or set monitoring true"
        )
    return None


_BATCH_SETTINGS = ("batchTransformExpiryDays", "batchTransformInstanceType")


def _batch_transform(values: Mapping[str, Any], problems: list[str]) -> BatchTransform | None:
    if values["batchTransform"] is True:
        return BatchTransform(
            **_given(expiry_days=values["batchTransformExpiryDays"], instance_type=values["batchTransformInstanceType"])
        )
    problems += [
        f"{key} {values[key]!r} is set but batchTransform is not true: there is no batch bucket for it to configure; "
        f"remove {key} or set batchTransform true"
        for key in _BATCH_SETTINGS
        if values[key] is not None
    ]
    return None
