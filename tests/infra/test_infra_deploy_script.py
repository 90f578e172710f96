"""The README's deploy command on machines that cannot deploy: it must say why, and change nothing."""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
from pathlib import Path

import pytest

from tests.paths import PROJECT_DIR

pytestmark = pytest.mark.process  # each test runs the deploy script (bash) as a process


def _environment(path: str, **extra: str) -> dict[str, str]:
    keep = {key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "PULUMI_"))}
    return {
        **keep,
        "PATH": path,
        "AWS_SHARED_CREDENTIALS_FILE": "/nonexistent/credentials",
        "AWS_CONFIG_FILE": "/nonexistent/config",
        "AWS_EC2_METADATA_DISABLED": "true",
        "AWS_DEFAULT_REGION": "us-east-1",
        **extra,
    }


def _project_copy(directory: Path) -> Path:
    """The script and the files it reads, in a scratch folder: it must not depend on this checkout's `.venv`."""
    project = directory / "project"
    (project / "scripts").mkdir(parents=True)
    for script in ("deploy.sh", "require-pulumi.sh", "pulumi.sh"):
        shutil.copy2(PROJECT_DIR / "scripts" / script, project / "scripts" / script)
    for name in ("Pulumi.yaml", "Pulumi.dev.yaml", "requirements.txt"):
        shutil.copy2(PROJECT_DIR / name, project / name)
    return project / "scripts" / "deploy.sh"


def _fake_pulumi(directory: Path, version: str = "v3.230.0") -> Path:
    """A stand-in CLI that records each call and the state backend it was given.

    Its `install` does what the real one does for Pulumi.yaml's runtime options: it leaves a `.venv` whose
    python has requirements.txt installed. The test's own interpreter has them, so `.venv/bin/python` links to it.
    """
    log = directory / "pulumi-calls.log"
    script = directory / "pulumi"
    script.write_text(
        "#!/bin/sh\n"
        f'if [ "$1" = version ]; then echo {version}; exit 0; fi\n'
        f'echo "$PULUMI_BACKEND_URL $*" >> {log}\n'
        'if [ "$1" = install ]; then mkdir -p .venv/bin && '
        f"ln -sf {sys.executable} .venv/bin/python; fi\n"
    )
    script.chmod(script.stat().st_mode | stat.S_IEXEC)
    return log


def test_without_the_pulumi_cli_it_says_how_to_install_it(tmp_path: Path) -> None:
    result = subprocess.run(
        ["bash", str(_project_copy(tmp_path))],
        env=_environment("/usr/bin:/bin"),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 127
    assert "the Pulumi CLI is not installed" in result.stderr
    assert "https://www.pulumi.com/docs/iac/download-install/" in result.stderr
    assert "make test" in result.stderr


def test_without_aws_credentials_it_stops_before_pulumi_up_on_the_local_backend(tmp_path: Path) -> None:
    calls = _fake_pulumi(tmp_path)

    result = subprocess.run(
        ["bash", str(_project_copy(tmp_path))],
        env=_environment(f"{tmp_path}:/usr/bin:/bin"),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert result.returncode != 0
    assert "no AWS credentials found" in result.stderr
    assert calls.read_text().splitlines() == ["file://~ install"], "only `pulumi install` may have run"


def test_an_explicit_backend_is_respected(tmp_path: Path) -> None:
    calls = _fake_pulumi(tmp_path)

    subprocess.run(
        ["bash", str(_project_copy(tmp_path))],
        env=_environment(f"{tmp_path}:/usr/bin:/bin", PULUMI_BACKEND_URL="s3://team-state"),
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert calls.read_text().splitlines() == ["s3://team-state install"]


def test_a_pulumi_cli_too_old_for_the_endpoints_replacement_trigger_is_named(tmp_path: Path) -> None:
    calls = _fake_pulumi(tmp_path, version="v3.207.1")
    result = subprocess.run(
        ["bash", str(_project_copy(tmp_path))],
        env=_environment(f"{tmp_path}:/usr/bin:/bin"),
        capture_output=True,
        text=True,
        timeout=60,
    )

    assert result.returncode == 1
    assert "Pulumi CLI 3.207.1 is too old for this stack: it needs 3.226.0 or newer" in result.stderr
    assert "pulumi self-update" in result.stderr
    assert not calls.exists(), "nothing else may have run"


def test_outputs_and_destroy_without_the_cli_give_the_same_help_as_deploy(tmp_path: Path) -> None:
    """`make outputs` and `make destroy` run scripts/pulumi.sh, which says what `make deploy` says."""
    script = _project_copy(tmp_path).parent / "pulumi.sh"
    for target, arguments in (("make outputs", ["stack", "output"]), ("make destroy", ["destroy"])):
        result = subprocess.run(
            ["bash", str(script), *arguments],
            env=_environment("/usr/bin:/bin", AGAIN=target),
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert result.returncode == 127, target
        assert f"Install it, open a new shell, and run `{target}` again" in result.stderr
        assert "https://www.pulumi.com/docs/iac/download-install/" in result.stderr
