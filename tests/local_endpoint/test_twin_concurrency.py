"""Concurrent callers: every answer is the right one, none is mixed up or lost."""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from local_endpoint import DEFAULT_ENDPOINT_NAME, TwinServer
from tests.local_endpoint.twin_support import runtime_client

THREADS = 8
REQUESTS = 32


def test_concurrent_requests_all_get_their_own_answer(twin: TwinServer, feature_extraction_pipeline: Any) -> None:
    texts = [f"request number {i} " + "padding " * (i % 7) for i in range(REQUESTS)]
    expected = {text: feature_extraction_pipeline(text) for text in texts}
    # One client per thread, as boto3 advises for threads; they share the twin.
    clients = [runtime_client(twin.url) for _ in range(THREADS)]

    def call(index: int) -> tuple[str, Any]:
        text = texts[index]
        response = clients[index % THREADS].invoke_endpoint(
            EndpointName=DEFAULT_ENDPOINT_NAME,
            Body=json.dumps({"inputs": text}),
            ContentType="application/json",
        )
        return text, json.loads(response["Body"].read())

    with ThreadPoolExecutor(max_workers=THREADS) as pool:
        results = list(pool.map(call, range(REQUESTS), timeout=120))

    assert len(results) == REQUESTS
    for text, body in results:
        assert body == expected[text]
