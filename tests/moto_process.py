"""moto's standalone server (`moto_server`, from the dev requirements) as a process on a free loopback port: the
AWS API emulator the smoke check and the batch runner talk to over HTTP, as they talk to AWS."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

_LISTENING = re.compile(r"Running on (http://127\.0\.0\.1:\d+)")


@contextmanager
def moto_server(python: Path | None = None) -> Iterator[str]:
    """Its URL, once it listens; killed afterwards. It gets no AWS_ variables of ours. `python` is the venv's
    python whose moto_server runs (default: this one's)."""
    process = subprocess.Popen(
        [str(Path(python or sys.executable).with_name("moto_server")), "-H", "127.0.0.1", "-p", "0"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        env={name: value for name, value in os.environ.items() if not name.startswith("AWS_")},
    )
    try:
        assert process.stderr is not None
        seen = []
        for line in process.stderr:  # werkzeug logs the port it bound, then its requests
            seen.append(line)
            if match := _LISTENING.search(line):
                break
        else:
            raise AssertionError(f"moto_server did not start: {''.join(seen)}")
        # Its request log is read and dropped, so a full pipe never blocks the server.
        threading.Thread(target=_drain, args=(process.stderr,), daemon=True).start()
        yield match.group(1)
    finally:
        process.kill()  # an emulator holding nothing worth a graceful stop
        process.wait(timeout=30)


def _drain(stream: IO[str]) -> None:
    for _ in stream:
        pass
