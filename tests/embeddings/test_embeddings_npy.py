"""Server pooling asks for float32 .npy answers, reads them without numpy, and falls back to JSON for an endpoint
deployed before it served them; `client` and `auto` ask for JSON."""

from __future__ import annotations

import struct
from array import array
from typing import Any

import pytest
from botocore.awsrequest import AWSPreparedRequest, AWSResponse

from embeddings import PermanentEndpointError, ResponseShapeError
from embeddings.npy import read_matrix
from tests.embeddings.embeddings_fakes import (
    DIMENSION,
    FakeSageMaker,
    float32_unit_row,
    http_response,
    model_error,
    pooled_container,
    request_json,
    synthetic_container,
    typical_texts,
)

NPY = "application/x-npy"
JSON = "application/json"
# What inference.py answered to Accept application/x-npy before it served npy, as the model server's Gson body.
OLD_HANDLER_REFUSAL = (
    '{\n  "code": 400,\n  "type": "InternalServerException",\n  "message": "Accept \\u0027application/x-npy\\u0027 '
    "is not supported: this endpoint answers application/json (application/jsonlines only to a Content-Type "
    'application/jsonlines request)"\n}\n'
)


def npy_bytes(rows: list[list[float]], descr: str = "<f4", fortran: bool = False, shape: Any = None) -> bytes:
    """numpy.save's version 1.0 layout: magic, version, header length, the header padded to 64 bytes, the data."""
    shape = (len(rows), len(rows[0]) if rows else DIMENSION) if shape is None else shape
    header = f"{{'descr': '{descr}', 'fortran_order': {fortran}, 'shape': {shape}, }}"
    header += " " * (63 - (10 + len(header)) % 64) + "\n"
    values = array("f", [value for row in rows for value in row])
    if descr == ">f4":
        values.byteswap()
    return b"\x93NUMPY\x01\x00" + struct.pack("<H", len(header)) + header.encode("latin-1") + values.tobytes()


def npy_container() -> Any:
    """An endpoint that pools on the server and answers npy to Accept application/x-npy, JSON otherwise."""
    json_answer = pooled_container()

    def respond(request: AWSPreparedRequest) -> AWSResponse:
        if request.headers["Accept"] != NPY.encode():
            return json_answer(request)
        rows = [float32_unit_row(text) for text in request_json(request)["inputs"]]
        return http_response(200, npy_bytes(rows), {"Content-Type": NPY})(request)

    return respond


def accepts(sagemaker: FakeSageMaker) -> list[str]:
    return [request.headers["Accept"].decode() for request in sagemaker.requests]


def test_server_pooling_asks_for_npy_and_gets_the_json_answers_vectors(
    sagemaker: FakeSageMaker, make_client: Any
) -> None:
    texts = typical_texts(5)
    sagemaker.answer(pooled_container())
    from_json = make_client(pooling="auto").embed(texts)
    sagemaker.answer(npy_container())

    from_npy = make_client(pooling="server").embed(texts)

    assert accepts(sagemaker) == [JSON, NPY]
    assert from_npy == from_json  # the same floats, to the last bit
    assert sagemaker.response_sizes[-1] == 128 + 4 * DIMENSION * len(texts)


@pytest.mark.parametrize("pooling", ["auto", "client"])
def test_auto_and_client_pooling_ask_for_json(sagemaker: FakeSageMaker, make_client: Any, pooling: str) -> None:
    sagemaker.answer(npy_container())

    make_client(pooling=pooling).embed(typical_texts(3))

    assert set(accepts(sagemaker)) == {JSON}


def test_an_endpoint_that_refuses_npy_is_asked_for_json_at_once_and_from_then_on(
    sagemaker: FakeSageMaker, make_client: Any
) -> None:
    sagemaker.answer(model_error(400, OLD_HANDLER_REFUSAL), pooled_container())
    client = make_client(pooling="server")

    first = client.embed(typical_texts(3))
    second = client.embed(typical_texts(3))

    assert accepts(sagemaker) == [NPY, JSON, JSON]
    assert client.answer_type == JSON and first == second
    assert client.requests_sent == 3


def test_another_400_is_not_taken_for_a_refusal_of_npy(sagemaker: FakeSageMaker, make_client: Any) -> None:
    sagemaker.answer(model_error(400, '{"code": 400, "message": "\\"inputs\\" has 300 texts"}'))
    client = make_client(pooling="server")

    with pytest.raises(PermanentEndpointError, match="300 texts"):
        client.embed(typical_texts(3))
    assert accepts(sagemaker) == [NPY] and client.answer_type == NPY


def test_the_raw_answer_stays_json(sagemaker: FakeSageMaker, make_client: Any) -> None:
    sagemaker.answer(npy_container())

    make_client(pooling="server").invoke_raw(["a"])

    assert accepts(sagemaker) == [JSON]


ROW = [0.5] * DIMENSION


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"not": "npy"}', "not a .npy array"),
        (npy_bytes([ROW], descr=">f4"), "'>f4'"),
        (npy_bytes([ROW], descr="<f8"), "'<f8'"),
        (npy_bytes([ROW], fortran=True), "Fortran order"),
        (npy_bytes([ROW], shape=(1, 1, DIMENSION)), r"shape \(1, 1, 384\)"),
        (npy_bytes([[0.5] * 3]), r"shape \(1, 3\): expected \(texts, 384\)"),
        (npy_bytes([ROW, ROW])[:-4], "carries 3068 bytes of data, not 3072"),
        (npy_bytes([ROW])[:20], "ends inside its header"),
        (b"\x93NUMPY\x09\x00" + bytes(8), "format version 9"),
    ],
)
def test_anything_but_a_little_endian_float32_matrix_is_refused(body: bytes, expected: str) -> None:
    with pytest.raises(ResponseShapeError, match=expected):
        read_matrix(body, DIMENSION)


def test_a_matrix_reads_as_rows_of_python_floats() -> None:
    rows = [float32_unit_row(text) for text in ("a", "b", "c")]

    assert read_matrix(npy_bytes(rows), DIMENSION) == rows
    assert read_matrix(npy_bytes([], shape=(0, DIMENSION)), DIMENSION) == []


def test_a_wrong_row_count_names_the_endpoint(sagemaker: FakeSageMaker, make_client: Any) -> None:
    sagemaker.answer(http_response(200, npy_bytes([ROW]), {"Content-Type": NPY}))

    with pytest.raises(ResponseShapeError, match="one entry per text"):
        make_client(pooling="server").embed(typical_texts(2))


def test_a_client_pooling_endpoint_named_server_gets_the_modes_error_not_numpys(
    sagemaker: FakeSageMaker, make_client: Any
) -> None:
    """The toolkit's own handler np.save()s ragged token vectors and fails; the client asks again as JSON, whose
    token-level answer names the mode."""
    ragged = (
        '{\n  "code": 400,\n  "type": "InternalServerException",\n  "message": "setting an array element with a '
        "sequence. The requested array has an inhomogeneous shape after 2 dimensions. The detected shape was (2, 1) "
        '+ inhomogeneous part."\n}\n'
    )
    sagemaker.answer(model_error(400, ragged), synthetic_container())

    with pytest.raises(ResponseShapeError, match="pooling='server' expects one pooled vector per text"):
        make_client(pooling="server").embed(typical_texts(2))
    assert accepts(sagemaker) == [NPY, JSON]


def test_a_token_level_npy_answer_names_the_mode(sagemaker: FakeSageMaker, make_client: Any) -> None:
    tokens = npy_bytes([ROW] * 5, shape=(1, 5, DIMENSION))
    sagemaker.answer(http_response(200, tokens, {"Content-Type": NPY}))

    with pytest.raises(ResponseShapeError, match=r"shape \(1, 5, 384\): token vectors.*pooling=client"):
        make_client(pooling="server").embed(["one text"])
