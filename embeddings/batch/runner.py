"""The commands: run (submit, wait, fetch), submit, status, fetch and stop.

A job is found before one is started: the name derives from the input and the settings, so the same command
twice finds the first job, waits for it if it runs, fetches it if it completed, and if it failed or was stopped
offers to re-submit only the shards without output as a follow-up job `<name>-r<n>`.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from embeddings.batch import jobs
from embeddings.batch.aws import Clients
from embeddings.batch.corpus import Corpus, opened
from embeddings.batch.errors import EXIT_INTERRUPTED, BatchError, JobFailedError, UsageError
from embeddings.batch.estimate import estimate
from embeddings.batch.job import create_request, follow_up_name, job_name, settings_of, split_name
from embeddings.batch.results import output_lines, write_output
from embeddings.batch.settings import JobSettings
from embeddings.batch.shards import Shard, bodies, checked, plan
from embeddings.batch.store import Manifest, Store
from embeddings.batch.waiting import POLL_INTERVAL_S, Pause, Watcher, wait

PROGRAM = "python -m embeddings.batch"


class WaitInterrupted(BatchError):
    """Ctrl-C while waiting: the job runs on."""

    exit_code = EXIT_INTERRUPTED


@dataclass
class Context:
    """What every command needs besides its arguments; tests give their own clients, pause and terminal."""

    clients: Clients
    report: Callable[[str], None]
    watcher: Watcher
    pause: Pause
    terminal: bool
    ask: Callable[[str], bool]
    yes: bool = False
    interval_s: float = POLL_INTERVAL_S

    @property
    def region(self) -> str:
        return str(getattr(self.clients.sagemaker.meta, "region_name", None) or "the configured region")


def _confirm(ctx: Context, question: str, what: str) -> None:
    if ctx.yes:
        return
    if not ctx.terminal:
        raise UsageError(
            f"stdin or stderr is not a terminal, so nobody can answer whether to {what}; pass --yes to do it "
            "without asking"
        )
    if not ctx.ask(question):
        raise BatchError(f"nothing started: {what} declined")


@dataclass(frozen=True)
class Prepared:
    name: str
    settings: JobSettings
    records: int
    shards: list[Shard]
    corpus: Corpus
    """The texts again, for the upload: only while `prepare`'s context lasts."""


@contextmanager
def prepare(ctx: Context, source: str, settings: JobSettings) -> Iterator[Prepared]:
    """The texts read and checked, the shards planned and the job named; nothing sent yet (S3 input is read).

    The input is read in passes, never held: one to check and count, one to name the job, one (in `_start`) to
    upload. What cannot be read twice (stdin, S3) is spooled to a temporary file, removed when the context ends.
    """

    def runners_own(bucket: str, key: str) -> bool:
        return bucket == settings.bucket and key.startswith((f"input/{settings.job_prefix}", "output/"))

    with opened(source, ctx.clients.s3, runners_own) as corpus:
        records = checked(corpus, ctx.report)
        if not records:
            raise BatchError(f"INPUT {source} holds no texts: nothing to embed")
        shards = plan(records, settings.instance_count)
        yield Prepared(job_name(settings, bodies(corpus.texts(), shards)), settings, records, shards, corpus)


def _start(ctx: Context, prepared: Prepared) -> None:
    settings, name = prepared.settings, prepared.name
    facts = jobs.model_facts(ctx.clients.sagemaker, settings.model_name)
    for note in facts.notes:
        ctx.report(note)
    planned = estimate(prepared.records, settings.instance_type, settings.instance_count)
    ctx.report(
        f"job {name}: {prepared.records:,} records in {len(prepared.shards):,} shards on "
        f"{settings.instance_count} x {settings.instance_type}"
        + (f"; {planned.describe()}" if planned is not None else "")
    )
    _confirm(ctx, f"Start transform job {name}? [y/N] ", "start the transform job")
    store = Store(ctx.clients.s3, settings.bucket)
    manifest = Manifest(name, prepared.records, tuple(prepared.shards))
    store.upload(name, prepared.shards, bodies(prepared.corpus.texts(), prepared.shards), manifest)
    ctx.clients.sagemaker.create_transform_job(**create_request(name, settings, facts.tags))
    ctx.report(f"started transform job {name}")


def _job_store(ctx: Context, base: str) -> tuple[Store, Manifest, list[jobs.Attempt]]:
    found = jobs.attempts(ctx.clients.sagemaker, base)
    if not found:
        raise UsageError(f"JOB is {base!r}: no such transform job in {ctx.region} (`{PROGRAM} submit` prints names)")
    first = jobs.describe(ctx.clients.sagemaker, found[0].name)
    store = Store(ctx.clients.s3, settings_of(first, "").bucket)
    manifest = store.manifest(base)
    if manifest is None:
        raise BatchError(f"job {base} has no manifest at {store.url(f'input/{base}.manifest.json')}: not this runner's")
    return store, manifest, found


def _sources(
    store: Store, manifest: Manifest, found: list[jobs.Attempt]
) -> tuple[list[tuple[Shard, str]], list[Shard]]:
    """Each shard with the (latest) job that answered it, and the shards no job answered."""
    outputs = {attempt.name: store.outputs(attempt.name) for attempt in found}
    sources, missing = [], []
    for shard in manifest.shards:
        job = next((a.name for a in reversed(found) if shard.file_name in outputs[a.name]), None)
        if job is None:
            missing.append(shard)
        else:
            sources.append((shard, job))
    return sources, missing


def _why(job: dict[str, Any], missing: int, total: int, region: str) -> str:
    """Why shards have no output: the job's failure, or a job that completed without answering them."""
    if job["TransformJobStatus"] == "Completed":
        return f"transform job {job['TransformJobName']} Completed; {missing:,} of {total:,} shards have no output"
    return f"{jobs.failure(job, region)}; {missing:,} of {total:,} shards have no output"


def _resubmit(ctx: Context, store: Store, manifest: Manifest, found: list[jobs.Attempt], missing: list[Shard]) -> None:
    base = manifest.job
    latest = jobs.describe(ctx.clients.sagemaker, found[-1].name)
    ctx.report(_why(latest, len(missing), len(manifest.shards), ctx.region))
    name = follow_up_name(base, found[-1].number + 1)
    original = settings_of(jobs.describe(ctx.clients.sagemaker, base), "")
    settings = JobSettings(
        original.model_name, original.bucket, original.instance_type, min(original.instance_count, len(missing))
    )
    _confirm(ctx, f"Re-submit the {len(missing)} shards without output as job {name}? [y/N] ", "re-submit them")
    store.copy_shards(base, name, missing)
    facts = jobs.model_facts(ctx.clients.sagemaker, settings.model_name)
    ctx.clients.sagemaker.create_transform_job(**create_request(name, settings, facts.tags))
    ctx.report(f"started transform job {name} for the {len(missing)} shards without output")


def submit(ctx: Context, source: str, settings: JobSettings) -> str:
    """The job for this input and these settings: found, or started (after asking). Its base name."""
    with prepare(ctx, source, settings) as prepared:
        found = jobs.attempts(ctx.clients.sagemaker, prepared.name)
        if not found:
            _start(ctx, prepared)
            return prepared.name
    latest = found[-1]
    ctx.report(f"job {latest.name} for this input and settings exists already: {latest.status}")
    if latest.status in jobs.ENDED:
        store, manifest, found = _job_store(ctx, prepared.name)
        _, missing = _sources(store, manifest, found)
        if missing:
            _resubmit(ctx, store, manifest, found, missing)
    return prepared.name


def _wait(ctx: Context, store: Store, name: str) -> dict[str, Any]:
    shards = store.inputs(name)
    try:
        return wait(ctx.clients.sagemaker, store, name, shards, ctx.watcher, ctx.pause, ctx.interval_s)
    except KeyboardInterrupt:
        base, _ = split_name(name)
        raise WaitInterrupted(
            f"interrupted: transform job {name} keeps running; wait for it again with `{PROGRAM} fetch {base} -o "
            f"OUTPUT` (or look with `{PROGRAM} status {base}`), or stop it with `{PROGRAM} stop {base}`"
        ) from None


def fetch(ctx: Context, job: str, output: Path) -> int:
    """Wait for the job's latest attempt, then check every answer and write OUTPUT; the number of vectors."""
    base, _ = split_name(job)
    store, manifest, found = _job_store(ctx, base)
    if found[-1].status in jobs.RUNNING:
        _wait(ctx, store, found[-1].name)
        found = jobs.attempts(ctx.clients.sagemaker, base)
    sources, missing = _sources(store, manifest, found)
    if missing:
        latest = jobs.describe(ctx.clients.sagemaker, found[-1].name)
        raise JobFailedError(
            f"{_why(latest, len(missing), len(manifest.shards), ctx.region)}: `{PROGRAM} run` with the same input "
            f"and settings (or `{PROGRAM} submit`) re-submits them as job {follow_up_name(base, found[-1].number + 1)}"
        )
    count = write_output(output, output_lines(store, sources))
    ctx.report(f"wrote {count:,} vectors to {output} (line i is the vector of text i)")
    return count


def run(ctx: Context, source: str, settings: JobSettings, output: Path) -> int:
    name = submit(ctx, source, settings)
    return fetch(ctx, name, output)


def status(ctx: Context, job: str) -> str:
    """Every attempt's status, time, output shards and failure, and the shards answered overall."""
    base, _ = split_name(job)
    store, manifest, found = _job_store(ctx, base)
    lines = []
    for attempt in found:
        described = jobs.describe(ctx.clients.sagemaker, attempt.name)
        present = len(store.outputs(attempt.name))
        line = (
            f"{attempt.name}: {described['TransformJobStatus']}, {present}/{store.inputs(attempt.name)} output shards"
        )
        if described["TransformJobStatus"] in ("Failed", "Stopped"):
            line += f"; {jobs.failure(described, ctx.region)}"
        lines.append(line)
    sources, _ = _sources(store, manifest, found)
    lines.append(f"{len(sources):,} of {len(manifest.shards):,} shards answered ({manifest.records:,} texts in all)")
    return "\n".join(lines)


def stop(ctx: Context, job: str) -> str:
    base, _ = split_name(job)
    found = jobs.attempts(ctx.clients.sagemaker, base)
    running = [attempt for attempt in found if attempt.status == "InProgress"]
    if not found:
        raise UsageError(f"JOB is {job!r}: no such transform job in {ctx.region}")
    if not running:
        return f"nothing to stop: {found[-1].name} is {found[-1].status}"
    for attempt in running:
        ctx.clients.sagemaker.stop_transform_job(TransformJobName=attempt.name)
    return f"stopping {', '.join(a.name for a in running)}; `{PROGRAM} status {base}` shows when it has stopped"


def ask_on_terminal(question: str) -> bool:
    sys.stderr.write(question)
    sys.stderr.flush()
    answer = sys.stdin.readline()
    return answer.strip().lower() in ("y", "yes")
