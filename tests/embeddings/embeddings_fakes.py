"""A fake SageMaker Runtime behind a real boto3 client, answering at the HTTP layer.

Responses are raw HTTP (status, `x-amzn-ErrorType` header, JSON body) as SageMaker Runtime sends them, handed to
botocore through its `before-send` event; botocore's own parsing then turns them into ClientError codes, so the
client is tested against the same exceptions it meets in production. Time is a fake clock that sleeping moves.
Also the texts several test files share.
"""

from __future__ import annotations

import functools
import io
import json
import math
import random
import struct
import zlib
from collections import deque
from collections.abc import Callable
from typing import Any

import boto3
from botocore.awsrequest import AWSPreparedRequest, AWSResponse
from urllib3.response import HTTPResponse

ACCOUNT = "123456789012"
REGION = "us-east-1"
ENDPOINT = "alex-embedding-endpoint"
DIMENSION = 384

# Texts that stress tokenisation, and the long document: over 512 tokens, truncated to 256.
LONG_DOCUMENT = "The endpoint truncates long documents after two hundred and fifty-six tokens. " * 60
TRICKY_TEXTS = [
    "",
    "   ",
    "Vectorize me.",
    "xqzvkjwq",  # gibberish: one WordPiece per letter, the worst case
    "Grüße aus Köln: Äpfel, Öl und Übermut.",
    "東京は日本の首都です。",
    "안녕하세요 세계",  # Hangul decomposes into jamo: more tokens than characters
    "Deploy finished 🚀🎉 ✅",
    "İstanbul ﬁle naïve",
    "a\u2028b\x1c\x1dc",
    LONG_DOCUMENT,
]


def typical_texts(count: int = 100) -> list[str]:
    return [
        f"Note {i}: the quarterly report says revenue grew {i % 17} percent while costs stayed flat."
        for i in range(count)
    ]


Responder = Callable[[AWSPreparedRequest], AWSResponse]


def http_response(status: int, body: bytes | str, headers: dict[str, str] | None = None) -> Responder:
    """A canned answer; the body goes through a urllib3 response, exactly what botocore reads in production."""
    data = body.encode("utf-8") if isinstance(body, str) else body

    def respond(request: AWSPreparedRequest) -> AWSResponse:
        raw = HTTPResponse(body=io.BytesIO(data), status=status, headers=headers or {}, preload_content=False)
        all_headers = {"x-amzn-RequestId": "0f3e5b1c-8a55-4c3b-9a51-5f8c6f0c0001", **(headers or {})}
        all_headers.setdefault("Content-Length", str(len(data)))
        return AWSResponse(request.url, status, all_headers, raw)

    return respond


def ok_json(payload: Any) -> Responder:
    """A 200 answer, serialised the way the Hugging Face toolkit does (json.dumps defaults)."""
    return http_response(
        200,
        json.dumps(payload),
        {"Content-Type": "application/json", "x-Amzn-Invoked-Production-Variant": "AllTraffic"},
    )


def aws_error(status: int, code: str, body: dict[str, Any]) -> Responder:
    return http_response(
        status,
        json.dumps(body),
        {
            "Content-Type": "application/json",
            "x-amzn-ErrorType": f"{code}:http://internal.amazon.com/coral/com.amazon.sagemaker/",
        },
    )


def model_not_ready() -> Responder:
    return aws_error(
        429,
        "ModelNotReadyException",
        {"message": f"Model for endpoint {ENDPOINT} is not ready yet. Try again later."},
    )


def endpoint_not_found(name: str = ENDPOINT) -> Responder:
    return aws_error(400, "ValidationError", {"message": f"Endpoint {name} of account {ACCOUNT} not found."})


def access_denied() -> Responder:
    return aws_error(
        403,
        "AccessDeniedException",
        {
            "Message": f"User: arn:aws:iam::{ACCOUNT}:user/ci is not authorized to perform: "
            f"sagemaker:InvokeEndpoint on resource: arn:aws:sagemaker:{REGION}:{ACCOUNT}:endpoint/{ENDPOINT} "
            "because no identity-based policy allows the sagemaker:InvokeEndpoint action"
        },
    )


def model_error(original_status: int, original_message: str) -> Responder:
    log_group = f"/aws/sagemaker/Endpoints/{ENDPOINT}"
    return aws_error(
        424,
        "ModelError",
        {
            "ErrorCode": "CLIENT_ERROR_FROM_MODEL" if original_status < 500 else "SERVER_ERROR_FROM_MODEL",
            "LogStreamArn": f"arn:aws:logs:{REGION}:{ACCOUNT}:log-group:{log_group}",
            "Message": f'Received client error ({original_status}) from primary with message "{original_message}". '
            f"See https://{REGION}.console.aws.amazon.com/cloudwatch/home?region={REGION}#logEventViewer:"
            f"group={log_group} in account {ACCOUNT} for more information.",
            "OriginalMessage": original_message,
            "OriginalStatusCode": original_status,
        },
    )


def raising(error: Exception) -> Responder:
    def respond(request: AWSPreparedRequest) -> AWSResponse:
        raise error

    return respond


def request_json(request: AWSPreparedRequest) -> dict[str, Any]:
    body = request.body
    if hasattr(body, "read"):
        body = body.read()
    return json.loads(body)


def synthetic_row(text: str, dimension: int = DIMENSION) -> list[float]:
    """A token vector that identifies its text, so tests can tell whether answers come back in order."""
    rng = random.Random(zlib.crc32(text.encode("utf-8")))
    return [rng.uniform(-1.0, 1.0) for _ in range(dimension)]


def unit(vector: list[float]) -> list[float]:
    norm = math.sqrt(sum(x * x for x in vector))
    return [x / norm for x in vector]


def cosine(a: list[float], b: list[float]) -> float:
    return sum(x * y for x, y in zip(a, b, strict=True)) / math.sqrt(sum(x * x for x in a) * sum(y * y for y in b))


def synthetic_container(tokens: int = 3) -> Responder:
    """A token-level answer `[1][tokens][384]` per input text, every token equal to the text's row."""

    def respond(request: AWSPreparedRequest) -> AWSResponse:
        texts = request_json(request)["inputs"]
        return ok_json([[[synthetic_row(text)] * tokens] for text in texts])(request)

    return respond


def float32_unit_row(text: str, dimension: int = DIMENSION) -> list[float]:
    """The text's unit-length row as float32 values widened to Python floats, as `tensor.tolist()` gives them:
    about 20 characters of JSON each, so a pooled answer is as large as a real one (~8 kB per text)."""
    return [struct.unpack("f", struct.pack("f", x))[0] for x in unit(synthetic_row(text, dimension))]


def pooled_container() -> Responder:
    """An endpoint deployed with `pooling: server`: `[[v]]` per text of a list, v 384 float32 values."""

    def respond(request: AWSPreparedRequest) -> AWSResponse:
        return ok_json([[float32_unit_row(text)] for text in request_json(request)["inputs"]])(request)

    return respond


class Terminal(io.StringIO):
    """stdin as an interactive shell has it: a terminal, where nothing is piped."""

    def isatty(self) -> bool:
        return True


def piped(data: bytes) -> io.TextIOWrapper:
    return io.TextIOWrapper(io.BytesIO(data))


class FakeClock:
    """monotonic() and sleep() for the client: sleeping advances time instead of waiting."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        assert seconds >= 0
        self.sleeps.append(seconds)
        self.now += seconds


class FakeSageMaker:
    """Plays queued responders in order (the last one repeats) and records every request that reached HTTP."""

    def __init__(self, runtime_client: Any, clock: FakeClock, latency_s: float = 0.25) -> None:
        self.runtime_client = runtime_client
        self.clock = clock
        self.latency_s = latency_s
        self.requests: list[AWSPreparedRequest] = []
        self.response_sizes: list[int] = []
        self._script: deque[Responder] = deque()
        runtime_client.meta.events.register("before-send.sagemaker-runtime.InvokeEndpoint", self._handle)

    def answer(self, *responders: Responder) -> FakeSageMaker:
        """Replace the script: these answers in order, then the last one for every further request."""
        self._script = deque(responders)
        return self

    def _handle(self, request: AWSPreparedRequest, **_: Any) -> AWSResponse:
        self.requests.append(request)
        self.clock.now += self.latency_s
        responder = self._script.popleft() if len(self._script) > 1 else self._script[0]
        response = responder(request)
        self.response_sizes.append(int(response.headers["Content-Length"]))
        return response

    @property
    def request_bodies(self) -> list[dict[str, Any]]:
        return [request_json(request) for request in self.requests]


@functools.cache
def dummy_session() -> boto3.session.Session:
    """One session for every test: a new one rereads botocore's data files, ten times the cost of a client.
    Clients copy its event hooks, so what a test registers on its client stays there."""
    return boto3.session.Session(
        aws_access_key_id="AKIDTESTTESTTESTTEST",
        aws_secret_access_key="test-secret",
        region_name=REGION,
    )


def huggingface_container(pipeline: Callable[..., Any]) -> Responder:
    """What the Hugging Face inference container does with a request, around a real transformers pipeline.

    Its handler runs `pipeline(inputs, **parameters)` and answers with json.dumps of the result; a failing call
    comes back from SageMaker as ModelError carrying the container's 400.
    """

    def respond(request: AWSPreparedRequest) -> AWSResponse:
        data = request_json(request)
        inputs = data.pop("inputs", data)
        parameters = data.pop("parameters", None)
        try:
            prediction = pipeline(inputs, **parameters) if parameters is not None else pipeline(inputs)
        except Exception as error:
            return model_error(
                400, json.dumps({"code": 400, "type": "InternalServerException", "message": str(error)})
            )(request)
        return ok_json(prediction)(request)

    return respond
