"""The component's arguments: plain, documented values, every one checked before anything is registered.

Shaped like AWS CDK's `EndpointConfigProps`: what depends on the endpoint type lives in one nested dataclass
per type (`ServerlessVariant`, `InstancesVariant`), and at most one of them is given. A third type (say,
asynchronous inference) is a third dataclass, not more flat fields that only apply sometimes.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi

from components.model_artifact import artifact_problems
from components.policies import EXECUTION_POLICY_SIDS
from components.validation import (
    InvalidEndpointArgsError,
    check_alarm_email,
    check_concurrency,
    check_cooldown,
    check_endpoint_name,
    check_extra_statements,
    check_image_uri,
    check_instance_counts,
    check_instance_type,
    check_memory_size,
    check_model_id,
    check_model_revision,
    check_pooling,
    check_region,
    check_role_arn,
    check_tags,
    check_target_invocations,
    check_task,
    check_whole_number_at_least,
)

PROJECT_DIR = Path(__file__).resolve().parents[1]

DEFAULT_ENDPOINT_NAME = "alex-embedding-endpoint"
DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_TASK = "feature-extraction"
DEFAULT_MEMORY_SIZE_MB = 3072
DEFAULT_MAX_CONCURRENCY = 2
DEFAULT_INSTANCE_TYPE = "ml.m5.large"
DEFAULT_MIN_INSTANCES = 1
DEFAULT_MAX_INSTANCES = 2
DEFAULT_TARGET_INVOCATIONS_PER_INSTANCE = 30
DEFAULT_POOLING = "client"
DEFAULT_MODEL_ARTIFACT_DIR = PROJECT_DIR / "model_artifact"
# Content-addressed build output: `pulumi up` reads the .tar.gz from here (see README, "pooling: server").
DEFAULT_ARTIFACT_BUILD_DIR = PROJECT_DIR / ".build" / "model-artifacts"


@dataclass
class ServerlessVariant:
    """Serverless capacity: pay per invocation, nothing while idle, cold starts after a quiet spell.

    Defaults: `memory_size_mb=3072`, `max_concurrency=2`, `provisioned_concurrency=None` (no warm capacity).
    """

    memory_size_mb: int = DEFAULT_MEMORY_SIZE_MB
    """Memory of each serverless container, which also sets its CPU: 1024-6144 in steps of 1024. Default 3072."""
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    """Concurrent invocations, 1-200; the account's total is often 10. Default 2."""
    provisioned_concurrency: int | None = None
    """Warm capacity, 1-200 and at most `max_concurrency`; billed while idle. Default None (none)."""

    def problems(self) -> list[str]:
        return [
            *check_memory_size(self.memory_size_mb),
            *check_concurrency(self.max_concurrency, self.provisioned_concurrency),
        ]


@dataclass
class InstancesVariant:
    """Real-time instances with Application Auto Scaling: no cold starts, billed per instance-hour even idle.

    Defaults: `instance_type="ml.m5.large"`, `min_instances=1` (also the initial count), `max_instances=2`,
    `target_invocations_per_instance=30` per minute, `scale_in_cooldown_s=300`, `scale_out_cooldown_s=60`.
    """

    instance_type: str = DEFAULT_INSTANCE_TYPE
    """A type from the SageMaker API's `ProductionVariantInstanceType` list. Default ml.m5.large: x86 (the
    Hugging Face CPU image is x86_64 only), 2 vCPUs and 8 GiB, offered for hosting in every region."""
    min_instances: int = DEFAULT_MIN_INSTANCES
    """Instances always running, and the count the endpoint starts with. At least 1. Default 1."""
    max_instances: int = DEFAULT_MAX_INSTANCES
    """The most instances autoscaling may run; bounds the bill. At least `min_instances`. Default 2."""
    target_invocations_per_instance: int = DEFAULT_TARGET_INVOCATIONS_PER_INSTANCE
    """Target of the `SageMakerVariantInvocationsPerInstance` tracking policy, in invocations per instance per
    minute. Default 30: AWS's rule is half the rate one instance sustains, and one 2-vCPU instance answers
    roughly one full client batch (64 short texts, token-level JSON) per second."""
    scale_in_cooldown_s: int = 300
    """Seconds after a scale-in before another; long, so a lull does not drop capacity a burst needs. Default
    300."""
    scale_out_cooldown_s: int = 60
    """Seconds after a scale-out before another; short, so sustained load adds instances quickly. Default 60."""

    def problems(self, *, image_uri: str | None) -> list[str]:
        return [
            *check_instance_type(self.instance_type, image_uri=image_uri),
            *check_instance_counts(self.min_instances, self.max_instances),
            *check_target_invocations(self.target_invocations_per_instance),
            *check_cooldown("scale_in_cooldown_s", self.scale_in_cooldown_s),
            *check_cooldown("scale_out_cooldown_s", self.scale_out_cooldown_s),
        ]


@dataclass
class Monitoring:
    """CloudWatch alarms on the `AllTraffic` variant and a dashboard; on unless `monitoring=None`.

    Alarms: `Invocation5XXErrors` (any in 5 minutes), `ModelLatency` p90 over `model_latency_p90_ms` for 15
    minutes, and for serverless `ModelSetupTime` over `model_setup_time_s` (a cold start that slow).
    Defaults: `alarm_email=None` (alarms change state but notify no one), `model_latency_p90_ms=5000`,
    `model_setup_time_s=60`.
    """

    alarm_email: str | None = None
    """Adds an SNS topic with this email subscribed (confirm the email AWS sends); every alarm notifies it on
    ALARM and OK. Default None."""
    model_latency_p90_ms: int = 5000
    """p90 of `ModelLatency` (time in the container) that alarms when exceeded for 3 periods of 5 minutes.
    Default 5000 ms: a full 64-text batch takes about 0.9 s on 2 vCPUs (13 ms per text), so 5 s means a
    starved or broken container, while the 60 s invocation limit is still far away."""
    model_setup_time_s: int = 60
    """Serverless only: `ModelSetupTime` (cold start: container start plus model download) that alarms. Default
    60 s, the top of the usual 10-60 s; beyond it callers without retries (the AWS CLI) fail."""

    def problems(self) -> list[str]:
        return [
            *check_alarm_email(self.alarm_email),
            *check_whole_number_at_least("model_latency_p90_ms", self.model_latency_p90_ms, 1, "milliseconds"),
            *check_whole_number_at_least("model_setup_time_s", self.model_setup_time_s, 1, "seconds"),
        ]


@dataclass
class ServerlessEmbeddingEndpointArgs:
    """Everything the endpoint needs, as plain values so all of them can be checked before anything exists.

    Endpoint type: `serverless` (a `ServerlessVariant`) or `instances` (an `InstancesVariant`); give at most one,
    and none means serverless with its defaults. `region` None means "the provider's region"; `hf_token` is the
    only Output, because it must stay secret.

    Defaults: endpoint `alex-embedding-endpoint`, model `sentence-transformers/all-MiniLM-L6-v2`, task
    `feature-extraction`, serverless 3072 MB / 2 concurrent, monitoring on without email, `pooling="client"`,
    the Hugging Face CPU image of the region, a least-privilege role created here.
    """

    endpoint_name: str = DEFAULT_ENDPOINT_NAME
    """The endpoint's exact name, kept across every update (and a switch of type). Default
    alex-embedding-endpoint."""
    model_id: str = DEFAULT_MODEL_ID
    """`HF_MODEL_ID`: the Hub model the container downloads at start-up."""
    model_revision: str | None = None
    """`HF_MODEL_REVISION`: a commit, branch or tag to pin. Default None (the default branch)."""
    task: str = DEFAULT_TASK
    """`HF_TASK`: the transformers pipeline. Default feature-extraction."""
    serverless: ServerlessVariant | None = None
    """Serverless capacity. Default None, which means `ServerlessVariant()` unless `instances` is given."""
    instances: InstancesVariant | None = None
    """Instance capacity with autoscaling. Default None."""
    monitoring: Monitoring | None = field(default_factory=Monitoring)
    """Alarms and dashboard. Default `Monitoring()`; None creates none of it."""
    pooling: str = DEFAULT_POOLING
    """`client`: the container answers one vector per token and callers pool (the tutorial's setup).
    `server`: the container runs `code/inference.py` from `model_artifact_dir` and answers sentence vectors.
    Default client."""
    model_artifact_dir: Path = DEFAULT_MODEL_ARTIFACT_DIR
    """Server pooling: the folder that becomes model.tar.gz (exactly its contents). Default the project's
    `model_artifact/`."""
    artifact_build_dir: Path = DEFAULT_ARTIFACT_BUILD_DIR
    """Server pooling: where the content-addressed .tar.gz is written for upload. Default `.build/model-artifacts/`
    in the project (git-ignored)."""
    image_uri: str | None = None
    """Container image override: an ECR image in the stack's region. Default None (Hugging Face CPU image)."""
    execution_role_arn: str | None = None
    """Bring your own role; then no IAM resources are created and its permissions are yours to get right
    (with server pooling it needs `s3:GetObject` on the artifact). Default None."""
    execution_role_statements: Sequence[Mapping[str, Any]] = ()
    """Extra IAM statements for the created role, e.g. S3 or KMS access a custom model needs. Default none."""
    hf_token: pulumi.Input[str] | None = None
    """Hub token for gated or private models, kept secret. Default None."""
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

    def problems(self) -> list[str]:
        problems = [
            *check_endpoint_name(self.endpoint_name),
            *check_model_id(self.model_id),
            *check_model_revision(self.model_revision),
            *check_task(self.task),
        ]
        if self.serverless is not None and self.instances is not None:
            problems.append(
                "serverless and instances are both set: give one of them (ServerlessVariant or InstancesVariant), "
                "the endpoint has one type"
            )
        if self.instances is not None:
            problems += self.instances.problems(image_uri=self.image_uri)
        if self.instances is None or self.serverless is not None:
            problems += self.serverless_variant.problems()
        if self.monitoring is not None:
            problems += self.monitoring.problems()
        problems += check_pooling(self.pooling)
        if self.pooling == "server":
            problems += artifact_problems(Path(self.model_artifact_dir))
        problems += [
            *check_region(self.region),
            *check_image_uri(self.image_uri, self.region),
            *check_role_arn(self.execution_role_arn, self.region),
            *check_extra_statements(
                self.execution_role_statements,
                reserved_sids=EXECUTION_POLICY_SIDS,
                own_role=self.execution_role_arn is not None,
            ),
            *check_tags(self.tags),
        ]
        return problems

    def validate(self) -> None:
        problems = self.problems()
        if problems:
            raise InvalidEndpointArgsError(problems)
