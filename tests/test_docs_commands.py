"""Every command the user docs show is one that works: the offline ones are run, as written, against the twin.

The blocks run from a copy of the project (what they write lands there, not in the checkout) with this venv active,
an empty HOME and no AWS_ variables, as in a fresh shell after `. .venv/bin/activate`. The twin is README's
background block, `make twin`, on a free port; the documented ports (8080 for the twin, 5000 for moto's server) are
the one change made to a block's text, and TWIN_PORT carries the twin's to `make`.
"""

from __future__ import annotations

import contextlib
import json
import math
import os
import re
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.layers import starts_processes
from tests.markdown_blocks import TAGGED_LANGUAGES, TAGS, CodeBlock, all_code_blocks, code_blocks
from tests.paths import PROJECT_DIR

BLOCKS = all_code_blocks()
OFFLINE = [block for block in BLOCKS if block.tag == "offline"]
DIMENSIONS = 384
TWIN_PORT_IN_DOCS = 8080
MOTO_PORT_IN_DOCS = 5000
STARTUP_TIMEOUT_S = 120.0
BLOCK_TIMEOUT_S = 120.0
MAKEFILE = (PROJECT_DIR / "Makefile").read_text(encoding="utf-8")
MAKE_TARGETS = set(re.findall(r"^([a-z][a-z-]*):", MAKEFILE, flags=re.M))
MAKE_VARIABLES = set(re.findall(r"\$\(([A-Z_]+)\)", MAKEFILE))


def _venv_dir() -> Path:
    return Path(sys.prefix)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _strip_comments(shell: str) -> str:
    return "\n".join(re.sub(r"(^|\s)#.*$", "", line) for line in shell.splitlines())


def make_commands(text: str) -> list[list[str]]:
    """The arguments of every `make` a shell text runs, up to the end of its command."""
    return [
        shlex.split(match[1])
        for match in re.finditer(
            r"(?:^|[\s;&|(])make((?:[ \t]+(?:\w+=\"[^\"]*\"|[^\s;&|#()`]+))*)", _strip_comments(text), flags=re.M
        )
    ]


def _inline_make_commands(path: Path) -> list[list[str]]:
    prose = re.sub(r"```.*?```", "", path.read_text(encoding="utf-8"), flags=re.S)
    return [command for span in re.findall(r"`(make(?: [^`]*)?)`", prose) for command in make_commands(span)]


# -- what every block says about itself ----------------------------------------------------------------------------


@pytest.mark.parametrize("block", BLOCKS, ids=[block.where for block in BLOCKS])
def test_every_code_block_names_its_language_and_a_shell_or_python_block_how_it_is_proven(block: CodeBlock) -> None:
    assert block.language, f"{block.where}: a code block without a language"
    if block.language in TAGGED_LANGUAGES:
        assert block.tag in TAGS, f"{block.where}: tagged {block.tags}; use exactly one of {TAGS}"
    else:
        assert block.tags == (), f"{block.where}: tags are for {TAGGED_LANGUAGES} blocks"


def test_the_tags_are_used_for_what_they_mean() -> None:
    bash = [block for block in BLOCKS if block.language == "bash"]
    python = [block for block in BLOCKS if block.language == "python"]

    assert {block.tag for block in bash} <= {"offline", "background", "needs-aws", "long"}
    assert {block.tag for block in python} <= {"offline", "needs-aws", "pulumi", "fragment"}
    # The one server the offline blocks run against is the twin, started as README starts it.
    assert {_strip_comments(block.text).strip() for block in bash if block.tag == "background"} == {"make twin"}
    assert len(OFFLINE) >= 6


def test_every_make_command_in_the_docs_names_a_target_and_variables_the_makefile_has() -> None:
    commands = [command for block in BLOCKS if block.language == "bash" for command in make_commands(block.text)]
    commands += [command for path in {block.path for block in BLOCKS} for command in _inline_make_commands(path)]
    targets = {word for command in commands for word in command if "=" not in word and not word.startswith("-")}
    variables = {word.split("=", 1)[0] for command in commands for word in command if "=" in word}

    assert len(commands) >= 20
    assert targets - MAKE_TARGETS == set()
    assert variables - MAKE_VARIABLES == set()


def test_the_readme_quick_start_is_two_commands_and_ci_runs_its_test_command() -> None:
    readme = (PROJECT_DIR / "README.md").read_text(encoding="utf-8")
    quick_start = readme.split("## Quick start\n", 1)[1].split("\n## ", 1)[0]
    [first, *_] = code_blocks_of(quick_start)

    assert make_commands(first) == [["deploy"], ["test"]]
    assert "\nmake test\n" in (PROJECT_DIR / ".ci" / "run").read_text(encoding="utf-8")


def code_blocks_of(markdown: str) -> list[str]:
    return re.findall(r"```[^\n]*\n(.*?)```", markdown, flags=re.S)


# -- the offline blocks, run -----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
@starts_processes
def project_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The project's files (tracked and new, not ignored) with their timestamps, and this venv in its place, so a
    `make` target's venv prerequisite is as fresh as it is here and never rebuilds."""
    copy = tmp_path_factory.mktemp("project")
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=PROJECT_DIR,
        capture_output=True,
        check=True,
    ).stdout.decode()
    for name in filter(None, listed.split("\0")):
        source = PROJECT_DIR / name
        if source.is_file():
            (copy / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, copy / name)
    venv = copy / ".venv"
    venv.mkdir()
    for entry in _venv_dir().iterdir():
        if entry.name != ".installed":
            (venv / entry.name).symlink_to(entry)
    (venv / ".installed").touch()
    return copy


@pytest.fixture(scope="module")
def shell_env(tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """A fresh shell's environment with the venv activated: no AWS settings, nothing in HOME, and nothing the make or
    pytest that runs this suite exports (under `make test`, MAKELEVEL would turn on make's directory messages)."""
    inherited = ("AWS_", "VIRTUAL_ENV", "MAKE", "MFLAGS", "PYTEST_")
    env = {name: value for name, value in os.environ.items() if not name.startswith(inherited)}
    env.update(
        HOME=str(tmp_path_factory.mktemp("home")),
        PATH=f"{_venv_dir() / 'bin'}{os.pathsep}{os.defpath}",
        VIRTUAL_ENV=str(_venv_dir()),
        PYTHONUNBUFFERED="1",
    )
    return env


@pytest.fixture(scope="module")
@starts_processes
def twin_port(project_copy: Path, shell_env: dict[str, str]) -> Iterator[int]:
    """README's background block, `make twin`, on a free port, until the module's blocks have run."""
    readme = PROJECT_DIR / "README.md"
    [background] = [block for block in code_blocks(readme) if block.tag == "background"]
    port = _free_port()
    process = subprocess.Popen(
        ["bash", "-c", background.text],
        cwd=project_copy,
        env={**shell_env, "TWIN_PORT": str(port)},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    )
    try:
        _wait_until_listening(port, process)
        yield port
    finally:
        os.killpg(process.pid, signal.SIGINT)  # Ctrl-C, as README says
        try:
            process.communicate(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()


def _wait_until_listening(port: int, process: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"`make twin` exited {process.returncode}:\n{process.communicate()[0]}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=1):
                return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"`make twin` did not listen on {port} within {STARTUP_TIMEOUT_S}s")


def _with_ports(text: str, twin_port: int, moto_port: int) -> str:
    ports = {str(TWIN_PORT_IN_DOCS): str(twin_port), str(MOTO_PORT_IN_DOCS): str(moto_port)}
    return re.sub(r"(?<=127\.0\.0\.1:)(\d+)|(?<=-p )(\d+)", lambda m: ports.get(m[0], m[0]), text)


def _run(command: list[str], cwd: Path, env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    """Runs in a session of its own, ended once the command has: a block may leave a server behind (`&`), which
    would hold a pipe open, so the output goes to files."""
    with tempfile.TemporaryFile("w+") as stdout, tempfile.TemporaryFile("w+") as stderr:
        process = subprocess.Popen(command, cwd=cwd, env=env, stdout=stdout, stderr=stderr, start_new_session=True)
        try:
            returncode = process.wait(timeout=BLOCK_TIMEOUT_S)
        finally:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        stdout.seek(0)
        stderr.seek(0)
        return subprocess.CompletedProcess(command, returncode, stdout.read(), stderr.read())


def _is_unit_vector(value: object) -> bool:
    return (
        isinstance(value, list)
        and len(value) == DIMENSIONS
        and all(isinstance(x, float) for x in value)
        and abs(math.hypot(*value) - 1) < 1e-4
    )


PYTHON_RESULT = """
import json, runpy, sys
names = runpy.run_path(sys.argv[1], run_name="__main__")
print(json.dumps({name: names[name] for name in ("vector", "vectors") if name in names}))
"""


@pytest.mark.parametrize("block", OFFLINE, ids=[block.where for block in OFFLINE])
def test_the_offline_block_runs_as_written(
    block: CodeBlock, project_copy: Path, shell_env: dict[str, str], twin_port: int, tmp_path: Path
) -> None:
    script = tmp_path / ("block.py" if block.language == "python" else "block.sh")
    script.write_text(_with_ports(block.text, twin_port, _free_port()), encoding="utf-8")
    env = {**shell_env, "TWIN_PORT": str(twin_port)}
    if block.language == "python":
        command = [sys.executable, "-c", PYTHON_RESULT, str(script)]
    else:
        command = ["bash", "-euo", "pipefail", str(script)]

    result = _run(command, project_copy, env)

    assert result.returncode == 0, f"{block.where} exited {result.returncode}:\n{result.stdout}\n{result.stderr}"
    if block.language == "python":
        *printed, last = result.stdout.splitlines()
        names = json.loads(last)
        vectors = ([names["vector"]] if "vector" in names else []) + names.get("vectors", [])
        assert vectors or printed, f"{block.where} prints nothing and defines neither `vector` nor `vectors`"
        assert all(map(_is_unit_vector, vectors)), f"{block.where}: not unit-length {DIMENSIONS}-vectors"
    else:
        assert result.stdout.strip(), f"{block.where} printed nothing"


def test_the_readme_python_snippets_reach_the_twin_with_its_environment_and_agree_with_make_embed(
    project_copy: Path, shell_env: dict[str, str], twin_port: int, tmp_path: Path
) -> None:
    """README's snippets call the deployed endpoint (`needs-aws`). With the twin's URL and dummy credentials in the
    environment, as docs/local-twin.md sets them, they run unchanged; the raw request's `[0][0]` is the vector the
    client (`make embed`) prints for the same text."""
    raw_request, client = [block for block in code_blocks(PROJECT_DIR / "README.md") if block.language == "python"]
    env = {
        **shell_env,
        "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": f"http://127.0.0.1:{twin_port}",
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": "us-east-1",
    }
    results = []
    for name, block in (("raw_request.py", raw_request), ("client.py", client)):
        (tmp_path / name).write_text(block.text, encoding="utf-8")
        result = _run([sys.executable, "-c", PYTHON_RESULT, str(tmp_path / name)], project_copy, env)
        assert result.returncode == 0, f"{block.where}:\n{result.stderr}"
        results.append(json.loads(result.stdout.splitlines()[-1]))
    embedded = _run(["make", "embed"], project_copy, {**shell_env, "TWIN_PORT": str(twin_port)})

    assert embedded.returncode == 0, embedded.stderr
    by_boto3, by_client = results[0]["vector"], results[1]["vectors"]
    assert _is_unit_vector(by_boto3)
    assert len(by_client) == 2 and all(map(_is_unit_vector, by_client))
    by_make_embed = json.loads(embedded.stdout)
    assert sum(a * b for a, b in zip(by_make_embed, by_boto3, strict=True)) > 0.9999
