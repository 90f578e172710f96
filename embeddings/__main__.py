"""`python -m embeddings "vectorize me"`: check a deployed endpoint from a shell, and see what it really returns.

Vectors go to stdout as JSON, so the output pipes into jq or a file: one TEXT gives the vector, several TEXTs or
a --file give a list with one vector per text, in order (a --file always gives a list, so a script gets the
same shape from a one-line file). Without a TEXT, texts piped into stdin are read as with `--file -`. Progress
and errors go to stderr: a cold start can keep the command waiting for minutes, and saying why beats looking hung.

Like any Unix tool, it fails with one line on stderr and a non-zero status, never a traceback, and it stops
quietly when the reader of its output goes away (`| head`).
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import math
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, NoReturn

from embeddings.batching import DEFAULT_BATCH_SIZE
from embeddings.client import (
    DEFAULT_ENDPOINT_NAME,
    DEFAULT_INVOCATION_TIMEOUT_S,
    DEFAULT_MAX_WAIT_S,
    DEFAULT_POOLING,
    EmbeddingClient,
)
from embeddings.errors import EmbeddingError, InputTextError
from embeddings.lines import decode_utf8, split_lines
from embeddings.pooling import POOLING_MODES

ENDPOINT_ENV_VAR = "SAGEMAKER_ENDPOINT"
POOLING_ENV_VAR = "EMBEDDINGS_POOLING"

# What a shell reports for a process that SIGPIPE ended (128 + 13), as `yes | head -1` does for `yes`.
EXIT_BROKEN_PIPE = 141
EXIT_INTERRUPTED = 130
_BLANK_LINES_SHOWN = 5


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (argparse prints the whole usage block first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def _whole_number(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        value = 0
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a whole number of at least 1, got {text!r}")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value < 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds, 0 or more, got {text!r}")
    return value


def _positive_seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not math.isfinite(value) or value <= 0:
        raise argparse.ArgumentTypeError(f"must be a finite number of seconds above 0, got {text!r}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _OneLineParser(
        prog="python -m embeddings",
        description="Embed texts with the all-MiniLM-L6-v2 SageMaker endpoint and print the vectors as JSON.",
    )
    parser.add_argument(
        "texts",
        nargs="*",
        metavar="TEXT",
        help="text(s) to embed; without any, texts piped into stdin are read as with --file -",
    )
    parser.add_argument(
        "-f",
        "--file",
        help="read texts from FILE, one per line (every line, blank ones too: vector i is line i+1); '-' reads "
        "stdin. UTF-8, '\\r\\n' line ends accepted. Always prints a list",
    )
    parser.add_argument(
        "-e",
        "--endpoint-name",
        default=os.environ.get(ENDPOINT_ENV_VAR) or DEFAULT_ENDPOINT_NAME,
        help=f"SageMaker endpoint (default: ${ENDPOINT_ENV_VAR}, else {DEFAULT_ENDPOINT_NAME})",
    )
    parser.add_argument("-r", "--region", help="AWS region (default: the standard AWS configuration)")
    parser.add_argument(
        "--pooling",
        choices=POOLING_MODES,
        default=os.environ.get(POOLING_ENV_VAR) or DEFAULT_POOLING,
        help="who pools: the stack output `pooling` (client or server), or auto to learn it from the first "
        f"answer (default: ${POOLING_ENV_VAR}, else {DEFAULT_POOLING})",
    )
    parser.add_argument(
        "--raw",
        action="store_true",
        help="print the container's raw answer (one invocation) instead of sentence vectors",
    )
    parser.add_argument(
        "--batch-size",
        type=_whole_number,
        default=DEFAULT_BATCH_SIZE,
        help="max texts per invocation (default: %(default)s)",
    )
    parser.add_argument(
        "--max-wait",
        type=_seconds,
        default=DEFAULT_MAX_WAIT_S,
        help="seconds to keep retrying a cold or busy endpoint (default: %(default)s)",
    )
    parser.add_argument(
        "--invocation-timeout",
        type=_positive_seconds,
        default=DEFAULT_INVOCATION_TIMEOUT_S,
        help="wall-clock seconds one invocation attempt may take, answer included (default: %(default)s)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress or notes on stderr")
    return parser


def _report(message: str) -> None:
    """One line on stderr, whatever the message holds; nothing if stderr itself is closed or broken."""
    if sys.stderr is None:
        return
    try:
        sys.stderr.write(" ".join(message.splitlines()) + "\n")
        sys.stderr.flush()
    except (OSError, ValueError):
        pass


def _stdin_is_piped() -> bool:
    """stdin is a pipe or a file (`echo hi | python -m embeddings`), not a terminal waiting for typing."""
    try:
        return sys.stdin is not None and not sys.stdin.isatty()
    except (OSError, ValueError):  # closed, or an object without a usable isatty
        return False


def _read_input(file: str) -> bytes:
    if file != "-":
        try:
            return Path(file).read_bytes()
        except OSError as error:
            raise InputTextError(f"cannot read {file}: {error.strerror or error}") from None
    if sys.stdin is None:  # Python's stdin when file descriptor 0 is closed (`<&-`)
        raise InputTextError("cannot read texts from stdin: it is closed")
    try:
        stream = getattr(sys.stdin, "buffer", None)
        return stream.read() if stream is not None else sys.stdin.read().encode("utf-8")
    except (OSError, ValueError) as error:
        raise InputTextError(f"cannot read texts from stdin: {error}") from None


def _file_texts(file: str, quiet: bool) -> list[str]:
    source = "stdin" if file == "-" else file
    lines = split_lines(_read_input(file), source)
    blank = [number for number, line in enumerate(lines, 1) if not line.strip()]
    if blank and not quiet:
        shown = ", ".join(map(str, blank[:_BLANK_LINES_SHOWN])) + (", ..." if len(blank) > _BLANK_LINES_SHOWN else "")
        _report(
            f"note: {len(blank)} blank line(s) in {source} ({shown}) are embedded as they are, so that the output "
            "keeps one vector per line; filter them out first to skip them, e.g. grep -v '^[[:space:]]*$'"
        )
    return lines


def _argument_texts(arguments: list[str]) -> list[str]:
    """Arguments the shell passed as bytes that are not UTF-8 reach Python as lone surrogates; name them."""
    for number, argument in enumerate(arguments, 1):
        try:
            argument.encode("utf-8")
        except UnicodeEncodeError:
            decode_utf8(argument.encode("utf-8", "surrogateescape"), f"TEXT argument {number}")
    return arguments


def _silence_stdout() -> None:
    """Point stdout at /dev/null, so the interpreter's final flush of what is left cannot fail a second time."""
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError):
        pass


def _write_all(output: str) -> None:
    """Every byte, or an OSError. A pipe whose reader leaves mid-write takes part of a large write; the text layer
    ignores such a short count and the rest is silently dropped, so the bytes are written in a loop here."""
    stream = getattr(sys.stdout, "buffer", None)
    if stream is None:
        sys.stdout.write(output)
        sys.stdout.flush()
        return
    sys.stdout.flush()
    view = memoryview(output.encode("utf-8"))
    while view:
        written = stream.write(view)
        if not written:
            raise OSError(errno.EIO, "stdout accepted no more bytes")
        view = view[written:]
    stream.flush()


def _write(output: str) -> int:
    try:
        _write_all(output)
    except BrokenPipeError:  # the reader stopped early (`| head`): stop quietly, as Unix tools do
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as error:  # e.g. a full disk (/dev/full): the vectors are lost, so say so
        _silence_stdout()
        _report(f"error: cannot write the output to stdout: {error.strerror or error}")
        return 1
    return 0


def _run(args: argparse.Namespace, runtime_client: Any | None) -> int:
    if sys.stdout is None:  # Python's stdout when file descriptor 1 is closed (`>&-`): check before any work
        _report("error: stdout is closed, so the vectors could not be printed; nothing was sent")
        return 1
    texts = _argument_texts(list(args.texts))
    if args.file is not None:
        texts.extend(_file_texts(args.file, args.quiet))
    if args.stdin_implied and not texts:
        # Likely no input meant at all (a script run with stdin on /dev/null), so not an empty answer.
        _report("python -m embeddings: error: give at least one TEXT or --file; stdin was empty (see --help)")
        return 2
    if not args.quiet and sys.stderr is not None:
        logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
        logging.getLogger("embeddings").setLevel(logging.INFO)

    client = EmbeddingClient(
        args.endpoint_name,
        runtime_client=runtime_client,
        region_name=args.region,
        batch_size=args.batch_size,
        max_wait_s=args.max_wait,
        pooling=args.pooling,
        invocation_timeout_s=args.invocation_timeout,
    )
    if not texts:  # an empty --file: no lines, no vectors, no invocation
        return _write("[]\n")
    if args.raw:
        return _write(client.invoke_raw(texts).decode("utf-8", errors="replace") + "\n")
    vectors = client.embed(texts)
    single = args.file is None and len(texts) == 1
    return _write(json.dumps(vectors[0] if single else vectors) + "\n")


def main(argv: Sequence[str] | None = None, *, runtime_client: Any | None = None) -> int:
    """Entry point; `runtime_client` lets tests answer for SageMaker. Returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.pooling not in POOLING_MODES:  # argparse checks choices given on the command line, not defaults
        parser.error(f"${POOLING_ENV_VAR} is {args.pooling!r}; use one of {', '.join(POOLING_MODES)}")
    args.stdin_implied = False
    if not args.texts and args.file is None:
        if not _stdin_is_piped():
            parser.error("give at least one TEXT or --file (or pipe texts into stdin)")
        args.file, args.stdin_implied = "-", True
    try:
        return _run(args, runtime_client)
    except EmbeddingError as error:
        _report(f"error: {error}")
    except KeyboardInterrupt:
        _report("interrupted")
        return EXIT_INTERRUPTED
    except Exception as error:  # a bug or an unforeseen botocore error: still one line, never a traceback
        _report(f"error: unexpected {type(error).__name__}: {error}")
    return 1


if __name__ == "__main__":
    sys.exit(main())
