"""What can end a batch command, each with the exit status a script can act on (docs/batch.md lists them)."""

from __future__ import annotations

from embeddings.errors import EmbeddingError

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_JOB_FAILED = 3
EXIT_BAD_OUTPUT = 4
EXIT_INTERRUPTED = 130  # what a shell reports for a command Ctrl-C ended (128 + SIGINT)


class BatchError(EmbeddingError):
    """A batch command cannot go on; the message is one line for stderr."""

    exit_code = EXIT_ERROR


class UsageError(BatchError):
    """A missing or bad option or environment variable, or a question nobody is there to answer (no terminal)."""

    exit_code = EXIT_USAGE


class JobFailedError(BatchError):
    """The transform job ended Failed or Stopped, or left shards without output."""

    exit_code = EXIT_JOB_FAILED


class OutputCheckError(BatchError):
    """The job's answers are not one unit vector of 384 floats per text, each id exactly once."""

    exit_code = EXIT_BAD_OUTPUT
