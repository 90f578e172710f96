"""`python -m embeddings "vectorize me"`: check a deployed endpoint from a shell, and see what it really returns.

Vectors go to stdout as JSON (one text: the vector; several: a list of vectors), so the output pipes into jq or
a file. Progress and errors go to stderr: a cold start can keep the command waiting for minutes, and saying
why beats looking hung.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from embeddings.batching import DEFAULT_BATCH_SIZE
from embeddings.client import DEFAULT_ENDPOINT_NAME, DEFAULT_MAX_WAIT_S, EmbeddingClient
from embeddings.errors import EmbeddingError

ENDPOINT_ENV_VAR = "SAGEMAKER_ENDPOINT"


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="python -m embeddings",
        description="Embed texts with the all-MiniLM-L6-v2 SageMaker endpoint and print the vectors as JSON.",
    )
    parser.add_argument("texts", nargs="*", metavar="TEXT", help="text(s) to embed")
    parser.add_argument(
        "-f",
        "--file",
        type=Path,
        help="read texts from FILE, one per line (blank lines skipped); '-' reads stdin",
    )
    parser.add_argument(
        "-e",
        "--endpoint-name",
        default=os.environ.get(ENDPOINT_ENV_VAR) or DEFAULT_ENDPOINT_NAME,
        help=f"SageMaker endpoint (default: ${ENDPOINT_ENV_VAR}, else {DEFAULT_ENDPOINT_NAME})",
    )
    parser.add_argument("-r", "--region", help="AWS region (default: the standard AWS configuration)")
    parser.add_argument(
        "--raw",
        action="store_true",
        help="print the container's raw answer (token-level: ~8 kB per token) instead of sentence vectors",
    )
    parser.add_argument("--batch-size", type=int, default=DEFAULT_BATCH_SIZE, help="max texts per invocation")
    parser.add_argument(
        "--max-wait",
        type=float,
        default=DEFAULT_MAX_WAIT_S,
        help="seconds to keep retrying a cold or busy endpoint (default: %(default)s)",
    )
    parser.add_argument("-q", "--quiet", action="store_true", help="do not report retries on stderr")
    return parser


def _read_texts(file: Path) -> list[str]:
    content = sys.stdin.read() if str(file) == "-" else file.read_text(encoding="utf-8")
    return [line for line in content.splitlines() if line.strip()]


def main(argv: Sequence[str] | None = None, *, runtime_client: Any | None = None) -> int:
    """Entry point; `runtime_client` lets tests answer for SageMaker."""
    parser = _parser()
    args = parser.parse_args(argv)
    texts: list[str] = list(args.texts)
    if args.file is not None:
        try:
            texts.extend(_read_texts(args.file))
        except OSError as error:
            parser.error(f"cannot read {args.file}: {error.strerror or error}")
    if not texts:
        parser.error("give at least one TEXT or --file")
    if not args.quiet:
        logging.basicConfig(level=logging.WARNING, format="%(message)s", stream=sys.stderr)
        logging.getLogger("embeddings").setLevel(logging.INFO)

    try:
        client = EmbeddingClient(
            args.endpoint_name,
            runtime_client=runtime_client,
            region_name=args.region,
            batch_size=args.batch_size,
            max_wait_s=args.max_wait,
        )
        if args.raw:
            sys.stdout.write(client.invoke_raw(texts).decode("utf-8", errors="replace") + "\n")
            return 0
        vectors = client.embed(texts)
    except (EmbeddingError, ValueError) as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(json.dumps(vectors[0] if len(vectors) == 1 else vectors))
    return 0


if __name__ == "__main__":
    sys.exit(main())
