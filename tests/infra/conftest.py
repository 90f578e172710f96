"""The deployment helpers as fixtures (see tests/infra/deployments.py)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from tests.infra import deployments
from tests.infra.pulumi_harness import Deployment

DeployComponent = Callable[..., Deployment]
DeployStack = Callable[..., Deployment]


@pytest.fixture
def deploy_component() -> DeployComponent:
    return deployments.deploy_component


@pytest.fixture
def deploy_stack() -> DeployStack:
    return deployments.deploy_stack
