"""A stand-in for the Hugging Face Hub at its network boundary: local files served as one model repository.

It speaks the part of the Hub's HTTP API that `huggingface_hub` uses to find and download a model, checked against
two very different clients: 0.30 (the inference container's, through the toolkit's `HfApi().model_info()` and
`snapshot_download(..., ignore_patterns=...)`) and 2.x (the deploying machine's `snapshot_download` and
`hf_hub_download`). Point either at it with HF_ENDPOINT=<FakeHub.url>. Every request is recorded, so a test can
say what was fetched, and that nothing was.

Routes (a model repository only; anything else is recorded and answered 404 with the Hub's error headers):

- GET  /api/models/{repo}[/revision/{rev}]         repository info: sha, siblings (sizes, blob ids, LFS with ?blobs)
- GET  /api/models/{repo}/tree/{rev}[/{path}]      the file tree, one page (`recursive=true` for all of it)
- POST /api/models/{repo}/paths-info/{rev}         info for the paths named in the form or JSON body
- HEAD|GET /{repo}/resolve/{rev}/{path}            a file, with X-Repo-Commit, ETag (git blob id, or the LFS
                                                   SHA-256 for weights), byte ranges

A revision is the commit id or a branch name (`main` by default). The standard library only, so both the main
venv and the serving venv can import it; ThreadingHTTPServer is enough for a test fake.
"""

from __future__ import annotations

import hashlib
import json
import threading
import urllib.parse
from collections.abc import Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

DEFAULT_REPO_ID = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_COMMIT = "1110a243fdf4706b3f48f1d95db1a4f5529b4d41"
"""The commit the fake serves unless told otherwise: 40 hex digits, as `HF_MODEL_REVISION` pins one."""
LAST_MODIFIED = "2024-11-05T00:00:00.000Z"
# Files the Hub keeps in Git LFS for this kind of repository (its .gitattributes); their ETag is the SHA-256.
LFS_SUFFIXES = (".safetensors", ".bin", ".h5", ".ot", ".onnx", ".msgpack", ".pt", ".pth", ".ckpt", ".tflite")
LFS_POINTER_SIZE = 134


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake saw it."""

    method: str
    path: str
    query: dict[str, list[str]]
    headers: dict[str, str]

    @property
    def downloaded_file(self) -> str | None:
        """The repository path of a GET .../resolve/... (a file's bytes), else None."""
        if self.method != "GET" or "/resolve/" not in self.path:
            return None
        return self.path.split("/resolve/", 1)[1].split("/", 1)[1]


@dataclass(frozen=True)
class RepoFile:
    path: str
    data: bytes

    @property
    def is_lfs(self) -> bool:
        return self.path.endswith(LFS_SUFFIXES)

    @property
    def blob_id(self) -> str:
        """Git's object id of the file (or of its LFS pointer, as the Hub reports for LFS files)."""
        content = self._pointer() if self.is_lfs else self.data
        return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.data).hexdigest()

    @property
    def etag(self) -> str:
        return self.sha256 if self.is_lfs else self.blob_id

    def _pointer(self) -> bytes:
        return (
            f"version https://git-lfs.github.com/spec/v1\noid sha256:{self.sha256}\nsize {len(self.data)}\n"
        ).encode()

    def lfs(self) -> dict[str, Any] | None:
        if not self.is_lfs:
            return None
        return {"oid": self.sha256, "sha256": self.sha256, "size": len(self.data), "pointerSize": LFS_POINTER_SIZE}


def files_of(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` by its repository path (compiled caches left out)."""
    return {
        path.relative_to(folder).as_posix(): path.read_bytes()
        for path in sorted(folder.rglob("*"))
        if path.is_file() and "__pycache__" not in path.parts
    }


@dataclass
class FakeHub:
    """One model repository at one commit, served on 127.0.0.1 from a background thread.

    `files` maps repository paths to bytes (see `files_of`); `branches` names the revisions that resolve to the
    commit besides the commit id itself.
    """

    files: Mapping[str, bytes]
    repo_id: str = DEFAULT_REPO_ID
    commit: str = DEFAULT_COMMIT
    branches: tuple[str, ...] = ("main",)
    requests: list[RecordedRequest] = field(default_factory=list)

    def __post_init__(self) -> None:
        if len(self.commit) != 40 or any(c not in "0123456789abcdef" for c in self.commit):
            raise ValueError(f"commit {self.commit!r} is not a commit id: use 40 lower-case hex digits")
        if self.repo_id.count("/") != 1:
            raise ValueError(f"repo_id {self.repo_id!r} is not a repository id: use 'owner/name'")
        self._files = {path: RepoFile(path, data) for path, data in sorted(self.files.items())}
        self._lock = threading.Lock()
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    # --- lifecycle -----------------------------------------------------------------------------------------------

    def start(self) -> FakeHub:
        handler = type("Handler", (_Handler,), {"hub": self})
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="fake-hub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None

    def __enter__(self) -> FakeHub:
        return self.start()

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    @property
    def url(self) -> str:
        if self._server is None:
            raise RuntimeError("the fake Hub is not running: call start() or use it as a context manager")
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- what happened -------------------------------------------------------------------------------------------

    def record(self, request: RecordedRequest) -> None:
        with self._lock:
            self.requests.append(request)

    def recorded(self) -> list[RecordedRequest]:
        with self._lock:
            return list(self.requests)

    def downloaded_files(self) -> list[str]:
        """Repository paths whose bytes were fetched (GET .../resolve/...), in request order."""
        return [path for request in self.recorded() if (path := request.downloaded_file) is not None]

    # --- the repository ------------------------------------------------------------------------------------------

    def resolves(self, revision: str) -> bool:
        return revision == self.commit or revision in self.branches

    def file(self, path: str) -> RepoFile | None:
        return self._files.get(path)

    def _directories(self) -> list[str]:
        found = {"/".join(path.split("/")[:depth]) for path in self._files for depth in range(1, path.count("/") + 1)}
        return sorted(found)

    def siblings(self, *, blobs: bool) -> list[dict[str, Any]]:
        entries: list[dict[str, Any]] = []
        for repo_file in self._files.values():
            entry: dict[str, Any] = {"rfilename": repo_file.path}
            if blobs:
                entry |= {"size": len(repo_file.data), "blobId": repo_file.blob_id}
                if repo_file.is_lfs:
                    entry["lfs"] = repo_file.lfs()
            entries.append(entry)
        return entries

    def model_info(self, *, blobs: bool) -> dict[str, Any]:
        owner, name = self.repo_id.split("/")
        return {
            "_id": hashlib.sha1(self.repo_id.encode()).hexdigest()[:24],
            "id": self.repo_id,
            "modelId": self.repo_id,
            "author": owner,
            "sha": self.commit,
            "lastModified": LAST_MODIFIED,
            "createdAt": LAST_MODIFIED,
            "private": False,
            "gated": False,
            "disabled": False,
            "downloads": 0,
            "likes": 0,
            "library_name": "sentence-transformers",
            "pipeline_tag": "sentence-similarity",
            "tags": ["sentence-transformers", "safetensors", "bert", "feature-extraction", name],
            "siblings": self.siblings(blobs=blobs),
            "spaces": [],
            "usedStorage": sum(len(f.data) for f in self._files.values()),
        }

    def tree_entry(self, path: str) -> dict[str, Any]:
        repo_file = self._files.get(path)
        if repo_file is None:
            return {"type": "directory", "oid": hashlib.sha1(path.encode()).hexdigest(), "size": 0, "path": path}
        entry: dict[str, Any] = {
            "type": "file",
            "oid": repo_file.blob_id,
            "size": len(repo_file.data),
            "path": path,
        }
        if repo_file.is_lfs:
            entry["lfs"] = {"oid": repo_file.sha256, "size": len(repo_file.data), "pointerSize": LFS_POINTER_SIZE}
        return entry

    def tree(self, folder: str, *, recursive: bool) -> list[dict[str, Any]] | None:
        """Entries under `folder` ("" for the root), directories first as the Hub lists them; None if no folder."""
        folder = folder.strip("/")
        prefix = f"{folder}/" if folder else ""
        if folder and folder not in self._directories():
            return None
        paths = [*self._directories(), *self._files]
        inside = [p for p in paths if p.startswith(prefix) and (recursive or "/" not in p[len(prefix) :])]
        directories = [p for p in inside if p not in self._files]
        return [self.tree_entry(p) for p in (*sorted(directories), *sorted(p for p in inside if p in self._files))]


def _json_bytes(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":")).encode()


class _Handler(BaseHTTPRequestHandler):
    """Routes one request to the FakeHub it belongs to (set on a subclass as `hub`)."""

    hub: FakeHub
    protocol_version = "HTTP/1.1"
    server_version = "fake-hub"

    def log_message(self, format: str, *args: Any) -> None:  # the recorded requests are the log
        pass

    def do_GET(self) -> None:
        self._route("GET")

    def do_HEAD(self) -> None:
        self._route("HEAD")

    def do_POST(self) -> None:
        self._route("POST")

    def _route(self, method: str) -> None:
        split = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(split.query, keep_blank_values=True)
        body = b""
        if method == "POST":
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.hub.record(RecordedRequest(method, split.path, query, {k.lower(): v for k, v in self.headers.items()}))
        segments = [urllib.parse.unquote(s) for s in split.path.split("/")[1:]]
        repo = self.hub.repo_id.split("/")
        if segments[:1] == ["api"] and segments[1:2] == ["models"] and segments[2:4] == repo:
            self._api(method, segments[4:], query, body)
        elif segments[:2] == repo and segments[2:3] == ["resolve"] and len(segments) >= 5 and method != "POST":
            self._resolve(method, segments[3], "/".join(segments[4:]))
        elif segments[:1] == ["api"] and segments[1:2] == ["models"]:
            self._error(404, "RepoNotFound", f"Repository not found: {'/'.join(segments[2:4])}")
        else:
            self._error(404, "EntryNotFound", f"{method} {split.path} is not part of the fake Hub's API")

    def _api(self, method: str, rest: list[str], query: dict[str, list[str]], body: bytes) -> None:
        blobs = query.get("blobs", ["false"])[0].lower() == "true"
        if method == "GET" and not rest:
            self._send_json(self.hub.model_info(blobs=blobs))
        elif method == "GET" and rest[:1] == ["revision"] and len(rest) >= 2:
            revision = "/".join(rest[1:])
            if self._revision_ok(revision):
                self._send_json(self.hub.model_info(blobs=blobs))
        elif method == "GET" and rest[:1] == ["tree"] and len(rest) >= 2:
            if self._revision_ok(rest[1]):
                recursive = query.get("recursive", ["false"])[0].lower() in ("true", "1")
                entries = self.hub.tree("/".join(rest[2:]), recursive=recursive)
                if entries is None:
                    self._error(404, "EntryNotFound", f"{'/'.join(rest[2:])} does not exist at {rest[1]}")
                else:
                    self._send_json(entries)
        elif method == "POST" and rest[:1] == ["paths-info"] and len(rest) == 2:
            if self._revision_ok(rest[1]):
                self._send_json([self.hub.tree_entry(p) for p in self._posted_paths(body) if self._exists(p)])
        else:
            self._error(404, "EntryNotFound", f"{method} {self.path} is not part of the fake Hub's API")

    def _exists(self, path: str) -> bool:
        return self.hub.file(path) is not None or self.hub.tree(path, recursive=False) is not None

    def _posted_paths(self, body: bytes) -> list[str]:
        if (self.headers.get("Content-Type") or "").startswith("application/json"):
            return list(json.loads(body or b"{}").get("paths", []))
        return urllib.parse.parse_qs(body.decode()).get("paths", [])

    def _revision_ok(self, revision: str) -> bool:
        if self.hub.resolves(revision):
            return True
        self._error(404, "RevisionNotFound", f"Invalid rev id: {revision}")
        return False

    def _resolve(self, method: str, revision: str, path: str) -> None:
        if not self._revision_ok(revision):
            return
        repo_file = self.hub.file(path)
        if repo_file is None:
            self._error(404, "EntryNotFound", f"{path} does not exist at {revision}")
            return
        data, status, extra = repo_file.data, 200, {}
        requested = self.headers.get("Range")
        if requested and requested.startswith("bytes=") and method == "GET":
            start_text, _, end_text = requested[len("bytes=") :].partition("-")
            start = int(start_text or 0)
            end = int(end_text) if end_text else len(repo_file.data) - 1
            data, status = repo_file.data[start : end + 1], 206
            extra["Content-Range"] = f"bytes {start}-{start + len(data) - 1}/{len(repo_file.data)}"
        headers = {
            "Content-Type": "application/octet-stream",
            "Content-Length": str(len(data)),
            "Accept-Ranges": "bytes",
            "ETag": f'"{repo_file.etag}"',
            "X-Repo-Commit": self.hub.commit,
            **extra,
        }
        if repo_file.is_lfs:
            headers |= {"X-Linked-Etag": f'"{repo_file.etag}"', "X-Linked-Size": str(len(repo_file.data))}
        self._send(status, headers, b"" if method == "HEAD" else data)

    def _send_json(self, value: Any) -> None:
        self._send(200, {"Content-Type": "application/json; charset=utf-8"}, _json_bytes(value))

    def _error(self, status: int, code: str, message: str) -> None:
        body = _json_bytes({"error": message})
        headers = {"Content-Type": "application/json; charset=utf-8", "X-Error-Code": code, "X-Error-Message": message}
        self._send(status, headers, body)

    def _send(self, status: int, headers: Mapping[str, str], body: bytes) -> None:
        self.send_response(status)
        headers = {"Content-Length": str(len(body)), **headers} if "Content-Length" not in headers else headers
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)


def serve_folder(folder: Path, **kwargs: Any) -> FakeHub:
    """A started FakeHub serving every file under `folder`."""
    return FakeHub(files_of(folder), **kwargs).start()
