"""`python -m embeddings`, in process against the fake SageMaker, and as a subprocess without credentials."""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from embeddings.__main__ import main
from tests.embeddings.embeddings_fakes import (
    DIMENSION,
    ENDPOINT,
    FakeSageMaker,
    endpoint_not_found,
    ok_json,
    synthetic_container,
    synthetic_row,
    unit,
)
from tests.paths import PROJECT_DIR


@pytest.fixture(autouse=True)
def no_endpoint_env(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SAGEMAKER_ENDPOINT", raising=False)


def run(argv: list[str], sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str]) -> tuple[int, str, str]:
    code = main([*argv, "--quiet"], runtime_client=sagemaker.runtime_client)
    out, err = capsys.readouterr()
    return code, out, err


def test_prints_the_vector_as_json(sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str]) -> None:
    sagemaker.answer(synthetic_container())
    code, out, _ = run(["vectorize me"], sagemaker, capsys)
    vector = json.loads(out)
    assert code == 0 and len(vector) == DIMENSION
    assert math.isclose(sum(x * x for x in vector), 1.0)
    assert vector == pytest.approx(unit(synthetic_row("vectorize me")))
    assert sagemaker.requests[0].url.endswith(f"/endpoints/{ENDPOINT}/invocations")


def test_several_texts_and_a_file(sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    file = tmp_path / "texts.txt"
    file.write_text("from the file\nsecond line\n", encoding="utf-8")
    sagemaker.answer(synthetic_container())
    code, out, _ = run(["one", "two", "--file", str(file)], sagemaker, capsys)
    vectors = json.loads(out)
    assert code == 0
    texts = ["one", "two", "from the file", "second line"]
    assert vectors == [pytest.approx(unit(synthetic_row(t))) for t in texts]
    assert sagemaker.request_bodies[0]["inputs"] == texts


def test_raw_shows_the_containers_answer(sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str]) -> None:
    answer = [[[[0.5, -0.25], [0.125, 1.0]]]]
    sagemaker.answer(ok_json(answer))
    code, out, _ = run(["hi", "--raw"], sagemaker, capsys)
    assert code == 0 and json.loads(out) == answer


def test_endpoint_name_from_the_environment_and_the_option(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    sagemaker.answer(synthetic_container())
    monkeypatch.setenv("SAGEMAKER_ENDPOINT", "from-env")
    run(["x"], sagemaker, capsys)
    run(["x", "--endpoint-name", "from-option"], sagemaker, capsys)
    paths = [request.url.split(".com", 1)[1] for request in sagemaker.requests]
    assert paths == ["/endpoints/from-env/invocations", "/endpoints/from-option/invocations"]


def test_endpoint_errors_are_reported_on_stderr(sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str]) -> None:
    sagemaker.answer(endpoint_not_found())
    code, out, err = run(["x"], sagemaker, capsys)
    assert code == 1 and out == ""
    assert err.startswith("error: endpoint 'alex-embedding-endpoint'") and "not found" in err


@pytest.mark.process
def test_without_credentials_the_message_says_so(tmp_path: Path) -> None:
    env: dict[str, Any] = {
        key: value for key, value in os.environ.items() if not key.startswith(("AWS_", "SAGEMAKER_"))
    }
    env.update(
        {
            "AWS_ACCESS_KEY_ID": "",
            "AWS_SECRET_ACCESS_KEY": "",
            "AWS_SESSION_TOKEN": "",
            "AWS_SHARED_CREDENTIALS_FILE": str(tmp_path / "no-credentials"),
            "AWS_CONFIG_FILE": str(tmp_path / "no-config"),
            "AWS_EC2_METADATA_DISABLED": "true",
            "AWS_DEFAULT_REGION": "us-east-1",
            "PYTHONPATH": str(PROJECT_DIR),
        }
    )
    result = subprocess.run(
        [sys.executable, "-m", "embeddings", "vectorize me"],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert "no usable AWS credentials" in result.stderr and "aws configure" in result.stderr
    assert ENDPOINT in result.stderr
    assert "Traceback" not in result.stderr
