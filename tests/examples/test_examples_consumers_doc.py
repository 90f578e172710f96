"""docs/consumers.md, "Using the outputs from later parts": its code runs, and its figures are the example's."""

from __future__ import annotations

import re

import pytest

from tests.examples.consumer_harness import DEV_STACK, LAMBDA_FUNCTION, LOG_GROUP, ConsumerRun, run_reading_stacks
from tests.infra.pulumi_harness import Deployment
from tests.paths import PROJECT_DIR


@pytest.fixture(scope="module")
def section() -> str:
    return (PROJECT_DIR / "docs" / "consumers.md").read_text()


def code_blocks(section: str, language: str) -> list[str]:
    return re.findall(rf"```{language}[^\n]*\n(.*?)```", section, flags=re.DOTALL)


def test_no_code_block_elides_anything(section: str) -> None:
    blocks = re.findall(r"```[^\n]*\n(.*?)```", section, flags=re.DOTALL)

    assert len(blocks) >= 3
    assert [block for block in blocks if "..." in block or "…" in block] == []


def test_the_python_snippet_is_a_program_that_reads_this_stack(section: str, producer: Deployment) -> None:
    (snippet,) = code_blocks(section, "python")

    def program() -> None:
        exec(compile(snippet, "README.md", "exec"), {"__name__": "__main__"})

    run = run_reading_stacks(program, {DEV_STACK: producer}, project="readme-consumer")

    assert run.referenced_stacks == [DEV_STACK]
    assert run.deployment.exports == {"embedding_endpoint": producer.exports["endpoint_name"]}


def test_the_figures_are_the_example_program_s(section: str, consumer: ConsumerRun) -> None:
    function = consumer.deployment.one(LAMBDA_FUNCTION).inputs
    log_group = consumer.deployment.one(LOG_GROUP).inputs
    max_wait_s = function["environment"]["variables"]["EMBEDDINGS_MAX_WAIT_S"]
    memory_mb, timeout_s = int(function["memorySize"]), int(function["timeout"])

    assert f"Python {function['runtime'].removeprefix('python')}, {function['architectures'][0]}" in section
    assert f"{memory_mb} MB, {timeout_s} s timeout" in section
    assert f"kept {int(log_group['retentionInDays'])} days" in section
    assert f"`EMBEDDINGS_MAX_WAIT_S`, {max_wait_s} s" in section
    assert log_group["name"] == "/aws/lambda/alex-ingest-lambda-dev"
    assert "`/aws/lambda/alex-ingest-lambda-<stack>`" in section
