"""`make smoke` and scripts/smoke.py as processes, against moto's server (DescribeEndpoint) and the local twin
(InvokeEndpoint): it passes on a right endpoint, and on a broken one ends with exactly one line saying why."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest

from local_endpoint import DEFAULT_ENDPOINT_NAME, TwinServer
from tests.paths import PROJECT_DIR
from tests.smoke.smoke_support import (
    REGION,
    assert_one_error_line,
    fake_pulumi,
    pulumi_calls,
    run_make_smoke,
    run_smoke,
    smoke_env,
)

pytestmark = pytest.mark.process  # each test runs the smoke script or make as a process

ENV_LINES = [f"SAGEMAKER_ENDPOINT={DEFAULT_ENDPOINT_NAME}", f"DEFAULT_AWS_REGION={REGION}"]
MODEL_NAME, BATCH_BUCKET = "embedding-model-3f2a9c1", "embedding-batch-8d41e07"


def test_make_smoke_reads_the_stack_outputs_and_passes_on_the_default_endpoint(
    moto_url: str, artifact_twin: TwinServer, tmp_path: Path
) -> None:
    """The default stack end to end: outputs from the Pulumi CLI, InService from the API, the tutorial's request
    answered by the artifact's code/inference.py (`pooling: server`), the vector right, the .env lines on stdout
    and nothing else."""
    pulumi = fake_pulumi(
        tmp_path,
        {
            "endpoint_name": DEFAULT_ENDPOINT_NAME,
            "region": REGION,
            "pooling": "server",
            "precision": "fp32",
            "model_id": "sentence-transformers/all-MiniLM-L6-v2",
            "model_name": MODEL_NAME,
            "batch_bucket": BATCH_BUCKET,
        },
    )
    env = smoke_env(sagemaker_url=moto_url, runtime_url=artifact_twin.url)
    env["PATH"] = f"{pulumi}:{env['PATH']}"

    result = run_make_smoke("STACK=ci", env=env)

    stack_lines = [*ENV_LINES, f"SAGEMAKER_MODEL_NAME={MODEL_NAME}", f"EMBEDDINGS_BATCH_BUCKET={BATCH_BUCKET}"]
    assert (result.returncode, result.stdout.splitlines()) == (0, stack_lines), result.stderr
    assert pulumi_calls(pulumi) == ["stack output --json --stack ci|file://~"]  # make deploy's default backend
    stderr = result.stderr
    assert f"endpoint {DEFAULT_ENDPOINT_NAME} (from stack ci) in {REGION} (from stack ci)" in stderr
    assert "pooling server (from stack ci), precision fp32" in stderr
    assert f"endpoint {DEFAULT_ENDPOINT_NAME} is InService" in stderr
    assert "vector OK: 384 finite numbers, norm 1.000000, cosine 1.000000" in stderr
    assert "latency: first call" in stderr and "warm call" in stderr
    assert "error" not in stderr


def test_make_smoke_with_pooling_client_mean_pools_the_token_vectors(
    pipeline_twin: TwinServer, closed_port: int
) -> None:
    """ENDPOINT/REGION/POOLING as make variables, no Pulumi CLI needed; --no-wait makes no DescribeEndpoint call
    (the SageMaker API's URL refuses connections, and it still passes)."""
    env = smoke_env(sagemaker_url=f"http://127.0.0.1:{closed_port}", runtime_url=pipeline_twin.url)

    result = run_make_smoke(
        f"ENDPOINT={DEFAULT_ENDPOINT_NAME}", f"REGION={REGION}", "POOLING=client", "SMOKE_ARGS=--no-wait", env=env
    )

    assert (result.returncode, result.stdout.splitlines()) == (0, ENV_LINES), result.stderr
    assert "pooling client (from POOLING)" in result.stderr
    assert "mean-pooled result[0]'s 5 token vectors" in result.stderr  # [CLS] vectorize me [SEP]: 5 tokens
    assert "cosine 1.000000" in result.stderr


def test_a_container_answering_the_cls_vector_fails_on_the_vector(moto_url: str, pipeline_twin: TwinServer) -> None:
    """(a) The plain pipeline read as `pooling: server`: result[0][0] is the [CLS] token's vector, 384 finite
    numbers but neither unit length nor the sentence's direction."""
    env = smoke_env(sagemaker_url=moto_url, runtime_url=pipeline_twin.url)

    result = run_smoke("--endpoint", DEFAULT_ENDPOINT_NAME, "--region", REGION, "--pooling", "server", env=env)

    line = assert_one_error_line(result, 1, "wrong vector: result[0][0] is not", "POOLING=client")
    assert "is InService" in result.stderr  # it got as far as the answer
    norm = float(line.split("norm ", 1)[1].split()[0])
    cosine = float(line.split("cosine ", 1)[1].split()[0])
    assert abs(norm - 1) > 0.5 and cosine < 0.9


def test_a_wrong_endpoint_name_fails_at_once(moto_url: str, artifact_twin: TwinServer) -> None:
    """(b) DescribeEndpoint says it does not exist: exit 3, no waiting, no invocation."""
    env = smoke_env(sagemaker_url=moto_url, runtime_url=artifact_twin.url)

    result = run_smoke("--endpoint", "alex-embeding-endpoint", "--region", REGION, env=env)

    assert_one_error_line(result, 3, f"endpoint alex-embeding-endpoint not found in {REGION} (DescribeEndpoint:")
    assert len(result.stderr.splitlines()) == 2  # what it checks, then the error: no polling, no invocation


def test_nothing_listening_for_the_sagemaker_api_fails_without_retrying(
    closed_port: int, artifact_twin: TwinServer
) -> None:
    """(c) Connection refused on DescribeEndpoint: one line naming the URL, no second attempt."""
    url = f"http://127.0.0.1:{closed_port}"
    env = smoke_env(sagemaker_url=url, runtime_url=artifact_twin.url)

    result = run_smoke("--endpoint", DEFAULT_ENDPOINT_NAME, "--region", REGION, env=env)

    assert_one_error_line(result, 3, "cannot reach the SageMaker API", url, "AWS_ENDPOINT_URL_SAGEMAKER")
    assert len(result.stderr.splitlines()) == 2  # what it checks, then the error: one DescribeEndpoint call


def test_nothing_listening_for_the_runtime_api_fails_without_retrying(moto_url: str, closed_port: int) -> None:
    """(c) The endpoint is InService but its runtime URL refuses connections: one attempt, one line."""
    url = f"http://127.0.0.1:{closed_port}"
    env = smoke_env(sagemaker_url=moto_url, runtime_url=url)

    result = run_smoke("--endpoint", DEFAULT_ENDPOINT_NAME, "--region", REGION, env=env)

    assert_one_error_line(result, 3, "cannot reach the SageMaker Runtime API", url)
    assert "retrying" not in result.stderr


def test_no_credentials_fails_in_one_line_saying_how_to_give_them(closed_port: int) -> None:
    """No key, no profile, no instance role: botocore finds nothing, before any connection is made."""
    env = smoke_env(sagemaker_url=f"http://127.0.0.1:{closed_port}", runtime_url=f"http://127.0.0.1:{closed_port}")
    del env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"]

    result = run_smoke("--endpoint", DEFAULT_ENDPOINT_NAME, "--region", REGION, env=env)

    assert_one_error_line(result, 3, "no usable AWS credentials", "aws configure")


def test_make_smoke_fails_with_makes_status_and_the_script_run_directly_with_its_own(closed_port: int) -> None:
    """make ends with 2 for any failed recipe, so docs/smoke.md's exit table holds for the script run directly: the
    docs say what `make smoke` returns and show that command. make's last line names the script's status."""
    doc = (PROJECT_DIR / "docs" / "smoke.md").read_text(encoding="utf-8")
    stated = re.search(r"`make smoke` exits 0 on a pass and (\d+) on any failure", doc)
    shown = re.search(r"^\s*\.venv/bin/python scripts/smoke\.py (.+)$", doc, flags=re.M)
    assert stated and shown, "docs/smoke.md says neither what make smoke returns nor how to get the script's status"
    url = f"http://127.0.0.1:{closed_port}"
    env = smoke_env(sagemaker_url=url, runtime_url=url)  # nothing listening: the script's status is 3

    made = run_make_smoke(f"ENDPOINT={DEFAULT_ENDPOINT_NAME}", f"REGION={REGION}", "SMOKE_ARGS=--no-wait", env=env)
    direct = run_smoke(*shlex.split(shown[1].split("#")[0]), env=env)

    assert direct.returncode == 3, direct.stderr
    assert made.returncode == int(stated[1]) == 2, made.stderr
    assert made.stderr.rstrip().endswith("Error 3"), made.stderr
