"""How the whole suite runs in about 25 s on 2 cores: pytest-xdist with one worker per core, and five remedies for
what made the workers slow. Loaded by tests/conftest.py as a plugin; none of it changes what a test checks.

Each figure is from one worker of a full run on this project's 2-core machines.
"""

from __future__ import annotations

import atexit
import functools
import gc
import logging
import os
import sys
from collections.abc import Iterator

import pytest

IN_XDIST_WORKER = bool(os.environ.get("PYTEST_XDIST_WORKER"))

# 1. Threads. One worker per core; torch's own thread pool in each would oversubscribe the cores, and its OpenMP
#    workers spin against each other. Read by torch when it first starts, which is after this line.
if IN_XDIST_WORKER:
    os.environ.setdefault("OMP_NUM_THREADS", "1")

# 2. Garbage collection. A worker holding torch, transformers, moto and Pulumi tracks 700,000-900,000 objects that
#    live until the end, and each full collection walked them all: 15 per worker, 2-3 s. Collections 70 times
#    rarer than the default (700, 10, 10), plus the freeze after each file below, leave about 1 s.
gc.set_threshold(50_000, 20, 100)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_teardown(item: pytest.Item, nextitem: pytest.Item | None) -> Iterator[None]:
    """After each test file: collect its garbage, then freeze what is left out of the collector's way.

    Frozen objects are still freed when nothing refers to them; only a reference cycle among them would stay, and
    each file's cycles are collected before the freeze.
    """
    result = yield
    if nextitem is None or nextitem.path != item.path:
        gc.collect()
        gc.freeze()
    return result


# 3. botocore's data files. Every new botocore session makes its own loader, which caches what it parsed on the
#    instance: boto3's default session, moto's region lists and the client's own sessions parsed service models
#    and endpoints.json 433 times, 3.4 s of CPU. The files do not change during a run; shared, 17 loads remain.
def _share_botocore_data_loader() -> None:
    try:
        import botocore.session
    except ImportError:  # .venv-image holds no boto3: it runs only tests/model_artifact
        return
    botocore.session.create_loader = functools.cache(botocore.session.create_loader)


_share_botocore_data_loader()


# 4. Order. xdist hands each worker one file at a time in collection order (`--dist loadfile
#    --no-loadscope-reorder` in pyproject.toml). Ordered by test count, its default, the files that run the real
#    model came last, and one worker idled for seconds while the other finished them.
def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Files that run the real model first (every model fixture needs `minilm_dir`), the short ones last."""
    loads_model = {item.path for item in items if "minilm_dir" in item.fixturenames}
    items.sort(key=lambda item: item.path not in loads_model)  # stable: each file stays whole and in order


# 5. Exit. Tearing down an interpreter that holds torch, transformers, moto and Pulumi took 2.5 s per worker, all
#    after its last test, while the controller waited for the process to end.
def _exit_without_interpreter_teardown() -> None:
    """End the worker once atexit runs: by then it has sent every report, and the join of non-daemon threads
    (before atexit) and every handler registered after this one (so every library's) have run."""
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if IN_XDIST_WORKER:
    atexit.register(_exit_without_interpreter_teardown)
