"""EmbeddingClient: texts in, all-MiniLM-L6-v2 sentence vectors out, whatever the endpoint is going through.

The client owns the three things every caller got wrong: pooling the token-level answer, keeping each invocation
under the serverless payload limit, and waiting out a cold start instead of failing on the first 429.

An endpoint deployed with `pooling: server` answers one vector per text (~8 kB instead of ~219 kB), so batches
are limited by `batch_size` alone. The client is told which mode the endpoint runs (the stack's `pooling`
output) or, in `auto` mode, plans its first batch for token-level answers and learns from the answer.
"""

from __future__ import annotations

import json
import logging
import random
import re
import time
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import quote

import boto3
from botocore.config import Config
from botocore.exceptions import (
    BotoCoreError,
    ClientError,
    CredentialRetrievalError,
    NoCredentialsError,
    NoRegionError,
    PartialCredentialsError,
    ProfileNotFound,
    TokenRetrievalError,
)

from embeddings import hints, settings
from embeddings.batching import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_PAYLOAD_BUDGET_BYTES,
    EMBEDDING_DIMENSION,
    MIN_PAYLOAD_BYTES,
    BatchLimits,
    encode_request,
    next_batch,
)
from embeddings.deadline import attempt_deadline
from embeddings.errors import (
    ConfigurationError,
    EndpointNotReadyError,
    EndpointUnreachableError,
    InvocationTimeoutError,
    MissingCredentialsError,
    PermanentEndpointError,
    ResponseShapeError,
    TextTooLargeError,
    TransientEndpointError,
)
from embeddings.pooling import POOLING_MODES, sentence_vectors, vector_count
from embeddings.retries import INVOCATION_TIMEOUT_CODE, NOT_READY_CODE, Fault, classify, full_jitter
from embeddings.texts import checked_texts

logger = logging.getLogger(__name__)

DEFAULT_ENDPOINT_NAME = "alex-embedding-endpoint"
DEFAULT_MAX_WAIT_S = 180.0
DEFAULT_POOLING = "auto"

# The container must answer within 60 s; AWS recommends a 70 s socket timeout so a slow answer is not cut off.
READ_TIMEOUT_S = 70.0
CONNECT_TIMEOUT_S = 10.0
CONNECTION_ATTEMPTS = 3
CONNECTION_RETRY_WINDOW_S = 5.0
CONNECTION_BACKOFF_BASE_S = 0.25
CONNECTION_BACKOFF_CAP_S = 1.0
"""A connection that cannot be made (refused, unreachable, DNS) gets at most CONNECTION_ATTEMPTS attempts, none
started more than CONNECTION_RETRY_WINDOW_S after the first such failure, with short jittered waits: enough for
a blip, and a wrong URL or a twin that is not running fails in about a second instead of max_wait_s. A cold
endpoint accepts connections; its slowness comes as ModelNotReadyException, which keeps the patient retries."""
DEFAULT_INVOCATION_TIMEOUT_S = 70.0
"""The wall-clock deadline of one attempt, from sending to the last byte of the answer: SageMaker ends an
invocation at 60 s, and AWS's recommended 70 s client timeout leaves 10 s for the transfer. READ_TIMEOUT_S bounds
each socket read, which a trickling endpoint resets with every byte; this bounds the whole (see deadline.py)."""

# SageMaker Runtime's answer for a name it does not know: "Endpoint NAME of account ID not found."
_NOT_FOUND = re.compile(r"^Endpoint \S+ of account \S+ not found")


def _attempts(attempts: int, elapsed: float, max_wait_s: float) -> str:
    return f"{attempts} attempt{'s' if attempts != 1 else ''} over {elapsed:.1f}s (max_wait_s={max_wait_s:g})"


_CREDENTIAL_ERRORS = (NoCredentialsError, PartialCredentialsError, CredentialRetrievalError, TokenRetrievalError)


def make_runtime_client(region_name: str | None = None, *, session: boto3.session.Session | None = None) -> Any:
    """A sagemaker-runtime client with AWS's recommended timeouts and botocore's retries off.

    No endpoint_url is passed, so AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME, AWS_PROFILE and config files keep working.
    botocore makes exactly one attempt per call; EmbeddingClient does the retrying, because botocore's modes do
    not retry ModelNotReadyException and two stacked retry loops would multiply the wait.
    """
    config = Config(
        connect_timeout=CONNECT_TIMEOUT_S,
        read_timeout=READ_TIMEOUT_S,
        retries={"mode": "standard", "total_max_attempts": 1},
    )
    try:
        return (session or boto3.session.Session()).client("sagemaker-runtime", region_name=region_name, config=config)
    except NoRegionError as error:
        local = hints.local_endpoint_variable()
        if local is not None:
            raise ConfigurationError(f"no AWS region configured; {hints.twin_setup(local[1])}") from error
        raise ConfigurationError(
            "no AWS region configured: pass region_name (CLI: --region), set AWS_DEFAULT_REGION, or give the "
            "profile a region"
        ) from error
    except ProfileNotFound as error:
        raise ConfigurationError(f"AWS profile not found: {error}") from error
    except BotoCoreError as error:  # e.g. InvalidRegionError for "--region 'eu west 1'"
        raise ConfigurationError(f"cannot create the SageMaker Runtime client: {error}") from error


class EmbeddingClient:
    """Embeds texts with the SageMaker endpoint; safe to create once per Lambda container and reuse."""

    def __init__(
        self,
        endpoint_name: str = DEFAULT_ENDPOINT_NAME,
        runtime_client: Any | None = None,
        region_name: str | None = None,
        batch_size: int = DEFAULT_BATCH_SIZE,
        max_wait_s: float = DEFAULT_MAX_WAIT_S,
        *,
        pooling: str = DEFAULT_POOLING,
        max_payload_bytes: int = DEFAULT_PAYLOAD_BUDGET_BYTES,
        dimension: int = EMBEDDING_DIMENSION,
        backoff_base_s: float = 1.0,
        backoff_cap_s: float = 20.0,
        invocation_timeout_s: float = DEFAULT_INVOCATION_TIMEOUT_S,
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.monotonic,
        random_fraction: Callable[[], float] = random.random,
    ) -> None:
        self.endpoint_name = settings.endpoint_name(endpoint_name)
        self.max_wait_s = settings.seconds("max_wait_s", max_wait_s)
        self.pooling = settings.one_of("pooling", pooling, POOLING_MODES)
        self.limits = BatchLimits(
            max_texts=settings.whole_number("batch_size", batch_size, minimum=1),
            max_request_bytes=settings.whole_number("max_payload_bytes", max_payload_bytes, minimum=MIN_PAYLOAD_BYTES),
            max_response_bytes=max_payload_bytes,
            dimension=settings.whole_number("dimension", dimension, minimum=1),
        )
        self._backoff_base_s = settings.seconds("backoff_base_s", backoff_base_s)
        self._backoff_cap_s = settings.seconds("backoff_cap_s", backoff_cap_s)
        self.invocation_timeout_s = settings.positive_seconds("invocation_timeout_s", invocation_timeout_s)
        self._runtime = runtime_client if runtime_client is not None else make_runtime_client(region_name)
        self._sleep = sleep
        self._clock = clock
        self._random_fraction = random_fraction
        # Budget responses as token-level unless told or shown that the endpoint pools; see _check_shape.
        self._token_level = self.pooling != "server"
        # HTTP requests sent, retries included; lets callers and tests see what a call cost.
        self.requests_sent = 0

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit-length vector per text, in order, equal to sentence-transformers' normalised embeddings.

        Every text is checked before the first invocation; a bad one raises an `InvalidTextError` naming its
        index, and nothing is sent.
        """
        items = checked_texts(texts, self.limits.max_request_bytes)
        vectors: list[list[float]] = []
        start = 0
        while start < len(items):
            batch = next_batch(items, start, self.limits, token_level=self._token_level)
            chunk = items[batch.start : batch.stop]
            payload = self._parse(self._invoke(encode_request(chunk)))
            try:
                vectors.extend(sentence_vectors(payload, len(chunk), self.limits.dimension, first_index=batch.start))
            except ResponseShapeError as error:
                raise type(error)(f"endpoint {self.endpoint_name!r}: {error}", index=error.index) from error
            self._check_shape(payload)
            start = batch.stop
        return vectors

    def embed_one(self, text: str) -> list[float]:
        """Convenience for the common single-text call."""
        return self.embed([text])[0]

    def invoke_raw(self, texts: Sequence[str]) -> bytes:
        """The container's unprocessed answer for `texts` in one invocation, for debugging (CLI `--raw`)."""
        items = checked_texts(texts, self.limits.max_request_bytes)
        body = encode_request(items)
        if len(body) > self.limits.max_request_bytes:
            raise TextTooLargeError(
                f"{len(body):,}-byte request is over the {self.limits.max_request_bytes:,}-byte budget; "
                "send fewer or shorter texts (embed() batches automatically)"
            )
        return self._invoke(body)

    def _check_shape(self, payload: list[Any]) -> None:
        """Hold the endpoint to the mode it was named with, or learn the mode from its answer (`auto`).

        `auto`: a server that pools answers ~25x smaller, so later batches may be as large as batch_size allows;
        any token-level answer switches back to the pessimistic budget, e.g. after a redeploy. `client` always
        budgets token-level (a pooled answer is still a correct vector). `server` refuses a token-level answer:
        its batches were planned for one vector per text, and a larger one may break the 4 MB response limit.
        """
        token_level = [index for index, item in enumerate(payload) if vector_count(item) > 1]
        if self.pooling == "server" and token_level:
            index = token_level[0]
            raise ResponseShapeError(
                f"endpoint {self.endpoint_name!r} answered {vector_count(payload[index])} token vectors for text "
                f"{index}, but pooling='server' expects one pooled vector per text: the endpoint pools on the "
                "client (stack output pooling=client). Use pooling='client' or 'auto', or deploy with pooling: server"
            )
        if self.pooling == "auto":
            self._token_level = bool(token_level)

    def _parse(self, body: bytes) -> Any:
        try:
            return json.loads(body)
        except ValueError as error:
            raise ResponseShapeError(f"endpoint {self.endpoint_name!r} did not answer JSON: {body[:200]!r}") from error

    def _invoke(self, body: bytes) -> bytes:
        """One invocation, retried on transient faults until `max_wait_s` has passed since the first attempt.

        Each attempt has its own wall-clock deadline, `invocation_timeout_s`; no attempt starts after max_wait_s,
        so a call ends within max_wait_s + invocation_timeout_s (plus the connect timeout, at worst). Failures to
        connect at all are retried only briefly (see CONNECTION_ATTEMPTS).
        """
        started = self._clock()
        attempt = 0
        unconnected = 0  # consecutive attempts that could not connect
        unconnected_since = started
        while True:
            attempt += 1
            self.requests_sent += 1
            attempt_started = self._clock()
            outcome = self._attempt(body)
            if isinstance(outcome, bytes):
                return outcome
            fault, last_error = outcome
            if not fault.transient:
                raise self._permanent(fault) from last_error
            now = self._clock()
            elapsed = now - started
            remaining = self.max_wait_s - elapsed
            if fault.no_connection:
                if unconnected == 0:
                    unconnected_since = attempt_started
                unconnected += 1
                if (
                    remaining <= 0
                    or unconnected >= CONNECTION_ATTEMPTS
                    or now - unconnected_since >= (CONNECTION_RETRY_WINDOW_S)
                ):
                    raise self._unreachable(fault, attempt, elapsed, last_error) from last_error
                ceiling = full_jitter(
                    unconnected, CONNECTION_BACKOFF_BASE_S, CONNECTION_BACKOFF_CAP_S, self._random_fraction()
                )
            else:
                unconnected = 0
                if remaining <= 0:
                    raise self._exhausted(fault, attempt, elapsed, last_error) from last_error
                ceiling = full_jitter(attempt, self._backoff_base_s, self._backoff_cap_s, self._random_fraction())
            delay = min(remaining, ceiling)
            logger.info(
                "endpoint %s: attempt %d failed with %s, retrying in %.1fs",
                self.endpoint_name,
                attempt,
                fault.code,
                delay,
            )
            self._sleep(delay)

    def _attempt(self, body: bytes) -> bytes | tuple[Fault, BaseException]:
        """One HTTP attempt under the invocation deadline: the answer, or what went wrong."""
        with attempt_deadline(self.invocation_timeout_s) as deadline:
            try:
                response = self._runtime.invoke_endpoint(
                    EndpointName=self.endpoint_name,
                    Body=body,
                    ContentType="application/json",
                    Accept="application/json",
                )
                answer: bytes = response["Body"].read()
                return answer
            except _CREDENTIAL_ERRORS as error:
                raise self._no_credentials(error) from error
            except (ClientError, BotoCoreError) as error:
                fault = self._deadline_fault() if deadline.expired else classify(error, self.invocation_url)
                return fault, error

    def _endpoint_url(self) -> str | None:
        meta = getattr(self._runtime, "meta", None)
        url = getattr(meta, "endpoint_url", None)
        return str(url) if url else None

    def _no_credentials(self, error: BaseException) -> MissingCredentialsError:
        url = self._endpoint_url()
        if hints.is_local_url(url):
            return MissingCredentialsError(
                f"cannot call endpoint {self.endpoint_name!r}: no usable AWS credentials ({error}); "
                f"{hints.twin_setup(str(url))}"
            )
        return MissingCredentialsError(
            f"cannot call endpoint {self.endpoint_name!r}: no usable AWS credentials ({error}). "
            "Configure them with `aws configure`, AWS_PROFILE, or AWS_ACCESS_KEY_ID and "
            "AWS_SECRET_ACCESS_KEY."
        )

    def _unreachable(
        self, fault: Fault, attempts: int, elapsed: float, last_error: BaseException
    ) -> EndpointUnreachableError:
        url = self.invocation_url
        if hints.is_local_url(url):
            advice = hints.start_the_twin(self._endpoint_url() or url)
        else:
            advice = (
                f"check the network path to SageMaker Runtime in {self._region()} (DNS, proxy, VPC endpoint) and "
                f"any {' or '.join(hints.ENDPOINT_URL_VARIABLES)} setting"
            )
        return EndpointUnreachableError(
            f"endpoint {self.endpoint_name!r}: {fault.message}; {_attempts(attempts, elapsed, self.max_wait_s)}. "
            f"{advice[0].upper()}{advice[1:]}",
            endpoint_name=self.endpoint_name,
            attempts=attempts,
            elapsed_s=elapsed,
            last_error=last_error,
            url=url,
        )

    @property
    def invocation_url(self) -> str:
        """Where InvokeEndpoint goes: the runtime client's endpoint URL and the endpoint's invocations path."""
        base = self._endpoint_url() or "https://runtime.sagemaker.<region>.amazonaws.com"
        return f"{base.rstrip('/')}/endpoints/{quote(self.endpoint_name, safe='')}/invocations"

    def _deadline_fault(self) -> Fault:
        return Fault(
            transient=True,
            code=INVOCATION_TIMEOUT_CODE,
            message=f"no complete answer within {self.invocation_timeout_s:g}s from {self.invocation_url}",
        )

    def _region(self) -> str:
        meta = getattr(self._runtime, "meta", None)
        return str(getattr(meta, "region_name", None) or "unknown region")

    def _permanent(self, fault: Fault) -> PermanentEndpointError:
        status = f", HTTP {fault.http_status}" if fault.http_status is not None else ""
        message = (
            f"endpoint {self.endpoint_name!r} in {self._region()} failed ({fault.code}{status}), not retried: "
            f"{fault.message}"
        )
        if fault.code == "ValidationError" and _NOT_FOUND.search(fault.message):
            url = self._endpoint_url()
            hint = (
                hints.twin_endpoint_names(str(url)) if hints.is_local_url(url) else hints.list_endpoints(self._region())
            )
            message = f"{message} Check the name: {hint}"
        return PermanentEndpointError(
            message, endpoint_name=self.endpoint_name, code=fault.code, http_status=fault.http_status
        )

    def _exhausted(
        self, fault: Fault, attempts: int, elapsed: float, last_error: BaseException
    ) -> TransientEndpointError:
        tried = _attempts(attempts, elapsed, self.max_wait_s)
        if fault.code == INVOCATION_TIMEOUT_CODE:
            return InvocationTimeoutError(
                f"endpoint {self.endpoint_name!r} in {self._region()} did not answer within the "
                f"{self.invocation_timeout_s:g}s invocation deadline (invocation_timeout_s) at {self.invocation_url}; "
                f"{tried}",
                endpoint_name=self.endpoint_name,
                attempts=attempts,
                elapsed_s=elapsed,
                last_error=last_error,
                url=self.invocation_url,
                timeout_s=self.invocation_timeout_s,
            )
        error_class = EndpointNotReadyError if fault.code == NOT_READY_CODE else TransientEndpointError
        what = "was still not ready (serverless cold start)" if fault.code == NOT_READY_CODE else "kept failing"
        message = (
            f"endpoint {self.endpoint_name!r} in {self._region()} {what} after {tried}; last error {fault.code}: "
            f"{fault.message}"
        )
        return error_class(
            message,
            endpoint_name=self.endpoint_name,
            attempts=attempts,
            elapsed_s=elapsed,
            last_error=last_error,
        )
