"""Every test has exactly one layer (unit, model, process), the one tests/layers.py's rules give, and a test that
starts a process without being declared `process` fails."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import tomllib
import xml.etree.ElementTree as ElementTree
from pathlib import Path

import pytest

from tests.layers import CLASSIFIED, DERIVED, LAYERS, Classified, layer_for
from tests.paths import PROJECT_DIR


def _classified(request: pytest.FixtureRequest) -> list[Classified]:
    """Every test this session collected, including those `-m` or `-k` deselected."""
    classified = list(request.config.stash[CLASSIFIED].values())
    assert request.node.nodeid in request.config.stash[CLASSIFIED]  # recorded before this test ran, so complete
    return classified


def test_every_collected_test_has_exactly_one_layer(request: pytest.FixtureRequest) -> None:
    offenders = [f"{c.nodeid}: {list(c.layers) or 'none'}" for c in _classified(request) if len(c.layers) != 1]

    assert offenders == [], "tests without exactly one of unit, model, process:\n" + "\n".join(offenders)


def test_each_layer_is_the_one_the_rules_give(request: pytest.FixtureRequest) -> None:
    wrong = []
    for c in _classified(request):
        handwritten = set(c.handwritten) & set(DERIVED)
        declared = "process" in c.handwritten or bool(c.process_fixtures)
        expected = layer_for(declared_process=declared, uses_model=c.uses_model)
        if handwritten or c.layers != (expected,):
            wrong.append(f"{c.nodeid}: {list(c.layers)}, the rules give {expected} (written by hand: {c.handwritten})")

    assert wrong == [], "unit and model are derived from minilm_dir, only process is declared:\n" + "\n".join(wrong)


def test_the_rules_in_their_order() -> None:
    assert layer_for(declared_process=False, uses_model=False) == "unit"
    assert layer_for(declared_process=False, uses_model=True) == "model"
    assert layer_for(declared_process=True, uses_model=False) == "process"
    assert layer_for(declared_process=True, uses_model=True) == "process"  # end to end, whatever else it loads


def test_the_layers_are_the_markers_pyproject_registers() -> None:
    pytest_options = tomllib.loads((PROJECT_DIR / "pyproject.toml").read_text())["tool"]["pytest"]["ini_options"]

    assert tuple(marker.split(":", 1)[0] for marker in pytest_options["markers"]) == LAYERS
    assert "--strict-markers" in pytest_options["addopts"].split()


# A session of its own, on tests written to break the rules: what a new test that forgets its declaration gets.
SAMPLE_CONFTEST = """
import subprocess
import sys

import pytest

from tests.layers import starts_processes

pytest_plugins = ["tests.layers"]


@pytest.fixture
def minilm_dir(tmp_path):
    return tmp_path


@pytest.hookimpl(trylast=True)
def pytest_collection_finish(session):
    for item in session.items:
        print("LAYERS", item.name, *[m.name for m in item.iter_markers() if m.name in ("unit", "model", "process")])


@pytest.fixture
@starts_processes
def child():
    return subprocess.run([sys.executable, "-c", "print('child')"], capture_output=True, text=True).stdout
"""
SAMPLE_TESTS = """
import os
import subprocess
import sys

import pytest


def test_unit_that_runs_nothing():
    pass


def test_unit_that_runs_python():
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def test_model_that_runs_a_shell(minilm_dir):
    os.system("true")


@pytest.mark.process
def test_declared(minilm_dir):
    subprocess.run([sys.executable, "-c", "pass"], check=True)


def test_through_a_declared_fixture(child):
    assert child == "child\\n"
"""


@pytest.mark.process
def test_a_test_that_starts_a_process_undeclared_fails_naming_it(tmp_path: Path) -> None:
    (tmp_path / "conftest.py").write_text(textwrap.dedent(SAMPLE_CONFTEST))
    (tmp_path / "test_sample.py").write_text(textwrap.dedent(SAMPLE_TESTS))
    (tmp_path / "pytest.ini").write_text("[pytest]\nmarkers =\n    unit\n    model\n    process\n")
    environment = {**os.environ, "PYTHONPATH": str(PROJECT_DIR)}
    command = [sys.executable, "-m", "pytest", "-c", str(tmp_path / "pytest.ini"), "--rootdir", str(tmp_path)]
    command += ["-p", "no:cacheprovider", "-p", "no:xdist", "--strict-markers", str(tmp_path)]

    run = subprocess.run(
        [*command, "-s", f"--junitxml={tmp_path / 'report.xml'}"], env=environment, capture_output=True, text=True
    )

    assert run.returncode == 1, run.stdout
    layers = dict(line.split()[1:] for line in run.stdout.splitlines() if line.startswith("LAYERS "))
    assert layers == {
        "test_unit_that_runs_nothing": "unit",
        "test_unit_that_runs_python": "unit",
        "test_model_that_runs_a_shell": "model",
        "test_declared": "process",
        "test_through_a_declared_fixture": "process",
    }
    failures = {
        case.get("name"): (case.find("failure").get("message") or "") + (case.find("failure").text or "")
        for case in ElementTree.parse(tmp_path / "report.xml").iter("testcase")
        if case.find("failure") is not None
    }
    assert set(failures) == {"test_unit_that_runs_python", "test_model_that_runs_a_shell"}
    assert "is a unit test but started a process during call" in failures["test_unit_that_runs_python"]
    assert "subprocess.Popen: " in failures["test_unit_that_runs_python"]
    assert "is a model test but started a process during call" in failures["test_model_that_runs_a_shell"]
    assert "os.system: b'true'" in failures["test_model_that_runs_a_shell"]
    assert "Declare it: @pytest.mark.process" in failures["test_model_that_runs_a_shell"]
