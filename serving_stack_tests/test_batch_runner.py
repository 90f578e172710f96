"""`python -m embeddings.batch run` against the twin's transform jobs on the container's own serving stack: the
program's model.tar.gz and model environment (the artifact-server case), plus the variables a transform job sets,
served by the toolkit and multi-model-server; S3 is moto's standalone server.

Everything runs as a user runs it, each in the main venv: moto_server, `python -m local_endpoint --transform-jobs
--serving-stack` (whose stack runs in this venv) and the runner, pointed at them by AWS_ENDPOINT_URL_S3 and
AWS_ENDPOINT_URL_SAGEMAKER. The corpus is small (~170 lines, one mini-batch) to keep CI's cost low; the 1 MB
request itself is test_batch_transform.py's.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from serving_stack_tests.cases import BATCH_ENVIRONMENT, RenderedCases, batch_text
from serving_stack_tests.conftest import main_python
from tests.batch_offline import (
    BUCKET,
    DUMMY_CREDENTIALS,
    Offline,
    assert_a_second_run_finds_the_job_and_the_bulk_client_agrees,
    runner,
    vectors,
)
from tests.moto_process import moto_server
from tests.paths import PROJECT_DIR

STARTUP_TIMEOUT_S = 300.0
RUN_TIMEOUT_S = 900.0  # a guard against a hang, not a measurement
MIN_COSINE = 0.9999
# The first 160 texts of the Batch Transform corpus, and the ones with what a corpus holds besides: non-ASCII
# (500, 1500), the empty text, a blank line in the file (1234), and a text past the model's 256 tokens (4321).
INDICES = [*range(160), 500, 1234, 1500, 3734, 4321]


def log_tail(offline: Offline) -> str:
    return offline.twin_log.read_text()[-3000:] if offline.twin_log else ""


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
        **DUMMY_CREDENTIALS,
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
            offline = Offline(env, str(main_python()), RUN_TIMEOUT_S, twin_log=log)
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


def test_the_runner_embeds_a_corpus_on_the_serving_stack_in_input_order_once(
    offline: Offline, batch_references: Any, tmp_path: Path
) -> None:
    source = tmp_path / "corpus.txt"
    source.write_text("".join(batch_text(index) + "\n" for index in INDICES), encoding="utf-8")
    first = tmp_path / "first.jsonl"

    ran = offline.run(*runner(source, first), "--yes")

    assert ran.returncode == 0, f"{ran.stderr}\n{log_tail(offline)}"
    assert "started transform job" in ran.stderr
    assert "warning" not in ran.stderr, "the model's environment is the program's"
    batch = vectors(first)
    expected = batch_references[INDICES].astype(np.float64)
    assert batch.shape == expected.shape
    cosines = (batch * expected).sum(axis=1) / np.linalg.norm(expected, axis=1)
    assert float(cosines.min()) >= MIN_COSINE, (INDICES[int(cosines.argmin())], float(cosines.min()))
    assert_a_second_run_finds_the_job_and_the_bulk_client_agrees(offline, source, first, tmp_path)
