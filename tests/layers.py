"""Every test belongs to exactly one layer, a marker registered in pyproject.toml, so anyone can run one:

- `model`: loads the real all-MiniLM-L6-v2 in the test's own process. The only way a test reaches the weights is
  the `minilm_dir` fixture (tests/conftest.py), so a test is `model` exactly when `minilm_dir` is in its fixture
  closure, whether it asks for it or a fixture it uses does (the pipeline, the twin, the deployed artifact...).
- `process`: starts another process: a subprocess, `make`, bash, moto_server, a twin or a client in a fresh
  interpreter. Declared, not guessed: `pytest.mark.process` on the test (or `pytestmark` on its module), or
  `@starts_processes` on a fixture it uses, which makes every test using that fixture `process`.
- `unit`: neither. In-process fakes (the fake SageMaker, the twin serving a fake container, Pulumi's mocks, moto
  in-process, a loopback server in a thread) are unit.

A test that both loads the model and starts a process is `process`: it is an end-to-end test, and `-m "not process"`
then means "nothing but this interpreter", which is what a sandbox without subprocesses needs. `unit` and `model`
are derived, never written by hand; only `process` is declared.

The declaration is checked while the tests run: a test that is not `process` and starts a process anyway (seen
through Python's audit hooks, whatever module starts it) fails, saying to declare it. tests/test_layers.py checks
that every collected test has exactly one layer and that it is the one these rules give.

Imports nothing but pytest and the standard library: it also loads in .venv-image and .venv-serving, which run
tests/model_artifact without pulumi or boto3.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, TypeVar

import pytest

LAYERS = ("unit", "model", "process")
DERIVED = ("unit", "model")  # never written by hand
MODEL_FIXTURE = "minilm_dir"
# Python's audit events for starting a program: subprocess (and asyncio's subprocesses, which use it), os.system,
# the exec*/spawn*/posix_spawn families and fork (multiprocessing, pty).
PROCESS_EVENTS = frozenset(
    {"subprocess.Popen", "os.system", "os.exec", "os.spawn", "os.posix_spawn", "os.fork", "os.forkpty"}
)

F = TypeVar("F", bound=Callable[..., Any])


def starts_processes(fixture_function: F) -> F:
    """Declare a fixture that starts processes; apply it under `@pytest.fixture`. Its users become `process`."""
    fixture_function.starts_processes = True  # type: ignore[attr-defined]
    return fixture_function


@dataclass(frozen=True)
class Classified:
    """What the layer rules saw in one collected test, and the layer markers it ended up with."""

    nodeid: str
    layers: tuple[str, ...]
    handwritten: tuple[str, ...]  # layer markers on the test or its module/class before the rules ran
    uses_model: bool
    process_fixtures: tuple[str, ...]


def layer_for(*, declared_process: bool, uses_model: bool) -> str:
    """The rules, in their order of precedence."""
    if declared_process:
        return "process"
    if uses_model:
        return "model"
    return "unit"


CLASSIFIED = pytest.StashKey[dict[str, Classified]]()


def _process_fixtures(item: pytest.Item) -> tuple[str, ...]:
    info = getattr(item, "_fixtureinfo", None)
    if info is None:
        return ()
    return tuple(
        sorted(
            name
            for name, definitions in info.name2fixturedefs.items()
            if any(getattr(definition.func, "starts_processes", False) for definition in definitions)
        )
    )


@pytest.hookimpl(tryfirst=True)  # before `-m` deselects: the layer is what `-m unit` selects on
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Give each test its layer: `process` if declared, else `model` if `minilm_dir` reaches it, else `unit`."""
    classified = config.stash.setdefault(CLASSIFIED, {})
    for item in items:
        handwritten = tuple(marker.name for marker in item.iter_markers() if marker.name in LAYERS)
        uses_model = MODEL_FIXTURE in getattr(item, "fixturenames", ())
        process_fixtures = _process_fixtures(item)
        if not handwritten:
            layer = layer_for(declared_process=bool(process_fixtures), uses_model=uses_model)
            item.add_marker(getattr(pytest.mark, layer))
        layers = tuple(marker.name for marker in item.iter_markers() if marker.name in LAYERS)
        classified[item.nodeid] = Classified(item.nodeid, layers, handwritten, uses_model, process_fixtures)


# --- the check while tests run -------------------------------------------------------------------------------------


@dataclass
class ProcessWatch:
    """The processes started during the current test's phase, if that test may not start any."""

    watching: bool = False
    started: list[str] = field(default_factory=list)

    def audit(self, event: str, args: tuple[Any, ...]) -> None:
        if self.watching and event in PROCESS_EVENTS:
            self.started.append(f"{event}: {_describe(event, args)}")


def _describe(event: str, args: tuple[Any, ...]) -> str:
    if event == "subprocess.Popen" and len(args) > 1:
        command = args[1]
        return " ".join(map(str, command)) if isinstance(command, list | tuple) else str(command)
    return str(args[0]) if args else ""


WATCH = ProcessWatch()
# Audit hooks cannot be removed; this one does nothing outside a watched test phase.
sys.addaudithook(WATCH.audit)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_protocol(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    WATCH.watching = item.get_closest_marker("process") is None
    WATCH.started.clear()
    try:
        return (yield)
    finally:
        WATCH.watching = False
        WATCH.started.clear()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[pytest.TestReport]:
    """A phase that started a process without the test being `process` fails, naming what it started."""
    report: pytest.TestReport = yield
    if WATCH.watching and WATCH.started:
        started = "\n  ".join(WATCH.started)
        layer = "model" if item.get_closest_marker("model") else "unit"
        message = (
            f"{item.nodeid} is a {layer} test but started a process during {report.when}:\n  {started}\n"
            "Declare it: @pytest.mark.process on the test (or pytestmark on its module), or @starts_processes "
            "(tests/layers.py) on the fixture that starts it."
        )
        WATCH.started.clear()
        if report.passed:
            report.outcome = "failed"
            report.longrepr = message
        else:
            report.sections.append(("layers", message))
    return report
