"""Every vector is checked before it is handed out: finite, not zero, unit length; a bad one names its text.

A unit vector is what callers store and compare with dot products, so an answer that cannot become one (all
zeros, a length that overflows a float, a length below the floor that counts as zero) is an error, never a list
of zeros or of 1e-288s.
"""

from __future__ import annotations

import json
import math
from typing import Any

import pytest

from embeddings import InvalidVectorError, ResponseShapeError
from embeddings.__main__ import main
from embeddings.pooling import ZERO_NORM_FLOOR, sentence_vector
from tests.embeddings.embeddings_fakes import DIMENSION, ENDPOINT, FakeSageMaker, ok_json, request_json, unit

THREE_FOUR = [3.0, 4.0] + [0.0] * (DIMENSION - 2)


def scaled(scale: float) -> list[float]:
    return [x * scale for x in THREE_FOUR]


def answering_for(bad_text: str, bad_answer: list[float]) -> Any:
    """A pooling endpoint that answers `bad_answer` for `bad_text` and a good vector for every other text."""

    def respond(request: Any) -> Any:
        return ok_json([[bad_answer if text == bad_text else THREE_FOUR] for text in request_json(request)["inputs"]])(
            request
        )

    return respond


@pytest.mark.parametrize("scale", [1e-11, 1e-5, 1.0, 1e5, 1e200, 1e300])
def test_any_usable_length_gives_the_same_unit_vector(scale: float) -> None:
    vector = sentence_vector([scaled(scale)], DIMENSION)
    assert math.isclose(math.hypot(*vector), 1.0, abs_tol=1e-12)
    assert vector[:2] == pytest.approx([0.6, 0.8], abs=1e-12)


def test_token_vectors_whose_sum_overflows_still_average() -> None:
    """Two finite token vectors of 1e308 sum to infinity; their mean is finite and so is its direction."""
    token = [1e308, 1e308] + [0.0] * (DIMENSION - 2)
    vector = sentence_vector([[token, token]], DIMENSION)
    assert vector[:2] == pytest.approx([2**-0.5, 2**-0.5])


@pytest.mark.parametrize(
    ("answer", "message"),
    [
        ([0.0] * DIMENSION, r"all zeros"),
        (scaled(1e-300), r"length 5e-300 is below 1e-12"),
        (scaled(1e-13), r"length 5e-13 is below 1e-12"),
        ([1.5e308] * DIMENSION, r"length overflows a float"),
        ([math.nan, *THREE_FOUR[1:]], r"non-finite"),
        ([math.inf, *THREE_FOUR[1:]], r"non-finite"),
    ],
    ids=["zeros", "1e-300", "1e-13", "1.5e308", "nan", "inf"],
)
def test_an_answer_that_is_no_unit_vector_is_an_error_naming_the_text(
    sagemaker: FakeSageMaker, make_client: Any, answer: list[float], message: str
) -> None:
    texts = [f"text {i}" for i in range(5)]
    sagemaker.answer(answering_for("text 3", answer))

    with pytest.raises(InvalidVectorError, match=message) as caught:
        make_client(batch_size=2, pooling="server").embed(texts)

    error = caught.value
    assert isinstance(error, ResponseShapeError)
    assert error.index == 3
    assert str(error).startswith(f"endpoint {ENDPOINT!r}: text 3: ")


def test_the_floor_is_the_reference_models_epsilon() -> None:
    """sentence-transformers normalises with torch's eps 1e-12: below it, it would not answer a unit vector."""
    assert ZERO_NORM_FLOOR == 1e-12
    assert sentence_vector([scaled(ZERO_NORM_FLOOR)], DIMENSION)[:2] == pytest.approx([0.6, 0.8])


def test_the_cli_fails_on_an_all_zero_answer(sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str]) -> None:
    sagemaker.answer(ok_json([[[0.0] * DIMENSION]]))

    code = main(["vectorize me", "--quiet"], runtime_client=sagemaker.runtime_client)

    out, err = capsys.readouterr()
    assert (code, out) == (1, "")
    assert err.startswith(f"error: endpoint {ENDPOINT!r}: text 0: ") and "all zeros" in err


def test_the_cli_prints_a_unit_vector_for_a_huge_answer(
    sagemaker: FakeSageMaker, capsys: pytest.CaptureFixture[str]
) -> None:
    sagemaker.answer(ok_json([[scaled(1e200)]]))

    assert main(["vectorize me", "--quiet"], runtime_client=sagemaker.runtime_client) == 0

    vector = json.loads(capsys.readouterr().out)
    assert vector == pytest.approx(unit(THREE_FOUR))
