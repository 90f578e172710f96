"""`python -m local_endpoint`: the embedding endpoint on 127.0.0.1, for boto3 code that must not need AWS.

Defaults follow the container's environment variables (HF_MODEL_ID, HF_TASK, HF_MODEL_REVISION) and the client
CLI's SAGEMAKER_ENDPOINT, so the same shell settings describe the deployed endpoint and its twin.

With `--model-artifact PATH` it serves a model artifact's code/inference.py (the stack's `pooling: server`) with the
local model as `model_dir`, as the container does with HF_MODEL_ID set; without it, the HF_TASK pipeline
(`pooling: client`). With `--serving-stack` it forwards every invocation to the container's own serving stack
(local_endpoint/serving_stack.py: the toolkit's entry point and multi-model-server, from .venv-serving) started on
the artifact and the container environment given.

With `--transform-jobs` the same port also plays SageMaker's transform-job control plane (CreateTransformJob and
friends, local_endpoint/transform_jobs.py) for the one model `--model-name`, reading and writing the S3 that
AWS_ENDPOINT_URL_S3 names, and sending each mini-batch to the container above.
"""

from __future__ import annotations

import argparse
import dataclasses
import errno
import logging
import math
import os
import sys
import time
from collections.abc import Callable, Sequence
from typing import NoReturn

from local_endpoint import config, runtime_api, serving_stack
from local_endpoint.artifact import ArtifactContainer, artifact_path_problem
from local_endpoint.config import DEFAULT_ENDPOINT_NAME, TwinConfig
from local_endpoint.container import HuggingFaceContainer
from local_endpoint.model import (
    DEFAULT_MODEL_ID,
    DEFAULT_TASK,
    ModelNotAvailableError,
    ModelSource,
    load_pipeline,
    resolve_model,
)
from local_endpoint.server import DEFAULT_HOST, DEFAULT_PORT, TwinServer, bind_socket

logger = logging.getLogger("local_endpoint")

PROG = "python -m local_endpoint"


class _OneLineErrorParser(argparse.ArgumentParser):
    """argparse, but a bad option is one line on stderr (no usage block) and exit status 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message}\n")


def _finite_seconds(*, zero_allowed: bool) -> Callable[[str], float]:
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = math.nan
        if not (math.isfinite(value) and (value > 0 or (zero_allowed and value == 0))):
            bound = ">= 0" if zero_allowed else "> 0"
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed: use a finite number of seconds {bound}")
        return value

    return parse


_finite_non_negative = _finite_seconds(zero_allowed=True)
_finite_positive = _finite_seconds(zero_allowed=False)


def _int_in_range(low: int, high: int | None, what: str) -> Callable[[str], int]:
    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = None
        if value is None or value < low or (high is not None and value > high):
            allowed = f"a whole number from {low} to {high}" if high is not None else f"a whole number >= {low}"
            raise argparse.ArgumentTypeError(f"{text!r} is not allowed: use {allowed} ({what})")
        return value

    return parse


def _endpoint_name(text: str) -> str:
    if not runtime_api.is_endpoint_name(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a valid SageMaker endpoint name: use 1-63 letters, digits and hyphens, starting and "
            "ending with a letter or digit"
        )
    return text


def _model_name(text: str) -> str:
    if not runtime_api.is_model_name(text):
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a valid SageMaker model name: use 1-63 letters, digits and hyphens, starting and "
            "ending with a letter or digit"
        )
    return text


def _account_id(text: str) -> str:
    if not (len(text) == 12 and text.isascii() and text.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r} is not an AWS account ID: use 12 digits")
    return text


def _model_artifact(text: str) -> str:
    problem = artifact_path_problem(text)
    if problem:
        raise argparse.ArgumentTypeError(problem)
    return text


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineErrorParser(
        prog=PROG,
        description=(
            "Serve the embedding model locally with the SageMaker Runtime API (POST "
            "/endpoints/NAME/invocations) and the container contract (GET /ping, POST /invocations). "
            "Point boto3 at it with AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=http://HOST:PORT and dummy credentials."
        ),
    )
    parser.add_argument("--host", default=DEFAULT_HOST, help="address to bind (default: %(default)s)")
    parser.add_argument(
        "--port",
        type=_int_in_range(0, 65535, "0 picks a free port"),
        default=DEFAULT_PORT,
        help="port to bind, 0 for any free one (default: %(default)s)",
    )
    parser.add_argument(
        "-e",
        "--endpoint-name",
        action="append",
        type=_endpoint_name,
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
        "--model-artifact",
        type=_model_artifact,
        metavar="PATH",
        help="serve this model artifact (a model.tar.gz, or a folder holding code/inference.py) through the "
        "inference toolkit's user-module contract, with --model as model_dir, as `pooling: server` deploys it "
        "(default: none, the --task pipeline as `pooling: client` deploys it)",
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
        type=_finite_non_negative,
        default=0.0,
        metavar="N",
        help="answer ModelNotReadyException (429) until N seconds after start, like a cold serverless endpoint",
    )
    parser.add_argument(
        "--max-payload-bytes",
        type=_int_in_range(1, None, "bytes"),
        default=runtime_api.SERVERLESS_PAYLOAD_LIMIT_BYTES,
        help="request bodies above this get ValidationError (default: %(default)s, the serverless 4 MB)",
    )
    parser.add_argument(
        "--max-concurrency",
        type=_int_in_range(1, runtime_api.MAX_CONCURRENCY_LIMIT, "serverless MaxConcurrency"),
        default=runtime_api.DEFAULT_MAX_CONCURRENCY,
        metavar="N",
        help="invocations beyond N in flight get ThrottlingException (400), as on a serverless endpoint with "
        "MaxConcurrency N (default: %(default)s, the stack's default)",
    )
    limits = parser.add_argument_group(
        "connections and stopping",
        "what one client may hold, and how the twin stops: the first SIGTERM or Ctrl-C stops it gracefully "
        "(invocations under way are answered, uploads still arriving get --shutdown-grace-seconds), a second one "
        "stops it at once (exit status 128 + the signal: 130 for Ctrl-C, 143 for SIGTERM)",
    )
    limits.add_argument(
        "--keep-alive-timeout-seconds",
        type=_finite_positive,
        default=config.KEEP_ALIVE_TIMEOUT_S,
        metavar="N",
        help="close a connection with no request under way after N idle seconds, also one that never sent a byte "
        "(default: %(default)s)",
    )
    limits.add_argument(
        "--header-timeout-seconds",
        type=_finite_positive,
        default=config.HEADER_TIMEOUT_S,
        metavar="N",
        help="a request's headers must be complete N seconds after its first byte, else 408 and the connection "
        "is closed (default: %(default)s)",
    )
    limits.add_argument(
        "--body-timeout-seconds",
        type=_finite_positive,
        default=config.BODY_TIMEOUT_S,
        metavar="N",
        help="a request's body must be complete N seconds after its headers, else 408 RequestTimeoutException "
        "and the connection is closed (default: %(default)s)",
    )
    limits.add_argument(
        "--shutdown-grace-seconds",
        type=_finite_non_negative,
        default=config.SHUTDOWN_GRACE_S,
        metavar="N",
        help="on the first SIGTERM/Ctrl-C, uploads still arriving get N more seconds, then 503 ServiceUnavailable "
        "(default: %(default)s)",
    )
    limits.add_argument(
        "--max-connections",
        type=_int_in_range(1, None, "open connections"),
        default=config.MAX_CONNECTIONS,
        metavar="N",
        help="open connections at most, fewer if ulimit -n is too low; beyond it the longest-idle connection is "
        "closed, or the new one if none is idle (default: %(default)s)",
    )
    parser.add_argument(
        "--account-id",
        type=_account_id,
        default=runtime_api.DEFAULT_ACCOUNT_ID,
        help="account named in error messages (default: %(default)s)",
    )
    parser.add_argument(
        "--region",
        default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or runtime_api.DEFAULT_REGION,
        help="region named in error messages when the request's signature names none (default: %(default)s)",
    )
    stack = parser.add_argument_group("the container's own serving stack")
    stack.add_argument(
        "--serving-stack",
        action="store_true",
        help="serve through the inference container's own Python serving stack (the toolkit's entry point and "
        "multi-model-server; needs `make serving-venv` and Java) started on --model-artifact, a model.tar.gz as "
        "SageMaker extracts it, with the container environment below; --model and --task are not used",
    )
    stack.add_argument(
        "--container-env",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="an environment variable of the model, as the stack gives it (repeatable; default: HF_TASK=--task)",
    )
    stack.add_argument(
        "--container-env-file",
        metavar="PATH",
        help='the model\'s environment as a JSON object (or a rendered case with an "environment" object)',
    )
    stack.add_argument(
        "--serving-python",
        metavar="PATH",
        help=f"the serving venv's python (default: ${serving_stack.SERVING_PYTHON_ENV}, else .venv-serving/bin/python)",
    )
    batch = parser.add_argument_group("SageMaker Batch Transform")
    batch.add_argument(
        "--transform-jobs",
        action="store_true",
        help="also serve SageMaker's CreateTransformJob, DescribeTransformJob, StopTransformJob and ListTransformJobs "
        "on this port (AWS_ENDPOINT_URL_SAGEMAKER=http://HOST:PORT); jobs read and write the S3 that "
        "AWS_ENDPOINT_URL_S3 names and send each mini-batch to the model served here",
    )
    batch.add_argument(
        "--model-name",
        type=_model_name,
        metavar="NAME",
        help=f"with --transform-jobs: the SageMaker model jobs may name; others get ValidationException (default: "
        f"$SAGEMAKER_MODEL_NAME, else {config.DEFAULT_MODEL_NAME})",
    )
    parser.add_argument("--log-level", default="INFO", choices=["DEBUG", "INFO", "WARNING", "ERROR"])
    return parser


def _serving_stack(args: argparse.Namespace) -> serving_stack.ServingStack:
    """The real stack, started and answering, with HF_TASK from --task unless the container environment sets it."""
    environment = {"HF_TASK": args.task}
    if args.container_env_file:
        environment |= serving_stack.load_environment_file(args.container_env_file)
    environment |= serving_stack.parse_environment_pairs(args.container_env)
    logger.info("starting the container's serving stack on %s", args.model_artifact or "no model artifact")
    stack = serving_stack.start_for_twin(args.model_artifact, environment, python=args.serving_python)
    logger.info("mode: the container's own serving stack at %s, every invocation forwarded to it", stack.url)
    return stack


def _fail(message: str) -> int:
    print(f"{PROG}: error: {message}", file=sys.stderr)
    return 2


def _cannot_listen(host: str, port: int, error: OSError) -> str:
    """Why the socket cannot be bound; for a busy port, the command that picks another, in the form the user ran
    (`make twin` passes --port $(TWIN_PORT), and GNU make exports MAKELEVEL to the commands it runs)."""
    message = f"cannot listen on {host}:{port}: {error.strerror or error}"
    if error.errno != errno.EADDRINUSE:
        return message
    free = _free_port_after(host, port)
    if os.environ.get("MAKELEVEL"):
        return f"{message}; use another port: make twin TWIN_PORT={free if free is not None else 0}"
    if free is None:
        return f"{message}; use another port: --port 0 picks a free one"
    return f"{message}; use another port: --port {free}, or --port 0 for any free one"


def _free_port_after(host: str, port: int, tries: int = 20) -> int | None:
    """The first of the next few ports that can be bound now, to suggest it; None if all are taken."""
    for candidate in range(port + 1, min(port + tries, 65535) + 1):
        try:
            bind_socket(host, candidate).close()
        except OSError:
            continue
        return candidate
    return None


def _load_container(
    args: argparse.Namespace, source: ModelSource
) -> HuggingFaceContainer | ArtifactContainer | serving_stack.ServingStack:
    """The container the twin serves, logging which of the stack's two pooling modes it stands for."""
    if args.serving_stack:
        return _serving_stack(args)
    if not args.model_artifact:
        logger.info("loading %s (%s) from %s", source.model_id, args.task, source.location)
        pipeline_container = HuggingFaceContainer(load_pipeline(source, args.task), args.task)
        logger.info("mode: the %s pipeline's own answers, as `pooling: client` deploys it", args.task)
        return pipeline_container
    model_dir = source.location
    if source.from_hub:  # the container downloads HF_MODEL_ID and hands model_fn that folder
        from huggingface_hub import snapshot_download

        model_dir = snapshot_download(source.location, revision=source.revision)
    logger.info("loading model artifact %s", args.model_artifact)
    container = ArtifactContainer(args.model_artifact, model_dir=model_dir, task=args.task)
    if container.model_dir == str(container.root):
        logger.info("model_dir: the artifact's own model, as the container serves /opt/ml/model")
    else:
        logger.info(
            "model_dir: %s from %s, standing in for the Hub download of HF_MODEL_ID", source.model_id, model_dir
        )
    logger.info(
        "mode: model artifact %s, its code/%s.py through the toolkit's handler contract, as `pooling: server` "
        "deploys it",
        args.model_artifact,
        container.module.__name__,
    )
    return container


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    if not args.serving_stack and (args.container_env or args.container_env_file or args.serving_python):
        parser.error("--container-env, --container-env-file and --serving-python go with --serving-stack")
    if args.model_name and not args.transform_jobs:
        parser.error("--model-name goes with --transform-jobs")
    model_name = config.DEFAULT_MODEL_NAME
    if args.transform_jobs:
        model_name = args.model_name or os.environ.get("SAGEMAKER_MODEL_NAME") or config.DEFAULT_MODEL_NAME
    if not runtime_api.is_model_name(model_name):
        return _fail(
            f"$SAGEMAKER_MODEL_NAME: {model_name!r} is not a valid SageMaker model name: use --model-name NAME, or "
            "1-63 letters, digits and hyphens, starting and ending with a letter or digit"
        )
    endpoint_names = tuple(args.endpoint_names or [os.environ.get("SAGEMAKER_ENDPOINT") or DEFAULT_ENDPOINT_NAME])
    try:
        twin_config = TwinConfig(
            endpoint_names=endpoint_names,
            cold_start_seconds=args.cold_start_seconds,
            max_payload_bytes=args.max_payload_bytes,
            account_id=args.account_id,
            region=args.region,
            max_concurrency=args.max_concurrency,
            keep_alive_timeout_seconds=args.keep_alive_timeout_seconds,
            header_timeout_seconds=args.header_timeout_seconds,
            body_timeout_seconds=args.body_timeout_seconds,
            shutdown_grace_seconds=args.shutdown_grace_seconds,
            max_connections=args.max_connections,
            transform_jobs=args.transform_jobs,
            model_name=model_name,
        )
    except ValueError as error:  # only $SAGEMAKER_ENDPOINT is left unchecked by the parser
        return _fail(f"$SAGEMAKER_ENDPOINT: {error}")
    try:
        source = resolve_model(args.model, revision=args.revision, allow_download=args.allow_download)
    except ModelNotAvailableError as error:
        return _fail(str(error))
    try:
        sock = bind_socket(args.host, args.port)
    except OSError as error:
        return _fail(_cannot_listen(args.host, args.port, error))

    logging.basicConfig(level=args.log_level, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    started = time.monotonic()
    try:
        container = _load_container(args, source)
    except Exception as error:  # transformers and user modules raise many kinds; each is reported as one line
        sock.close()
        reason = " ".join(str(error).split())
        if args.serving_stack:
            return _fail(f"cannot serve through the container's serving stack: {reason}")
        if args.model_artifact:
            return _fail(
                f"cannot serve model artifact {args.model_artifact!r} with model {args.model!r}: "
                f"{type(error).__name__}: {reason}"
            )
        return _fail(f"cannot load model {args.model!r} for task {args.task!r}: {type(error).__name__}: {reason}")
    if args.transform_jobs:  # DescribeModel shows the model's environment: the serving stack's, else the program's
        if isinstance(container, serving_stack.ServingStack):
            environment = dict(container.environment)
        elif isinstance(container, ArtifactContainer):
            environment = dict(config.SERVER_POOLING_ENVIRONMENT)
        else:
            environment = {}
        environment = {"HF_TASK": args.task, **environment}
        twin_config = dataclasses.replace(twin_config, model_environment=tuple(environment.items()))
    server = TwinServer(sock, container, twin_config)
    logger.info("model loaded in %.1fs", time.monotonic() - started)
    if args.cold_start_seconds:
        logger.info("cold start: ModelNotReadyException for the next %gs", args.cold_start_seconds)
    logger.info("max concurrency %d: invocations beyond it get ThrottlingException", args.max_concurrency)
    logger.info(
        "connections: at most %d, closed after %gs idle; headers within %gs, bodies within %gs of them",
        server.max_connections,
        twin_config.keep_alive_timeout_seconds,
        twin_config.header_timeout_seconds,
        twin_config.body_timeout_seconds,
    )
    logger.info("serving endpoint(s) %s at %s", ", ".join(endpoint_names), server.url)
    logger.info(
        "use it with: AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME=%s AWS_ACCESS_KEY_ID=local AWS_SECRET_ACCESS_KEY=local "
        "AWS_DEFAULT_REGION=%s",
        server.url,
        args.region,
    )
    if args.transform_jobs:
        logger.info(
            "transform jobs for model %s: AWS_ENDPOINT_URL_SAGEMAKER=%s; their S3 is %s",
            model_name,
            server.url,
            os.environ.get("AWS_ENDPOINT_URL_S3") or os.environ.get("AWS_ENDPOINT_URL") or "AWS's",
        )
    logger.info(
        "Ctrl-C or SIGTERM stops it: uploads under way get %gs, invocations under way are answered; a second one "
        "stops it at once",
        twin_config.shutdown_grace_seconds,
    )
    # What must not outlive the twin: an unpacked model.tar.gz, or the serving stack's processes.
    release = (
        container.stop
        if isinstance(container, serving_stack.ServingStack)
        else container.close
        if isinstance(container, ArtifactContainer)
        else None
    )
    try:
        # Returns after the first SIGTERM/SIGINT once in-flight requests and model calls have finished; a second
        # signal ends the process from inside run(), after `release`.
        server.run(before_forced_exit=release)
    finally:
        if release is not None:
            release()
    logger.info("stopped")
    return 0


def console() -> None:
    """The `alex-twin` command of an installed distribution."""
    sys.exit(main())


if __name__ == "__main__":
    console()
