"""`python -m embeddings.batch run` end to end, as a user runs it offline: three processes on loopback, moto's
standalone server for S3, the twin with `--transform-jobs --model-artifact model_artifact` (the deployed handler,
in-process) for SageMaker's control plane, and the runner, pointed at them by AWS_ENDPOINT_URL_S3 and
AWS_ENDPOINT_URL_SAGEMAKER. The bulk client runs against the same twin, so the two outputs can be compared.

What they agree to: every line of either is within cosine 0.9999 of sentence-transformers, and the two files
differ only in float rounding (at most 1e-6 in any component; most lines are byte-identical). They are not
byte-identical because the handler pads texts to the longest of each sub-batch of 8, and the client's requests and
a transform job's mini-batches group the texts differently.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from components.constants import MAX_RESPONSE_BYTES, MAX_RESPONSE_SIZE_ENV
from tests.batch_offline import (
    BUCKET,
    DUMMY_CREDENTIALS,
    MODEL,
    Offline,
    assert_a_second_run_finds_the_job_and_the_bulk_client_agrees,
    runner,
    vectors,
)
from tests.layers import starts_processes
from tests.local_endpoint.twin_process import twin_env, twin_process
from tests.moto_process import moto_server

RUN_TIMEOUT_S = 600.0  # a guard against a hang, not a measurement
MIN_COSINE = 0.9999
LONG_TEXT = " ".join(f"word{index} of a long passage about the quarterly revenue forecast" for index in range(60))


def corpus_text(index: int) -> str:
    """A few hundred lines with what a corpus holds: blank and whitespace-only lines, texts past the model's 256
    tokens, non-ASCII (CJK, Arabic, emoji with joiners), and JSON's special characters."""
    if index % 97 == 13:
        return ""
    if index % 89 == 7:
        return "   \t  "
    if index % 61 == 5:
        return LONG_TEXT
    if index % 23 == 3:
        return f"東京は日本の首都です。 Ünïcödé “quotes” emoji 🚀👩‍👩‍👧 العربية {index}"
    if index % 29 == 11:
        return f'JSON-ish {{"inputs": "x\\\\y"}} back\\slash "quoted" tab\there {index}'
    return f"Sentence number {index} about the ingest pipeline and the search index."


@pytest.fixture(scope="module")
@starts_processes
def offline(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Offline]:
    dummy = {
        **DUMMY_CREDENTIALS,
        "AWS_CONFIG_FILE": os.devnull,
        "AWS_SHARED_CREDENTIALS_FILE": os.devnull,
    }
    with moto_server() as moto_url:
        env = {name: value for name, value in twin_env().items() if not name.startswith("AWS_")}
        env |= dummy | {"AWS_ENDPOINT_URL_S3": moto_url}
        with twin_process("--transform-jobs", "--model-artifact", "model_artifact", env=env) as twin:
            env |= {"AWS_ENDPOINT_URL_SAGEMAKER": twin.url, "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": twin.url}
            offline = Offline(env, sys.executable, RUN_TIMEOUT_S)
            offline.client("s3").create_bucket(Bucket=BUCKET)
            yield offline


@pytest.fixture(scope="module")
def corpus(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[str]]:
    texts = [corpus_text(index) for index in range(300)]
    path = tmp_path_factory.mktemp("corpus") / "corpus.txt"
    # One line ends in \r\n, as a file from Windows does: both readers take the text without the \r.
    path.write_bytes(b"".join(text.encode() + (b"\r\n" if index == 42 else b"\n") for index, text in enumerate(texts)))
    return path, texts


def test_a_corpus_runs_through_a_transform_job_in_input_order_and_a_second_run_finds_the_job(
    offline: Offline, corpus: tuple[Path, list[str]], tmp_path: Path, sentence_transformer: Any
) -> None:
    source, texts = corpus
    first = tmp_path / "first.jsonl"

    ran = offline.run(*runner(source, first), "--yes")

    assert ran.returncode == 0, ran.stderr
    assert "started transform job" in ran.stderr
    assert "warning" not in ran.stderr, "the twin's model has the environment the program deploys"
    batch = vectors(first)
    expected = sentence_transformer.encode(texts, normalize_embeddings=True, convert_to_numpy=True)
    assert batch.shape == (len(texts), 384)
    assert float((batch * expected).sum(axis=1).min()) >= MIN_COSINE
    assert_a_second_run_finds_the_job_and_the_bulk_client_agrees(offline, source, first, tmp_path)


def test_the_twins_model_shows_the_environment_the_program_deploys(offline: Offline) -> None:
    model = offline.client("sagemaker").describe_model(ModelName=MODEL)

    assert model["PrimaryContainer"]["Environment"] == {
        "HF_TASK": "feature-extraction",
        MAX_RESPONSE_SIZE_ENV: str(MAX_RESPONSE_BYTES),
    }
