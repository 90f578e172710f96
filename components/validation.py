"""Checks on the component's plain arguments, run before any resource is registered.

Every check returns problems rather than raising, so one `pulumi up` reports every mistake at once instead of failing
after half the resources exist. A problem names the argument it is about, the value, and what is allowed; where AWS
states the rule (botocore's service models, see aws_rules), the rule is AWS's own, and where AWS states none but the
container would fail, the container's reason is given.

Problems speak the library's field names (`serverless.memory_size_mb`); the stack program renders the same problems
with its Pulumi.yaml keys (`memorySizeMb`), so each reader sees the names they wrote. Every name in a sentence, the
other arguments it points to included, goes through the Namer, and numbers are echoed as given (`7168`, never
`7,168`), so a reader can search for what they typed.
"""

from __future__ import annotations

import difflib
import re
import zoneinfo
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from functools import cache

from components import aws_rules, schedule_expressions
from components.images import parse_ecr_image_uri
from components.regions import dns_suffix_of, is_known_region, known_regions, looks_like_region, partition_of

Namer = Callable[[str], str]
"""Gives the name a reader knows an argument by, from its field path (`serverless.memory_size_mb`)."""


def field_path(path: str) -> str:
    return path


@dataclass(frozen=True)
class Problem:
    """One bad argument: `field` is its path, `text` writes the sentence with the names a reader knows."""

    field: str
    text: Callable[[Namer], str]

    def render(self, names: Namer = field_path) -> str:
        return self.text(names)


class InvalidEndpointArgsError(ValueError):
    """Raised before anything is registered, so a bad value never leaves half a stack behind."""

    def __init__(self, problems: Sequence[Problem | str], names: Namer = field_path) -> None:
        self.problems = list(problems)
        self.messages = [p if isinstance(p, str) else p.render(names) for p in self.problems]
        lines = "\n".join(f"  - {message}" for message in self.messages)
        super().__init__(f"invalid embedding endpoint configuration:\n{lines}")


def problem(field: str, text: Callable[[Namer], str]) -> Problem:
    return Problem(field, text)


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _type_name(value: object) -> str:
    return type(value).__name__


# --- names, ids and strings ----------------------------------------------------------------------------------------

# Hugging Face Hub repo ids: an optional owner, then a name; ASCII letters, digits, '-', '_', '.', at most 96 each,
# not starting or ending with '-' or '.', and no '--' or '..'.
_HUB_NAME = r"[A-Za-z0-9](?:[A-Za-z0-9_.-]{0,94}[A-Za-z0-9_])?"
MODEL_ID_PATTERN = re.compile(rf"(?:{_HUB_NAME}/)?{_HUB_NAME}", flags=re.ASCII)
MODEL_REVISION_PATTERN = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-/]{0,127}", flags=re.ASCII)
# Children are auto-named `<component>-config-<7 hex>`; SageMaker names stop at 63 characters.
COMPONENT_NAME_PATTERN = re.compile(r"[a-zA-Z0-9](-*[a-zA-Z0-9]){0,47}", flags=re.ASCII)
EMAIL_PATTERN = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")
STATEMENT_ID_PATTERN = re.compile(r"[A-Za-z0-9]+", flags=re.ASCII)

# The pipeline tasks of the image's transformers (5.5.3), aliases included. Only feature-extraction answers vectors.
FEATURE_EXTRACTION = "feature-extraction"
PIPELINE_TASKS = (
    "any-to-any",
    "audio-classification",
    "automatic-speech-recognition",
    "depth-estimation",
    "document-question-answering",
    "feature-extraction",
    "fill-mask",
    "image-classification",
    "image-feature-extraction",
    "image-segmentation",
    "image-text-to-text",
    "keypoint-matching",
    "mask-generation",
    "ner",
    "object-detection",
    "sentiment-analysis",
    "table-question-answering",
    "text-classification",
    "text-generation",
    "text-to-audio",
    "text-to-speech",
    "token-classification",
    "video-classification",
    "zero-shot-audio-classification",
    "zero-shot-classification",
    "zero-shot-image-classification",
    "zero-shot-object-detection",
)


def not_a(field: str, value: object, wanted: str) -> Problem:
    return problem(field, lambda n: f"{n(field)} {value!r} is a {_type_name(value)}: use {wanted}")


def _suggest(value: str, choices: Sequence[str]) -> str:
    close = difflib.get_close_matches(value, choices, n=3, cutoff=0.6)
    return f"; did you mean {' or '.join(close)}?" if close else ""


def check_one_of(field: str, value: object, choices: Sequence[str], meaning: Mapping[str, str]) -> list[Problem]:
    if isinstance(value, str) and value in choices:
        return []
    hint = _suggest(value, choices) if isinstance(value, str) else ""
    allowed = ", ".join(f"{choice} ({meaning[choice]})" for choice in choices)
    return [problem(field, lambda n: f"{n(field)} {value!r} is not supported: use {allowed}{hint}")]


def check_string_rule(field: str, value: object, rule: tuple[str, str], what: str) -> list[Problem]:
    if not isinstance(value, str):
        return [not_a(field, value, f"a string, {what}")]
    checked = aws_rules.string_rule(rule)
    if checked.accepts(value):
        return []
    return [problem(field, lambda n: f"{n(field)} {value!r} is not {what}: use {checked.describe()}")]


def check_endpoint_name(value: object, field: str = "endpoint_name") -> list[Problem]:
    return check_string_rule(
        field,
        value,
        aws_rules.ENDPOINT_NAME,
        "a valid SageMaker endpoint name (letters, digits and hyphens, starting and ending with a letter or digit)",
    )


def check_component_name(value: object) -> list[Problem]:
    if isinstance(value, str) and COMPONENT_NAME_PATTERN.fullmatch(value):
        return []
    return [
        problem(
            "name",
            lambda n: (
                f"component name {value!r} is not usable: its children are named after it, so use 1-48 "
                "letters, digits and hyphens, starting and ending with a letter or digit"
            ),
        )
    ]


def check_model_id(value: object) -> list[Problem]:
    field = "model_id"
    if not isinstance(value, str):
        return [not_a(field, value, "a string such as 'sentence-transformers/all-MiniLM-L6-v2'")]
    if MODEL_ID_PATTERN.fullmatch(value) and ".." not in value and "--" not in value:
        return []
    return [
        problem(
            field,
            lambda n: (
                f"{n(field)} {value!r} is not a Hugging Face Hub model id: expected 'owner/name' or 'name' "
                "(ASCII letters, digits, '-', '_', '.'), e.g. 'sentence-transformers/all-MiniLM-L6-v2'"
            ),
        )
    ]


def check_model_revision(value: object) -> list[Problem]:
    field = "model_revision"
    if value is None:
        return []
    if isinstance(value, str) and MODEL_REVISION_PATTERN.fullmatch(value):
        return []
    return [
        problem(
            field,
            lambda n: (
                f"{n(field)} {value!r} is not a Hub revision: use a commit hash, branch or tag (ASCII letters, "
                "digits, '_', '.', '-', '/'; at most 128 characters), or leave it unset"
            ),
        )
    ]


def check_task(value: object) -> list[Problem]:
    field = "task"
    if not isinstance(value, str):
        return [not_a(field, value, f"the string {FEATURE_EXTRACTION!r}")]
    if value == FEATURE_EXTRACTION:
        return []
    if value in PIPELINE_TASKS:
        return [
            problem(
                field,
                lambda n: (
                    f"{n(field)} {value!r} answers something other than vectors: this endpoint embeds text, "
                    f"and only the {FEATURE_EXTRACTION!r} pipeline answers token vectors"
                ),
            )
        ]
    hint = _suggest(value, PIPELINE_TASKS)
    return [
        problem(
            field,
            lambda n: (
                f"{n(field)} {value!r} is not a transformers pipeline task, so the container would fail to "
                f"start: use {FEATURE_EXTRACTION!r}{hint}"
            ),
        )
    ]


def check_alarm_email(value: object, field: str = "monitoring.alarm_email") -> list[Problem]:
    if value is None or (isinstance(value, str) and EMAIL_PATTERN.fullmatch(value)):
        return []
    return [
        problem(field, lambda n: f"{n(field)} {value!r} is not an email address: expected one like 'ops@example.com'")
    ]


# --- numbers -----------------------------------------------------------------------------------------------------


def check_whole_number(
    field: str, value: object, minimum: int, maximum: int, meaning: str, *, rule: str = ""
) -> list[Problem]:
    source = f", {rule}" if rule else ""
    if isinstance(value, bool) or not isinstance(value, int):
        return [not_a(field, value, f"a whole number from {minimum} to {maximum} ({meaning})")]
    if minimum <= value <= maximum:
        return []
    return [
        problem(
            field,
            lambda n: (
                f"{n(field)} {value} is out of range: use a whole number from {minimum} to {maximum} "
                f"({meaning}{source})"
            ),
        )
    ]


def check_integer_rule(
    field: str, value: object, rule: tuple[str, str], meaning: str, minimum: int | None = None
) -> list[Problem]:
    checked = aws_rules.integer_rule(rule)
    low = checked.minimum if minimum is None else max(minimum, checked.minimum)
    return check_whole_number(field, value, low, checked.maximum, meaning, rule=checked.source)


def check_memory_size(value: object, field: str = "serverless.memory_size_mb") -> list[Problem]:
    rule = aws_rules.integer_rule(aws_rules.MEMORY_SIZE)
    sizes = list(range(rule.minimum, rule.maximum + 1, 1024))
    meaning = f"MB in steps of 1024: {', '.join(map(str, sizes))}"
    problems = check_whole_number(field, value, rule.minimum, rule.maximum, meaning, rule=rule.source)
    if problems or value in sizes:
        return problems
    return [problem(field, lambda n: f"{n(field)} {value} is not a serverless memory size: use one of {meaning}")]


def check_concurrency(max_concurrency: object, provisioned: object, prefix: str = "serverless.") -> list[Problem]:
    max_field, provisioned_field = f"{prefix}max_concurrency", f"{prefix}provisioned_concurrency"
    problems = check_integer_rule(
        max_field,
        max_concurrency,
        aws_rules.MAX_CONCURRENCY,
        "concurrent invocations; new accounts often have a quota of 10 in total",
    )
    if provisioned is None:
        return problems
    provisioned_problems = check_integer_rule(
        provisioned_field, provisioned, aws_rules.PROVISIONED_CONCURRENCY, "warm capacity, billed while idle"
    )
    problems += provisioned_problems
    if problems or not (isinstance(provisioned, int) and isinstance(max_concurrency, int)):
        return problems
    if provisioned > max_concurrency:
        problems.append(
            problem(
                provisioned_field,
                lambda n: (
                    f"{n(provisioned_field)} {provisioned} exceeds {n(max_field)} {max_concurrency}: "
                    "provisioned capacity must be at most the maximum"
                ),
            )
        )
    return problems


def check_instance_counts(min_instances: object, max_instances: object, prefix: str = "instances.") -> list[Problem]:
    min_field, max_field = f"{prefix}min_instances", f"{prefix}max_instances"
    max_problems = check_integer_rule(
        max_field, max_instances, aws_rules.SCALING_CAPACITY, "the most instances autoscaling may run", minimum=1
    )
    if _is_int(min_instances) and min_instances == 0:
        return [_no_scale_to_zero(min_field, min_instances), *max_problems]
    problems = [
        *check_integer_rule(
            min_field,
            min_instances,
            aws_rules.INITIAL_INSTANCE_COUNT,
            "instances always running, the initial count",
            minimum=1,
        ),
        *max_problems,
    ]
    if problems or not (isinstance(min_instances, int) and isinstance(max_instances, int)):
        return problems
    if min_instances > max_instances:
        problems.append(
            problem(
                min_field,
                lambda n: (
                    f"{n(min_field)} {min_instances} exceeds {n(max_field)} {max_instances}: the minimum must "
                    "be at most the maximum"
                ),
            )
        )
    return problems


def _no_scale_to_zero(field: str, value: int) -> Problem:
    """0 most likely means "scale to zero", which instance endpoints cannot do: say so, not just "out of range"."""
    rule = aws_rules.integer_rule(aws_rules.INITIAL_INSTANCE_COUNT)
    return problem(
        field,
        lambda n: (
            f"{n(field)} {value} asks for scaling to zero, which instance endpoints cannot do: at least one instance "
            f"runs, billed around the clock. Use a whole number from {rule.minimum} to {rule.maximum} "
            f"({rule.source}), or {n('serverless')} for an endpoint that costs nothing while idle"
        ),
    )


def check_cooldown(field: str, value: object) -> list[Problem]:
    return check_integer_rule(field, value, aws_rules.SCALING_COOLDOWN, "seconds", minimum=0)


# --- instance types --------------------------------------------------------------------------------------------------

# Arm hosts: AWS Graviton families carry a "g" after their generation (c6g, c7gn, m6gd, r8g, t4g, and g5g, whose
# GPU sits on a Graviton host); NVIDIA Grace hosts name their superchip (p6e-gb200). The Hugging Face CPU image is
# x86_64 only, so on these the container cannot start.
_ARM_FAMILY = re.compile(r"[a-z]+\d+[a-z]*g[a-z]*|[a-z]+\d+[a-z]*-gb\d+", flags=re.ASCII)


def is_arm_instance_type(instance_type: str) -> bool:
    family = instance_type.removeprefix("ml.").split(".", 1)[0]
    return _ARM_FAMILY.fullmatch(family) is not None


def _check_listed_type(
    field: str, value: object, rule: tuple[str, str], *, expected: str, kind: str, examples: tuple[str, str]
) -> list[Problem]:
    """One of an API enum's instance types, refused by name with the list's size, two examples and a suggestion."""
    known = aws_rules.enum_values(rule)
    if not isinstance(value, str):
        return [not_a(field, value, f"{expected} such as {examples[0]!r}")]
    if value in known:
        return []
    hint = _suggest(value, known)
    return [
        problem(
            field,
            lambda n: (
                f"{n(field)} {value!r} is not {kind}: use one of the {len(known)} types of the API's {rule[1]} "
                f"list, e.g. {examples[0]} or {examples[1]}{hint}"
            ),
        )
    ]


def check_instance_type(
    value: object, *, image_uri: str | None, field: str = "instances.instance_type"
) -> list[Problem]:
    listed = _check_listed_type(
        field,
        value,
        aws_rules.INSTANCE_TYPE,
        expected="a SageMaker instance type",
        kind="a SageMaker real-time instance type",
        examples=("ml.m5.large", "ml.c6i.large"),
    )
    if listed:
        return listed
    if image_uri is None and isinstance(value, str) and is_arm_instance_type(value):
        return [
            problem(
                field,
                lambda n: (
                    f"{n(field)} {value!r} runs on an Arm host (AWS Graviton or NVIDIA Grace) but the Hugging "
                    "Face CPU image is x86_64 only, so the container cannot start: use an x86 type such as ml.m5.large "
                    "or ml.c6i.large, or set an Arm image"
                ),
            )
        ]
    return []


def check_transform_instance_type(value: object, field: str = "batch_transform.instance_type") -> list[Problem]:
    """Batch Transform has its own list of instance types (TransformInstanceType, x86 only today), not the
    endpoints' one."""
    return _check_listed_type(
        field,
        value,
        aws_rules.TRANSFORM_INSTANCE_TYPE,
        expected="a SageMaker transform instance type",
        kind="a SageMaker Batch Transform instance type",
        examples=("ml.c5.xlarge", "ml.m5.xlarge"),
    )


# --- regions, images, roles ------------------------------------------------------------------------------------------


def check_region(value: object, *, image_uri: object = None, field: str = "region") -> list[Problem]:
    if value is None:
        return []
    if not isinstance(value, str):
        return [not_a(field, value, "an AWS region name such as 'us-east-1'")]
    if is_known_region(value):
        return []
    hint = _suggest(value, known_regions())
    if looks_like_region(value):
        if image_uri is not None:
            return []  # a region newer than the pinned botocore: the image is the caller's, AWS has the last word
        return [
            problem(
                field,
                lambda n: (
                    f"{n(field)} {value!r} is not a region the pinned botocore knows{hint or '.'} If it is a new "
                    f"region, set an image in it ({n('image_uri')}) or upgrade boto3"
                ),
            )
        ]
    return [
        problem(field, lambda n: f"{n(field)} {value!r} is not an AWS region name: expected one like 'us-east-1'{hint}")
    ]


def check_image_uri(value: object, region: str | None, field: str = "image_uri") -> list[Problem]:
    if value is None:
        return []
    wanted = "an ECR image URI '<account>.dkr.ecr.<region>.<dns suffix>/<repository>:<tag>' (or '@sha256:<digest>')"
    if not isinstance(value, str):
        return [not_a(field, value, wanted)]
    image = parse_ecr_image_uri(value)
    if image is None or not aws_rules.string_rule(aws_rules.CONTAINER_IMAGE).accepts(value):
        return [
            problem(
                field,
                lambda n: (
                    f"{n(field)} {value!r} is not {wanted}: ASCII only, a 12-digit account, at most 255 "
                    "characters; SageMaker pulls model images from ECR only"
                ),
            )
        ]
    expected_suffix = dns_suffix_of(image.region)
    if image.dns_suffix != expected_suffix:
        return [
            problem(
                field,
                lambda n: (
                    f"{n(field)} {value!r} ends in {image.dns_suffix!r}, but ECR in {image.region!r} is at "
                    f"{expected_suffix!r}"
                ),
            )
        ]
    if region is not None and image.region != region:
        return [
            problem(
                field,
                lambda n: (
                    f"{n(field)} {value!r} is in region {image.region!r} but the stack deploys to {region!r}: "
                    "SageMaker refuses cross-region image pulls, so use the image's copy in the stack's region"
                ),
            )
        ]
    return []


def check_role_arn(value: object, region: str | None, field: str = "execution_role_arn") -> list[Problem]:
    if value is None:
        return []
    wanted = "an IAM role ARN 'arn:<partition>:iam::<12-digit account>:role/<name>', or nothing to create a role"
    if not isinstance(value, str):
        return [not_a(field, value, wanted)]
    arn_rule = aws_rules.string_rule(aws_rules.ROLE_ARN)
    if not arn_rule.accepts(value):
        return [problem(field, lambda n: f"{n(field)} {value!r} is not {wanted} ({arn_rule.source})")]
    partition = value.split(":", 2)[1]
    path_and_name = value.split(":role/", 1)[1] if ":role/" in value else value.split(":role", 1)[1]
    path, _, name = ("/" + path_and_name).rpartition("/")
    name_rule = aws_rules.string_rule(aws_rules.ROLE_NAME)
    path_rule = aws_rules.string_rule(aws_rules.ROLE_PATH)
    if not name_rule.accepts(name):
        return [
            problem(
                field,
                lambda n: (
                    f"{n(field)} {value!r} names role {name!r}, which IAM cannot have: use {name_rule.describe()}"
                ),
            )
        ]
    if not path_rule.accepts(path + "/"):
        return [
            problem(
                field,
                lambda n: (
                    f"{n(field)} {value!r} has path {path + '/'!r}, which IAM cannot have: use {path_rule.describe()}"
                ),
            )
        ]
    if region is not None and partition != partition_of(region):
        return [
            problem(
                field,
                lambda n: (
                    f"{n(field)} {value!r} is in partition {partition!r} but region {region!r} is in "
                    f"{partition_of(region)!r}: the role must live in the stack's partition"
                ),
            )
        ]
    return []


# --- tags ------------------------------------------------------------------------------------------------------------


def check_tags(tags: object, *, reserved: int, field: str = "tags") -> list[Problem]:
    """Tags go on SageMaker, IAM, S3, SNS and CloudWatch resources; the SageMaker and IAM rules are the strictest."""
    if not isinstance(tags, Mapping):
        return [not_a(field, tags, "a mapping of tag keys to values, e.g. {'team': 'search'}")]
    limit = aws_rules.list_limit(aws_rules.TAG_LIST) - reserved
    problems = []
    if len(tags) > limit:
        problems.append(
            problem(
                field,
                lambda n: (
                    f"{n(field)}: {len(tags)} given, at most {limit} are allowed (AWS allows "
                    f"{limit + reserved} per resource and this component sets {reserved})"
                ),
            )
        )
    for key, value in tags.items():
        problems += _tag_problems(field, key, value)
    return problems


def _tag_problems(field: str, key: object, value: object) -> list[Problem]:
    key_rules = [aws_rules.string_rule(rule) for rule in aws_rules.TAG_KEYS]
    value_rules = [aws_rules.string_rule(rule) for rule in aws_rules.TAG_VALUES]
    problems = []
    if not isinstance(key, str) or not all(rule.accepts(key) for rule in key_rules):
        problems.append(
            problem(field, lambda n: f"{n(field)} key {key!r} is not allowed: use {key_rules[0].describe()}")
        )
    elif key.lower().startswith("aws:"):
        problems.append(
            problem(field, lambda n: f"{n(field)} key {key!r} is not allowed: the aws: prefix is AWS's own")
        )
    if not isinstance(value, str) or not all(rule.accepts(value) for rule in value_rules):
        problems.append(
            problem(
                field,
                lambda n: f"{n(field)} {key!r} has value {value!r}: use a string of {value_rules[0].describe()}",
            )
        )
    return problems


# --- extra execution-role statements ---------------------------------------------------------------------------------


def check_extra_statements(statements: object, *, reserved_sids: frozenset[str], own_role: bool) -> list[Problem]:
    """Extra execution-role statements: IAM's required shape, checked where it is plain data."""
    field = "execution_role_statements"
    if not statements:
        return []
    if own_role:
        return [
            problem(
                field,
                lambda n: (
                    f"{n(field)} cannot be added to a role you bring ({n('execution_role_arn')}): attach them "
                    "to that role yourself, or let this component create the role"
                ),
            )
        ]
    if not isinstance(statements, list | tuple):
        return [problem(field, lambda n: f"{n(field)} {statements!r} is not a list of IAM policy statements")]
    problems: list[Problem] = []
    for index, statement in enumerate(statements):
        problems += _statement_problems(field, f"{field}[{index}]", statement, reserved_sids)
    return problems


def _statement_problems(field: str, where: str, statement: object, reserved_sids: frozenset[str]) -> list[Problem]:
    if not isinstance(statement, Mapping):
        return [
            problem(
                field,
                lambda n: f"{where} {statement!r} is not a statement: expected a dict with Effect, Action, Resource",
            )
        ]
    problems: list[Problem] = []
    effect = statement.get("Effect")
    if effect not in ("Allow", "Deny"):
        problems.append(problem(field, lambda n: f"{where} has Effect {effect!r}: use 'Allow' or 'Deny'"))
    action = statement.get("Action")
    actions = [action] if isinstance(action, str) else action
    if not isinstance(actions, list | tuple) or not actions or not all(isinstance(a, str) for a in actions):
        problems.append(
            problem(
                field,
                lambda n: f"{where} has Action {action!r}: use an action such as 's3:GetObject' or a list of them",
            )
        )
    if "Resource" not in statement:
        problems.append(problem(field, lambda n: f"{where} has no Resource: name the ARNs the role may use"))
    sid = statement.get("Sid")
    if sid is not None and (not isinstance(sid, str) or not STATEMENT_ID_PATTERN.fullmatch(sid)):
        problems.append(problem(field, lambda n: f"{where} has Sid {sid!r}: use ASCII letters and digits only"))
    elif sid in reserved_sids:
        problems.append(
            problem(field, lambda n: f"{where} has Sid {sid!r}, which this component already uses: choose another")
        )
    return problems


# --- provisioned concurrency that follows load and the clock ---------------------------------------------------------

# Not zone names, though the system's database holds them: `localtime` is this machine's own, `Factory` a placeholder.
_NOT_TIME_ZONES = frozenset({"localtime", "Factory"})


@cache
def time_zones() -> frozenset[str]:
    """IANA names this Python knows (the system's database, or the tzdata package where there is none)."""
    return frozenset(zoneinfo.available_timezones()) - _NOT_TIME_ZONES


def check_scaling_bounds(
    min_field: str, minimum: object, max_field: str, maximum: object, *, ceiling_field: str, ceiling: object
) -> list[Problem]:
    """Bounds of provisioned concurrency: each is a value SageMaker accepts for it, min <= max <= maxConcurrency.

    The floor is SageMaker's (`ServerlessProvisionedConcurrency`, 1-200), the shape of both CreateEndpointConfig's
    value and UpdateEndpointWeightsAndCapacities' `ServerlessUpdateConfig`, through which a variant's provisioned
    concurrency changes. Application Auto Scaling's RegisterScalableTarget lists "SageMaker serverless endpoint
    provisioned concurrency" among resources whose MinCapacity may be 0, but no SageMaker call takes 0 for it, so 0
    is refused here: the coldest a scaled variant gets is 1 (or remove the scaling and `provisionedConcurrency`).
    """
    meaning = "warm capacity, billed while idle; 0 is not a provisioned concurrency SageMaker accepts"
    problems: list[Problem] = []
    for field, value in ((min_field, minimum), (max_field, maximum)):
        if value is not None:
            problems += check_integer_rule(field, value, aws_rules.PROVISIONED_CONCURRENCY, meaning)
    if problems:
        return problems
    if _is_int(minimum) and _is_int(maximum) and minimum > maximum:  # type: ignore[operator]
        problems.append(
            problem(
                min_field,
                lambda n: (
                    f"{n(min_field)} {minimum} exceeds {n(max_field)} {maximum}: the minimum must be at most "
                    "the maximum"
                ),
            )
        )
    top = maximum if maximum is not None else minimum
    if _is_int(top) and _is_int(ceiling) and top > ceiling:  # type: ignore[operator]
        field = max_field if maximum is not None else min_field
        problems.append(
            problem(
                field,
                lambda n: (
                    f"{n(field)} {top} exceeds {n(ceiling_field)} {ceiling}: provisioned concurrency must be "
                    "at most the maximum concurrency"
                ),
            )
        )
    return problems


def check_target_utilization(field: str, value: object) -> list[Problem]:
    """SageMakerVariantProvisionedConcurrencyUtilization is concurrent executions divided by provisioned concurrency
    (SageMaker's "Monitor a serverless endpoint"), a share: a target above 0 and at most 1."""
    wanted = "a number above 0 and at most 1 (the share of warm capacity in use that target tracking aims for)"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return [not_a(field, value, wanted)]
    if 0 < value <= 1:
        return []
    return [problem(field, lambda n: f"{n(field)} {value} is out of range: use {wanted}")]


def check_schedule_expression(field: str, value: object) -> list[Problem]:
    if value is None:
        return [problem(field, lambda n: f"{n(field)} is not set: use {schedule_expressions.FORMS}")]
    if not isinstance(value, str):
        return [not_a(field, value, f"a string: {schedule_expressions.FORMS}")]
    return [_about(field, value, sentence) for sentence in schedule_expressions.problems(value)]


def _about(field: str, value: object, sentence: str) -> Problem:
    """A problem whose sentence follows the field's name and its value as typed."""
    return problem(field, lambda n: f"{n(field)} {value!r} {sentence}")


def check_time_zone(field: str, value: object) -> list[Problem]:
    """PutScheduledAction's Timezone: "the canonical names of the IANA time zones supported by Joda-Time"."""
    if value is None:
        return []
    if not isinstance(value, str):
        return [not_a(field, value, "an IANA time zone name such as 'Europe/London'")]
    zones = time_zones()
    if value in zones:
        return []
    if not zones:
        return [
            problem(
                field,
                lambda n: (
                    f"{n(field)} {value!r} cannot be checked: this Python has no time zone database "
                    "(zoneinfo finds none); install the tzdata package"
                ),
            )
        ]
    hint = _suggest(value, sorted(zones))
    return [
        problem(
            field,
            lambda n: (
                f"{n(field)} {value!r} is not an IANA time zone name: use one such as 'Europe/London' or "
                f"'America/New_York'{hint}"
            ),
        )
    ]


def check_scheduled_action_name(field: str, value: object) -> list[Problem]:
    if value is None:
        return [problem(field, lambda n: f"{n(field)} is not set: give each schedule a name of its own")]
    return check_string_rule(
        field,
        value,
        aws_rules.SCHEDULED_ACTION_NAME,
        "a scheduled action name (no ':', '/', '|' or control characters, no leading or trailing spaces)",
    )


def check_unique_names(field: str, names: Sequence[object]) -> list[Problem]:
    """PutScheduledAction: the name "must be unique among all other scheduled actions on the specified scalable
    target"; a second action of the same name would replace the first."""
    seen: set[object] = set()
    problems: list[Problem] = []
    for index, name in enumerate(names):
        if isinstance(name, str) and name in seen:
            problems.append(_about(f"{field}[{index}].name", name, "is used twice: each schedule needs its own name"))
        if isinstance(name, str):
            seen.add(name)
    return problems
