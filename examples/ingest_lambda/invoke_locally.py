"""Run the ingest Lambda's handler on this machine against the local twin, as Lambda runs it in AWS.

    make twin                      # terminal 1: the endpoint's twin on 127.0.0.1:8080
    make example                   # terminal 2: this script with two sample texts
    .venv/bin/python examples/ingest_lambda/invoke_locally.py "first chunk" "second chunk"

The handler gets the environment the example's Pulumi program would give it (SAGEMAKER_ENDPOINT, the stack's
pooling and max_concurrency), with the twin's URL and dummy credentials in place of AWS's; anything already set in
the environment wins, so the same script reaches a deployed endpoint when AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME is
unset and real credentials are configured (then pass `--aws`). A twin on another port (`make twin TWIN_PORT=8081`)
is reached with the same variable: `TWIN_PORT=8081`. It prints the handler's answer, each vector shortened
to its first numbers and its length.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import sys
from pathlib import Path
from typing import Any

EXAMPLE_DIR = Path(__file__).resolve().parent
REPO_DIR = EXAMPLE_DIR.parents[1]
TWIN_DEFAULTS = {
    "AWS_ENDPOINT_URL_SAGEMAKER_RUNTIME": f"http://127.0.0.1:{os.environ.get('TWIN_PORT') or 8080}",
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_DEFAULT_REGION": "us-east-1",
}
# What the example's Pulumi program sets from the stack's outputs, at the stack's defaults.
FUNCTION_DEFAULTS = {
    "SAGEMAKER_ENDPOINT": "alex-embedding-endpoint",
    "EMBEDDINGS_POOLING": "server",
    "EMBEDDINGS_MAX_CONCURRENCY": "2",
}


def load_handler() -> Any:
    """function/handler.py as Lambda imports it: a top-level module, with `embeddings` importable beside it."""
    sys.path.insert(0, str(REPO_DIR))
    spec = importlib.util.spec_from_file_location("handler", EXAMPLE_DIR / "function" / "handler.py")
    if spec is None or spec.loader is None:
        raise SystemExit(f"cannot load {EXAMPLE_DIR / 'function' / 'handler.py'}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def shortened(answer: dict[str, Any]) -> dict[str, Any]:
    vectors = answer.get("vectors")
    if not isinstance(vectors, list):
        return answer
    return {
        **answer,
        "vectors": [
            {"first": [round(x, 5) for x in vector[:4]], "length": round(math.hypot(*vector), 6)} for vector in vectors
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("texts", nargs="*", default=["vectorize me", "a second chunk of the knowledge base"])
    parser.add_argument("--aws", action="store_true", help="leave the AWS settings alone: call the deployed endpoint")
    args = parser.parse_args(argv)
    defaults = FUNCTION_DEFAULTS if args.aws else {**TWIN_DEFAULTS, **FUNCTION_DEFAULTS}
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    handler = load_handler()
    try:
        answer = handler.handle({"texts": args.texts}, None)
    except Exception as error:  # the handler raises endpoint failures so Lambda retries; here one line is enough
        print(f"error: {type(error).__name__}: {error}", file=sys.stderr)
        return 1
    print(json.dumps(shortened(answer), indent=2))
    return 0 if "error" not in answer else 1


if __name__ == "__main__":
    sys.exit(main())
