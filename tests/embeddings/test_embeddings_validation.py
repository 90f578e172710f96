"""Bad texts and bad settings are refused before anything is sent, with errors that derive from EmbeddingError."""

from __future__ import annotations

import math
from typing import Any

import pytest

from embeddings import (
    EmbeddingClient,
    EmbeddingError,
    InvalidSettingError,
    InvalidTextError,
    TextEncodingError,
    TextTooLargeError,
    TextTypeError,
)
from embeddings.batching import SERVERLESS_PAYLOAD_LIMIT_BYTES
from tests.embeddings.embeddings_fakes import ENDPOINT, FakeSageMaker, synthetic_container, typical_texts


@pytest.fixture
def answering(sagemaker: FakeSageMaker) -> FakeSageMaker:
    return sagemaker.answer(synthetic_container())


@pytest.mark.parametrize(
    ("bad", "index", "error_class", "message"),
    [
        ("\ud800", 1500, TextEncodingError, r"texts\[1500\] has a lone surrogate U\+D800 at character 0"),
        ("ok \udce9 ok", 1999, TextEncodingError, r"texts\[1999\] has a lone surrogate U\+DCE9 at character 3"),
        ("x" * SERVERLESS_PAYLOAD_LIMIT_BYTES, 7, TextTooLargeError, r"texts\[7\] \(4,000,000 characters\)"),
        (42, 3, TextTypeError, r"texts\[3\] is int, expected str"),
        (b"bytes", 0, TextTypeError, r"texts\[0\] is bytes, expected str; decode it first"),
        (None, 1999, TextTypeError, r"texts\[1999\] is NoneType, expected str"),
    ],
)
def test_a_bad_text_anywhere_is_refused_before_the_first_invocation(
    answering: FakeSageMaker, make_client: Any, bad: Any, index: int, error_class: type, message: str
) -> None:
    texts: list[Any] = typical_texts(2000)
    texts[index] = bad
    with pytest.raises(error_class, match=message) as caught:
        make_client().embed(texts)
    assert isinstance(caught.value, InvalidTextError) and isinstance(caught.value, EmbeddingError)
    assert caught.value.index == index
    assert answering.requests == []


def test_the_size_error_says_what_is_allowed(answering: FakeSageMaker, make_client: Any) -> None:
    with pytest.raises(TextTooLargeError, match=r"one text may take at most 3,799,9\d\d bytes as JSON") as caught:
        make_client().embed(["fine", "é" * 2_000_000])  # 2 M characters, 4 MB of UTF-8
    assert "4,000,0" in str(caught.value) and "first 256 tokens" in str(caught.value)
    assert isinstance(caught.value, ValueError)  # what callers caught before
    assert answering.requests == []


@pytest.mark.parametrize(
    ("texts", "message"),
    [("one text", "not a single string; wrap it"), (None, "got NoneType"), (42, "got int")],
)
def test_texts_must_be_a_list(answering: FakeSageMaker, make_client: Any, texts: Any, message: str) -> None:
    with pytest.raises(TextTypeError, match=message) as caught:
        make_client().embed(texts)
    assert isinstance(caught.value, TypeError) and caught.value.index is None  # what callers caught before
    assert answering.requests == []


def test_raw_invocations_are_checked_too(answering: FakeSageMaker, make_client: Any) -> None:
    with pytest.raises(TextEncodingError, match=r"texts\[1\]"):
        make_client().invoke_raw(["fine", "\udfff"])
    assert answering.requests == []


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"max_wait_s": math.nan}, "max_wait_s must be a finite number of seconds, 0 or more, got nan"),
        ({"max_wait_s": math.inf}, "max_wait_s must be .* got inf"),
        ({"max_wait_s": -1}, "max_wait_s must be .* got -1"),
        ({"max_wait_s": "60"}, "max_wait_s must be .* got '60'"),
        ({"batch_size": 0}, "batch_size must be a whole number from 1 to 256, got 0"),
        ({"batch_size": 2.5}, "batch_size must be a whole number from 1 to 256, got 2.5"),
        ({"batch_size": 257}, "batch_size must be a whole number from 1 to 256, got 257"),
        ({"batch_size": True}, "batch_size must be .* got True"),
        ({"max_payload_bytes": 10}, "max_payload_bytes must be a whole number of at least 8., got 10"),
        ({"dimension": 0}, "dimension must be .* got 0"),
        ({"backoff_base_s": math.nan}, "backoff_base_s must be .* got nan"),
        ({"backoff_cap_s": -0.5}, "backoff_cap_s must be .* got -0.5"),
        ({"pooling": "Server"}, "pooling must be one of 'auto', 'client', 'server', got 'Server'"),
        ({"endpoint_name": ""}, "endpoint_name must be 1-63 letters, digits and hyphens.* got ''"),
        ({"endpoint_name": "my_endpoint"}, "endpoint_name .* got 'my_endpoint'"),
        ({"endpoint_name": "a" * 64}, "endpoint_name .* got 'a{64}'"),
        ({"endpoint_name": None}, "endpoint_name .* got None"),
    ],
)
def test_settings_are_checked_under_the_callers_names(arguments: dict[str, Any], message: str) -> None:
    arguments = {"endpoint_name": ENDPOINT, **arguments}
    with pytest.raises(InvalidSettingError, match=message) as caught:
        EmbeddingClient(runtime_client=object(), **arguments)
    assert isinstance(caught.value, ValueError) and isinstance(caught.value, EmbeddingError)


def test_valid_edge_settings_are_accepted() -> None:
    client = EmbeddingClient("a", runtime_client=object(), batch_size=1, max_wait_s=0, pooling="server")
    assert (client.limits.max_texts, client.max_wait_s, client.pooling) == (1, 0.0, "server")
    assert EmbeddingClient("a--b-" + "c" * 58, runtime_client=object()).pooling == "auto"
