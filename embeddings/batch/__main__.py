"""`python -m embeddings.batch run texts.txt -o vectors.jsonl`: a corpus through SageMaker Batch Transform.

Like `python -m embeddings`, it fails with one line on stderr and an exit status (docs/batch.md lists them), never
a traceback; progress and notes go to stderr, and only what a command is asked for goes to stdout (`submit`
prints the job's name, `status` the jobs' states).
"""

from __future__ import annotations

import argparse
import functools
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import NoReturn

from botocore.exceptions import BotoCoreError, ClientError, NoCredentialsError

from embeddings.batch import settings
from embeddings.batch.aws import Clients, make_clients
from embeddings.batch.errors import EXIT_ERROR, EXIT_INTERRUPTED, EXIT_USAGE, BatchError, UsageError
from embeddings.batch.runner import PROGRAM, Context, ask_on_terminal, fetch, run, status, stop, submit
from embeddings.batch.waiting import Pause, Watcher, pause
from embeddings.errors import EmbeddingError
from embeddings.output import report


class _Usage(Exception):
    """argparse's error, carried out of parse_args so it is reported like every other usage error."""


class _OneLineParser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:
        raise _Usage(message)


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog=PROGRAM,
        description="Embed a corpus with SageMaker Batch Transform on the stack's model; vectors as JSON Lines.",
    )
    common = _OneLineParser(add_help=False)
    common.add_argument("--region", help="AWS region (default: the standard AWS configuration)")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND", parser_class=_OneLineParser)
    add = functools.partial(commands.add_parser, parents=[common])

    def job_options(command: argparse.ArgumentParser) -> None:
        command.add_argument(
            "input",
            metavar="INPUT",
            help="texts, one per line as `python -m embeddings --file` reads them ('-' for stdin), or an s3:// "
            'prefix of JSON Lines records with the text under "inputs"',
        )
        command.add_argument("--model-name", help=f"the stack's SageMaker model (default: ${settings.MODEL_ENV_VAR})")
        command.add_argument("--bucket", help=f"the stack's batch bucket (default: ${settings.BUCKET_ENV_VAR})")
        command.add_argument(
            "--instance-type",
            default=settings.DEFAULT_INSTANCE_TYPE,
            help="a transform instance type (default: %(default)s)",
        )
        command.add_argument(
            "--instance-count", default="1", help=f"instances, 1-{settings.MAX_INSTANCES} (default: %(default)s)"
        )
        command.add_argument(
            "--job-prefix",
            help=f"start of every job name; the stack's batch policy allows <prefix>* (default: "
            f"${settings.JOB_PREFIX_ENV_VAR}, else the stack's: <endpoint name>-batch- with the endpoint from "
            f"${settings.ENDPOINT_ENV_VAR}, else {settings.DEFAULT_JOB_PREFIX})",
        )
        command.add_argument("-y", "--yes", action="store_true", help="start the job without asking")

    run_command = add("run", help="submit, wait with progress, check every answer, write OUTPUT")
    job_options(run_command)
    run_command.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="the JSON Lines file to write")
    job_options(add("submit", help="upload and start the job (or find it); print its name"))
    add("status", help="the job's state and output shards").add_argument("job", metavar="JOB")
    fetch_command = add("fetch", help="wait for the job, check every answer, write OUTPUT")
    fetch_command.add_argument("job", metavar="JOB")
    fetch_command.add_argument("-o", "--output", required=True, metavar="OUTPUT", help="the JSON Lines file to write")
    add("stop", help="stop the job (what it answered stays in S3)").add_argument("job", metavar="JOB")
    return parser


def _job_settings(args: argparse.Namespace) -> settings.JobSettings:
    model_env = os.environ.get(settings.MODEL_ENV_VAR)
    bucket_env = os.environ.get(settings.BUCKET_ENV_VAR)
    prefix_env = os.environ.get(settings.JOB_PREFIX_ENV_VAR)
    return settings.JobSettings(
        model_name=settings.model_name(args.model_name or model_env, from_env=not args.model_name),
        bucket=settings.bucket(args.bucket or bucket_env, from_env=not args.bucket),
        instance_type=settings.instance_type(args.instance_type),
        instance_count=settings.instance_count(args.instance_count),
        job_prefix=settings.job_prefix(
            args.job_prefix or prefix_env or _stack_job_prefix(),
            from_env=not args.job_prefix and bool(prefix_env),
        ),
    )


def _stack_job_prefix() -> str:
    """The prefix the stack's batch policy allows: from the endpoint's name, which `make smoke` prints as
    SAGEMAKER_ENDPOINT (an invalid name is the stack's to refuse; the prefix is checked as any other)."""
    endpoint = os.environ.get(settings.ENDPOINT_ENV_VAR)
    return settings.default_job_prefix(endpoint) if endpoint else settings.DEFAULT_JOB_PREFIX


def _is_terminal(stream: object) -> bool:
    try:
        return bool(stream is not None and stream.isatty())  # type: ignore[attr-defined]
    except (OSError, ValueError):
        return False


def _dispatch(args: argparse.Namespace, ctx: Context, job_settings: settings.JobSettings | None) -> int:
    if job_settings is not None:
        if args.command == "run":
            run(ctx, args.input, job_settings, Path(args.output))
        else:
            print(submit(ctx, args.input, job_settings))
    elif args.command == "fetch":
        fetch(ctx, args.job, Path(args.output))
    elif args.command == "status":
        print(status(ctx, args.job))
    else:
        print(stop(ctx, args.job))
    return 0


def main(
    argv: Sequence[str] | None = None,
    *,
    clients: Clients | None = None,
    pause: Pause = pause,
    terminal: bool | None = None,
    ask: Callable[[str], bool] = ask_on_terminal,
) -> int:
    """Entry point; tests give their own AWS clients, pause and terminal. Returns the exit status."""
    try:
        args = _parser().parse_args(argv)
        job_settings = _job_settings(args) if args.command in ("run", "submit") else None  # before any AWS client
        on_terminal = _is_terminal(sys.stdin) and _is_terminal(sys.stderr) if terminal is None else terminal
        ctx = Context(
            clients=clients or make_clients(args.region),
            report=report,
            watcher=Watcher(sys.stderr, _is_terminal(sys.stderr) if terminal is None else terminal),
            pause=pause,
            terminal=on_terminal,
            ask=ask,
            yes=bool(getattr(args, "yes", False)),
        )
        return _dispatch(args, ctx, job_settings)
    except _Usage as error:
        report(f"{PROGRAM}: error: {error} (see --help)")
        return EXIT_USAGE
    except UsageError as error:
        report(f"{PROGRAM}: error: {error}")
        return EXIT_USAGE
    except BatchError as error:
        report(str(error) if error.exit_code == EXIT_INTERRUPTED else f"error: {error}")
        return error.exit_code
    except EmbeddingError as error:  # the input's checks (unreadable, not UTF-8, a text too large)
        report(f"error: {error}")
    except NoCredentialsError:
        report("error: no AWS credentials: configure them with `aws configure`, AWS_PROFILE, or AWS_ACCESS_KEY_ID")
    except (ClientError, BotoCoreError) as error:
        report(f"error: {error}")
    except KeyboardInterrupt:
        report("interrupted")
        return EXIT_INTERRUPTED
    except Exception as error:  # a bug or an unforeseen error: still one line, never a traceback
        report(f"error: unexpected {type(error).__name__}: {error}")
    return EXIT_ERROR


def console() -> None:
    """The `alex-embed-batch` command of an installed distribution."""
    sys.exit(main())


if __name__ == "__main__":
    console()
