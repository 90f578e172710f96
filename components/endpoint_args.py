"""The component's arguments: plain, documented values, every one checked before anything is registered.

Shaped like AWS CDK's `EndpointConfigProps`: what depends on the endpoint type lives in one nested dataclass
per type (`ServerlessVariant`, `InstancesVariant`), and at most one of them is given. A third type (say,
asynchronous inference) is a third dataclass, not more flat fields that only apply sometimes.

Each default is stated once, here, as the field's default; the stack program and the docs read them from here.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from components import aws_rules, validation
from components.constants import DEFAULT_ENDPOINT_NAME, DEFAULT_TRANSFORM_INSTANCE_TYPE
from components.model_artifact import code_dir_problems
from components.model_files import DEFAULT_MODEL_ID, model_dir_problems
from components.policies import EXECUTION_POLICY_SIDS
from components.validation import FEATURE_EXTRACTION, InvalidEndpointArgsError, Problem, problem

# model_artifact/code sits beside components/ in a checkout and, installed, in site-packages (the distribution ships
# it as the package model_artifact.code).
INFERENCE_CODE_DIR = Path(__file__).resolve().parents[1] / "model_artifact" / "code"


def default_build_dir() -> Path:
    """A per-user cache for built archives: content-addressed, so every project and stack can share it."""
    cache = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache")
    return cache / "alex-sagemaker" / "model-artifacts"


MODEL_SOURCES = {
    "artifact": "the model's files packed into model.tar.gz; nothing is fetched when the container starts",
    "hub": "the container downloads the model from the Hugging Face Hub at every start, as the tutorial does",
}
POOLING_MODES = {
    "server": "inference.py in model.tar.gz answers one sentence vector per text",
    "client": "the container answers one vector per token and callers pool them",
}
PRECISIONS = {
    "fp32": "32-bit floats, the reference",
    "bf16": "bfloat16 where the CPU has native support, fp32 elsewhere; needs pooling server",
}
# Tags the component puts on every resource itself (project, stack, component).
RESERVED_TAGS = 3


@dataclass
class ScalingSchedule:
    """One scheduled action: when `schedule` comes (read in `timezone`), provisioned concurrency's bounds become
    `min` and `max`, and stay so until another schedule changes them. Give `min`, `max` or both."""

    name: str
    """The action's name, unique among the schedules: 1-256 characters, no ':', '/' or '|'."""
    schedule: str
    """`cron(minutes hours day-of-month month day-of-week year)` (Application Auto Scaling's six fields, e.g.
    `cron(0 8 ? * MON-FRI *)`), `at(yyyy-mm-ddThh:mm:ss)` once, or `rate(value unit)`."""
    timezone: str | None = None
    """The IANA time zone `cron` and `at` are read in, e.g. Europe/London (daylight saving included). Default None:
    UTC."""
    min: int | None = None
    """The lower bound from then on. Default None: unchanged."""
    max: int | None = None
    """The upper bound from then on, at most `max_concurrency`. Default None: unchanged."""

    def problems(self, prefix: str, max_concurrency: object) -> list[Problem]:
        min_field, max_field = f"{prefix}.min", f"{prefix}.max"
        problems = [
            *validation.check_scheduled_action_name(f"{prefix}.name", self.name),
            *validation.check_schedule_expression(f"{prefix}.schedule", self.schedule),
            *validation.check_time_zone(f"{prefix}.timezone", self.timezone),
            *validation.check_scaling_bounds(
                min_field,
                self.min,
                max_field,
                self.max,
                ceiling_field="serverless.max_concurrency",
                ceiling=max_concurrency,
            ),
        ]
        if self.min is None and self.max is None:
            problems.append(
                problem(
                    prefix,
                    lambda n: (
                        f"{n(prefix)} sets neither {n(min_field)} nor {n(max_field)}: a scheduled action "
                        "changes at least one of them"
                    ),
                )
            )
        return problems


@dataclass
class ProvisionedConcurrencyScaling:
    """Application Auto Scaling of a serverless variant's provisioned concurrency: a target-tracking policy between
    `min` and `max`, and `schedules` that move those bounds by the clock (warm in office hours, cold at night).

    `ServerlessVariant.provisioned_concurrency` stays the endpoint configuration's starting value, and is needed:
    AWS scales only a variant that has provisioned concurrency.
    """

    min: int = 1
    """The fewest warm slots target tracking keeps, 1-200. Default 1."""
    max: int | None = None
    """The most warm slots, at most `max_concurrency`. Default None: `max_concurrency`."""
    target_utilization: float = 0.7
    """`SageMakerVariantProvisionedConcurrencyUtilization` target tracking aims for: above 0, at most 1. Default
    0.7: warm slots are added before the last one is busy, so a burst still finds one."""
    schedules: Sequence[ScalingSchedule] = ()
    """Scheduled changes of `min` and `max`. Default none."""

    def problems(self, *, max_concurrency: object, provisioned: object, prefix: str) -> list[Problem]:
        problems = [
            *validation.check_scaling_bounds(
                f"{prefix}min",
                self.min,
                f"{prefix}max",
                self.max,
                ceiling_field="serverless.max_concurrency",
                ceiling=max_concurrency,
            ),
            *validation.check_target_utilization(f"{prefix}target_utilization", self.target_utilization),
        ]
        if provisioned is None:
            field = prefix.rstrip(".")
            problems.append(
                problem(
                    field,
                    lambda n: (
                        f"{n(field)} needs {n('serverless.provisioned_concurrency')}, the starting value: AWS "
                        "scales the provisioned concurrency of a serverless variant that has some"
                    ),
                )
            )
        if not isinstance(self.schedules, list | tuple):
            return [*problems, validation.not_a(f"{prefix}schedules", self.schedules, "a list of schedules")]
        for index, schedule in enumerate(self.schedules):
            where = f"{prefix}schedules[{index}]"
            if isinstance(schedule, ScalingSchedule):
                problems += schedule.problems(where, max_concurrency)
            else:
                problems.append(validation.not_a(where, schedule, "a schedule (name, schedule, timezone, min, max)"))
        names = [schedule.name for schedule in self.schedules if isinstance(schedule, ScalingSchedule)]
        return [*problems, *validation.check_unique_names(f"{prefix}schedules", names)]


@dataclass
class ServerlessVariant:
    """Serverless capacity: pay per invocation, nothing while idle, cold starts after a quiet spell."""

    memory_size_mb: int = 3072
    """Memory of each serverless container, which also sets its CPU: 1024-6144 in steps of 1024. Default 3072."""
    max_concurrency: int = 2
    """Concurrent invocations, 1-200; the account's total is often 10. Default 2."""
    provisioned_concurrency: int | None = None
    """Warm capacity, 1-200 and at most `max_concurrency`; billed while idle. Default None (none)."""
    provisioned_concurrency_scaling: ProvisionedConcurrencyScaling | None = None
    """Provisioned concurrency that follows load and the clock, starting from `provisioned_concurrency`. Default
    None: the static value."""

    def problems(self, prefix: str = "") -> list[Problem]:
        scaling = self.provisioned_concurrency_scaling
        return [
            *validation.check_memory_size(self.memory_size_mb, f"{prefix}memory_size_mb"),
            *validation.check_concurrency(self.max_concurrency, self.provisioned_concurrency, prefix),
            *(
                scaling.problems(
                    max_concurrency=self.max_concurrency,
                    provisioned=self.provisioned_concurrency,
                    prefix=f"{prefix}provisioned_concurrency_scaling.",
                )
                if scaling is not None
                else []
            ),
        ]


@dataclass
class InstancesVariant:
    """Real-time instances with Application Auto Scaling: no cold starts, billed per instance-hour even idle."""

    instance_type: str = "ml.m5.large"
    """A type from the SageMaker API's `ProductionVariantInstanceType` list. Default ml.m5.large: x86 (the
    Hugging Face CPU image is x86_64 only), 2 vCPUs and 8 GiB, offered for hosting in every region."""
    min_instances: int = 1
    """Instances always running, and the count the endpoint starts with. At least 1. Default 1."""
    max_instances: int = 2
    """The most instances autoscaling may run; bounds the bill. At least `min_instances`. Default 2."""
    target_invocations_per_instance: int = 30
    """Target of the `SageMakerVariantInvocationsPerInstance` tracking policy, in invocations per instance per
    minute. Default 30: AWS's rule is half the rate one instance sustains, and one 2-vCPU instance answers
    roughly one full client batch per second."""
    scale_in_cooldown_s: int = 300
    """Seconds after a scale-in before another; long, so a lull does not drop capacity a burst needs. Default
    300."""
    scale_out_cooldown_s: int = 60
    """Seconds after a scale-out before another; short, so sustained load adds instances quickly. Default 60."""

    def problems(self, *, image_uri: str | None, prefix: str = "") -> list[Problem]:
        return [
            *validation.check_instance_type(self.instance_type, image_uri=image_uri, field=f"{prefix}instance_type"),
            *validation.check_instance_counts(self.min_instances, self.max_instances, prefix),
            *validation.check_whole_number(
                f"{prefix}target_invocations_per_instance",
                self.target_invocations_per_instance,
                1,
                aws_rules.INT32_MAX,
                "invocations per instance per minute that autoscaling aims for",
            ),
            *validation.check_cooldown(f"{prefix}scale_in_cooldown_s", self.scale_in_cooldown_s),
            *validation.check_cooldown(f"{prefix}scale_out_cooldown_s", self.scale_out_cooldown_s),
        ]


@dataclass
class Monitoring:
    """CloudWatch alarms on the endpoint's variant and a dashboard; on unless `monitoring=None`.

    Alarms: `Invocation5XXErrors` (any in 5 minutes), a failing handler (most invocations answered with a model or
    4xx error for 10 of 15 minutes), `ModelLatency` p90 over `model_latency_p90_ms` for 15 minutes, for serverless
    `ModelSetupTime` over `model_setup_time_s` (a cold start that slow), and with provisioned concurrency requests
    spilling over to on-demand capacity in 3 of 4 periods of 5 minutes.
    """

    alarm_email: str | None = None
    """Adds an SNS topic with this email subscribed (confirm the email AWS sends); every alarm notifies it on
    ALARM and OK. Default None."""
    model_latency_p90_ms: int = 5000
    """p90 of `ModelLatency` (time in the container) that alarms when exceeded for 3 periods of 5 minutes.
    Default 5000 ms: a full 128-text batch of pooled answers takes about 1 s on 2 vCPUs, so 5 s means a starved or
    broken container, while the 60 s invocation limit is still far away."""
    model_setup_time_s: int = 60
    """Serverless only: `ModelSetupTime` (a cold start: image, model.tar.gz from S3, the container's own start)
    that alarms. Default 60 s, the top of the usual 10-60 s; beyond it callers without retries (the AWS CLI) fail."""

    def problems(self, prefix: str = "") -> list[Problem]:
        return [
            *validation.check_alarm_email(self.alarm_email, f"{prefix}alarm_email"),
            *validation.check_whole_number(
                f"{prefix}model_latency_p90_ms", self.model_latency_p90_ms, 1, 60_000, "milliseconds"
            ),
            *validation.check_whole_number(f"{prefix}model_setup_time_s", self.model_setup_time_s, 1, 3_600, "seconds"),
        ]


@dataclass
class BatchTransform:
    """A home for SageMaker Batch Transform jobs on the endpoint's model; off unless given.

    A private bucket (`BatchBucket`) whose `input/` and `output/` expire after `expiry_days`, read and write access to
    them for the execution role, and the caller's least-privilege policy (the `batch_policy_json` output).
    """

    expiry_days: int = 7
    """Days after which objects under `input/` and `output/` (and unfinished uploads) are deleted by S3 lifecycle
    rules: a whole number, at least 1. Default 7: long enough to fetch a job's output, short enough that a corpus
    does not linger."""
    instance_type: str = DEFAULT_TRANSFORM_INSTANCE_TYPE
    """The one instance type the caller's policy lets a job use (a type of the API's `TransformInstanceType` list),
    and the runner's default. Default ml.c5.xlarge: x86, 4 vCPUs, offered for Batch Transform in every region."""

    def problems(self, prefix: str = "") -> list[Problem]:
        return [
            *validation.check_integer_rule(
                f"{prefix}expiry_days",
                self.expiry_days,
                aws_rules.LIFECYCLE_DAYS,
                "days before S3 deletes batch input and output",
                minimum=1,
            ),
            *validation.check_transform_instance_type(self.instance_type, f"{prefix}instance_type"),
        ]


@dataclass
class ServerlessEmbeddingEndpointArgs:
    """Everything the endpoint needs, as plain values so all of them can be checked before anything exists.

    Endpoint type: `serverless` (a `ServerlessVariant`) or `instances` (an `InstancesVariant`); give at most one,
    and none means serverless with its defaults. `region` None means "the provider's region".
    """

    endpoint_name: str = DEFAULT_ENDPOINT_NAME
    """The endpoint's exact name, kept across every update. Default alex-embedding-endpoint."""
    model_id: str = DEFAULT_MODEL_ID
    """The Hugging Face Hub model. Default sentence-transformers/all-MiniLM-L6-v2."""
    model_revision: str | None = None
    """A Hub commit, branch or tag. Default None: the pinned commit for the default model, the default branch for
    any other (the deploy warns that it is not pinned)."""
    model_source: str = "artifact"
    """`artifact`: the model's files go into model.tar.gz and the container never contacts the Hub. `hub`: the
    container downloads `model_id` at every start (the tutorial's setup). Default artifact."""
    model_dir: str | Path | None = None
    """Artifact source: a local folder holding the model's files (air-gapped deploys, fine-tuned models). Default
    None: `model_id` at `model_revision` is downloaded once on the deploying machine into the Hugging Face cache."""
    task: str = FEATURE_EXTRACTION
    """`HF_TASK`: the transformers pipeline. Only feature-extraction answers vectors."""
    pooling: str = "server"
    """`server`: model.tar.gz's code/inference.py answers one sentence vector per text. `client`: the container
    answers one vector per token and callers pool them (the tutorial's setup). Default server."""
    precision: str = "fp32"
    """Server pooling: `fp32`, or `bf16` where the CPU has native bfloat16 (faster, cosine >= 0.999 to fp32; never
    mix two precisions in one index). Default fp32."""
    serverless: ServerlessVariant | None = None
    """Serverless capacity. Default None, which means `ServerlessVariant()` unless `instances` is given."""
    instances: InstancesVariant | None = None
    """Instance capacity with autoscaling. Default None."""
    monitoring: Monitoring | None = field(default_factory=Monitoring)
    """Alarms and dashboard. Default `Monitoring()`; None creates none of it."""
    batch_transform: BatchTransform | None = None
    """A bucket, permissions and a caller policy for SageMaker Batch Transform on the endpoint's model. Default None:
    none of it is created."""
    code_dir: Path = INFERENCE_CODE_DIR
    """Server pooling: the folder packed as model.tar.gz's code/, holding inference.py. Default this project's
    `model_artifact/code`."""
    artifact_build_dir: Path = field(default_factory=default_build_dir)
    """Where the content-addressed model.tar.gz is written for upload. Default a per-user cache
    (`~/.cache/alex-sagemaker/model-artifacts`); the stack program uses the project's `.build/model-artifacts/`."""
    image_uri: str | None = None
    """Container image override: an ECR image in the stack's region. Default None (Hugging Face CPU image)."""
    execution_role_arn: str | None = None
    """Bring your own role; then no IAM resources are created and its permissions are yours to get right
    (with an artifact it needs `s3:GetObject` on it). Default None."""
    execution_role_statements: Sequence[Mapping[str, Any]] = ()
    """Extra IAM statements for the created role, e.g. S3 or KMS access a custom model needs. Default none."""
    hf_token: str | pulumi.Output[str] | None = None
    """Hub token for gated or private models. Artifact source: used for the deploying machine's download only,
    so it must be a plain str. Hub source: passed to the container as a secret. Default None."""
    region: str | None = None
    """Where to deploy. Default None: the provider's region."""
    tags: Mapping[str, str] = field(default_factory=dict)
    """Extra tags for every taggable resource. Default none."""

    @property
    def endpoint_type(self) -> str:
        return "instances" if self.instances is not None else "serverless"

    @property
    def serverless_variant(self) -> ServerlessVariant:
        return self.serverless if self.serverless is not None else ServerlessVariant()

    @property
    def builds_artifact(self) -> bool:
        """Only the tutorial's setup (the Hub, client pooling) has no model.tar.gz."""
        return self.model_source == "artifact" or self.pooling == "server"

    def problems(self) -> list[Problem]:
        problems = [
            *validation.check_endpoint_name(self.endpoint_name),
            *validation.check_model_id(self.model_id),
            *validation.check_model_revision(self.model_revision),
            *validation.check_one_of("model_source", self.model_source, tuple(MODEL_SOURCES), MODEL_SOURCES),
            *validation.check_task(self.task),
            *validation.check_one_of("pooling", self.pooling, tuple(POOLING_MODES), POOLING_MODES),
            *validation.check_one_of("precision", self.precision, tuple(PRECISIONS), PRECISIONS),
            *self._variant_problems(),
            *(self.monitoring.problems("monitoring.") if self.monitoring is not None else []),
            *(self.batch_transform.problems("batch_transform.") if self.batch_transform is not None else []),
            *self._source_problems(),
            *validation.check_region(self.region, image_uri=self.image_uri),
            *validation.check_image_uri(self.image_uri, self.region),
            *validation.check_role_arn(self.execution_role_arn, self.region),
            *validation.check_extra_statements(
                self.execution_role_statements,
                reserved_sids=EXECUTION_POLICY_SIDS,
                own_role=self.execution_role_arn is not None,
            ),
            *validation.check_tags(self.tags, reserved=RESERVED_TAGS),
        ]
        return problems

    def _variant_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        if self.serverless is not None and self.instances is not None:
            problems.append(
                problem(
                    "serverless",
                    lambda n: (
                        f"{n('serverless')} and {n('instances')} are both set: give one of them, the endpoint "
                        "has one type"
                    ),
                )
            )
        if self.instances is not None:
            problems += self.instances.problems(image_uri=self.image_uri, prefix="instances.")
        if self.instances is None or self.serverless is not None:
            problems += self.serverless_variant.problems("serverless.")
        return problems

    def _source_problems(self) -> list[Problem]:
        problems: list[Problem] = []
        if self.precision == "bf16" and self.pooling != "server":
            problems.append(
                problem(
                    "precision",
                    lambda n: (
                        f"{n('precision')} 'bf16' needs {n('pooling')} 'server': the precision is inference.py's, "
                        "and with client pooling the toolkit's own pipeline runs in fp32"
                    ),
                )
            )
        if self.model_dir is not None and self.model_source != "artifact":
            problems.append(
                problem(
                    "model_dir",
                    lambda n: (
                        f"{n('model_dir')} is set but {n('model_source')} is {self.model_source!r}: a local "
                        f"folder is packed into model.tar.gz, so use {n('model_source')} 'artifact' or remove "
                        f"{n('model_dir')}"
                    ),
                )
            )
        elif self.model_dir is not None:
            problems += _model_dir_problems(self.model_dir, server_pooling=self.pooling == "server")
        if self.model_source == "artifact" and self.model_dir is None and isinstance(self.hf_token, pulumi.Output):
            problems.append(
                problem(
                    "hf_token",
                    lambda n: (
                        f"{n('hf_token')} is an Output, but with {n('model_source')} 'artifact' the token is "
                        "used on this machine to download the model: pass it as a plain str (it is never stored)"
                    ),
                )
            )
        if self.pooling == "server":
            problems += [_sentence("code_dir", sentence) for sentence in code_dir_problems(Path(self.code_dir))]
        return problems

    def validate(self) -> None:
        problems = self.problems()
        if problems:
            raise InvalidEndpointArgsError(problems)


def _sentence(field: str, sentence: str) -> Problem:
    return problem(field, lambda n: sentence)


def _model_dir_problems(model_dir: object, *, server_pooling: bool) -> list[Problem]:
    if not isinstance(model_dir, str | Path):
        return [validation.not_a("model_dir", model_dir, "a folder path")]
    folder = str(model_dir)

    def about_folder(sentence: str) -> Problem:
        return problem("model_dir", lambda n: f"{n('model_dir')} {folder!r} {sentence}")

    return [about_folder(sentence) for sentence in model_dir_problems(Path(folder), server_pooling=server_pooling)]
