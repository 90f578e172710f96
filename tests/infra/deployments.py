"""The two ways the tests run the program under the mocks: one component with given args, or the real __main__.py
with a stack's configuration (Pulumi.yaml defaults, Pulumi.<stack>.yaml and `pulumi config set` overrides)."""

from __future__ import annotations

import runpy
from collections.abc import Callable
from typing import Any

import pulumi

from components import ServerlessEmbeddingEndpoint, ServerlessEmbeddingEndpointArgs
from tests.infra.pulumi_cli_config import load_stack_config
from tests.infra.pulumi_harness import Deployment, run_program
from tests.paths import PROJECT_DIR


def deploy_component(
    args: ServerlessEmbeddingEndpointArgs | None = None,
    *,
    region: str = "us-east-1",
    name: str = "embedding",
    opts: Callable[[], pulumi.ResourceOptions] | None = None,
) -> Deployment:
    """One ServerlessEmbeddingEndpoint (named "embedding"), its outputs exported as the stack exports them."""

    def program() -> None:
        component = ServerlessEmbeddingEndpoint(
            name, args or ServerlessEmbeddingEndpointArgs(region=region), opts() if opts else None
        )
        for key, value in component.outputs.items():
            pulumi.export(key, value)

    return run_program(program, config={"aws:region": region})


def deploy_stack(stack: str = "dev", overrides: dict[str, Any] | None = None) -> Deployment:
    """The real __main__.py, as `pulumi up --stack <stack>` runs it."""
    config = load_stack_config(PROJECT_DIR, stack, overrides)

    def program() -> None:
        runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__main__")

    return run_program(program, config=config.values, secret_keys=config.secret_keys, stack=stack)
