"""The fake Hub against the deploying machine's huggingface_hub (the main venv's 2.x), in a fresh process with
HF_ENDPOINT pointing at it, as a deploy script would download: what is fetched, byte for byte, and the errors.

The serving-stack target checks the same fake against the container's huggingface_hub 0.30 (serving_stack_tests).
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.fake_hub import DEFAULT_COMMIT, DEFAULT_REPO_ID, FakeHub, files_of

FILES = {
    "config.json": b'{"model_type": "bert"}',
    "model.safetensors": bytes(range(256)) * 40,
    "1_Pooling/config.json": b'{"pooling_mode_mean_tokens": true}',
    "pytorch_model.bin": b"another framework (PyTorch pickles)",
    "onnx/model.onnx": b"another framework (ONNX)",
}
ONLINE_SCRIPT = """
import json, sys
from huggingface_hub import HfApi, hf_hub_download, snapshot_download
from huggingface_hub.errors import EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError

repo, commit, out = sys.argv[1:4]
result = {}
info = HfApi().model_info(repo, files_metadata=True)
result["info"] = {"sha": info.sha, "siblings": {s.rfilename: s.size for s in info.siblings}}
result["local_dir"] = snapshot_download(
    repo, revision=commit, local_dir=out + "/local", ignore_patterns=["pytorch*", "*onnx*"]
)
result["cached"] = snapshot_download(repo)
result["one_file"] = hf_hub_download(repo, "1_Pooling/config.json", revision=commit)
for name, call in [
    ("bad_revision", lambda: snapshot_download(repo, revision="0" * 40, local_dir=out + "/bad")),
    ("bad_repo", lambda: HfApi().model_info("someone/missing")),
    ("bad_file", lambda: hf_hub_download(repo, "missing.json", revision=commit, local_dir=out + "/bad")),
]:
    try:
        call()
        result[name] = None
    except (EntryNotFoundError, RepositoryNotFoundError, RevisionNotFoundError) as error:
        result[name] = type(error).__name__
print(json.dumps(result))
"""


@pytest.fixture
def hub() -> Iterator[FakeHub]:
    with FakeHub(FILES) as running:
        yield running


def run_client(hub: FakeHub, out: Path) -> dict[str, Any]:
    """The script in a fresh interpreter: the suite's HF_HUB_OFFLINE=1 is not inherited, HF_ENDPOINT is set."""
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("HF_", "TRANSFORMERS_"))}
    environment |= {"HF_ENDPOINT": hub.url, "HF_HOME": str(out / "hf-home"), "HF_HUB_DISABLE_XET": "1"}
    completed = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(ONLINE_SCRIPT), DEFAULT_REPO_ID, DEFAULT_COMMIT, str(out)],
        env=environment,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert completed.returncode == 0, completed.stderr[-2000:]
    result: dict[str, Any] = json.loads(completed.stdout.strip().splitlines()[-1])
    return result


@pytest.mark.process
def test_huggingface_hub_downloads_the_files_byte_for_byte_and_gets_the_hubs_errors(
    hub: FakeHub, tmp_path: Path
) -> None:
    result = run_client(hub, tmp_path)

    assert result["info"] == {"sha": DEFAULT_COMMIT, "siblings": {path: len(data) for path, data in FILES.items()}}
    local = files_of(Path(result["local_dir"]))
    assert {path: data for path, data in local.items() if not path.startswith(".cache/")} == {
        path: data
        for path, data in FILES.items()
        if path in ("config.json", "model.safetensors", "1_Pooling/config.json")
    }
    cached = Path(result["cached"])
    assert cached.name == DEFAULT_COMMIT  # `main` resolved to the commit
    assert files_of(cached) == FILES
    assert Path(result["one_file"]).read_bytes() == FILES["1_Pooling/config.json"]
    assert result["bad_revision"] == "RevisionNotFoundError"
    assert result["bad_repo"] == "RepositoryNotFoundError"
    assert result["bad_file"] in ("EntryNotFoundError", "RemoteEntryNotFoundError")


@pytest.mark.process
def test_every_request_is_recorded_and_ignored_files_are_never_fetched(hub: FakeHub, tmp_path: Path) -> None:
    run_client(hub, tmp_path)

    first_download = hub.downloaded_files()[: len(FILES) - 2]
    assert sorted(first_download) == ["1_Pooling/config.json", "config.json", "model.safetensors"]
    assert sorted(set(hub.downloaded_files())) == sorted(FILES)  # the second, unfiltered snapshot took them all
    assert any(r.path == f"/api/models/{DEFAULT_REPO_ID}" for r in hub.recorded())
    assert all("hf_hub" in r.headers.get("user-agent", "") for r in hub.recorded() if "/resolve/" in r.path)


def test_files_carry_the_hubs_headers_and_answer_byte_ranges(hub: FakeHub) -> None:
    url = f"{hub.url}/{DEFAULT_REPO_ID}/resolve/main/model.safetensors"
    with urllib.request.urlopen(urllib.request.Request(url, method="HEAD")) as head:
        assert head.headers["X-Repo-Commit"] == DEFAULT_COMMIT
        assert head.headers["ETag"] == f'"{hashlib.sha256(FILES["model.safetensors"]).hexdigest()}"'
        assert int(head.headers["Content-Length"]) == len(FILES["model.safetensors"])
    with urllib.request.urlopen(urllib.request.Request(url, headers={"Range": "bytes=100-"})) as ranged:
        assert ranged.status == 206
        assert ranged.read() == FILES["model.safetensors"][100:]
    config = f"{hub.url}/{DEFAULT_REPO_ID}/resolve/{DEFAULT_COMMIT}/config.json"
    with urllib.request.urlopen(urllib.request.Request(config, method="HEAD")) as small:
        blob = b"blob %d\0" % len(FILES["config.json"]) + FILES["config.json"]
        assert small.headers["ETag"] == f'"{hashlib.sha1(blob).hexdigest()}"'  # a git blob id, not an LFS hash


def test_anything_outside_the_repository_is_a_recorded_404_with_the_hubs_error_code(hub: FakeHub) -> None:
    for path in ("/api/datasets/x/y", f"/api/models/{DEFAULT_REPO_ID}/revision/nope", "/elsewhere"):
        with pytest.raises(urllib.error.HTTPError) as refused:
            urllib.request.urlopen(hub.url + path)
        assert refused.value.code == 404
        assert refused.value.headers["X-Error-Code"] in ("EntryNotFound", "RevisionNotFound", "RepoNotFound")
    assert [r.path for r in hub.recorded()] == [
        "/api/datasets/x/y",
        f"/api/models/{DEFAULT_REPO_ID}/revision/nope",
        "/elsewhere",
    ]


@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"commit": "main"}, "commit 'main' is not a commit id: use 40 lower-case hex digits"),
        ({"repo_id": "all-MiniLM-L6-v2"}, "repo_id 'all-MiniLM-L6-v2' is not a repository id: use 'owner/name'"),
    ],
)
def test_a_bad_repository_setting_is_refused_by_name(arguments: dict[str, str], message: str) -> None:
    with pytest.raises(ValueError, match=message):
        FakeHub(FILES, **arguments)
