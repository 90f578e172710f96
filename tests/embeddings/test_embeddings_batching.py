"""Batch planning: every request and every (estimated) response under the budget, texts in order."""

from __future__ import annotations

from typing import Any

import pytest

from embeddings import BatchLimits, InvalidSettingError, TextTooLargeError, plan_batches
from embeddings._vocabulary import WHOLE_WORD_TOKENS
from embeddings.batching import (
    DEFAULT_PAYLOAD_BUDGET_BYTES,
    MAX_TOKENS,
    SERVERLESS_PAYLOAD_LIMIT_BYTES,
    encode_request,
    estimate_tokens,
    max_text_request_bytes,
    response_bytes_bound,
)
from tests.embeddings.embeddings_fakes import LONG_DOCUMENT, TRICKY_TEXTS, typical_texts


def test_known_words_are_single_tokens_of_the_real_vocabulary(feature_extraction_pipeline: Any) -> None:
    """The estimate counts these words as one token each; one wrong entry could make it too low."""
    words = sorted(WHOLE_WORD_TOKENS)
    encoded = feature_extraction_pipeline.tokenizer(words, add_special_tokens=False)["input_ids"]
    assert [w for w, ids in zip(words, encoded, strict=True) if len(ids) != 1] == []


def test_token_estimate_is_an_upper_bound(feature_extraction_pipeline: Any) -> None:
    tokenizer = feature_extraction_pipeline.tokenizer
    texts = [
        *TRICKY_TEXTS,
        *typical_texts(5),
        "The\u200bcat, THE cat's (the) cat—the: cat!the?cat",  # zero-width space, case, punctuation
        "dont do-not re-run e-mail it's o'clock 3.14159 1,000,000 snake_case CamelCase",
        " ".join(sorted(WHOLE_WORD_TOKENS)[:200]),
    ]
    for text in texts:
        actual = len(tokenizer(text, truncation=True, max_length=MAX_TOKENS)["input_ids"])
        assert actual <= estimate_tokens(text), text
    assert estimate_tokens("xqzvkjwq") == len(tokenizer("xqzvkjwq")["input_ids"])  # tight for gibberish
    assert estimate_tokens(LONG_DOCUMENT * 1000) == MAX_TOKENS


def _check_plan(texts: list[str], limits: BatchLimits, token_level: bool = True) -> list[Any]:
    batches = plan_batches(texts, limits, token_level=token_level)
    assert [b.start for b in batches] == [0] + [b.stop for b in batches[:-1]]
    assert batches[-1].stop == len(texts)
    for batch in batches:
        chunk = texts[batch.start : batch.stop]
        assert 1 <= len(chunk) <= limits.max_texts
        assert len(encode_request(chunk)) <= batch.request_bytes <= limits.max_request_bytes
        bound = sum(response_bytes_bound(t, token_level=token_level) for t in chunk)
        assert bound <= batch.response_bytes_bound
        assert batch.response_bytes_bound <= limits.max_response_bytes or len(chunk) == 1
    return batches


def test_one_hundred_typical_texts_take_few_invocations() -> None:
    texts = typical_texts()
    batches = _check_plan(texts, BatchLimits())
    sizes = [b.stop - b.start for b in batches]
    print(f"\n100 typical texts ({len(texts[0])} characters): {len(batches)} invocations of {sizes}")
    assert len(batches) <= 20


def test_long_texts_go_alone() -> None:
    texts = ["short one", LONG_DOCUMENT, LONG_DOCUMENT, "short two", LONG_DOCUMENT]
    batches = _check_plan(texts, BatchLimits())
    for batch in batches:
        assert texts[batch.start : batch.stop].count(LONG_DOCUMENT) <= 1
    assert response_bytes_bound(LONG_DOCUMENT, token_level=True) > DEFAULT_PAYLOAD_BUDGET_BYTES / 2


def test_batch_size_caps_the_count() -> None:
    batches = _check_plan(["a"] * 10, BatchLimits(max_texts=3))
    assert [b.stop - b.start for b in batches] == [3, 3, 3, 1]


def test_pooled_answers_only_need_the_count() -> None:
    assert [b.stop - b.start for b in _check_plan(typical_texts(), BatchLimits(), token_level=False)] == [100]
    batches = _check_plan(typical_texts(), BatchLimits(max_texts=64), token_level=False)
    assert [b.stop - b.start for b in batches] == [64, 36]


def test_request_budget_counts_utf8_bytes() -> None:
    texts = ["ö" * 1000] * 10  # 2,000 bytes each in UTF-8
    batches = _check_plan(texts, BatchLimits(max_request_bytes=10_000, max_response_bytes=10**9), False)
    assert [b.stop - b.start for b in batches] == [4, 4, 2]


def test_a_text_too_large_for_any_request_is_an_error() -> None:
    huge = "x" * SERVERLESS_PAYLOAD_LIMIT_BYTES
    with pytest.raises(TextTooLargeError, match=r"texts\[1\] .* makes a 4,000,\d+-byte request") as caught:
        plan_batches(["fine", huge], BatchLimits())
    assert isinstance(caught.value, ValueError) and caught.value.index == 1


def test_a_text_exactly_at_the_budget_fits_alone() -> None:
    limits = BatchLimits(max_request_bytes=1_000)
    allowed = max_text_request_bytes(limits.max_request_bytes)
    text = "x" * (allowed - 2)  # two quotes
    assert len(encode_request([text])) == limits.max_request_bytes - 1
    assert plan_batches([text], limits)[0].request_bytes <= limits.max_request_bytes
    with pytest.raises(TextTooLargeError, match=f"at most {allowed:,} bytes as JSON"):
        plan_batches([text + "x"], limits)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("max_texts", 0),
        ("max_texts", 2.5),
        ("max_texts", True),
        ("max_texts", 257),
        ("max_request_bytes", 10),
        ("dimension", "384"),
    ],
)
def test_limits_are_validated(field: str, value: Any) -> None:
    with pytest.raises(
        InvalidSettingError, match=f"{field} must be a whole number (of at least|from) .*, got {value!r}"
    ):
        BatchLimits(**{field: value})
