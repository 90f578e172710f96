"""Checks on plain configuration values, run before any resource is registered.

Every check returns a sentence that names the bad value and what is allowed, and all of them run, so one
`pulumi up` reports every mistake at once instead of failing after half the resources exist.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Mapping
from functools import cache

from components.images import parse_ecr_image_uri
from components.regions import REGION_PATTERN, partition_of

MEMORY_SIZES_MB = (1024, 2048, 3072, 4096, 5120, 6144)
MIN_CONCURRENCY, MAX_CONCURRENCY = 1, 200

ENDPOINT_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$")
# Hugging Face Hub repo ids: an optional owner, then a name; letters, digits, '-', '_', '.', at most 96 each,
# not starting or ending with '-' or '.', and no '--' or '..'.
_HUB_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?"
MODEL_ID_PATTERN = re.compile(rf"^(?:{_HUB_NAME}/)?{_HUB_NAME}$")
MODEL_REVISION_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.\-/]{0,127}$")
TASK_PATTERN = re.compile(r"^[a-z]+(?:-[a-z]+)*$")
ROLE_ARN_PATTERN = re.compile(
    r"^arn:(?P<partition>aws|aws-cn|aws-us-gov|aws-iso|aws-iso-b|aws-eusc):iam::\d{12}:role/[\w+=,.@/-]{1,512}$"
)
# Children are auto-named `<component>-config-<7 hex>`; SageMaker names stop at 63 characters.
COMPONENT_NAME_PATTERN = re.compile(r"^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,47}$")
MAX_USER_TAGS = 40  # 50 per resource in AWS, less the ones this project adds


class InvalidEndpointArgsError(ValueError):
    """Raised before anything is registered, so a bad value never leaves half a stack behind."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        lines = "\n".join(f"  - {problem}" for problem in problems)
        super().__init__(f"invalid embedding endpoint configuration:\n{lines}")


def check_endpoint_name(value: str) -> list[str]:
    if isinstance(value, str) and ENDPOINT_NAME_PATTERN.match(value):
        return []
    return [
        f"endpointName {value!r} is not a valid SageMaker endpoint name: use 1-63 letters, digits and "
        "hyphens, starting and ending with a letter or digit (pattern ^[a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}$)"
    ]


def check_model_id(value: str) -> list[str]:
    if isinstance(value, str) and MODEL_ID_PATTERN.match(value) and ".." not in value and "--" not in value:
        return []
    return [
        f"modelId {value!r} is not a Hugging Face Hub model id: expected 'owner/name' or 'name' "
        "(letters, digits, '-', '_', '.'), e.g. 'sentence-transformers/all-MiniLM-L6-v2'"
    ]


def check_model_revision(value: str | None) -> list[str]:
    if value is None or (isinstance(value, str) and MODEL_REVISION_PATTERN.match(value)):
        return []
    return [
        f"modelRevision {value!r} is not a Hub revision: use a commit hash, branch or tag "
        "(letters, digits, '_', '.', '-', '/'; at most 128 characters), or leave it unset"
    ]


def check_task(value: str) -> list[str]:
    if isinstance(value, str) and TASK_PATTERN.match(value):
        return []
    return [
        f"task {value!r} is not a transformers pipeline task name: use lower-case words joined by "
        "hyphens, e.g. 'feature-extraction'"
    ]


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def check_memory_size(value: int) -> list[str]:
    if _is_int(value) and value in MEMORY_SIZES_MB:
        return []
    allowed = ", ".join(str(size) for size in MEMORY_SIZES_MB)
    return [f"memorySizeMb {value!r} is not allowed for serverless inference: use one of {allowed}"]


def check_concurrency(max_concurrency: int, provisioned: int | None) -> list[str]:
    problems = []
    max_ok = _is_int(max_concurrency) and MIN_CONCURRENCY <= max_concurrency <= MAX_CONCURRENCY
    if not max_ok:
        problems.append(
            f"maxConcurrency {max_concurrency!r} is out of range: use a whole number from "
            f"{MIN_CONCURRENCY} to {MAX_CONCURRENCY} (new accounts often have a quota of 10 in total)"
        )
    if provisioned is None:
        return problems
    if not (_is_int(provisioned) and MIN_CONCURRENCY <= provisioned <= MAX_CONCURRENCY):
        problems.append(
            f"provisionedConcurrency {provisioned!r} is out of range: use a whole number from "
            f"{MIN_CONCURRENCY} to {MAX_CONCURRENCY}, or leave it unset (0) for no warm capacity"
        )
    elif max_ok and provisioned > max_concurrency:
        problems.append(
            f"provisionedConcurrency {provisioned} exceeds maxConcurrency {max_concurrency}: "
            "provisioned capacity must be at most maxConcurrency"
        )
    return problems


def check_region(value: str | None) -> list[str]:
    if value is None or (isinstance(value, str) and REGION_PATTERN.match(value)):
        return []
    return [f"region {value!r} is not an AWS region name: expected something like 'us-east-1' or 'eu-west-2'"]


def check_image_uri(value: str | None, region: str | None) -> list[str]:
    if value is None:
        return []
    image = parse_ecr_image_uri(value) if isinstance(value, str) else None
    if image is None:
        return [
            f"imageUri {value!r} is not an ECR image URI: expected "
            "'<account>.dkr.ecr.<region>.amazonaws.com/<repository>:<tag>' (or '@sha256:<digest>')"
        ]
    if region is not None and image.region != region:
        return [
            f"imageUri {value!r} is in region {image.region!r} but the stack deploys to {region!r}: "
            "SageMaker rejects cross-region image pulls, so use the image's copy in the stack's region"
        ]
    return []


def check_role_arn(value: str | None, region: str | None) -> list[str]:
    if value is None:
        return []
    match = ROLE_ARN_PATTERN.match(value) if isinstance(value, str) else None
    if match is None:
        return [
            f"executionRoleArn {value!r} is not an IAM role ARN: expected "
            "'arn:aws:iam::<12-digit account>:role/<name>', or leave it unset to let this stack create one"
        ]
    if region is not None and match["partition"] != partition_of(region):
        return [
            f"executionRoleArn {value!r} is in partition {match['partition']!r} but region {region!r} "
            f"is in {partition_of(region)!r}: the role must live in the stack's partition"
        ]
    return []


def check_tags(tags: Mapping[str, str]) -> list[str]:
    problems = []
    if len(tags) > MAX_USER_TAGS:
        problems.append(f"tags: {len(tags)} given, at most {MAX_USER_TAGS} are allowed")
    for key, value in tags.items():
        if not isinstance(key, str) or not 1 <= len(key) <= 128 or key.lower().startswith("aws:"):
            problems.append(f"tag key {key!r} is not allowed: use 1-128 characters, not starting with 'aws:'")
        if not isinstance(value, str) or len(value) > 256:
            problems.append(f"tag {key!r} has value {value!r}: tag values are strings of at most 256 characters")
    return problems


def check_component_name(value: str) -> list[str]:
    if isinstance(value, str) and COMPONENT_NAME_PATTERN.match(value):
        return []
    return [
        f"component name {value!r} is not usable: its children are named after it, so use 1-48 letters, "
        "digits and hyphens, starting and ending with a letter or digit"
    ]


# --- endpoint type, instances, monitoring, pooling, extra statements ---------------------------------------------

ENDPOINT_TYPES = ("serverless", "instances")
POOLING_MODES = ("client", "server")
EMAIL_PATTERN = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s.]+$")
STATEMENT_ID_PATTERN = re.compile(r"^[A-Za-z0-9]+$")
# AWS Graviton (ARM) instance families: c6g, c6gd, c6gn, c7g, c8g, m6g, m6gd, m8g, r6g, r6gd, r7gd, r8g...
_GRAVITON_INSTANCE = re.compile(r"^ml\.[cmr]\d+g[a-z]*\.")


@cache
def sagemaker_instance_types() -> tuple[str, ...]:
    """The real-time instance types the SageMaker API accepts, read from the pinned botocore's service model.

    Loaded at validation time (about 0.1 s, once), so the list is always the one of the SDK this project pins
    rather than a copy that goes stale: botocore's `ProductionVariantInstanceType` enum.
    """
    import botocore.session  # imported here: only instance mode pays for loading the service model

    model = botocore.session.get_session().get_service_model("sagemaker")
    return tuple(model.shape_for("ProductionVariantInstanceType").enum)


def check_endpoint_type(value: str) -> list[str]:
    if value in ENDPOINT_TYPES:
        return []
    return [f"endpointType {value!r} is not supported: use one of {', '.join(ENDPOINT_TYPES)}"]


def check_instance_type(value: str, *, image_uri: str | None) -> list[str]:
    known = sagemaker_instance_types()
    if not isinstance(value, str) or value not in known:
        close = difflib.get_close_matches(str(value), known, n=3, cutoff=0.6)
        hint = f"; did you mean {', '.join(close)}?" if close else ""
        return [
            f"instanceType {value!r} is not a SageMaker real-time instance type: use one of the "
            f"{len(known)} types of the API's ProductionVariantInstanceType list, e.g. ml.m5.large or "
            f"ml.c6i.large{hint}"
        ]
    if image_uri is None and _GRAVITON_INSTANCE.match(value):
        return [
            f"instanceType {value!r} is an AWS Graviton (ARM) instance but the Hugging Face CPU image is "
            "x86_64 only: use an x86 type such as ml.m5.large or ml.c6i.large, or set imageUri to an ARM image"
        ]
    return []


def check_whole_number_at_least(key: str, value: object, minimum: int, meaning: str) -> list[str]:
    if _is_int(value) and value >= minimum:  # type: ignore[operator]
        return []
    return [f"{key} {value!r} is not allowed: use a whole number of at least {minimum} ({meaning})"]


def check_instance_counts(min_instances: int, max_instances: int) -> list[str]:
    problems = [
        *check_whole_number_at_least("minInstances", min_instances, 1, "instances always running, the initial count"),
        *check_whole_number_at_least("maxInstances", max_instances, 1, "the most instances autoscaling may start"),
    ]
    if not problems and min_instances > max_instances:
        problems.append(
            f"minInstances {min_instances} exceeds maxInstances {max_instances}: the minimum must be at most the "
            "maximum"
        )
    return problems


def check_target_invocations(value: int) -> list[str]:
    return check_whole_number_at_least(
        "targetInvocationsPerInstance", value, 1, "invocations per instance per minute that autoscaling aims for"
    )


def check_cooldown(key: str, value: int) -> list[str]:
    return check_whole_number_at_least(key, value, 0, "seconds")


def check_alarm_email(value: str | None) -> list[str]:
    if value is None or (isinstance(value, str) and EMAIL_PATTERN.match(value)):
        return []
    return [f"alarmEmail {value!r} is not an email address: expected something like 'ops@example.com'"]


def check_pooling(value: str) -> list[str]:
    if value in POOLING_MODES:
        return []
    return [
        f"pooling {value!r} is not supported: use 'client' (the container answers token vectors and the client "
        "pools them) or 'server' (the container answers sentence vectors)"
    ]


def check_extra_statements(statements: object, *, reserved_sids: frozenset[str], own_role: bool) -> list[str]:
    """Extra execution-role statements: IAM's required shape, checked where it is plain data."""
    if not statements:
        return []
    if own_role:
        return [
            "execution_role_statements cannot be added to a role you bring (executionRoleArn): attach them to "
            "that role yourself, or let this component create the role"
        ]
    if not isinstance(statements, list | tuple):
        return [f"execution_role_statements {statements!r} is not a list of IAM policy statements"]
    problems = []
    for index, statement in enumerate(statements):
        where = f"execution_role_statements[{index}]"
        if not isinstance(statement, Mapping):
            problems.append(f"{where} {statement!r} is not a statement: expected a dict with Effect, Action, Resource")
            continue
        if statement.get("Effect") not in ("Allow", "Deny"):
            problems.append(f"{where} has Effect {statement.get('Effect')!r}: use 'Allow' or 'Deny'")
        action = statement.get("Action")
        actions = [action] if isinstance(action, str) else action
        if not isinstance(actions, list | tuple) or not actions or not all(isinstance(a, str) for a in actions):
            problems.append(f"{where} has Action {action!r}: use an action such as 's3:GetObject' or a list of them")
        if "Resource" not in statement:
            problems.append(f"{where} has no Resource: name the ARNs the role may use")
        sid = statement.get("Sid")
        if sid is not None and (not isinstance(sid, str) or not STATEMENT_ID_PATTERN.match(sid)):
            problems.append(f"{where} has Sid {sid!r}: use letters and digits only")
        elif sid in reserved_sids:
            problems.append(f"{where} has Sid {sid!r}, which this component already uses: choose another")
    return problems
