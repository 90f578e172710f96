"""`python -m tests.embeddings.cli_stub ARGS`: the real `python -m embeddings` in a process of its own, answered by
the fake SageMaker of embeddings_fakes (an endpoint that pools on the server), with no AWS and no model.

For what only a real process shows: a broken pipe, a full disk, closed file descriptors, the interpreter's exit,
a Ctrl-C. $CLI_STUB_SERVICE_S makes each invocation take that long (real time), so a run can be interrupted.
"""

from __future__ import annotations

import os
import sys
import time
from typing import Any

from embeddings.__main__ import main
from embeddings.client import make_runtime_client
from tests.embeddings.embeddings_fakes import FakeClock, FakeSageMaker, dummy_session, pooled_container

if __name__ == "__main__":
    runtime = make_runtime_client(session=dummy_session())
    service_s = float(os.environ.get("CLI_STUB_SERVICE_S") or 0)
    pooled = pooled_container()

    def answer(request: Any) -> Any:
        time.sleep(service_s)
        return pooled(request)

    FakeSageMaker(runtime, FakeClock()).answer(answer)
    sys.exit(main(runtime_client=runtime))
