"""What the two end-to-end Batch Transform tests share: a user's shell against moto's S3 and the twin's transform
jobs (the in-process model in tests/embeddings, the container's own serving stack in serving_stack_tests), and the
checks that hold whichever serves: a second run finds the first job, and the bulk client agrees."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import numpy as np

from tests.paths import PROJECT_DIR

REGION = "us-east-1"
BUCKET = "batch"
MODEL = "alex-embedding-model"
MAX_ROUNDING = 1e-6
"""The largest difference between a component of a text's bulk vector and its batch vector: the handler pads each
text to the longest of its sub-batch, and requests and mini-batches group texts differently."""
DUMMY_CREDENTIALS = {"AWS_ACCESS_KEY_ID": "local", "AWS_SECRET_ACCESS_KEY": "local", "AWS_DEFAULT_REGION": REGION}


@dataclass(frozen=True)
class Offline:
    """The two servers and the environment a user's shell would have: the variables and dummy credentials."""

    env: dict[str, str]
    python: str
    run_timeout_s: float
    twin_log: Path | None = None
    """Where the twin writes, when it runs with its output in a file (the serving-stack test's)."""

    def client(self, service: str) -> Any:
        session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION)
        variable = "AWS_ENDPOINT_URL_S3" if service == "s3" else "AWS_ENDPOINT_URL_SAGEMAKER"
        return session.client(service, endpoint_url=self.env[variable])

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [self.python, *args],
            cwd=PROJECT_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=self.run_timeout_s,
            check=False,
        )


def vectors(path: Path) -> Any:
    return np.array([json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()], dtype=np.float64)


def runner(source: Path, output: Path) -> tuple[str, ...]:
    return ("-m", "embeddings.batch", "run", str(source), "-o", str(output), "--model-name", MODEL, "--bucket", BUCKET)


def assert_a_second_run_finds_the_job_and_the_bulk_client_agrees(
    offline: Offline, source: Path, first: Path, folder: Path
) -> None:
    """After a first `run` wrote `first`: the same command starts no job and writes the same bytes, and
    `python -m embeddings --file` through the same twin gives the same vectors within float rounding."""
    second, bulk = folder / "second.jsonl", folder / "bulk.jsonl"

    again = offline.run(*runner(source, second), "--yes")

    assert again.returncode == 0, again.stderr
    assert "for this input and settings exists already: Completed" in again.stderr
    assert "started" not in again.stderr
    jobs = offline.client("sagemaker").list_transform_jobs()["TransformJobSummaries"]
    assert [job["TransformJobStatus"] for job in jobs] == ["Completed"]
    assert second.read_bytes() == first.read_bytes()

    client = offline.run(
        "-m", "embeddings", "--max-concurrency", "2", "--file", str(source), "-o", str(bulk), "--jsonl"
    )
    assert client.returncode == 0, client.stderr
    assert float(np.abs(vectors(bulk) - vectors(first)).max()) <= MAX_ROUNDING
