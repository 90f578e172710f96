"""Threads for torch in one model-server worker: the CPUs this container may use, shared among the workers.

multi-model-server starts every Python worker with OMP_NUM_THREADS=1 unless the environment already sets it
(mms/model_service_worker.py, `MXNetModelServiceWorker.__init__`), so torch computes on one core however many the
endpoint has. A serverless endpoint runs one worker (SAGEMAKER_MODEL_SERVER_WORKERS=1), which then leaves every
other vCPU idle. Setting torch's thread count in `model_fn` undoes that, per worker, without oversubscribing:

    threads = max(1, available CPUs // model-server workers)

- Available CPUs: the CPUs the process may run on (sched_getaffinity, i.e. its cpuset), capped by the cgroup CPU
  quota (cgroup v2 `cpu.max`, v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us`, the smallest along the cgroup's
  ancestors), rounded down: a quota of 1.5 CPUs gives one thread, never two threads competing for 1.5 CPUs.
- Workers: MMS_DEFAULT_WORKERS_PER_MODEL (the model server reads it over its configuration file), else
  SAGEMAKER_MODEL_SERVER_WORKERS (which sagemaker-inference writes there as default_workers_per_model), else the
  model server's own default, one worker per processor the JVM sees. sagemaker-inference starts the JVM with
  `-XX:-UseContainerSupport` unless SAGEMAKER_MODEL_SERVER_VMARGS says otherwise, so the JVM counts the CPUs of
  the affinity mask and ignores the quota; without that flag it counts the quota too (rounded up, as the JVM does).

Only inside a model-server worker: elsewhere (the local twin, tests) the process is not one of several workers and
its owner chooses its threads, so nothing is changed there.

This module is shipped beside inference.py in code/ and uses the standard library only (torch is handed in).
"""

from __future__ import annotations

import logging
import math
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

WORKERS_ENV = "SAGEMAKER_MODEL_SERVER_WORKERS"
MMS_WORKERS_ENV = "MMS_DEFAULT_WORKERS_PER_MODEL"
VMARGS_ENV = "SAGEMAKER_MODEL_SERVER_VMARGS"
# sagemaker_inference.environment.DEFAULT_VMARGS, used when SAGEMAKER_MODEL_SERVER_VMARGS is unset.
DEFAULT_VMARGS = "-XX:-UseContainerSupport"
NO_CONTAINER_SUPPORT = "-XX:-UseContainerSupport"
MODEL_SERVER_PACKAGE = "mms"  # multi-model-server's Python package, imported by every one of its workers


@dataclass(frozen=True)
class ThreadChoice:
    """What was decided and from what, so the log line can say why."""

    threads: int
    cpus: int
    affinity: int
    quota: float | None
    workers: int
    workers_from: str

    def describe(self) -> str:
        quota = "no cgroup CPU quota" if self.quota is None else f"cgroup CPU quota {self.quota:g}"
        return (
            f"torch threads per model-server worker: {self.threads} = max(1, {self.cpus} available CPUs // "
            f"{self.workers} workers); CPUs: affinity {self.affinity}, {quota}; workers: {self.workers_from}"
        )


def _parse_mountinfo(text: str) -> list[tuple[str, str, str, set[str]]]:
    """(root, mount point, file system type, super options) of each mount in /proc/self/mountinfo."""
    mounts = []
    for line in text.splitlines():
        before, separator, after = line.partition(" - ")
        fields, tail = before.split(), after.split()
        if not separator or len(fields) < 5 or len(tail) < 3:
            continue
        mounts.append((fields[3], fields[4], tail[0], set(tail[2].split(","))))
    return mounts


def _cgroup_dirs(proc_self: Path) -> list[tuple[str, Path, Path]]:
    """For each CPU-controlling cgroup hierarchy: its version ("v1"/"v2"), this process's folder, the mount point."""
    try:
        cgroups = (proc_self / "cgroup").read_text(encoding="utf-8")
        mounts = _parse_mountinfo((proc_self / "mountinfo").read_text(encoding="utf-8"))
    except OSError:
        return []
    found = []
    for line in cgroups.splitlines():
        parts = line.split(":", 2)
        if len(parts) != 3:
            continue
        _, controllers, path = parts
        if controllers == "":
            version, wanted = "v2", [m for m in mounts if m[2] == "cgroup2"]
        elif "cpu" in controllers.split(","):
            version, wanted = "v1", [m for m in mounts if m[2] == "cgroup" and "cpu" in m[3]]
        else:
            continue
        for root, mount_point, _, _ in wanted:
            if path == root or path.startswith(root.rstrip("/") + "/"):
                relative = path[len(root.rstrip("/")) :].lstrip("/")
                found.append((version, Path(mount_point) / relative, Path(mount_point)))
                break
    return found


def _quota_in(version: str, folder: Path) -> float | None:
    """The CPU quota set on one cgroup folder, in CPUs; None when unlimited or unreadable."""
    try:
        if version == "v2":
            quota, _, period = (folder / "cpu.max").read_text(encoding="utf-8").strip().partition(" ")
            if quota == "max":
                return None
            return int(quota) / int(period or "100000")
        quota_us = int((folder / "cpu.cfs_quota_us").read_text(encoding="utf-8"))
        period_us = int((folder / "cpu.cfs_period_us").read_text(encoding="utf-8"))
    except (OSError, ValueError, ZeroDivisionError):
        return None
    return quota_us / period_us if quota_us > 0 and period_us > 0 else None


def cgroup_cpu_quota(proc_self: Path = Path("/proc/self")) -> float | None:
    """The tightest CPU quota on this process's cgroups and their ancestors, in CPUs; None when there is none."""
    quotas = []
    for version, folder, mount_point in _cgroup_dirs(proc_self):
        current = folder
        while True:
            quota = _quota_in(version, current)
            if quota is not None:
                quotas.append(quota)
            if current == mount_point or mount_point not in current.parents:
                break
            current = current.parent
    return min(quotas) if quotas else None


def affinity_cpus() -> int:
    """CPUs this process may be scheduled on (its cpuset); os.cpu_count() where the platform cannot tell."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def _positive_int(name: str, value: str) -> int:
    try:
        number = int(value.strip())
    except ValueError:
        number = 0
    if number < 1:
        raise ValueError(f"{name}={value!r} is not a number of model-server workers: use a whole number >= 1")
    return number


def model_server_workers(environ: Mapping[str, str], affinity: int, quota: float | None) -> tuple[int, str]:
    """How many workers the model server runs for the model, and which setting said so."""
    for name in (MMS_WORKERS_ENV, WORKERS_ENV):
        if environ.get(name):
            return _positive_int(name, environ[name]), name
    vmargs = environ.get(VMARGS_ENV, DEFAULT_VMARGS)
    if NO_CONTAINER_SUPPORT in vmargs.split() or quota is None:
        return affinity, f"the model server's default, one per CPU the JVM sees ({affinity})"
    jvm_cpus = max(1, min(affinity, math.ceil(quota)))
    return jvm_cpus, f"the model server's default, one per CPU the JVM sees ({jvm_cpus}, quota rounded up)"


def choose_threads(environ: Mapping[str, str], affinity: int, quota: float | None) -> ThreadChoice:
    """The thread count for one worker, from the environment and the CPUs; pure, for the tests."""
    cpus = max(1, min(affinity, math.floor(quota) if quota is not None else affinity))
    workers, workers_from = model_server_workers(environ, affinity, quota)
    return ThreadChoice(max(1, cpus // workers), cpus, affinity, quota, workers, workers_from)


def in_model_server_worker() -> bool:
    return MODEL_SERVER_PACKAGE in sys.modules


def set_torch_threads(torch: Any, environ: Mapping[str, str] | None = None) -> ThreadChoice | None:
    """In a model-server worker, give torch its share of the CPUs and log the choice; elsewhere change nothing."""
    if not in_model_server_worker():
        return None
    choice = choose_threads(os.environ if environ is None else environ, affinity_cpus(), cgroup_cpu_quota())
    torch.set_num_threads(choice.threads)
    logger.info(choice.describe())
    return choice
