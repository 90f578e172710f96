"""examples/embedding_component: the component in a program of one's own, run as `pulumi up` would run it."""

from __future__ import annotations

import json
import re
import runpy

import pytest

from tests.infra.pulumi_harness import (
    BATCH_STORE,
    BUCKET_LIFECYCLE,
    COMPONENT,
    ENDPOINT_CONFIG,
    MODEL,
    ROLE,
    ROLE_POLICY,
    SCALING_TARGET,
    SCHEDULED_ACTION,
    Deployment,
    run_program,
)
from tests.paths import PROJECT_DIR

PROGRAM = PROJECT_DIR / "examples" / "embedding_component" / "__main__.py"


@pytest.fixture(scope="module")
def deployment() -> Deployment:
    return run_program(lambda: runpy.run_path(str(PROGRAM), run_name="__main__"), config={"aws:region": "us-east-1"})


def test_the_lambda_role_may_invoke_the_endpoint_and_nothing_else(deployment: Deployment) -> None:
    grant = deployment.one_named("ingest-invokes-embeddings")
    assert grant.type == ROLE_POLICY
    assert grant.inputs["role"] == deployment.one_named("ingest").state["name"]
    assert json.loads(grant.inputs["policy"]) == json.loads(deployment.exports["invoke_policy_json"])
    assert deployment.one_named("ingest").type == ROLE


def test_the_alarm_of_ones_own_reads_the_built_in_alarms_metric(deployment: Deployment) -> None:
    own, built_in = deployment.one_named("embedding-latency-p99"), deployment.one_named("embedding-model-latency-p90")
    for key in ("namespace", "metricName", "dimensions", "period"):
        assert own.inputs[key] == built_in.inputs[key], key
    assert (own.inputs["extendedStatistic"], own.inputs["threshold"]) == ("p99", 2_000_000)


def test_the_second_endpoint_is_in_its_providers_region_with_that_regions_image(deployment: Deployment) -> None:
    assert len(deployment.of_type(COMPONENT)) == 2
    europe = next(model for model in deployment.of_type(MODEL) if model.name == "embedding-eu-model")
    assert europe.inputs["region"] == "eu-west-1"
    assert ".dkr.ecr.eu-west-1.amazonaws.com/" in europe.inputs["primaryContainer"]["image"]
    assert deployment.exports["endpoint_name_eu"] == "alex-embedding-endpoint-eu"


def test_the_docs_snippet_is_a_program_that_deploys_what_it_says() -> None:
    page = (PROJECT_DIR / "docs" / "component.md").read_text()
    instances, provisioned, batch = re.findall(r"```python[^\n]*\n(.*?)```", page, flags=re.DOTALL)

    deployment = run_program(lambda: exec(compile(instances, "docs/component.md", "exec"), {}))

    variant = deployment.one(ENDPOINT_CONFIG).inputs["productionVariants"][0]
    assert (variant["instanceType"], deployment.one(SCALING_TARGET).inputs["maxCapacity"]) == ("ml.c6i.xlarge", 4)

    deployment = run_program(lambda: exec(compile(provisioned, "docs/component.md", "exec"), {}))

    target = deployment.one(SCALING_TARGET).inputs
    assert (target["scalableDimension"], target["minCapacity"], target["maxCapacity"]) == (
        "sagemaker:variant:DesiredProvisionedConcurrency",
        1,
        4,
    )
    actions = [r.inputs for r in deployment.of_type(SCHEDULED_ACTION)]
    assert [(a["name"], a["timezone"]) for a in actions] == [
        ("office-hours", "Europe/London"),
        ("night", "Europe/London"),
    ]

    deployment = run_program(lambda: exec(compile(batch, "docs/component.md", "exec"), {}))

    assert deployment.one(BATCH_STORE)
    rules = deployment.one(BUCKET_LIFECYCLE).inputs["rules"]
    assert {rule["expiration"]["days"] for rule in rules if "expiration" in rule} == {3}
    grant = deployment.one_named("ci-runs-batch")
    assert (grant.type, grant.inputs["role"]) == (ROLE_POLICY, "ci")
