"""`python -m embeddings "vectorize me"`: check a deployed endpoint from a shell, and see what it really returns.

Vectors go to stdout as JSON, so the output pipes into jq or a file: one TEXT gives the vector, several TEXTs or
a --file give a list with one vector per text, in order (a --file always gives a list, so a script gets the
same shape from a one-line file). Without a TEXT, texts piped into stdin are read as with `--file -`. Progress
and errors go to stderr: a cold start can keep the command waiting for minutes, and saying why beats looking hung.

For many texts, `--jsonl` streams one vector per line (JSON Lines) as the work proceeds, `--output FILE` writes
them to a file, and `--resume` continues an interrupted run from that file. Batches run up to the endpoint's
MaxConcurrency at once (`--max-concurrency`), and a terminal's stderr shows a progress line.

Like any Unix tool, it fails with one line on stderr and a non-zero status, never a traceback, and it stops
quietly when the reader of its output goes away (`| head`).
"""

from __future__ import annotations

import argparse
import errno
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from embeddings import settings
from embeddings.batching import DEFAULT_BATCH_SIZE
from embeddings.client import (
    DEFAULT_ENDPOINT_NAME,
    DEFAULT_INVOCATION_TIMEOUT_S,
    DEFAULT_MAX_WAIT_S,
    DEFAULT_POOLING,
    MAX_CONCURRENCY_ENV_VAR,
    EmbeddingClient,
)
from embeddings.errors import EmbeddingError, InputTextError, OutputFileError
from embeddings.lines import decode_utf8, split_lines
from embeddings.output import LineWriter, Progress, completed_lines, vector_line
from embeddings.pooling import POOLING_MODES

ENDPOINT_ENV_VAR = "SAGEMAKER_ENDPOINT"
POOLING_ENV_VAR = "EMBEDDINGS_POOLING"

# What a shell reports for a process that SIGPIPE ended (128 + 13), as `yes | head -1` does for `yes`.
EXIT_BROKEN_PIPE = 141
EXIT_INTERRUPTED = 130
_BLANK_LINES_SHOWN = 5


class _StoppedRunError(EmbeddingError):
    """A JSON Lines run failed part way: the error, and what was kept of the output."""


class _OneLineParser(argparse.ArgumentParser):
    """argparse, but a usage error is one line (argparse prints the whole usage block first)."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


Number = TypeVar("Number", int, float)


def _option(rule: settings.Rule, parse: Callable[[str], Number]) -> Callable[[str], Number]:
    """An argparse type that holds an option to the client's own rule for that setting, naming the text as typed."""

    def convert(text: str) -> Number:
        try:
            value: Number | None = parse(text)
        except ValueError:
            value = None
        if value is None or not rule.test(value):
            raise argparse.ArgumentTypeError(f"must be {rule.requirement}, got {text!r}")
        return value

    return convert


_whole_number = _option(settings.whole_number_rule(1), int)
_seconds = _option(settings.SECONDS, float)
_positive_seconds = _option(settings.POSITIVE_SECONDS, float)


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
    parser.add_argument(
        "--max-concurrency",
        type=_whole_number,
        default=None,
        help=f"invocations at once (default: ${MAX_CONCURRENCY_ENV_VAR}, else the endpoint's serverless "
        "MaxConcurrency if DescribeEndpoint is allowed, else 1)",
    )
    parser.add_argument(
        "--jsonl",
        action="store_true",
        help="print one vector per line (JSON Lines, line i for text i) as they are ready, instead of one JSON value",
    )
    parser.add_argument(
        "-o",
        "--output",
        metavar="FILE",
        help="write the vectors to FILE instead of stdout (replacing it, unless --resume)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run: keep the vectors already in --output FILE (JSON Lines; a cut-off last "
        "line is redone), embed the texts after them, and append. Implies --jsonl",
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


def _write(output: str, file: Any = None) -> int:
    if file is not None:
        try:
            file.write(output.encode("utf-8"))
            file.flush()
        except OSError as error:
            _report(f"error: cannot write {getattr(file, 'name', 'the output')}: {error.strerror or error}")
            return 1
        return 0
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


def _max_concurrency(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int | None:
    if args.max_concurrency is not None:
        return int(args.max_concurrency)
    value = os.environ.get(MAX_CONCURRENCY_ENV_VAR, "")
    if not value:
        return None
    try:
        return _whole_number(value)
    except argparse.ArgumentTypeError:
        parser.error(f"${MAX_CONCURRENCY_ENV_VAR} is {value!r}; it must be a whole number of at least 1")


def _stderr_is_terminal() -> bool:
    try:
        return sys.stderr is not None and sys.stderr.isatty()
    except (OSError, ValueError):
        return False


def _log_to(stream: Any) -> None:
    logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=stream)
    logging.getLogger("embeddings").setLevel(logging.INFO)


def _open_output(args: argparse.Namespace, total: int, dimension: int) -> tuple[Any, int]:
    """The binary stream the vectors go to, and how many texts a resumed run already has in it."""
    if args.output is None:
        return None, 0
    path = Path(args.output)
    done = completed_lines(path, dimension) if args.resume else 0
    if done > total:
        raise OutputFileError(
            f"cannot resume {path}: it holds {done:,} vectors but the input has {total:,} texts, so it is not this "
            "input's output"
        )
    try:
        return path.open("ab" if args.resume else "wb"), done
    except OSError as error:
        raise OutputFileError(f"cannot write {path}: {error.strerror or error}") from None


def _embed_lines(
    client: EmbeddingClient, texts: list[str], writer: LineWriter, progress: Progress | None, where: str
) -> None:
    """Vectors as JSON Lines while the run works; on failure, say what was kept and how to go on."""
    vectors = client.iter_embed(texts)
    try:
        for vector in vectors:
            writer.write(vector_line(vector))
            if progress is not None:
                progress.advance()
    except (EmbeddingError, KeyboardInterrupt) as error:
        if progress is not None:
            progress.clear()
        kept = f"{writer.lines:,} of {len(texts):,} vectors {where}"
        if isinstance(error, KeyboardInterrupt):
            raise KeyboardInterrupt(kept) from error
        raise _StoppedRunError(f"{error}; {kept}") from error
    finally:
        vectors.close()  # stops the invocations still running (an error or Ctrl-C)
        writer.flush()


def _run(args: argparse.Namespace, runtime_client: Any | None, parser: argparse.ArgumentParser) -> int:
    if sys.stdout is None and args.output is None:  # fd 1 closed (`>&-`): check before any work
        _report("error: stdout is closed, so the vectors could not be printed; nothing was sent")
        return 1
    texts = _argument_texts(list(args.texts))
    if args.file is not None:
        texts.extend(_file_texts(args.file, args.quiet))
    if args.stdin_implied and not texts:
        # Likely no input meant at all (a script run with stdin on /dev/null), so not an empty answer.
        _report("python -m embeddings: error: give at least one TEXT or --file; stdin was empty (see --help)")
        return 2
    max_concurrency = _max_concurrency(args, parser)
    client = EmbeddingClient(
        args.endpoint_name,
        runtime_client=runtime_client,
        region_name=args.region,
        batch_size=args.batch_size,
        max_wait_s=args.max_wait,
        pooling=args.pooling,
        invocation_timeout_s=args.invocation_timeout,
        max_concurrency=max_concurrency,
    )
    output, done = _open_output(args, len(texts), client.limits.dimension)
    progress = None
    if not args.quiet and _stderr_is_terminal() and not args.raw and len(texts) - done > 1:
        progress = Progress(sys.stderr, len(texts), done)
    if not args.quiet and sys.stderr is not None:
        _log_to(progress or sys.stderr)
    try:
        if not texts and not args.jsonl:  # an empty --file: no lines, no vectors, no invocation
            return _write("[]\n", output)
        if args.raw:
            return _write(client.invoke_raw(texts).decode("utf-8", errors="replace") + "\n", output)
        if args.jsonl:
            stream = output if output is not None else getattr(sys.stdout, "buffer", None)
            if stream is None:  # a text-only stdout (an embedding host's): no partial writes to guard against
                return _write("".join(vector_line(v).decode() for v in client.iter_embed(texts)))
            where = f"written to {args.output}; rerun with --resume to continue" if output else "printed"
            try:
                _embed_lines(client, texts[done:], LineWriter(stream), progress, where)
            except BrokenPipeError:
                _silence_stdout()
                return EXIT_BROKEN_PIPE
            except OSError as error:
                _silence_stdout()
                _report(f"error: cannot write the output: {error.strerror or error}")
                return 1
        else:
            vectors = []
            for vector in client.iter_embed(texts):
                vectors.append(vector)
                if progress is not None:
                    progress.advance()
            single = args.file is None and len(texts) == 1
            status = _write(json.dumps(vectors[0] if single else vectors) + "\n", output)
            if status:
                return status
        if progress is not None:
            progress.finish()
        return 0
    finally:
        if output is not None:
            output.close()


def main(argv: Sequence[str] | None = None, *, runtime_client: Any | None = None) -> int:
    """Entry point; `runtime_client` lets tests answer for SageMaker. Returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    if args.pooling not in POOLING_MODES:  # argparse checks choices given on the command line, not defaults
        parser.error(f"${POOLING_ENV_VAR} is {args.pooling!r}; use one of {', '.join(POOLING_MODES)}")
    if args.resume:
        if args.output is None:
            parser.error("--resume needs --output FILE: the JSON Lines file of the run to continue")
        args.jsonl = True
    args.stdin_implied = False
    if not args.texts and args.file is None:
        if not _stdin_is_piped():
            parser.error("give at least one TEXT or --file (or pipe texts into stdin)")
        args.file, args.stdin_implied = "-", True
    try:
        return _run(args, runtime_client, parser)
    except EmbeddingError as error:
        _report(f"error: {error}")
    except KeyboardInterrupt as interrupt:
        _report(f"interrupted: {interrupt}" if str(interrupt) else "interrupted")
        return EXIT_INTERRUPTED
    except Exception as error:  # a bug or an unforeseen botocore error: still one line, never a traceback
        _report(f"error: unexpected {type(error).__name__}: {error}")
    return 1


def console() -> None:
    """The `alex-embed` command of an installed distribution."""
    sys.exit(main())


if __name__ == "__main__":
    console()
