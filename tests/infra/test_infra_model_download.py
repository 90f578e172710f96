"""The deploying machine's one download of the default model, through huggingface_hub against the fake Hub.

Each run is a fresh interpreter with HF_ENDPOINT at the fake Hub and a cache of its own, as `pulumi up` on a new
machine: the first run downloads exactly the pinned files and checks them, the next one finds them in the cache
and makes no request at all, and a file the Hub serves changed is an error naming it before anything is registered.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Any

import pytest

from components.model_files import DEFAULT_MODEL_FILES, DEFAULT_MODEL_REVISION
from tests.fake_hub import FakeHub, files_of
from tests.hub_cache import model_package_dir
from tests.paths import PROJECT_DIR

pytestmark = pytest.mark.process  # each download runs in a fresh interpreter

FETCH = textwrap.dedent(
    """
    import json, sys
    from components.model_files import DEFAULT_MODEL_ID, ModelFilesError, fetch_model_files

    try:
        files = fetch_model_files(DEFAULT_MODEL_ID, None)
    except ModelFilesError as error:
        print(json.dumps({"error": str(error)}))
    else:
        print(json.dumps({"revision": files.revision, "verified": files.verified, "files": list(files.files)}))
    """
)


def _fetch(hub: FakeHub, cache: Path) -> dict[str, Any]:
    environment = {
        key: value for key, value in os.environ.items() if not key.startswith(("HF_", "TRANSFORMERS_OFFLINE"))
    }
    environment |= {"HF_ENDPOINT": hub.url, "HF_HUB_CACHE": str(cache), "HF_HUB_DISABLE_PROGRESS_BARS": "1"}
    result = subprocess.run(
        [sys.executable, "-c", FETCH],
        cwd=PROJECT_DIR,
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(result.stdout.splitlines()[-1])


def _hub(files: dict[str, bytes] | None = None) -> FakeHub:
    served = dict(files_of(model_package_dir()) if files is None else files)
    # What the real repository holds besides: other frameworks' weights, which the download must leave alone.
    served |= {"pytorch_model.bin": b"pickled weights", "onnx/model.onnx": b"onnx", "train_script.py": b"# train"}
    return FakeHub(served, commit=DEFAULT_MODEL_REVISION).start()


def test_a_cold_cache_downloads_exactly_the_pinned_files_once_and_a_warm_one_asks_nothing(tmp_path: Path) -> None:
    with _hub() as hub:
        first = _fetch(hub, tmp_path / "cache")
        downloaded = sorted(hub.downloaded_files())
        hub.requests.clear()
        second = _fetch(hub, tmp_path / "cache")

        assert (
            first
            == second
            == {
                "revision": DEFAULT_MODEL_REVISION,
                "verified": True,
                "files": sorted(DEFAULT_MODEL_FILES),
            }
        )
        assert downloaded == sorted(DEFAULT_MODEL_FILES)
        assert hub.recorded() == [], "a pinned commit in the cache needs no network"


def test_a_file_the_hub_serves_changed_is_an_error_naming_it(tmp_path: Path) -> None:
    files = files_of(model_package_dir())
    files["vocab.txt"] = files["vocab.txt"].replace(b"[UNK]", b"[UNKNOWN]", 1)
    with _hub(files) as hub:
        result = _fetch(hub, tmp_path / "cache")

    assert "vocab.txt has SHA-256" in result["error"] and DEFAULT_MODEL_FILES["vocab.txt"] in result["error"]
    assert "Delete that folder" in result["error"]
