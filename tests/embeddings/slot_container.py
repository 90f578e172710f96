"""A container for the twin that stands in for one serverless slot per invocation: a fixed service time, no model.

The real container serialises its pipeline calls; a serverless endpoint with MaxConcurrency N runs N containers,
so N invocations proceed at once. This one sleeps for `service_s` (which releases the GIL, as waiting on the
network does) and answers a deterministic unit vector per text, pooled, so the caller can check that every vector
came back in its text's place. `throttle_probability` answers some invocations with a 503 from the model server,
which SageMaker wraps as a retryable ModelError, to stress retries at random points.
"""

from __future__ import annotations

import json
import math
import random
import threading
import time
import zlib

from local_endpoint import ContainerResponse

DIMENSION = 384


def expected_vector(text: str, dimension: int = DIMENSION) -> list[float]:
    """The unit vector the container answers for `text`: the caller must hand out exactly this, in its place."""
    rng = random.Random(zlib.crc32(text.encode("utf-8")))
    raw = [rng.uniform(-1.0, 1.0) for _ in range(dimension)]
    norm = math.hypot(*raw)
    return [x / norm for x in raw]


class SlotContainer:
    """`invoke` takes `service_s` of wall time without holding a lock, like one slot of a serverless endpoint."""

    def __init__(self, service_s: float = 0.05, *, throttle_probability: float = 0.0, seed: int = 0) -> None:
        self.service_s = service_s
        self.throttle_probability = throttle_probability
        self._random = random.Random(seed)
        self._lock = threading.Lock()
        self._cache: dict[str, list[float]] = {}
        self.invocations = 0
        self.refused = 0
        self.in_flight = 0
        self.most_in_flight = 0

    def _vector(self, text: str) -> list[float]:
        with self._lock:
            vector = self._cache.get(text)
        if vector is None:
            vector = expected_vector(text)
            with self._lock:
                self._cache[text] = vector
        return vector

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> ContainerResponse:
        with self._lock:
            self.invocations += 1
            self.in_flight += 1
            self.most_in_flight = max(self.most_in_flight, self.in_flight)
            refuse = self._random.random() < self.throttle_probability
            if refuse:
                self.refused += 1
        try:
            time.sleep(self.service_s)
            if refuse:
                error = {"code": 503, "type": "ServiceUnavailableException", "message": "worker busy, try again"}
                return ContainerResponse(503, json.dumps(error).encode(), "application/json")
            texts = json.loads(body)["inputs"]
            answer = json.dumps([[self._vector(text)] for text in texts]).encode()
            return ContainerResponse(200, answer, "application/json")
        finally:
            with self._lock:
                self.in_flight -= 1
