"""With default settings the program registers exactly what it registered before this change, plus the alarms.

`recorded/serverless_defaults_before_monitoring.json` was recorded at commit 0a280b2 (before endpoint types,
monitoring and server pooling existed) with `Deployment.snapshot()`: every registration (type, name, URN,
parent, provider, dependencies, inputs), every invoke and every export, for the component with default
arguments and for the real `__main__.py` on the dev stack. Nothing of that may change: not an input, not a
URN, not a dependency. The only additions allowed are the monitoring resources and three new exports.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from tests.infra.pulumi_harness import DASHBOARD, METRIC_ALARM, Deployment
from tests.paths import PROJECT_DIR

RECORDED = json.loads(
    (PROJECT_DIR / "tests" / "infra" / "recorded" / "serverless_defaults_before_monitoring.json").read_text()
)
MONITORING = {METRIC_ALARM, DASHBOARD}
NEW_EXPORTS = {"endpoint_type", "pooling", "dashboard_url"}


@pytest.fixture(params=["component_defaults", "dev_stack"])
def case(request: pytest.FixtureRequest, deploy_component, deploy_stack) -> tuple[dict[str, Any], dict[str, Any]]:
    deployment: Deployment = deploy_component() if request.param == "component_defaults" else deploy_stack("dev")
    return RECORDED[request.param], deployment.snapshot()


def test_every_recorded_registration_is_unchanged_and_only_monitoring_is_added(case) -> None:
    recorded, now = case
    kept = [r for r in now["registrations"] if r["type"] not in MONITORING]
    added = [r for r in now["registrations"] if r["type"] in MONITORING]

    assert kept == recorded["registrations"]
    assert sorted((r["type"], r["name"]) for r in added) == [
        (DASHBOARD, "embedding-dashboard"),
        (METRIC_ALARM, "embedding-invocation-5xx-errors"),
        (METRIC_ALARM, "embedding-model-latency-p90"),
        (METRIC_ALARM, "embedding-model-setup-time"),
    ]


def test_the_same_invokes_are_made(case) -> None:
    recorded, now = case
    assert now["invokes"] == recorded["invokes"]


def test_every_recorded_export_keeps_its_value_and_three_are_added(case) -> None:
    recorded, now = case
    assert {key: now["exports"][key] for key in recorded["exports"]} == recorded["exports"]
    assert set(now["exports"]) - set(recorded["exports"]) == NEW_EXPORTS
    assert now["exports"]["endpoint_type"] == "serverless" and now["exports"]["pooling"] == "client"
