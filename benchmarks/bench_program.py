"""What `pulumi up` costs on the deploying machine for the packed model: the program's run with a cold and a warm
model cache, and the size of the archive it uploads.

Each run is a fresh interpreter running the real __main__.py under the project's Pulumi mocks (what the engine would
register), with huggingface_hub pointed at the fake Hub on loopback (the download is local, so a real network adds
its own time to the cold run) and a build folder of its own:

- cold: an empty Hugging Face cache and no built archive: download, check every file's SHA-256, pack and compress;
- warm: the same cache and build folder again: no request, the files hashed, the archive found and reused.

Not a test: the numbers depend on the machine. `.venv/bin/python -m benchmarks.bench_program [--repeats N]`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import textwrap
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]

from components.model_files import DEFAULT_MODEL_REVISION  # noqa: E402
from tests.fake_hub import FakeHub, files_of  # noqa: E402
from tests.hub_cache import model_package_dir  # noqa: E402

PROGRAM = textwrap.dedent(
    """
    import os, sys, time
    from pathlib import Path
    started = time.perf_counter()
    from components import ServerlessEmbeddingEndpointArgs
    from tests.infra.deployments import deploy_component
    # The harness seeds a cache of its own on import; huggingface_hub, imported later, reads this one instead.
    os.environ["HF_HUB_CACHE"] = sys.argv[2]
    imported = time.perf_counter()
    args = ServerlessEmbeddingEndpointArgs(region="us-east-1", artifact_build_dir=Path(sys.argv[1]))
    deployment = deploy_component(args)
    print(f"{imported - started:.3f} {time.perf_counter() - imported:.3f} {deployment.exports['model_data_url']}")
    """
)


def run(hub: FakeHub, cache: Path, build: Path) -> tuple[float, float]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_OFFLINE"))}
    environment |= {"HF_ENDPOINT": hub.url, "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    output = subprocess.run(
        [sys.executable, "-c", PROGRAM, str(build), str(cache)],
        cwd=REPO,
        env=environment,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    return float(output[0]), float(output[1])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    cold: list[float] = []
    warm: list[float] = []
    size = 0
    with FakeHub(files_of(model_package_dir()), commit=DEFAULT_MODEL_REVISION).start() as hub:
        for _ in range(args.repeats):
            with tempfile.TemporaryDirectory() as folder:
                cache, build = Path(folder) / "cache", Path(folder) / "build"
                cold.append(run(hub, cache, build)[1])
                warm.append(run(hub, cache, build)[1])
                size = max(path.stat().st_size for path in build.glob("*.tar.gz"))
    print(f"load average {os.getloadavg()[0]:.2f}; program run after imports, median of {args.repeats}:")
    print("| model cache | seconds |\n| --- | ---: |")
    print(f"| cold (download, check, pack, compress) | {statistics.median(cold):.2f} |")
    print(f"| warm (hash, reuse the archive) | {statistics.median(warm):.2f} |")
    print(f"model.tar.gz: {size / 1e6:.1f} MB")
    return 0


if __name__ == "__main__":
    started = time.perf_counter()
    status = main()
    print(f"({time.perf_counter() - started:.0f} s in all)", file=sys.stderr)
    sys.exit(status)
