"""`python -m embeddings.batch run` against the twin's transform jobs on the container's own serving stack: the
program's model.tar.gz and model environment (the artifact-server case), plus the variables a transform job sets,
served by the toolkit and multi-model-server; S3 is moto's standalone server.

Everything runs as a user runs it, each in the main venv: moto_server, `python -m local_endpoint --transform-jobs
--serving-stack` (whose stack runs in this venv) and the runner, pointed at them by AWS_ENDPOINT_URL_S3 and
AWS_ENDPOINT_URL_SAGEMAKER. The corpus is small (~170 lines, one mini-batch) to keep CI's cost low; the 1 MB
request itself is test_batch_transform.py's.
"""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import boto3
import numpy as np
import pytest

from serving_stack_tests.cases import BATCH_ENVIRONMENT, RenderedCases, batch_text
from serving_stack_tests.conftest import main_python
from tests.moto_process import moto_server
from tests.paths import PROJECT_DIR

REGION = "us-east-1"
BUCKET = "batch"
MODEL = "alex-embedding-model"
STARTUP_TIMEOUT_S = 300.0
RUN_TIMEOUT_S = 900.0  # a guard against a hang, not a measurement
MIN_COSINE = 0.9999
MAX_ROUNDING = 1e-6
# The first 160 texts of the Batch Transform corpus, and the ones with what a corpus holds besides: non-ASCII
# (500, 1500), the empty text, a blank line in the file (1234), and a text past the model's 256 tokens (4321).
INDICES = [*range(160), 500, 1234, 1500, 3734, 4321]


@dataclass(frozen=True)
class Offline:
    env: dict[str, str]
    twin_log: Path

    def client(self, service: str) -> Any:
        session = boto3.session.Session(aws_access_key_id="local", aws_secret_access_key="local", region_name=REGION)
        variable = "AWS_ENDPOINT_URL_S3" if service == "s3" else "AWS_ENDPOINT_URL_SAGEMAKER"
        return session.client(service, endpoint_url=self.env[variable])

    def run(self, *args: str) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(main_python()), *args],
            cwd=PROJECT_DIR,
            env=self.env,
            capture_output=True,
            text=True,
            timeout=RUN_TIMEOUT_S,
            check=False,
        )


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_until_serving(process: subprocess.Popen[str], log: Path) -> None:
    """Until the twin logs where it serves: it binds its port first, and serves once its stack has answered."""
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise AssertionError(f"the twin exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        if "serving endpoint(s)" in log.read_text():
            return
        time.sleep(0.5)
    raise AssertionError(f"the twin did not serve in {STARTUP_TIMEOUT_S}s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="module")
def offline(rendered: RenderedCases, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Offline]:
    case = rendered.case("artifact-server")
    case_file = rendered.folder / "cases" / "artifact-server.json"
    folder = tmp_path_factory.mktemp("batch-runner")
    log = folder / "twin.log"
    url = f"http://127.0.0.1:{free_port()}"
    dummy = {
        "AWS_ACCESS_KEY_ID": "local",
        "AWS_SECRET_ACCESS_KEY": "local",
        "AWS_DEFAULT_REGION": REGION,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    with moto_server(main_python()) as moto_url:
        env = {name: value for name, value in os.environ.items() if not name.startswith("AWS_")}
        env |= dummy | {"AWS_ENDPOINT_URL_S3": moto_url, "HF_HUB_OFFLINE": "1", "ALEX_SERVING_PYTHON": sys.executable}
        command = [
            str(main_python()),
            "-m",
            "local_endpoint",
            "--port",
            url.rsplit(":", 1)[1],
            "--transform-jobs",
            "--serving-stack",
            "--model-artifact",
            str(case.artifact),
            "--container-env-file",
            str(case_file),
            # What Batch Transform sets in the container for the runner's jobs (MaxPayloadInMB 1, MultiRecord, 1).
            *(
                argument
                for name, value in BATCH_ENVIRONMENT.items()
                for argument in ("--container-env", f"{name}={value}")
            ),
        ]
        with log.open("w") as output:
            twin = subprocess.Popen(command, cwd=PROJECT_DIR, env=env, stdout=output, stderr=output, text=True)
        try:
            wait_until_serving(twin, log)
            env |= {"AWS_ENDPOINT_URL_SAGEMAKER": url, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": url}
            offline = Offline(env, log)
            offline.client("s3").create_bucket(Bucket=BUCKET)
            yield offline
        finally:
            if twin.poll() is None:
                twin.send_signal(signal.SIGTERM)  # the twin stops its stack
                try:
                    twin.wait(timeout=60)
                except subprocess.TimeoutExpired:
                    twin.kill()
                    twin.wait()


def vectors(path: Path) -> Any:
    return np.array([json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()], dtype=np.float64)


def test_the_runner_embeds_a_corpus_on_the_serving_stack_in_input_order_once(
    offline: Offline, batch_references: Any, tmp_path: Path
) -> None:
    source = tmp_path / "corpus.txt"
    source.write_text("".join(batch_text(index) + "\n" for index in INDICES), encoding="utf-8")
    first, second, bulk = tmp_path / "first.jsonl", tmp_path / "second.jsonl", tmp_path / "bulk.jsonl"
    run = ("-m", "embeddings.batch", "run", str(source), "--model-name", MODEL, "--bucket", BUCKET, "--yes")

    ran = offline.run(*run, "-o", str(first))

    assert ran.returncode == 0, f"{ran.stderr}\n{offline.twin_log.read_text()[-3000:]}"
    assert "started transform job" in ran.stderr
    assert "warning" not in ran.stderr, "the model's environment is the program's"
    batch = vectors(first)
    expected = batch_references[INDICES].astype(np.float64)
    assert batch.shape == expected.shape
    cosines = (batch * expected).sum(axis=1) / np.linalg.norm(expected, axis=1)
    assert float(cosines.min()) >= MIN_COSINE, (INDICES[int(cosines.argmin())], float(cosines.min()))

    again = offline.run(*run, "-o", str(second))

    assert again.returncode == 0, again.stderr
    assert "for this input and settings exists already: Completed" in again.stderr
    assert "started" not in again.stderr
    jobs = offline.client("sagemaker").list_transform_jobs()["TransformJobSummaries"]
    assert [job["TransformJobStatus"] for job in jobs] == ["Completed"]
    assert second.read_bytes() == first.read_bytes()

    # The bulk client through the same twin and stack: the same vectors, within float rounding.
    client = offline.run(
        "-m", "embeddings", "--max-concurrency", "2", "--file", str(source), "-o", str(bulk), "--jsonl"
    )
    assert client.returncode == 0, client.stderr
    assert float(np.abs(vectors(bulk) - batch).max()) <= MAX_ROUNDING
