"""Helpers for the smoke tests (a module, not fixtures, so tests build their own environments and fakes)."""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import boto3
import pytest

from tests.paths import PROJECT_DIR

REGION = "eu-west-1"
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local"}
SMOKE_SCRIPT = PROJECT_DIR / "scripts" / "smoke.py"
PROCESS_TIMEOUT_S = 120  # a guard against a hang, not a measurement
# What the smoke reads besides AWS_*: a test must not inherit them from the shell that runs it.
SMOKE_VARIABLES = ("ENDPOINT", "REGION", "POOLING", "STACK", "MAKEFLAGS", "MAKELEVEL")


def local_client(service: str, **options: Any) -> Any:
    """A boto3 client with dummy credentials in REGION, made as if the machine had no AWS configuration: an
    AWS_PROFILE of the shell running the tests would otherwise be looked up, and fail."""
    with pytest.MonkeyPatch.context() as patch:
        for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            patch.delenv(name, raising=False)
        patch.setenv("AWS_CONFIG_FILE", os.devnull)
        patch.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION)
        return session.client(service, **options)


def fake_pulumi(folder: Path, outputs: object, *, exit_code: int = 0, stderr: str = "") -> Path:
    """A `pulumi` that prints `outputs` as JSON (or fails with `stderr`) and records how it was called, one line
    per call in folder/calls; put the folder first on PATH."""
    (folder / "outputs.json").write_text(json.dumps(outputs), encoding="utf-8")
    (folder / "stderr.txt").write_text(stderr, encoding="utf-8")
    script = folder / "pulumi"
    script.write_text(
        "#!/bin/sh\n"
        'here="$(dirname "$0")"\n'
        'printf "%s|%s\\n" "$*" "$PULUMI_BACKEND_URL" >> "$here/calls"\n'
        f'if [ {exit_code} -ne 0 ]; then cat "$here/stderr.txt" >&2; exit {exit_code}; fi\n'
        'cat "$here/outputs.json"\n',
        encoding="utf-8",
    )
    script.chmod(script.stat().st_mode | stat.S_IXUSR)
    return folder


def pulumi_calls(folder: Path) -> list[str]:
    calls = folder / "calls"
    return calls.read_text(encoding="utf-8").splitlines() if calls.exists() else []


def smoke_env(*, sagemaker_url: str, runtime_url: str, **extra: str) -> dict[str, str]:
    """The process environment: this one without any AWS setting of the machine's, plus the emulator's and the
    twin's URLs and dummy credentials."""
    environment = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("AWS_", "PULUMI_")) and name not in SMOKE_VARIABLES
    }
    environment |= {
        **DUMMY_CREDENTIALS,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_ENDPOINT_URL_SAGEMAKER": sagemaker_url,
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": runtime_url,
        **extra,
    }
    return environment


def run_smoke(*args: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SMOKE_SCRIPT), *args],
        cwd=PROJECT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT_S,
        check=False,
    )


def run_make_smoke(*variables: str, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["make", "--no-print-directory", "-C", str(PROJECT_DIR), "smoke", *variables],
        env=env,
        capture_output=True,
        text=True,
        timeout=PROCESS_TIMEOUT_S,
        check=False,
    )


def assert_one_error_line(result: subprocess.CompletedProcess[str], exit_code: int, *fragments: str) -> str:
    """Failed with `exit_code`: no .env line, no traceback, and the last line of stderr is the only error line."""
    lines = result.stderr.splitlines()
    errors = [line for line in lines if line.startswith("smoke: error:")]
    assert (result.returncode, result.stdout) == (exit_code, ""), result.stderr
    assert "Traceback" not in result.stderr
    assert errors == lines[-1:], result.stderr
    for fragment in fragments:
        assert fragment in errors[0]
    return errors[0]
