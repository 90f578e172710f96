"""EmbeddingClient: texts in, all-MiniLM-L6-v2 sentence vectors out, whatever the endpoint is going through.

The client owns the three things callers most often get wrong: pooling the token-level answer, keeping each invocation
under the serverless payload limit, and waiting out a cold start instead of failing on the first 429.

An endpoint deployed with `pooling: server` answers one vector per text (~8 kB instead of ~219 kB), so batches
are limited by `batch_size` alone. The client is told which mode the endpoint runs (the stack's `pooling`
output) or, in `auto` mode, plans its first batch for token-level answers and learns from the answer.

A call with several batches runs up to the endpoint's MaxConcurrency of them at once (see bulk.py), and hands the
vectors back in input order.
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Generator, Sequence
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

from embeddings import hints, npy, settings
from embeddings.batching import (
    DEFAULT_BATCH_SIZE,
    DEFAULT_PAYLOAD_BUDGET_BYTES,
    EMBEDDING_DIMENSION,
    MAX_TEXTS_PER_REQUEST,
    MIN_PAYLOAD_BYTES,
    Batch,
    BatchLimits,
    cell_start,
    encode_request,
    next_batch,
)
from embeddings.bulk import AdaptiveLimit, BatchFeed, Run
from embeddings.capacity import DESCRIBE_CONFIG, serverless_max_concurrency
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
from embeddings.retries import (
    INVOCATION_TIMEOUT_CODE,
    NOT_READY_CODE,
    PUSH_BACK_CODES,
    Fault,
    classify,
    full_jitter,
)
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

MAX_CONCURRENCY_ENV_VAR = "EMBEDDINGS_MAX_CONCURRENCY"
"""Where the CLI and the example Lambda read max_concurrency from (the stack's `max_concurrency` output)."""
_OUTSTANDING_BATCHES_PER_SLOT = 4
"""Finished batches waiting for an earlier, slower one may pile up to this many per slot before planning pauses;
enough to keep every slot busy while one batch waits out a retry, bounded so memory is too."""

# SageMaker Runtime's answer for a name it does not know: "Endpoint NAME of account ID not found."
_NOT_FOUND = re.compile(r"^Endpoint \S+ of account \S+ not found")

JSON_TYPE = "application/json"
# What an endpoint that cannot answer npy says to Accept application/x-npy, inside ModelError's 400 (the model
# server's JSON error body, where Gson writes ' as \u0027): inference.py before it served npy; the toolkit's own
# UnsupportedFormatError for a handler without that type; and numpy's refusal of a ragged token-level answer, when
# the endpoint pools on the client after all (its JSON answer then gets the client's own error about the mode).
_NPY_REFUSED = re.compile(
    r"Accept (?:'|\\u0027)application/x-npy(?:'|\\u0027) is not supported"
    r"|Content type application/x-npy is not supported by this framework"
    r"|setting an array element with a sequence\. The requested array has an inhomogeneous shape"
)


def _refuses_npy(error: BaseException) -> bool:
    """The endpoint's handler refused Accept application/x-npy (a 400 naming it), so JSON will do instead."""
    if not isinstance(error, ClientError):
        return False
    response: dict[str, Any] = error.response
    if response.get("Error", {}).get("Code") != "ModelError" or response.get("OriginalStatusCode") != 400:
        return False
    text = f"{response.get('Error', {}).get('Message', '')} {response.get('OriginalMessage', '')}"
    return _NPY_REFUSED.search(text) is not None


def _pushed_back(fault: Fault) -> bool:
    """The endpoint is at capacity (throttling) or still starting (cold start): fewer invocations at once."""
    return fault.code in PUSH_BACK_CODES or fault.http_status == 429


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


def _media_type(content_type: str) -> str:
    return content_type.split(";", 1)[0].strip().lower()


def _flatten(batches: Generator[list[list[float]], None, None]) -> Generator[list[float], None, None]:
    try:
        for vectors in batches:
            yield from vectors
    finally:
        batches.close()  # now, not whenever the garbage collector gets to it: it stops the workers


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
        max_concurrency: int | None = None,
        sagemaker_client: Any | None = None,
        sleep: Callable[[float], None] | None = None,
        clock: Callable[[], float] = time.monotonic,
        random_fraction: Callable[[], float] = random.random,
    ) -> None:
        self.endpoint_name = settings.endpoint_name(endpoint_name)
        self.max_wait_s = settings.seconds("max_wait_s", max_wait_s)
        self.pooling = settings.one_of("pooling", pooling, POOLING_MODES)
        self.limits = BatchLimits(
            max_texts=settings.whole_number("batch_size", batch_size, minimum=1, maximum=MAX_TEXTS_PER_REQUEST),
            max_request_bytes=settings.whole_number("max_payload_bytes", max_payload_bytes, minimum=MIN_PAYLOAD_BYTES),
            max_response_bytes=max_payload_bytes,
            dimension=settings.whole_number("dimension", dimension, minimum=1),
        )
        self._backoff_base_s = settings.seconds("backoff_base_s", backoff_base_s)
        self._backoff_cap_s = settings.seconds("backoff_cap_s", backoff_cap_s)
        self.invocation_timeout_s = settings.positive_seconds("invocation_timeout_s", invocation_timeout_s)
        self.max_concurrency = (
            None if max_concurrency is None else settings.whole_number("max_concurrency", max_concurrency, minimum=1)
        )
        self._session: boto3.session.Session | None = None
        if runtime_client is None:
            self._session = boto3.session.Session()
            runtime_client = make_runtime_client(region_name, session=self._session)
        self._runtime = runtime_client
        self._sagemaker = sagemaker_client
        self._sleep = sleep
        self._clock = clock
        self._random_fraction = random_fraction
        self._lock = threading.Lock()
        self._discovery_lock = threading.Lock()  # held across DescribeEndpoint, so not self._lock
        # Budget responses as token-level unless told or shown that the endpoint pools; see _check_shape.
        self._token_level = self.pooling != "server"
        self._mode_known = self.pooling != "auto"
        self._batches_planned = 0  # orders the evidence about the mode when answers arrive out of order
        self._mode_evidence = 0
        self._endpoint_concurrency: int | None = None
        # Server pooling asks for float32 .npy answers (1.5 kB a text instead of ~8 kB of JSON) until the endpoint
        # refuses them once (an endpoint deployed before it served npy); then JSON for the client's lifetime.
        # `client` and `auto` ask for JSON: token-level answers are ragged, and `auto` learns the mode from them.
        self._answer_type = npy.MEDIA_TYPE if self.pooling == "server" else JSON_TYPE
        # HTTP requests sent, retries included; lets callers and tests see what a call cost.
        self.requests_sent = 0

    def embed(self, texts: Sequence[str]) -> list[list[float]]:
        """One unit-length vector per text, in order, equal to sentence-transformers' normalised embeddings.

        Every text is checked before the first invocation; a bad one raises an `InvalidTextError` naming its
        index, and nothing is sent. Several batches run up to `endpoint_concurrency()` invocations at once.
        """
        return list(self.iter_embed(texts))

    def iter_embed(self, texts: Sequence[str], *, start: int = 0) -> Generator[list[float], None, None]:
        """The vectors of `embed`, in input order, each as soon as it and every one before it are ready.

        For callers that write results while the rest is still being embedded (the CLI's JSON Lines). The texts
        are checked here, before anything is sent; close the iterator (or let it go) to stop the invocations still
        running. If a batch fails, every vector before its first text is still yielded, then its error is raised.
        `start` continues an interrupted call: see `iter_batches`.
        """
        return _flatten(self.iter_batches(texts, start=start))

    def iter_batches(self, texts: Sequence[str], *, start: int = 0) -> Generator[list[list[float]], None, None]:
        """The vectors of `iter_embed`, one list per invocation as it completes in order: the moment to flush.

        With `start`, only the vectors of `texts[start:]`, computed in exactly the batches a call from 0 sends
        (batches never cross a multiple of `batch_size`, see batching.cell_start), so they are the same numbers to
        the last bit. The batch holding `start` is sent whole and its vectors before `start` dropped.
        """
        items = checked_texts(texts, self.limits.max_request_bytes)
        start = settings.whole_number("start", start, minimum=0)
        return self._batches(items, start)

    def assume_pooling(self, mode: str) -> None:
        """Plan as if an `auto` client had already seen answers pooled by `mode` (`server` or `client`): what a
        resumed run learned from the run it continues, so its batches are that run's batches."""
        mode = settings.one_of("mode", mode, ("client", "server"))
        with self._lock:
            if self.pooling == "auto":
                self._token_level = mode == "client"
                self._mode_known = True

    @property
    def known_pooling(self) -> str | None:
        """Where the endpoint pools as this client plans for it now: `server` or `client`, told or (auto) learned
        from an answer; None while an `auto` client has seen no answer yet."""
        with self._lock:
            if not self._mode_known:
                return None
            return "client" if self._token_level else "server"

    def embed_one(self, text: str) -> list[float]:
        """Convenience for the common single-text call."""
        return self.embed([text])[0]

    def invoke_raw(self, texts: Sequence[str]) -> bytes:
        """The container's unprocessed answer for `texts` in one invocation, for debugging (CLI `--raw`)."""
        items = checked_texts(texts, self.limits.max_request_bytes)
        if len(items) > MAX_TEXTS_PER_REQUEST:
            raise TextTooLargeError(
                f"{len(items)} texts in one invocation: the endpoint takes at most {MAX_TEXTS_PER_REQUEST} per "
                "request; send fewer (embed() batches automatically)"
            )
        body = encode_request(items)
        if len(body) > self.limits.max_request_bytes:
            raise TextTooLargeError(
                f"{len(body):,}-byte request is over the {self.limits.max_request_bytes:,}-byte budget; "
                "send fewer or shorter texts (embed() batches automatically)"
            )
        return self._invoke(body, accept=JSON_TYPE)[0]

    @property
    def answer_type(self) -> str:
        """The Accept type this client asks for now: application/x-npy (server pooling, until the endpoint refuses
        it) or application/json."""
        with self._lock:
            return self._answer_type

    def _plan(self, items: list[str], start: int) -> tuple[Batch, int]:
        """The next batch from `start`, planned with what is known of the mode now, and its planning sequence."""
        with self._lock:
            batch = next_batch(items, start, self.limits, token_level=self._token_level)
            self._batches_planned += 1
            return batch, self._batches_planned

    def _plan_first(self, items: list[str], start: int) -> tuple[Batch, int]:
        """The batch holding text `start`, planned from the start of its cell as a call from 0 plans it."""
        with self._lock:
            position = cell_start(start, self.limits)
            while (batch := next_batch(items, position, self.limits, token_level=self._token_level)).stop <= start:
                position = batch.stop
            self._batches_planned += 1
            return batch, self._batches_planned

    def _batches(self, items: list[str], start: int) -> Generator[list[list[float]], None, None]:
        if start >= len(items):
            return
        batch, sequence = self._plan_first(items, start)
        skip = start - batch.start  # texts before `start` that share its batch: sent, but their vectors dropped
        if batch.stop == len(items):  # one invocation: no threads
            yield self._embed_batch(items, batch, sequence)[skip:]
            return
        batches = self._concurrent_batches(items, batch, sequence)
        try:
            yield next(batches)[skip:]
            yield from batches
        finally:
            batches.close()

    def _concurrent_batches(
        self, items: list[str], first: Batch, sequence: int
    ) -> Generator[list[list[float]], None, None]:
        """Batches on up to endpoint_concurrency() threads, vectors handed out in input order.

        Batches are planned one at a time as workers free up, each with what the answers so far showed of the
        pooling mode; in `auto` mode before any answer, only the first batch goes out, planned token-level, and
        the rest waits for what it shows.
        """
        run = Run()
        limit = AdaptiveLimit(self.endpoint_concurrency(), run)
        feed = BatchFeed(
            len(items),
            (first, sequence),
            lambda start: self._plan(items, start),
            lambda: self._mode_known,
            limit.maximum * _OUTSTANDING_BATCHES_PER_SLOT,
            run,
        )

        def work() -> None:
            while (task := feed.take()) is not None:
                batch, planned = task
                outcome: list[list[float]] | BaseException
                try:
                    outcome = self._embed_batch(items, batch, planned, limit, run)
                except BaseException as error:  # handed to the reader, who raises it in order
                    outcome = error
                feed.put(batch, outcome)

        # Every batch holds a text, so there can be no more batches than texts: no idle threads for a short call.
        count = min(limit.maximum, len(items) - first.stop + 1)
        workers = [threading.Thread(target=work, name=f"embeddings_{n}") for n in range(count)]
        for worker in workers:
            worker.start()
        try:
            yield from feed.in_order()
        finally:
            run.stop()
            for worker in workers:
                worker.join()

    def _embed_batch(
        self,
        items: list[str],
        batch: Batch,
        sequence: int,
        limit: AdaptiveLimit | None = None,
        run: Run | None = None,
    ) -> list[list[float]]:
        chunk = items[batch.start : batch.stop]
        answer, content_type = self._invoke(encode_request(chunk), limit, run, accept=self.answer_type)
        matrix = _media_type(content_type) == npy.MEDIA_TYPE
        payload = self._read_npy(answer) if matrix else self._parse(answer)
        try:
            vectors = sentence_vectors(payload, len(chunk), self.limits.dimension, first_index=batch.start)
        except ResponseShapeError as error:
            raise type(error)(f"endpoint {self.endpoint_name!r}: {error}", index=error.index) from error
        if not matrix:  # a matrix holds one vector per text by its shape
            self._check_shape(payload, sequence, batch.start)
        return vectors

    def _read_npy(self, body: bytes) -> list[list[float]]:
        try:
            return npy.read_matrix(body, self.limits.dimension)
        except ResponseShapeError as error:
            raise ResponseShapeError(f"endpoint {self.endpoint_name!r}: {error}") from error

    def _check_shape(self, payload: list[Any], sequence: int, first_index: int) -> None:
        """Hold the endpoint to the mode it was named with, or learn the mode from its answer (`auto`).

        `auto`: a server that pools answers ~25x smaller, so later batches may be as large as batch_size allows;
        any token-level answer switches back to the pessimistic budget, e.g. after a redeploy. `client` always
        budgets token-level (a pooled answer is still a correct vector). `server` refuses a token-level answer:
        its batches were planned for one vector per text, and a larger one may break the 4 MB response limit.

        Answers of concurrent batches arrive in any order; `sequence` is the batch's place in the planning order,
        and only an answer to a batch planned later than the last evidence changes what the client believes.
        """
        token_level = [index for index, item in enumerate(payload) if vector_count(item) > 1]
        if self.pooling == "server" and token_level:
            offset = token_level[0]
            raise ResponseShapeError(
                f"endpoint {self.endpoint_name!r} answered {vector_count(payload[offset])} token vectors for text "
                f"{first_index + offset}, but pooling='server' expects one pooled vector per text: the endpoint pools "
                "on the client (stack output pooling=client). Use pooling='client' or 'auto', or deploy with "
                "pooling: server",
                index=first_index + offset,
            )
        if self.pooling == "auto":
            with self._lock:
                if sequence > self._mode_evidence:
                    self._mode_evidence = sequence
                    self._token_level = bool(token_level)
                self._mode_known = True

    def endpoint_concurrency(self) -> int:
        """How many invocations this client runs at once: `max_concurrency` if set, else the endpoint's serverless
        MaxConcurrency (read once, see capacity.py), else 1."""
        if self.max_concurrency is not None:
            return self.max_concurrency
        with self._discovery_lock:
            if self._endpoint_concurrency is None:
                self._endpoint_concurrency = self._discover_concurrency()
            return self._endpoint_concurrency

    def _discover_concurrency(self) -> int:
        how = (
            f"set max_concurrency (CLI --max-concurrency, ${MAX_CONCURRENCY_ENV_VAR}) to the stack output "
            "max_concurrency"
        )
        sagemaker, session = self._sagemaker, self._session
        if sagemaker is None and hints.is_local_url(self._endpoint_url()):
            reason = "the endpoint URL is local, and the twin serves no DescribeEndpoint"
        elif sagemaker is None and session is None:
            reason = "runtime_client was given without sagemaker_client to read it with"
        else:
            try:
                if sagemaker is None and session is not None:
                    sagemaker = session.client("sagemaker", region_name=self._region(), config=DESCRIBE_CONFIG)
                found = serverless_max_concurrency(sagemaker, self.endpoint_name)
            except ClientError as error:
                code = error.response.get("Error", {}).get("Code", "Unknown")
                reason = f"DescribeEndpoint failed with {code}"
                if code in ("AccessDeniedException", "AccessDenied"):
                    reason = (
                        "the caller may not call sagemaker:DescribeEndpoint (the stack's invoke policy does not "
                        "allow it)"
                    )
            except (BotoCoreError, ValueError) as error:
                reason = f"DescribeEndpoint failed with {type(error).__name__}"
            else:
                if found is not None:
                    logger.info(
                        "endpoint %s: serverless MaxConcurrency %d, so up to %d invocations at once",
                        self.endpoint_name,
                        found,
                        found,
                    )
                    return found
                reason = "it runs on instances, which have no MaxConcurrency"
        logger.info("endpoint %s: one invocation at a time: %s; %s", self.endpoint_name, reason, how)
        return 1

    def _parse(self, body: bytes) -> Any:
        try:
            return json.loads(body)
        except ValueError as error:
            raise ResponseShapeError(f"endpoint {self.endpoint_name!r} did not answer JSON: {body[:200]!r}") from error

    def _invoke(
        self, body: bytes, limit: AdaptiveLimit | None = None, run: Run | None = None, *, accept: str = JSON_TYPE
    ) -> tuple[bytes, str]:
        """One invocation, retried on transient faults until `max_wait_s` has passed since the first attempt; the
        answer and its content type.

        Each attempt has its own wall-clock deadline, `invocation_timeout_s`; no attempt starts after max_wait_s,
        so a call ends within max_wait_s + invocation_timeout_s (plus the connect timeout, at worst). Failures to
        connect at all are retried only briefly (see CONNECTION_ATTEMPTS). Under a bulk `run`, each attempt waits
        for a permit from `limit`, and throttling answers tighten it. An endpoint that refuses Accept
        application/x-npy is asked again at once for JSON, and from then on only for JSON.
        """
        started = self._clock()
        attempt = 0
        unconnected = 0  # consecutive attempts that could not connect
        unconnected_since = started
        while True:
            attempt += 1
            ticket = limit.acquire() if limit is not None else 0
            with self._lock:
                self.requests_sent += 1
            attempt_started = self._clock()
            try:
                outcome = self._attempt(body, run, accept)
            except BaseException:
                if limit is not None:
                    limit.release(ticket, pushed_back=False)
                raise
            if limit is not None:
                limit.release(ticket, pushed_back=isinstance(outcome[0], Fault) and _pushed_back(outcome[0]))
            if not isinstance(outcome[0], Fault):
                return outcome[0], str(outcome[1])
            fault, last_error = outcome
            if accept == npy.MEDIA_TYPE and _refuses_npy(last_error):
                self._stop_asking_for_npy()
                accept = JSON_TYPE
                continue
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
            self._wait(delay, run)

    def _wait(self, seconds: float, run: Run | None) -> None:
        """The back-off between attempts; a stopped run ends it early (and the invocation with it)."""
        if self._sleep is not None:
            self._sleep(seconds)
        elif run is not None:
            run.stopped.wait(seconds)
        else:
            time.sleep(seconds)
        if run is not None:
            run.check()

    def _stop_asking_for_npy(self) -> None:
        with self._lock:
            changed = self._answer_type != JSON_TYPE
            self._answer_type = JSON_TYPE
        if changed:
            logger.info(
                "endpoint %s does not answer application/x-npy (deployed before it did): asking for JSON from now on",
                self.endpoint_name,
            )

    def _attempt(
        self, body: bytes, run: Run | None = None, accept: str = JSON_TYPE
    ) -> tuple[bytes, str] | tuple[Fault, BaseException]:
        """One HTTP attempt under the invocation deadline: the answer and its content type, or what went wrong."""
        with attempt_deadline(self.invocation_timeout_s) as deadline:
            if run is not None:
                run.add(deadline)
            try:
                response = self._runtime.invoke_endpoint(
                    EndpointName=self.endpoint_name,
                    Body=body,
                    ContentType=JSON_TYPE,
                    Accept=accept,
                )
                answer: bytes = response["Body"].read()
                return answer, str(response.get("ContentType") or JSON_TYPE)
            except _CREDENTIAL_ERRORS as error:
                raise self._no_credentials(error) from error
            except (ClientError, BotoCoreError) as error:
                if run is not None:
                    run.check()  # cut short because the run stopped, not because the endpoint was slow
                fault = self._deadline_fault() if deadline.expired else classify(error, self.invocation_url)
                return fault, error
            finally:
                if run is not None:
                    run.discard(deadline)

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
