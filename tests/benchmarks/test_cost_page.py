"""docs/cost.md is computed, not typed: its block is what the report makes of the inputs it holds, at today's
prices, and its picture is drawn from the same figures."""

from __future__ import annotations

import dataclasses
import io
import json
import shutil
from pathlib import Path
from typing import Any

import numpy
import pytest

from benchmarks import bench_cost, cost_chart, cost_report, prices
from benchmarks.bench_cost import END_MARKER, INPUTS_PREFIX, START_MARKER, Inputs, read_inputs
from benchmarks.cost_model import Workload, break_evens
from tests.benchmarks.test_cost_model import with_provisioned
from tests.paths import PROJECT_DIR

PAGE = PROJECT_DIR / "docs" / "cost.md"
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"
# matplotlib builds its font cache on first use, running fontconfig's `fc-list`: a test that draws starts a process.
draws = pytest.mark.process


@pytest.fixture
def cited(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """The page as committed is priced with the cited prices: a price_list.json left by a fetch is not the repo's."""
    monkeypatch.setattr(prices, "PRICE_LIST_FILE", tmp_path / "absent.json")


def page_block(text: str) -> str:
    return text[text.index(START_MARKER) : text.index(END_MARKER) + len(END_MARKER)]


def test_the_committed_page_is_what_its_inputs_and_the_prices_make(cited: None) -> None:
    inputs = read_inputs(PAGE)
    expected = "\n".join(
        [START_MARKER, f"{INPUTS_PREFIX}{inputs.to_json()} -->", "", cost_report.render(inputs), END_MARKER]
    )
    assert page_block(PAGE.read_text(encoding="utf-8")) == expected, "rerun `make cost` (or --inputs docs/cost.md)"
    assert (PAGE.parent / bench_cost.CHART_NAME).read_bytes().startswith(PNG_SIGNATURE)


def test_the_page_holds_every_measured_shape_on_the_machine_and_on_one_vcpu() -> None:
    inputs = read_inputs(PAGE)
    for vcpus in (inputs.machine_vcpus, 1):
        for tokens in bench_cost.TOKEN_LENGTHS:
            for size in bench_cost.REQUEST_SIZES:
                workload = inputs.workload(tokens, size, vcpus)
                assert workload.seconds_per_request > 0 and workload.answer_bytes > 0
    assert inputs.machine_vcpus > 1


def test_a_changed_price_changes_the_page(cited: None) -> None:
    inputs = read_inputs(PAGE)
    cheaper = dataclasses.replace(
        prices.CITED, hosting_instance=dataclasses.replace(prices.CITED.hosting_instance, usd=0.05)
    )
    before, after = cost_report.render(inputs), cost_report.render(inputs, cheaper)
    assert "| ml.m5.large, 1 instance |" in after and "$36.50 |" in after
    assert before != after


def test_without_provisioned_prices_its_rows_are_blank_and_with_them_they_are_priced(cited: None) -> None:
    inputs = read_inputs(PAGE)
    blank = cost_report.render(inputs)
    assert "| serverless 3 GB, provisioned concurrency 1, 24/7 | - | - | - | no price" in blank
    assert "Provisioned concurrency is left out" in blank
    priced = cost_report.render(inputs, with_provisioned(prices.CITED))
    row = next(
        line for line in priced.splitlines() if line.startswith("| serverless 3 GB, provisioned concurrency 1, 24/7")
    )
    assert "- |" not in row and "$" in row
    office = "serverless 3 GB, provisioned concurrency 2 in office hours, 1 otherwise"
    assert office in priced.split("#### Which wins")[1]
    assert "Provisioned concurrency is left out" not in priced


def test_the_scenarios_name_the_cheapest_option_and_the_factor_to_the_next() -> None:
    choices = [cost_report.Choice("b", 3.0), cost_report.Choice("a", 1.5), cost_report.Choice("c", 30.0)]
    assert cost_report.ranking(choices) == (
        "**a wins at $1.50**, 2.0x cheaper than the next, b ($3.00). The others: c $30.00."
    )
    assert cost_report.ranking(choices[:2]) == "**a wins at $1.50**, 2.0x cheaper than the next, b ($3.00)."


@draws
def test_the_picture_draws_a_line_per_option_and_marks_the_tables_break_evens(cited: None, tmp_path: Path) -> None:
    inputs = read_inputs(PAGE)
    assumptions = cost_report.assumptions_for(inputs)
    panels = cost_chart.panels(inputs, prices.CITED, assumptions)
    options = cost_report.chart_options(prices.CITED, assumptions, inputs)
    assert [panel.tokens for panel in panels] == [32, 256]
    for panel in panels:
        assert set(panel.lines) == {option.name for option in options}
        assert panel.points == break_evens(options, inputs.workload(panel.tokens, 1), cost_chart.LOW, cost_chart.HIGH)
        assert panel.points, "the picture would mark no break-even"
    first, second = tmp_path / "a.png", tmp_path / "b.png"
    cost_chart.draw(inputs, first, prices.CITED)
    cost_chart.draw(inputs, second, prices.CITED)
    assert first.read_bytes().startswith(PNG_SIGNATURE)
    assert first.read_bytes() == second.read_bytes(), "the same figures must draw the same bytes (no churn in git)"


@draws
def test_recomputing_from_a_page_writes_the_block_and_the_picture_beside_it(
    cited: None, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    page = tmp_path / "cost.md"
    shutil.copy(PAGE, page)
    text = page.read_text(encoding="utf-8")
    page.write_text(text.replace(page_block(text), f"{START_MARKER}\n{END_MARKER}"), encoding="utf-8")
    assert bench_cost.main(["--inputs", str(PAGE), "--write", str(page)]) == 0
    assert page.read_text(encoding="utf-8") == text
    assert (tmp_path / bench_cost.CHART_NAME).read_bytes().startswith(PNG_SIGNATURE)
    assert "#### Cost per million embeddings" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--repeats", "0"], "--repeats 0: must be 1 or more"),
        (["--write", "nowhere.md"], "--write nowhere.md: no such file"),
        (["--inputs", "nowhere.md"], "--inputs nowhere.md: no such file"),
    ],
)
def test_bad_options_exit_2_naming_the_value(argv: list[str], message: str, capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        bench_cost.main(argv)
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_a_page_without_markers_or_inputs_is_refused_by_name(tmp_path: Path) -> None:
    page = tmp_path / "cost.md"
    page.write_text("# no markers\n", encoding="utf-8")
    with pytest.raises(SystemExit, match=f"{page} holds no"):
        read_inputs(page)
    with pytest.raises(SystemExit, match=f"bench_cost.py: {page} needs exactly one <!-- cost:start --> line"):
        bench_cost.publish(read_inputs(PAGE), page)


class FakeStack:
    """Answers as the serving stack does with server pooling: one npy row of 384 float32 per text."""

    def __init__(self) -> None:
        self.bodies: list[dict[str, Any]] = []

    def invoke(self, body: bytes, content_type: str, accept: str) -> Any:
        assert (content_type, accept) == ("application/json", "application/x-npy")
        texts = json.loads(body)["inputs"]
        self.bodies.append(texts)
        buffer = io.BytesIO()
        numpy.save(buffer, numpy.zeros((len(texts), 384), dtype=numpy.float32))
        return type("Response", (), {"status": 200, "body": buffer.getvalue()})()


class WordTokenizer:
    """One id per word: enough to hold texts_of_exactly to its count without the model."""

    def __call__(self, text: str, add_special_tokens: bool = True, verbose: bool = True) -> dict[str, list[int]]:
        ids = [len(word) for word in text.split()]
        return {"input_ids": [101, *ids, 102] if add_special_tokens else ids}

    def decode(self, ids: list[int]) -> str:
        return " ".join("w" * max(1, value) for value in ids)


def test_measuring_sends_each_shape_as_the_client_does_and_records_bytes_and_vcpus() -> None:
    stack = FakeStack()
    workloads = bench_cost.measure_workloads(stack, 1, WordTokenizer(), 1, lambda message: None)
    shapes = [(w.tokens, w.texts_per_request, w.vcpus) for w in workloads]
    assert shapes == [(32, 1, 1), (32, 32, 1), (256, 1, 1), (256, 32, 1)]
    assert all(isinstance(w, Workload) and w.seconds_per_request > 0 for w in workloads)
    single = workloads[0]
    assert single.answer_bytes == 128 + 384 * 4  # npy header and one float32 row
    # a warm-up request per shape, then 10 of one text and 2 of 32 per repeat
    assert [len(texts) for texts in stack.bodies[:14]] == [1] * 11 + [32] * 3
    assert all(len(WordTokenizer()(text)["input_ids"]) == 32 for texts in stack.bodies[:14] for text in texts)


def test_the_texts_are_exactly_their_token_count_for_the_model(minilm_dir: Path) -> None:
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(str(minilm_dir))
    for tokens in bench_cost.TOKEN_LENGTHS:
        texts = bench_cost.texts_of_exactly(tokens, 20, tokenizer)
        assert len(set(texts)) == 20
        assert {len(tokenizer(text)["input_ids"]) for text in texts} == {tokens}


def test_inputs_survive_the_page_round_trip() -> None:
    inputs = read_inputs(PAGE)
    assert Inputs.from_json(inputs.to_json()) == inputs
