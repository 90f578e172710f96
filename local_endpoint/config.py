"""What the twin pretends to be (TwinConfig), in a module of its own so the app and the server both import it.

Nothing here imports the app or the server: the package's imports form a DAG (tests/local_endpoint/
test_twin_imports.py checks it).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from local_endpoint import runtime_api

DEFAULT_ENDPOINT_NAME = "alex-embedding-endpoint"

KEEP_ALIVE_TIMEOUT_S = 5.0
"""An idle kept-alive connection is closed after this (uvicorn's default); callers' pools reconnect."""


@dataclass(frozen=True)
class TwinConfig:
    """What the twin pretends to be: which endpoint names exist, in which account, how cold and how busy."""

    endpoint_names: tuple[str, ...] = (DEFAULT_ENDPOINT_NAME,)
    cold_start_seconds: float = 0.0
    max_payload_bytes: int = runtime_api.SERVERLESS_PAYLOAD_LIMIT_BYTES
    account_id: str = runtime_api.DEFAULT_ACCOUNT_ID
    region: str = runtime_api.DEFAULT_REGION
    max_concurrency: int = runtime_api.DEFAULT_MAX_CONCURRENCY
    keep_alive_timeout_seconds: float = KEEP_ALIVE_TIMEOUT_S

    def __post_init__(self) -> None:
        problems = []
        if not (math.isfinite(self.cold_start_seconds) and self.cold_start_seconds >= 0):
            problems.append(f"cold_start_seconds must be a finite number >= 0, got {self.cold_start_seconds!r}")
        if not (_is_int(self.max_payload_bytes) and self.max_payload_bytes >= 1):
            problems.append(f"max_payload_bytes must be a whole number >= 1, got {self.max_payload_bytes!r}")
        if not (_is_int(self.max_concurrency) and 1 <= self.max_concurrency <= runtime_api.MAX_CONCURRENCY_LIMIT):
            problems.append(
                f"max_concurrency must be a whole number from 1 to {runtime_api.MAX_CONCURRENCY_LIMIT}, "
                f"got {self.max_concurrency!r}"
            )
        if not (math.isfinite(self.keep_alive_timeout_seconds) and self.keep_alive_timeout_seconds > 0):
            problems.append(
                f"keep_alive_timeout_seconds must be a finite number > 0, got {self.keep_alive_timeout_seconds!r}"
            )
        if not self.endpoint_names:
            problems.append("endpoint_names must name at least one endpoint")
        problems += [
            f"endpoint name {name!r} is not a valid SageMaker endpoint name (1-63 letters, digits and inner hyphens)"
            for name in self.endpoint_names
            if not runtime_api.is_endpoint_name(name)
        ]
        if problems:
            raise ValueError("; ".join(problems))


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)
