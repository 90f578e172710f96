"""Golden snapshots of what the program registers: every resource (type, name, URN, parent, provider,
dependencies, options, inputs), every invoke and every export, for the configurations worth pinning.

A change to any of them is a change to what `pulumi up` does to a live stack, so it has to be deliberate:
`make snapshot` re-records them (`python -m tests.infra.snapshots`), and the diff shows in review.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import tests.environment  # noqa: F401  (the tests' environment: recorded paths are the ones the tests see)
from components import BatchTransform, InstancesVariant, Monitoring, ServerlessEmbeddingEndpointArgs
from tests.infra.deployments import deploy_component, deploy_stack
from tests.infra.pulumi_harness import Deployment
from tests.paths import PROJECT_DIR

RECORDED_DIR = PROJECT_DIR / "tests" / "infra" / "recorded"

CASES: dict[str, Callable[[], Deployment]] = {
    # The component as a library user gets it: the packed model, server pooling, serverless, monitoring.
    "component_defaults": lambda: deploy_component(ServerlessEmbeddingEndpointArgs(region="us-east-1")),
    # The real program on the dev stack, as `make deploy` runs it.
    "dev_stack": lambda: deploy_stack("dev"),
    # The tutorial's endpoint: the Hub at start-up, token vectors, no monitoring.
    "tutorial_hub_client": lambda: deploy_component(
        ServerlessEmbeddingEndpointArgs(region="us-east-1", model_source="hub", pooling="client", monitoring=None)
    ),
    # Batch Transform's home: the batch bucket, the role's two prefixes, the caller's policy (the Hub source keeps
    # model.tar.gz to code/ alone).
    "batch_transform": lambda: deploy_component(
        ServerlessEmbeddingEndpointArgs(
            region="us-east-1", model_source="hub", monitoring=None, batch_transform=BatchTransform(expiry_days=14)
        )
    ),
    # Instances with autoscaling, alarms with an email, bf16.
    "instances_email_bf16": lambda: deploy_component(
        ServerlessEmbeddingEndpointArgs(
            region="eu-west-1",
            instances=InstancesVariant(instance_type="ml.c6i.xlarge", min_instances=1, max_instances=3),
            monitoring=Monitoring(alarm_email="ops@example.com"),
            precision="bf16",
        ),
        region="eu-west-1",
    ),
}


def recorded_path(case: str) -> Path:
    return RECORDED_DIR / f"{case}.json"


def load(case: str) -> dict[str, Any]:
    return json.loads(recorded_path(case).read_text())


def record() -> None:
    RECORDED_DIR.mkdir(parents=True, exist_ok=True)
    for case, deploy in CASES.items():
        recorded_path(case).write_text(json.dumps(deploy().snapshot(), indent=1, sort_keys=True) + "\n")
        print(f"recorded {recorded_path(case).relative_to(PROJECT_DIR)}", file=sys.stderr)


if __name__ == "__main__":
    record()
