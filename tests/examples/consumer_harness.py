"""Run the example consumer program against the mocks, with this stack's real exports behind its StackReference.

A `pulumi.StackReference` is a read of the custom resource `pulumi:pulumi:StackReference` (its id is the stack's
name); the engine answers with the properties `outputs` (the referenced stack's exports) and `secretOutputNames`,
which the SDK's `get_output` reads. The mocks below answer that read from Deployments produced by running the
producer's own program, so the consumer is tested against the exports the producer really makes.
"""

from __future__ import annotations

import runpy
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pulumi
import yaml

from components.regions import partition_of
from tests.infra.pulumi_cli_config import load_stack_config
from tests.infra.pulumi_harness import AwsProviderMocks, Deployment, run_program
from tests.paths import PROJECT_DIR

EXAMPLE_DIR = PROJECT_DIR / "examples" / "ingest_lambda"
# The stack the example reads by default (Pulumi.yaml's embeddingStack).
DEV_STACK = "organization/alex-sagemaker/dev"

STACK_REFERENCE = "pulumi:pulumi:StackReference"
LAMBDA_FUNCTION = "aws:lambda/function:Function"
LOG_GROUP = "aws:cloudwatch/logGroup:LogGroup"


def deploy_producer(stack: str = "dev", overrides: dict[str, Any] | None = None) -> Deployment:
    """The real root __main__.py with Pulumi.yaml defaults, Pulumi.<stack>.yaml and overrides, as `pulumi up`."""
    config = load_stack_config(PROJECT_DIR, stack, overrides)
    return run_program(
        lambda: runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__main__"),
        config=config.values,
        secret_keys=config.secret_keys,
        stack=stack,
    )


class StackReferenceMocks(AwsProviderMocks):
    """The project's AWS mocks, plus other stacks' outputs and the ARNs of the consumer's Lambda and log group."""

    def __init__(self, stacks: Mapping[str, Deployment], default_region: str) -> None:
        super().__init__(default_region)
        self.stacks = dict(stacks)
        self.referenced_stacks: list[str] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        if args.typ == STACK_REFERENCE:
            return self._read_stack(str(args.inputs["name"]))
        resource_id, state = super().new_resource(args)
        region = self.region_of(args.provider or "", args.inputs)
        prefix = f"arn:{partition_of(region)}"
        if args.typ == LAMBDA_FUNCTION:
            state["arn"] = f"{prefix}:lambda:{region}:{self.account_id}:function:{state['name']}"
        elif args.typ == LOG_GROUP:
            state["arn"] = f"{prefix}:logs:{region}:{self.account_id}:log-group:{state['name']}"
        return resource_id, state

    def _read_stack(self, name: str) -> tuple[str, dict[str, Any]]:
        self.referenced_stacks.append(name)
        if name not in self.stacks:
            raise LookupError(f"unknown stack {name!r}")
        producer = self.stacks[name]
        return name, {
            "name": name,
            "outputs": dict(producer.exports),
            "secretOutputNames": sorted(producer.secret_exports),
        }


@dataclass
class ConsumerRun:
    deployment: Deployment
    referenced_stacks: list[str]


def run_reading_stacks(
    program: Callable[[], None],
    stacks: Mapping[str, Deployment],
    *,
    project: str,
    stack: str = "dev",
    config: Mapping[str, Any] | None = None,
    secret_keys: Iterable[str] = (),
) -> ConsumerRun:
    """Any program that reads `stacks` through StackReferences, as run_program runs it."""
    config = dict(config or {})
    mocks = StackReferenceMocks(stacks, default_region=str(config.get("aws:region", "us-east-1")))
    deployment = run_program(program, config=config, secret_keys=secret_keys, project=project, stack=stack, mocks=mocks)
    return ConsumerRun(deployment, mocks.referenced_stacks)


def deploy_consumer(
    stacks: Mapping[str, Deployment], stack: str = "dev", overrides: dict[str, Any] | None = None
) -> ConsumerRun:
    """The example's __main__.py with its own Pulumi.yaml and Pulumi.<stack>.yaml, reading `stacks`."""
    config = load_stack_config(EXAMPLE_DIR, stack, overrides)
    return run_reading_stacks(
        lambda: runpy.run_path(str(EXAMPLE_DIR / "__main__.py"), run_name="__main__"),
        stacks,
        project=yaml.safe_load((EXAMPLE_DIR / "Pulumi.yaml").read_text())["name"],
        stack=stack,
        config=config.values,
        secret_keys=config.secret_keys,
    )


def archive_members(archive: pulumi.Archive | pulumi.Asset, wd: Path, name: str = "") -> dict[str, bytes]:
    """The files the engine zips for `archive`, by name, as pulumi's Go `archive` package flattens them.

    An AssetArchive's keys are member names, and a nested archive's members are joined under its key (a
    FileArchive of a directory would be too, with every file below it, __pycache__ included). Relative paths are
    resolved against the program's directory (`wd`), where the CLI runs the program.
    """
    if isinstance(archive, pulumi.FileAsset):
        return {name: (wd / archive.path).read_bytes()}
    if isinstance(archive, pulumi.AssetArchive):
        members: dict[str, bytes] = {}
        for key in sorted(archive.assets):
            members |= archive_members(archive.assets[key], wd, f"{name}/{key}" if name else key)
        return members
    raise TypeError(f"{type(archive).__name__} at {name!r}: only FileAssets in AssetArchives are handled here")


def write_package(members: Mapping[str, bytes], directory: Path) -> Path:
    """Unpack the members as Lambda does into /var/task."""
    for name, content in members.items():
        target = directory / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(content)
    return directory
