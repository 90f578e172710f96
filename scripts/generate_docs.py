"""Write the README's configuration and outputs tables from their single sources, or check that they are current.

Keys, types and meanings come from Pulumi.yaml, each key's argument from stack_config.KEYS, each default from the
component's dataclasses, and the outputs from components.outputs.STACK_OUTPUTS. The tables sit between marker
comments in README.md; everything else in the file is left alone.

    python -m scripts.generate_docs          # rewrite the tables (make docs)
    python -m scripts.generate_docs --check  # exit 1 if they are stale (make lint, CI)
"""

from __future__ import annotations

import argparse
import dataclasses
import sys
from pathlib import Path
from typing import Any

import yaml

from components import (
    BatchTransform,
    InstancesVariant,
    Monitoring,
    ServerlessEmbeddingEndpointArgs,
    ServerlessVariant,
)
from components.model_files import DEFAULT_MODEL_REVISION
from components.outputs import STACK_OUTPUTS
from stack_config import KEYS

PROJECT_DIR = Path(__file__).resolve().parents[1]

README = PROJECT_DIR / "README.md"
# What an argument left at None means; the values themselves come from the dataclasses.
NONE_MEANS = {
    "model_revision": f"`{DEFAULT_MODEL_REVISION[:12]}…` (the pinned commit) for the default model",
    "model_dir": "none: downloaded once into the Hugging Face cache",
    "serverless.provisioned_concurrency": "none (no warm capacity)",
    "serverless.provisioned_concurrency_scaling": "none (a static `provisionedConcurrency`)",
    "monitoring.alarm_email": "none",
    "image_uri": "the region's Hugging Face PyTorch inference CPU image",
    "execution_role_arn": "none: a least-privilege role is created",
    "hf_token": "none",
    "batch_transform": "`false`",
}
_OWNERS: dict[str, Any] = {
    "serverless": ServerlessVariant(),
    "instances": InstancesVariant(),
    "monitoring": Monitoring(),
    "batch_transform": BatchTransform(),
}


def default_of(field: str) -> str:
    """The component's default for an argument, as the table shows it."""
    if field in NONE_MEANS:
        return NONE_MEANS[field]
    owner_name, _, name = field.rpartition(".")
    owner = _OWNERS[owner_name] if owner_name else ServerlessEmbeddingEndpointArgs()
    if not name or not hasattr(owner, name):
        raise KeyError(f"no default for {field!r}")
    value = getattr(owner, name)
    if field == "monitoring":
        return "`true`"
    if field == "tags":
        return "none"
    if dataclasses.is_dataclass(value):
        raise KeyError(f"{field!r} is a group of settings, not one")
    return f"`{str(value).lower() if isinstance(value, bool) else value}`"


# Object keys, which Pulumi.yaml cannot declare: their meaning is written here.
UNDECLARED = {
    "tags": "extra tags for every taggable resource: `pulumi config set --path tags.team search`",
    "provisionedConcurrencyScaling": "Serverless only. Provisioned concurrency that follows load (target tracking "
    "between `min` and `max`, aiming at `targetUtilization`) and the clock (`schedules[i]` with `name`, `schedule`, "
    "`timezone`, `min`, `max`); needs provisionedConcurrency, the starting value. Set with `pulumi config set --path "
    "provisionedConcurrencyScaling.max 4`; see "
    "[operations](docs/operations.md#provisioned-concurrency-that-follows-the-day)",
}


def config_table() -> str:
    declared = yaml.safe_load((PROJECT_DIR / "Pulumi.yaml").read_text())["config"]
    rows = [
        "| key | default | meaning |",
        "| --- | --- | --- |",
        "| `aws:region` | set in `Pulumi.<stack>.yaml` (`us-east-1` in dev) "
        "| where everything is created, image included |",
    ]
    for key in KEYS:
        meaning = UNDECLARED[key.name] if key.name in UNDECLARED else declared[key.name]["description"]
        rows.append(f"| `{key.name}` | {default_of(key.field)} | {meaning} |")
    return "\n".join(rows)


def outputs_table() -> str:
    rows = ["| output | exported | meaning |", "| --- | --- | --- |"]
    rows += [f"| `{spec.name}` | {spec.when or 'always'} | {spec.description} |" for spec in STACK_OUTPUTS]
    return "\n".join(rows)


TABLES = {"config-table": config_table, "outputs-table": outputs_table}


def render(text: str) -> str:
    for name, table in TABLES.items():
        start, end = f"<!-- {name}:start -->", f"<!-- {name}:end -->"
        if start not in text or end not in text:
            raise SystemExit(f"README.md has no {start} ... {end} markers")
        before, rest = text.split(start, 1)
        _, after = rest.split(end, 1)
        text = f"{before}{start}\n{table()}\n{end}{after}"
    return text


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="exit 1 if README.md's tables are not current")
    args = parser.parse_args(argv)
    current = README.read_text()
    wanted = render(current)
    if args.check:
        if wanted != current:
            print("README.md's generated tables are stale: run `make docs`", file=sys.stderr)
            return 1
        return 0
    README.write_text(wanted)
    return 0


if __name__ == "__main__":
    sys.exit(main())
