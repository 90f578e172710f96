"""What the Pulumi CLI hands the program as configuration, computed from Pulumi.yaml and Pulumi.<stack>.yaml.

The CLI cannot run here, so this mirrors its rules (pulumi/sdk/go/common/workspace, `mergeConfig`): keys are
namespaced by the project name, a declared key without a default that the stack does not set is an error,
a declared default fills in what the stack leaves out and must be of the declared type (`Project.Validate`), a key
declared `secret: true` must be encrypted in the stack file, and stack values must match the declared type. A
Pulumi.yaml that the CLI would reject fails here.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml


class StackConfigError(Exception):
    pass


@dataclass
class StackConfig:
    values: dict[str, Any]
    secret_keys: list[str]


def _namespaced(project: str, key: str) -> str:
    return key if ":" in key else f"{project}:{key}"


def _matches_type(declared: str, value: Any) -> bool:
    if declared == "string":
        return isinstance(value, str)
    if declared == "integer":
        return (isinstance(value, int) and not isinstance(value, bool)) or (
            isinstance(value, str) and value.lstrip("-").isdigit()
        )
    if declared == "boolean":
        return isinstance(value, bool) or value in ("true", "false")
    if declared == "array":
        return isinstance(value, list)
    raise StackConfigError(f"unknown config type {declared!r}")


def load_stack_config(project_dir: Path, stack: str, overrides: dict[str, Any] | None = None) -> StackConfig:
    """Merge the project's declarations with the stack file (and test overrides, as `pulumi config set`)."""
    project = yaml.safe_load((project_dir / "Pulumi.yaml").read_text())
    stack_file = project_dir / f"Pulumi.{stack}.yaml"
    stack_values: dict[str, Any] = dict(
        (yaml.safe_load(stack_file.read_text()) or {}).get("config") or {} if stack_file.exists() else {}
    )
    stack_values |= overrides or {}
    name = project["name"]
    stack_values = {_namespaced(name, key): value for key, value in stack_values.items()}

    values: dict[str, Any] = {}
    secret_keys: list[str] = []
    missing: list[str] = []
    for key, declared in (project.get("config") or {}).items():
        full_key = _namespaced(name, key)
        if not isinstance(declared, dict):  # a bare value is a project-wide value, not a declaration
            values[full_key] = declared
            continue
        if "type" in declared and "default" in declared and not _matches_type(declared["type"], declared["default"]):
            raise StackConfigError(
                f"The default value specified for configuration key '{key}' is not of the expected type "
                f"'{declared['type']}'"
            )
        if full_key in stack_values:
            value = stack_values[full_key]
        elif "default" in declared or "value" in declared:
            value = declared.get("default", declared.get("value"))
        else:
            missing.append(key)
            continue
        secure = isinstance(value, dict) and "secure" in value
        if declared.get("secret") and not secure:
            raise StackConfigError(f"Stack '{stack}' with configuration key '{key}' must be encrypted as it's secret")
        plain = value["secure"] if secure else value
        if "type" in declared and not _matches_type(declared["type"], plain):
            raise StackConfigError(
                f"Stack '{stack}' with configuration key '{key}' must be of type '{declared['type']}'"
            )
        values[full_key] = plain
        if secure:
            secret_keys.append(full_key)
    if missing:
        raise StackConfigError(f"Stack '{stack}' is missing configuration values {sorted(missing)}")

    for full_key, value in stack_values.items():
        if full_key not in values:
            secure = isinstance(value, dict) and "secure" in value
            values[full_key] = value["secure"] if secure else value
            if secure:
                secret_keys.append(full_key)
    return StackConfig(values=values, secret_keys=secret_keys)
