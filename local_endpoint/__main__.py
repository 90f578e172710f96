"""`python -m local_endpoint`: the embedding endpoint on 127.0.0.1, for boto3 code that must not need AWS.

Defaults follow the container's environment variables (HF_MODEL_ID, HF_TASK, HF_MODEL_REVISION) and the client
CLI's SAGEMAKER_ENDPOINT, so the same shell settings describe the deployed endpoint and its twin.
"""

from __future__ import annotations

import argparse
import logging
import os
import signal
import sys
import threading
import time
from collections.abc import Sequence
from types import FrameType

from local_endpoint import runtime_api
from local_endpoint.container import HuggingFaceContainer
from local_endpoint.model import DEFAULT_MODEL_ID, DEFAULT_TASK, ModelNotAvailableError, load_pipeline, resolve_model
from local_endpoint.server import DEFAULT_ENDPOINT_NAME, DEFAULT_HOST, DEFAULT_PORT, TwinConfig, TwinServer

logger = logging.getLogger("local_endpoint")


def _non_negative_float(text: str) -> float:
    value = float(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m local_endpoint",
        description=(
            "Serve the embedding model locally with the SageMaker Runtime API (POST "
            "/endpoints/NAME/invocations) and the container contract (GET /ping, POST /invocations). "
            "Point boto3 at it with AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=http://HOST:PORT and dummy credentials."
        ),
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default: %(default)s)")
    parser.add_argument(
        "--port", type=int, default=DEFAULT_PORT, help="port to bind, 0 for any free one (default: %(default)s)"
    )
    parser.add_argument(
        "-e",
        "--endpoint-name",
        action="append",
        dest="endpoint_names",
        metavar="NAME",
        help="endpoint name to answer to; repeat for several (default: $SAGEMAKER_ENDPOINT, else "
        f"{DEFAULT_ENDPOINT_NAME}); other names get ValidationError",
    )
    parser.add_argument(
        "--model",
        default=os.environ.get("HF_MODEL_ID") or DEFAULT_MODEL_ID,
        help=f"{DEFAULT_MODEL_ID} (from its package) or a local model directory (default: $HF_MODEL_ID, else "
        "%(default)s)",
    )
    parser.add_argument(
        "--task",
        default=os.environ.get("HF_TASK") or DEFAULT_TASK,
        help="transformers pipeline task (default: $HF_TASK, else %(default)s)",
    )
    parser.add_argument(
        "--revision",
        default=os.environ.get("HF_MODEL_REVISION") or None,
        help="model revision, used only with --allow-download (default: $HF_MODEL_REVISION)",
    )
    parser.add_argument(
        "--allow-download",
        action="store_true",
        help="let a model that is neither packaged nor a directory be fetched from the Hugging Face Hub",
    )
    parser.add_argument(
        "--cold-start-seconds",
        type=_non_negative_float,
        default=0.0,
        metavar="N",
        help="answer ModelNotReadyException (429) until N seconds after start, like a cold serverless endpoint",
    )
    parser.add_argument(
        "--max-payload-bytes",
        type=int,
        default=runtime_api.SERVERLESS_PAYLOAD_LIMIT_BYTES,
        help="request bodies above this get ValidationError (default: %(default)s, the serverless 4 MB)",
    )
    parser.add_argument("--account-id", default=runtime_api.DEFAULT_ACCOUNT_ID, help="account named in error messages")
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or runtime_api.DEFAULT_REGION,
        help="region named in error messages when the request's signature names none (default: %(default)s)",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser


def _install_signal_handlers(server: TwinServer) -> None:
    """SIGINT/SIGTERM stop serve_forever; shutdown() must run off the serving thread or it deadlocks."""

    def stop(signum: int, frame: FrameType | None) -> None:
        logger.info("received %s, shutting down", signal.Signals(signum).name)
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)


def main(argv: Sequence[str] | None = None) -> int:
    args = _parser().parse_args(argv)
    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    endpoint_names = tuple(args.endpoint_names or [os.environ.get("SAGEMAKER_ENDPOINT") or DEFAULT_ENDPOINT_NAME])

    started = time.monotonic()
    try:
        source = resolve_model(args.model, revision=args.revision, allow_download=args.allow_download)
    except ModelNotAvailableError as error:
        logger.error("%s", error)
        return 2
    logger.info("loading %s (%s) from %s", source.model_id, args.task, source.location)

    container = HuggingFaceContainer(load_pipeline(source, args.task), args.task)
    config = TwinConfig(
        endpoint_names=endpoint_names,
        cold_start_seconds=args.cold_start_seconds,
        max_payload_bytes=args.max_payload_bytes,
        account_id=args.account_id,
        region=args.region,
    )
    try:
        server = TwinServer((args.host, args.port), container, config)
    except OSError as error:
        logger.error("cannot listen on %s:%s: %s", args.host, args.port, error)
        return 2
    _install_signal_handlers(server)
    logger.info("model loaded in %.1fs", time.monotonic() - started)
    if args.cold_start_seconds:
        logger.info("cold start: ModelNotReadyException for the next %gs", args.cold_start_seconds)
    logger.info("serving endpoint(s) %s at %s", ", ".join(endpoint_names), server.url)
    logger.info(
        "use it with: AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=%s AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local "
        "AWS_DEFAULT_REGION=%s",
        server.url,
        args.region,
    )
    try:
        server.serve_forever(poll_interval=0.2)
    finally:
        server.server_close()
    logger.info("stopped")
    return 0


if __name__ == "__main__":
    sys.exit(main())
