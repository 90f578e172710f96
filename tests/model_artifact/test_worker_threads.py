"""code/worker_threads.py: torch threads per model-server worker = max(1, available CPUs // workers).

The CPUs come from the affinity mask and the cgroup CPU quota (v1 and v2, the tightest along the cgroup's
ancestors), the workers from the model server's settings or its default; the thread count is applied only inside
a multi-model-server worker. The real stack's workers are checked in serving_stack_tests.
"""

from __future__ import annotations

import logging
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from local_endpoint.artifact import import_user_module
from tests.paths import MODEL_ARTIFACT_DIR

SERVERLESS = {"SAGEMAKER_MODEL_SERVER_WORKERS": "1"}


worker_threads = import_user_module(MODEL_ARTIFACT_DIR / "code", "worker_threads")


@pytest.mark.parametrize(
    ("what", "environment", "affinity", "quota", "threads", "workers"),
    [
        ("serverless, one worker, 2 vCPUs", SERVERLESS, 2, None, 2, 1),
        ("serverless, one worker, 6 vCPUs under a quota of 6", SERVERLESS, 8, 6.0, 6, 1),
        ("a quota of 1.5 CPUs is one thread, not two", SERVERLESS, 4, 1.5, 1, 1),
        ("ml.m5.large, the model server's default: a worker per CPU", {}, 2, None, 1, 2),
        ("ml.c5.2xlarge, 8 vCPUs shared by 2 workers", {"SAGEMAKER_MODEL_SERVER_WORKERS": "2"}, 8, None, 4, 2),
        (
            "ml.m5.xlarge, 4 vCPUs and 3 workers: one thread each",
            {"SAGEMAKER_MODEL_SERVER_WORKERS": "3"},
            4,
            None,
            1,
            3,
        ),
        ("more workers than CPUs still get one thread", {"SAGEMAKER_MODEL_SERVER_WORKERS": "8"}, 2, None, 1, 8),
        (
            "MMS_DEFAULT_WORKERS_PER_MODEL overrides what sagemaker-inference wrote",
            {"SAGEMAKER_MODEL_SERVER_WORKERS": "1", "MMS_DEFAULT_WORKERS_PER_MODEL": "2"},
            4,
            None,
            2,
            2,
        ),
        (
            "a JVM with container support counts the quota, rounded up",
            {"SAGEMAKER_MODEL_SERVER_VMARGS": "-Xmx1g"},
            8,
            2.5,
            1,
            3,
        ),
        ("the toolkit's default JVM flags ignore the quota", {}, 8, 2.5, 1, 8),
    ],
)
def test_threads_are_the_cpus_shared_among_the_workers(
    what: str, environment: dict[str, str], affinity: int, quota: float | None, threads: int, workers: int
) -> None:
    choice = worker_threads.choose_threads(environment, affinity, quota)

    assert (choice.threads, choice.workers) == (threads, workers), what
    assert choice.threads == 1 or choice.threads * choice.workers <= choice.cpus  # never more threads than CPUs


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SAGEMAKER_MODEL_SERVER_WORKERS", "0"),
        ("SAGEMAKER_MODEL_SERVER_WORKERS", "-1"),
        ("SAGEMAKER_MODEL_SERVER_WORKERS", "two"),
        ("SAGEMAKER_MODEL_SERVER_WORKERS", "1.5"),
        ("MMS_DEFAULT_WORKERS_PER_MODEL", "none"),
    ],
)
def test_a_bad_worker_count_is_named_with_what_is_allowed(name: str, value: str) -> None:
    with pytest.raises(ValueError) as refused:
        worker_threads.choose_threads({name: value}, 2, None)

    assert str(refused.value) == f"{name}={value!r} is not a number of model-server workers: use a whole number >= 1"


def test_the_log_line_says_why() -> None:
    choice = worker_threads.choose_threads(SERVERLESS, 4, 3.0)

    assert choice.describe() == (
        "torch threads per model-server worker: 3 = max(1, 3 available CPUs // 1 workers); CPUs: affinity 4, "
        "cgroup CPU quota 3; workers: SAGEMAKER_MODEL_SERVER_WORKERS"
    )


def write(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def fake_proc(tmp_path: Path, cgroup: str, mountinfo: str) -> Path:
    proc_self = tmp_path / "proc-self"
    write(proc_self / "cgroup", cgroup)
    write(proc_self / "mountinfo", mountinfo)
    return proc_self


def test_cgroup_v2_takes_the_tightest_cpu_max_along_the_ancestors(tmp_path: Path) -> None:
    mount = tmp_path / "sys-fs-cgroup"
    write(mount / "cpu.max", "max 100000\n")
    write(mount / "kubepods" / "cpu.max", "150000 100000\n")
    write(mount / "kubepods" / "pod1" / "cpu.max", "max 100000\n")
    proc_self = fake_proc(
        tmp_path,
        "0::/kubepods/pod1\n",
        f"30 23 0:26 / {mount} rw,nosuid shared:4 - cgroup2 cgroup2 rw,nsdelegate\n",
    )

    assert worker_threads.cgroup_cpu_quota(proc_self) == 1.5


def test_cgroup_v1_reads_the_cfs_quota_of_the_cpu_controller_under_its_mount_root(tmp_path: Path) -> None:
    mount = tmp_path / "cpu"
    write(mount / "cpu.cfs_quota_us", "-1\n")
    write(mount / "cpu.cfs_period_us", "100000\n")
    write(mount / "task" / "cpu.cfs_quota_us", "400000\n")
    write(mount / "task" / "cpu.cfs_period_us", "100000\n")
    proc_self = fake_proc(
        tmp_path,
        "4:memory:/docker/abc\n3:cpu,cpuacct:/docker/abc/task\n0::/\n",
        f"40 30 0:35 /docker/abc {mount} rw,nosuid - cgroup cgroup rw,cpu,cpuacct\n"
        "41 30 0:36 /docker/abc /elsewhere rw - cgroup cgroup rw,memory\n",
    )

    assert worker_threads.cgroup_cpu_quota(proc_self) == 4.0


def test_no_quota_anywhere_or_nothing_readable_is_none(tmp_path: Path) -> None:
    mount = tmp_path / "cg"
    write(mount / "cpu.max", "max 100000\n")
    unlimited = fake_proc(tmp_path / "a", "0::/\n", f"1 0 0:1 / {mount} rw - cgroup2 cgroup2 rw\n")

    assert worker_threads.cgroup_cpu_quota(unlimited) is None
    assert worker_threads.cgroup_cpu_quota(tmp_path / "no-proc") is None


class FakeTorch:
    def __init__(self) -> None:
        self.calls: list[int] = []

    def set_num_threads(self, threads: int) -> None:
        self.calls.append(threads)


def test_nothing_is_changed_outside_a_model_server_worker(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delitem(sys.modules, "mms", raising=False)
    torch: Any = FakeTorch()

    assert worker_threads.set_torch_threads(torch, SERVERLESS) is None
    assert torch.calls == []


def test_inside_a_worker_torch_gets_its_share_and_the_choice_is_logged_once(
    monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    monkeypatch.setitem(sys.modules, "mms", ModuleType("mms"))
    monkeypatch.setattr(worker_threads, "affinity_cpus", lambda: 4)
    monkeypatch.setattr(worker_threads, "cgroup_cpu_quota", lambda: None)
    torch: Any = FakeTorch()

    with caplog.at_level(logging.INFO, logger=worker_threads.__name__):
        choice = worker_threads.set_torch_threads(torch, {"SAGEMAKER_MODEL_SERVER_WORKERS": "2"})

    assert choice is not None and torch.calls == [2]
    assert [record.getMessage() for record in caplog.records] == [choice.describe()]
