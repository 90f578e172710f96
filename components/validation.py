"""Checks on plain configuration values, run before any resource is registered.

Every check returns a sentence that names the bad value and what is allowed, and all of them run, so one
`pulumi up` reports every mistake at once instead of failing after half the resources exist.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

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
