"""`python -m tests.embeddings.cli_stub ARGS`: the real `python -m embeddings` in a process of its own, answered by
the fake SageMaker of embeddings_fakes (an endpoint that pools on the server), with no AWS and no model.

For what only a real process shows: a broken pipe, a full disk, closed file descriptors, the interpreter's exit.
"""

from __future__ import annotations

import sys

from embeddings.__main__ import main
from embeddings.client import make_runtime_client
from tests.embeddings.embeddings_fakes import FakeClock, FakeSageMaker, dummy_session, pooled_container

if __name__ == "__main__":
    runtime = make_runtime_client(session=dummy_session())
    FakeSageMaker(runtime, FakeClock()).answer(pooled_container())
    sys.exit(main(runtime_client=runtime))
