from __future__ import annotations

import runpy
from collections.abc import Callable
from typing import Any

import pulumi
import pytest

from components import ServerlessEmbeddingEndpoint, ServerlessEmbeddingEndpointArgs
from tests.infra.pulumi_harness import OPTIONAL_EXPORTS, STACK_EXPORTS, Deployment, run_program
from tests.infra.stack_config import load_stack_config
from tests.paths import PROJECT_DIR

DeployComponent = Callable[..., Deployment]


@pytest.fixture
def deploy_component() -> DeployComponent:
    """Deploy one ServerlessEmbeddingEndpoint (named "embedding") with the given args, against the mocks."""

    def deploy(
        args: ServerlessEmbeddingEndpointArgs | None = None,
        *,
        region: str = "us-east-1",
        name: str = "embedding",
        opts: Callable[[], pulumi.ResourceOptions] | None = None,
    ) -> Deployment:
        def program() -> None:
            component = ServerlessEmbeddingEndpoint(
                name, args or ServerlessEmbeddingEndpointArgs(region=region), opts() if opts else None
            )
            for key in (*STACK_EXPORTS, *OPTIONAL_EXPORTS):
                if getattr(component, key) is not None:
                    pulumi.export(key, getattr(component, key))

        return run_program(program, config={"aws:region": region})

    return deploy


DeployStack = Callable[..., Deployment]


@pytest.fixture
def deploy_stack() -> DeployStack:
    """Run the real __main__.py with Pulumi.yaml defaults, Pulumi.<stack>.yaml and `pulumi config set` overrides."""

    def deploy(stack: str = "dev", overrides: dict[str, Any] | None = None) -> Deployment:
        config = load_stack_config(PROJECT_DIR, stack, overrides)

        def program() -> None:
            runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__main__")

        return run_program(program, config=config.values, secret_keys=config.secret_keys, stack=stack)

    return deploy
