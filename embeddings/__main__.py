"""`python -m embeddings "vectorize me"`: check a deployed endpoint from a shell, and see what it really returns.

Vectors go to stdout as JSON, so the output pipes into jq or a file: one TEXT gives the vector, several TEXTs or
a --file give a list with one vector per text, in order (a --file always gives a list, so a script gets the
same shape from a one-line file). Without a TEXT, texts piped into stdin are read as with `--file -`. Progress
and errors go to stderr: a cold start can keep the command waiting for minutes, and saying why beats looking hung.

For many texts, `--jsonl` streams one vector per line (JSON Lines) as the work proceeds, `--output FILE` writes
them to a file, and `--resume` continues an interrupted run from that file. FILE is the user's data: it is replaced
only by a complete output (output.py), and a resume keeps nothing it has not checked against this input and these
settings (resume.py). Batches run up to the endpoint's MaxConcurrency at once (`--max-concurrency`), and a
terminal's stderr shows a progress line.

Like any Unix tool, it fails with one line on stderr and a non-zero status, never a traceback, and it stops
quietly when the reader of its output goes away (`| head`).
"""

from __future__ import annotations

import argparse
import contextlib
import errno
import json
import logging
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, NoReturn, TypeVar

from botocore.exceptions import InvalidRegionError
from botocore.utils import validate_region_name

from embeddings import output, resume, settings
from embeddings.batching import BATCH_SIZE_LIMIT, DEFAULT_BATCH_SIZE, MAX_TEXTS_PER_REQUEST
from embeddings.client import (
    DEFAULT_ENDPOINT_NAME,
    DEFAULT_INVOCATION_TIMEOUT_S,
    DEFAULT_MAX_WAIT_S,
    DEFAULT_POOLING,
    MAX_CONCURRENCY_ENV_VAR,
    EmbeddingClient,
)
from embeddings.errors import (
    EmbeddingError,
    InputTextError,
    InvalidSettingError,
    OutputFileError,
    PermanentEndpointError,
    ResponseShapeError,
)
from embeddings.lines import decode_utf8, split_lines
from embeddings.output import Progress, report, vector_line
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
_batch_size = _option(settings.whole_number_rule(1, MAX_TEXTS_PER_REQUEST, BATCH_SIZE_LIMIT), int)
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
        type=_batch_size,
        default=DEFAULT_BATCH_SIZE,
        help=f"max texts per invocation, at most {MAX_TEXTS_PER_REQUEST} (default: %(default)s)",
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
        help="write the vectors to FILE instead of stdout; FILE is replaced only once the run is done (with "
        "--jsonl, the vectors go to FILE.partial until then)",
    )
    parser.add_argument(
        "--resume",
        action="store_true",
        help="continue an interrupted run: check and keep the vectors already in FILE.partial (or FILE), embed the "
        "texts after them, then replace FILE. Implies --jsonl",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="no progress or notes on stderr")
    return parser


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
        report(
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
            report(f"error: cannot write {getattr(file, 'name', 'the output')}: {error.strerror or error}")
            return 1
        return 0
    try:
        _write_all(output)
    except BrokenPipeError:  # the reader stopped early (`| head`): stop quietly, as Unix tools do
        _silence_stdout()
        return EXIT_BROKEN_PIPE
    except OSError as error:  # e.g. a full disk (/dev/full): the vectors are lost, so say so
        _silence_stdout()
        report(f"error: cannot write the output to stdout: {error.strerror or error}")
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


def _stdout_is_terminal() -> bool:
    try:
        return sys.stdout is not None and sys.stdout.isatty()
    except (OSError, ValueError):
        return False


def _resumable(error: BaseException) -> bool:
    """Whether running the same command again may get further: not after an error that would recur."""
    return not isinstance(error, PermanentEndpointError | ResponseShapeError | InputTextError)


def _stopped(error: BaseException, kept: str) -> BaseException:
    """The error of a run that stopped part way, carrying what was kept of its output."""
    if isinstance(error, KeyboardInterrupt):
        return KeyboardInterrupt(kept)
    reason = f"cannot write the output: {error.strerror or error}" if isinstance(error, OSError) else str(error)
    return _StoppedRunError(f"{reason}; {kept}")


def _stream_lines(
    client: EmbeddingClient, texts: list[str], stream: Any, progress: Progress | None, same_terminal: bool
) -> None:
    """Vectors as JSON Lines to stdout, flushed after every batch."""
    written = 0
    batches = client.iter_batches(texts)
    try:
        for vectors in batches:
            data = b"".join(map(vector_line, vectors))
            with progress.hidden() if progress is not None and same_terminal else contextlib.nullcontext():
                stream.write(data)
                stream.flush()
            written += len(vectors)
            if progress is not None:
                progress.advance(len(vectors))
    except (EmbeddingError, KeyboardInterrupt) as error:
        if progress is not None:
            progress.clear()
        raise _stopped(error, f"{written:,} of {len(texts):,} vectors printed") from error
    finally:
        batches.close()  # stops the invocations still running (an error or Ctrl-C)


def _source(args: argparse.Namespace) -> str:
    if args.texts:
        return "the input (the TEXT arguments, then any --file)"
    return "stdin" if args.file == "-" else str(args.file)


def _record_settings(client: EmbeddingClient, args: argparse.Namespace) -> dict[str, Any]:
    return {
        "endpoint": client.invocation_url,
        "pooling": args.pooling,
        "batch_size": args.batch_size,
        "dimension": client.limits.dimension,
    }


def _lines_to_file(
    client: EmbeddingClient, texts: list[str], args: argparse.Namespace, progress: Callable[[int], Progress | None]
) -> int:
    """JSON Lines to --output: checked before anything is kept, written beside FILE, and FILE replaced when done."""
    target = Path(args.output)
    partial = output.partial_path(target)
    record = _record_settings(client, args)
    kept: output.KeptLines | None = None
    learned: str | None = None
    if not args.resume and partial.exists():  # before anything is written, its record included
        raise OutputFileError(
            f"{partial} exists: it holds the vectors of an interrupted run for {target}. Continue it with --resume, "
            "or delete it to start over"
        )
    if args.resume and (partial.exists() or target.exists()):
        source = partial if partial.exists() else target
        kept = output.check_vector_lines(source, client.limits.dimension, cut_allowed=source == partial)
        learned = resume.check_record(source, record, texts, kept.lines, _source(args))
        if source == target:
            if kept.lines == len(texts) and not kept.cut:
                if not args.quiet:
                    report(f"{target} already holds the vectors of all {len(texts):,} texts; nothing to do")
                return 0
            _copy_start(target, partial, kept.size)  # the input grew: continue a copy, FILE stays as it is
    done = 0 if kept is None else kept.lines
    start = done
    if learned is not None and args.pooling == "auto":
        if done < args.batch_size:
            start = 0  # the first batches learned the mode; send them again as they were, and drop what is kept
        else:
            client.assume_pooling(learned)
    shown = progress(done)
    lines: output.VectorLines | None = None
    try:
        with output.vector_lines_file(target, kept=kept, companions=(resume.RECORD_SUFFIX,)) as lines:
            resume.write_record(partial, record, texts, learned)  # for this input; the kept lines match it
            for vectors in client.iter_batches(texts, start=start):
                if learned is None and args.pooling == "auto" and client.known_pooling is not None:
                    learned = client.known_pooling
                    resume.note_learned_pooling(partial, learned)
                skip = max(0, min(len(vectors), done - start))  # resent only to keep the batches as they were
                lines.write(vectors[skip:])
                if shown is not None:
                    shown.advance(len(vectors) - skip)
                start += len(vectors)
    except (EmbeddingError, KeyboardInterrupt, OSError) as error:
        if isinstance(error, OutputFileError) and lines is None:
            raise
        if shown is not None:
            shown.clear()
        written = 0 if lines is None else lines.lines
        if written == 0:
            kept_text = f"nothing was written; {target} is unchanged"
        else:
            kept_text = f"{written:,} of {len(texts):,} vectors kept in {partial}"
            if _resumable(error):
                kept_text += "; rerun with --resume to continue"
        raise _stopped(error, kept_text) from error
    if shown is not None:
        shown.finish()
    return 0


def _copy_start(source: Path, partial: Path, size: int) -> None:
    try:
        with source.open("rb") as reader, partial.open("xb") as writer:
            writer.write(reader.read(size))
    except OSError as error:
        raise OutputFileError(f"cannot write {partial}: {error.strerror or error}") from None


def _run(args: argparse.Namespace, runtime_client: Any | None, parser: argparse.ArgumentParser) -> int:
    if sys.stdout is None and args.output is None:  # fd 1 closed (`>&-`): check before any work
        report("error: stdout is closed, so the vectors could not be printed; nothing was sent")
        return 1
    texts = _argument_texts(list(args.texts))
    if args.file is not None:
        texts.extend(_file_texts(args.file, args.quiet))
    if args.stdin_implied and not texts:
        # Likely no input meant at all (a script run with stdin on /dev/null), so not an empty answer.
        report("python -m embeddings: error: give at least one TEXT or --file; stdin was empty (see --help)")
        return 2
    if args.raw and len(texts) > MAX_TEXTS_PER_REQUEST:
        parser.error(
            f"--raw sends all texts in one invocation, and the endpoint takes at most {MAX_TEXTS_PER_REQUEST}; "
            f"this input has {len(texts)}: drop --raw"
        )
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
    show_progress = not args.quiet and _stderr_is_terminal() and not args.raw

    def progress(done: int) -> Progress | None:
        shown = Progress(sys.stderr, len(texts), done) if show_progress and len(texts) - done > 1 else None
        if not args.quiet and sys.stderr is not None:
            _log_to(shown or sys.stderr)
        return shown

    if args.jsonl and args.output is not None:
        return _lines_to_file(client, texts, args, progress)
    shown = progress(0)
    if not texts and not args.jsonl:  # an empty --file: no lines, no vectors, no invocation
        return _deliver("[]\n", args.output)
    if args.raw:
        return _deliver(client.invoke_raw(texts).decode("utf-8", errors="replace") + "\n", args.output)
    if args.jsonl:
        stream = getattr(sys.stdout, "buffer", None)
        if stream is None:  # a text-only stdout (an embedding host's): no partial writes to guard against
            return _write("".join(vector_line(v).decode() for v in client.iter_embed(texts)))
        try:
            _stream_lines(client, texts, stream, shown, _stdout_is_terminal())
        except BrokenPipeError:
            _silence_stdout()
            return EXIT_BROKEN_PIPE
        except OSError as error:
            _silence_stdout()
            report(f"error: cannot write the output: {error.strerror or error}")
            return 1
        if shown is not None:
            shown.finish()
        return 0
    vectors = []
    for vector in client.iter_embed(texts):
        vectors.append(vector)
        if shown is not None:
            shown.advance()
    if shown is not None:
        shown.finish()  # before the vectors, which may go to the same terminal
    single = args.file is None and len(texts) == 1
    return _deliver(json.dumps(vectors[0] if single else vectors) + "\n", args.output)


def _deliver(text: str, file: str | None) -> int:
    """The whole output at once: to stdout, or to FILE, which is replaced only by the complete output."""
    if file is None:
        return _write(text)
    output.write_file(file, text.encode("utf-8"))
    return 0


def _check_options(args: argparse.Namespace, parser: argparse.ArgumentParser) -> None:
    """Settings and combinations that cannot work are usage errors (status 2), named as the user wrote them."""
    if args.pooling not in POOLING_MODES:  # argparse checks choices given on the command line, not defaults
        parser.error(f"${POOLING_ENV_VAR} is {args.pooling!r}; use one of {', '.join(POOLING_MODES)}")
    if args.endpoint_name is not None:
        if not settings.is_endpoint_name(args.endpoint_name):
            parser.error(
                f"argument -e/--endpoint-name: must be {settings.ENDPOINT_NAME_RULE}, got {args.endpoint_name!r}"
            )
    elif os.environ.get(ENDPOINT_ENV_VAR):
        args.endpoint_name = os.environ[ENDPOINT_ENV_VAR]
        if not settings.is_endpoint_name(args.endpoint_name):
            parser.error(
                f"${ENDPOINT_ENV_VAR} is {args.endpoint_name!r}; it must be {settings.ENDPOINT_NAME_RULE} "
                "(or unset: -e/--endpoint-name wins over it)"
            )
    else:
        args.endpoint_name = DEFAULT_ENDPOINT_NAME
    if args.region is not None:
        try:
            validate_region_name(args.region)
        except InvalidRegionError:
            parser.error(f"argument -r/--region: {args.region!r} is not a region name, such as us-east-1")
    if args.raw and (args.jsonl or args.resume):
        option = "--resume" if args.resume else "--jsonl"
        parser.error(f"--raw prints the endpoint's raw answer, not one vector per line: drop {option} or --raw")
    if args.resume:
        if args.output is None:
            parser.error("--resume needs --output FILE: the JSON Lines file of the run to continue")
        args.jsonl = True
    if args.output is not None and args.file not in (None, "-") and _same_file(args.output, args.file):
        parser.error(f"--output {args.output} is the --file input: the vectors would replace the texts")
    if args.output is not None and os.path.isdir(args.output):
        parser.error(f"--output {args.output} is a folder: give a file name in it")


def _same_file(one: str, other: str) -> bool:
    try:
        return os.path.samefile(one, other)
    except OSError:
        return os.path.abspath(one) == os.path.abspath(other)


def main(argv: Sequence[str] | None = None, *, runtime_client: Any | None = None) -> int:
    """Entry point; `runtime_client` lets tests answer for SageMaker. Returns the exit status."""
    parser = _parser()
    args = parser.parse_args(argv)
    _check_options(args, parser)
    args.stdin_implied = False
    if not args.texts and args.file is None:
        if not _stdin_is_piped():
            parser.error("give at least one TEXT or --file (or pipe texts into stdin)")
        args.file, args.stdin_implied = "-", True
    try:
        return _run(args, runtime_client, parser)
    except InvalidSettingError as error:  # every option is checked above; this is a safety net
        report(f"python -m embeddings: error: {error} (see --help)")
        return 2
    except EmbeddingError as error:
        report(f"error: {error}")
    except KeyboardInterrupt as interrupt:
        report(f"interrupted: {interrupt}" if str(interrupt) else "interrupted")
        return EXIT_INTERRUPTED
    except Exception as error:  # a bug or an unforeseen botocore error: still one line, never a traceback
        report(f"error: unexpected {type(error).__name__}: {error}")
    return 1


def console() -> None:
    """The `alex-embed` command of an installed distribution."""
    sys.exit(main())


if __name__ == "__main__":
    console()
