"""Concurrent callers: every answer is the right one, none is mixed up or lost.

The twin admits as many invocations as its MaxConcurrency (test_twin_throttling.py covers the ones beyond it),
so this twin is configured for as many as there are callers.
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from local_endpoint import DEFAULT_ENDPOINT_NAME, HuggingFaceContainer, TwinConfig, serve_in_thread
from tests.local_endpoint.twin_support import runtime_client

THREADS = 8
REQUESTS = 16  # two calls per client, each while other callers are in flight


def test_concurrent_requests_all_get_their_own_answer(
    twin_container: HuggingFaceContainer, feature_extraction_pipeline: Any
) -> None:
    texts = [f"request number {i} " + "padding " * (i % 7) for i in range(REQUESTS)]
    expected = {text: feature_extraction_pipeline(text) for text in texts}

    def call(index: int) -> tuple[str, Any]:
        text = texts[index]
        response = clients[index % THREADS].invoke_endpoint(
            EndpointName=DEFAULT_ENDPOINT_NAME,
            Body=json.dumps({"inputs": text}),
            ContentType="application/json",
        )
        return text, json.loads(response["Body"].read())

    with (
        serve_in_thread(twin_container, TwinConfig(max_concurrency=THREADS)) as twin,
        ThreadPoolExecutor(max_workers=THREADS) as pool,
    ):
        # One client per thread, as boto3 advises for threads; they share the twin.
        clients = [runtime_client(twin.url) for _ in range(THREADS)]
        results = list(pool.map(call, range(REQUESTS), timeout=120))

    assert len(results) == REQUESTS
    for text, body in results:
        assert body == expected[text]
