"""How busy the machine was while a benchmark stage ran, and whether its figures can be trusted for comparisons.

The load average cannot tell: a stage's own work (torch's two threads, the serving stack's worker, the twin) keeps
two or more threads runnable, so on this 2-core machine the 1-minute load average reaches about 2 during a
benchmark on an otherwise idle machine. What spoils a comparison is CPU time taken by *other* processes while a
stage runs, so `LoadMonitor` samples, every half second:

- /proc/stat: the CPU time the whole machine spent busy (user, nice, system, irq, softirq, and steal: time the
  hypervisor gave to other virtual machines);
- /proc/<pid>/stat of this process and every process descended from it, plus every process in a session one of
  them started (the serving stack's model server runs in a session of its own and its workers outlive their
  parent): the CPU time of the benchmark itself.

Others' CPU is the difference, in cores (1.0 = one core fully used by other work for the whole time). A
descendant that exits between two samples loses its last half second to "others", which errs towards calling a
stage busy.

The rule (BUSY_MEAN_CORES, BUSY_WINDOW_CORES): a stage is busy when other work used at least 0.25 cores on
average over the stage, or at least 1 core over any 5-second window. The first catches steady competition, which
shifts every repeat alike and so survives best-of-N; the second catches a burst (another engineer's test run
takes both cores for 25 s) that can fill a short measurement such as sixty one-text latencies.

The standard library only; Linux only (elsewhere nothing is measured and no stage is marked).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

PROC = Path("/proc")
SAMPLE_INTERVAL_S = 0.5
BUSY_MEAN_CORES = 0.25
BUSY_WINDOW_CORES = 1.0
BUSY_WINDOW_S = 5.0
TICKS_PER_S = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


@dataclass(frozen=True)
class _Process:
    pid: int
    parent: int
    session: int
    ticks: int


def _processes() -> Iterator[_Process]:
    for entry in PROC.iterdir():
        if not entry.name.isdigit():
            continue
        try:
            text = (entry / "stat").read_text()
        except OSError:  # gone between the listing and the read
            continue
        # The command name, in parentheses, may hold spaces and parentheses: the fields start after the last ")".
        fields = text[text.rindex(")") + 2 :].split()
        # fields[0] is field 3 (state): ppid 4, session 6, utime 14, stime 15.
        yield _Process(int(entry.name), int(fields[1]), int(fields[3]), int(fields[11]) + int(fields[12]))


def _machine_ticks() -> tuple[int, int]:
    """(busy, steal) CPU ticks of all CPUs together since boot."""
    values = [int(value) for value in (PROC / "stat").read_text().split("\n", 1)[0].split()[1:]]
    user, nice, system, _idle, _iowait, irq, softirq, steal = (values + [0] * 8)[:8]
    return user + nice + system + irq + softirq + steal, steal


def _own_processes(root: int) -> dict[int, int]:
    """CPU ticks of `root`, its descendants, and the processes of sessions its descendants lead or joined."""
    table = {process.pid: process for process in _processes()}
    children: dict[int, list[int]] = {}
    for process in table.values():
        children.setdefault(process.parent, []).append(process.pid)
    own, pending = set[int](), [root]
    while pending:
        pid = pending.pop()
        if pid not in own:
            own.add(pid)
            pending.extend(children.get(pid, []))
    root_session = table[root].session if root in table else -1
    sessions = {table[pid].session for pid in own if pid in table} - {root_session, 0}
    own |= {process.pid for process in table.values() if process.session in sessions}
    return {pid: table[pid].ticks for pid in own if pid in table}


@dataclass(frozen=True)
class _Sample:
    at: float
    machine_busy: int
    steal: int
    own: int


@dataclass
class StageLoad:
    """What the machine did during one stage."""

    seconds: float
    cpus: int
    load_start: float
    load_max: float
    load_end: float
    own_cores: float
    others_cores: float
    others_window_cores: float
    steal_fraction: float
    measured: bool = True

    @property
    def busy(self) -> bool:
        return self.measured and (self.others_cores >= BUSY_MEAN_CORES or self.others_window_cores >= BUSY_WINDOW_CORES)

    def mark(self) -> str:
        """What follows a stage's figures: empty when the machine was quiet, else a visible warning."""
        return "**busy**" if self.busy else ""

    def describe(self) -> str:
        if not self.measured:
            return f"{self.seconds:.0f} s; load not measured (no /proc)"
        return (
            f"{self.seconds:.0f} s; other work {self.others_cores:.2f} cores on average, "
            f"{self.others_window_cores:.2f} at most over {BUSY_WINDOW_S:g} s (steal {self.steal_fraction:.1%}); "
            f"this benchmark {self.own_cores:.2f} cores; load average {self.load_start:.2f} at the start, "
            f"{self.load_max:.2f} at most"
        )


@dataclass
class LoadMonitor:
    """Samples the machine in a thread of its own from `with` to its end; `result` is then the stage's load."""

    interval_s: float = SAMPLE_INTERVAL_S
    result: StageLoad | None = None
    _samples: list[_Sample] = field(default_factory=list)
    _loads: list[float] = field(default_factory=list)
    _seen: dict[int, int] = field(default_factory=dict)
    _first: dict[int, int] = field(default_factory=dict)
    _stop: threading.Event = field(default_factory=threading.Event)
    _thread: threading.Thread | None = None
    _started: float = 0.0

    def _own_ticks(self) -> int:
        """Ticks the benchmark's processes used since the monitor started (an exited one at its last sighting)."""
        for pid, ticks in _own_processes(os.getpid()).items():
            self._first.setdefault(pid, ticks if not self._samples else 0)
            self._seen[pid] = ticks
        return sum(self._seen[pid] - self._first[pid] for pid in self._seen)

    def _sample(self) -> None:
        busy, steal = _machine_ticks()
        own = self._own_ticks()
        self._samples.append(_Sample(time.monotonic(), busy, steal, own))
        self._loads.append(os.getloadavg()[0])

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            with contextlib.suppress(OSError, ValueError, IndexError):
                self._sample()

    def __enter__(self) -> LoadMonitor:
        self._started = time.monotonic()
        try:
            self._sample()
        except (OSError, ValueError, IndexError):
            return self  # no /proc: the stage runs unmeasured
        self._thread = threading.Thread(target=self._run, name="load-monitor", daemon=True)
        self._thread.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, traceback: TracebackType | None
    ) -> None:
        seconds = time.monotonic() - self._started
        cpus = os.cpu_count() or 1
        if self._thread is None:
            load = os.getloadavg()[0] if hasattr(os, "getloadavg") else 0.0
            self.result = StageLoad(seconds, cpus, load, load, load, 0.0, 0.0, 0.0, 0.0, measured=False)
            return
        self._stop.set()
        self._thread.join()
        self._sample()
        self.result = summarise(self._samples, self._loads, seconds, cpus)


def _others_cores(first: _Sample, last: _Sample) -> float:
    elapsed = last.at - first.at
    if elapsed <= 0:
        return 0.0
    others = (last.machine_busy - first.machine_busy) - (last.own - first.own)
    return max(0.0, others / TICKS_PER_S / elapsed)


def summarise(samples: list[_Sample], loads: list[float], seconds: float, cpus: int) -> StageLoad:
    """The stage's averages from its samples, and the busiest BUSY_WINDOW_S of other work (the whole stage when
    it is shorter)."""
    first, last = samples[0], samples[-1]
    elapsed = max(last.at - first.at, 1e-9)
    window = _others_cores(first, last)
    start = 0
    for end in range(1, len(samples)):
        while samples[end].at - samples[start + 1].at >= BUSY_WINDOW_S:
            start += 1
        if samples[end].at - samples[start].at >= BUSY_WINDOW_S:
            window = max(window, _others_cores(samples[start], samples[end]))
    return StageLoad(
        seconds=seconds,
        cpus=cpus,
        load_start=loads[0],
        load_max=max(loads),
        load_end=loads[-1],
        own_cores=(last.own - first.own) / TICKS_PER_S / elapsed,
        others_cores=_others_cores(first, last),
        others_window_cores=window,
        steal_fraction=(last.steal - first.steal) / TICKS_PER_S / elapsed / cpus,
    )
