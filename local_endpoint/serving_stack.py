"""The inference container's own Python serving stack, started on this machine: what AWS runs, minus Docker.

The Hugging Face PyTorch inference image starts `python /usr/local/bin/dockerd-entrypoint.py serve`, which calls
`sagemaker_huggingface_inference_toolkit.serving.main()`: the toolkit (downloading HF_MODEL_ID from the Hub first,
if set) writes multi-model-server's configuration and starts it, a Java frontend on SAGEMAKER_BIND_TO_PORT whose
Python workers import the model's code/inference.py. `ServingStack` runs exactly that entry point with the
interpreter of a venv holding the same packages (`make serving-venv`), on a model.tar.gz extracted as SageMaker
extracts it, with the model's environment and the image's own ENV, and forwards POST /invocations to it, so it can
stand behind the local twin (`python -m local_endpoint --serving-stack`) like any `InvocationContainer`.

What stands in for the container:

- SAGEMAKER_BASE_DIR=<work>/opt-ml stands for /opt/ml: the archive is extracted into <work>/opt-ml/model, which is
  then made read-only to catch writes: by permission bits, and, as root (who ignores them), by a read-only bind
  mount in a mount namespace of the stack's own (`unshare --mount`) where the system allows one.
- HOME, TMPDIR, TEMP, HF_HOME and the working directory (where the toolkit puts a Hub download, and MMS its logs)
  are private folders, so nothing from the caller's caches or tokens leaks in.
- The environment is built from nothing: the image's ENV lines, then the model's environment, then the port and
  base directory. HF_ENDPOINT points the Hub client at a fake Hub when a test gives one.

Limits of the stack itself, handled here:

- sagemaker_inference writes the MMS configuration to the fixed path /etc/sagemaker-mms.properties and finds the
  server by scanning every process's command line for com.amazonaws.ml.mms.ModelServer, so only one stack can run
  on a machine at a time: a lock file serialises them and names the holder.
- multi-model-server refuses ports above 32767, so the port is picked below that.
- /ping answers Healthy before, and even when, `model_fn` fails; readiness is the first answer to a real
  invocation.
- MMS's Python workers outlive their parent, so the stack runs in a session of its own, is stopped as a process
  group, and `stop()` verifies that no process of it is left.

The standard library only, so the serving venv (the container's packages) can import it too.
"""

from __future__ import annotations

import contextlib
import fcntl
import http.client
import json
import logging
import os
import random
import shutil
import signal
import socket
import stat
import subprocess
import tempfile
import threading
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from types import TracebackType

from local_endpoint.artifact import unpack_artifact
from local_endpoint.container import ContainerResponse

logger = logging.getLogger(__name__)

PROJECT_DIR = Path(__file__).resolve().parents[1]
SERVING_PYTHON_ENV = "ALEX_SERVING_PYTHON"
DEFAULT_SERVING_PYTHON = PROJECT_DIR / ".venv-serving" / "bin" / "python"
"""The serving venv's interpreter (`make serving-venv`), unless $ALEX_SERVING_PYTHON or an argument says another."""

ENTRY_POINT = "from sagemaker_huggingface_inference_toolkit import serving; serving.main()"
"""What the image's dockerd-entrypoint.py runs for `serve` (deep-learning-containers, huggingface/build_artifacts/
inference/mms-entrypoint.py); it then keeps the container alive with `tail -f /dev/null`, which is left out."""

MMS_CONFIG_FILE = Path("/etc/sagemaker-mms.properties")
MMS_SERVER_CLASS = "com.amazonaws.ml.mms.ModelServer"
WORKER_SCRIPT = "mms/model_service_worker.py"
LOCK_FILE = Path("/tmp/alex-serving-stack.lock")
MAX_MMS_PORT = 32767  # MMS answers "Invalid port number" above this
PORT_RANGE = (20000, MAX_MMS_PORT)
INVOKE_TIMEOUT_S = 120.0
"""How long an InvokeEndpoint forwarded to the stack may take (SageMaker gives a real-time invocation 60 s); a
transform job's mini-batch gets its InvocationsTimeoutInSeconds instead."""

IMAGE_ENVIRONMENT: Mapping[str, str] = {
    "PYTHONDONTWRITEBYTECODE": "1",
    "PYTHONUNBUFFERED": "1",
    "PYTHONIOENCODING": "UTF-8",
    "LANG": "C.UTF-8",
    "LC_ALL": "C.UTF-8",
    "MKL_THREADING_LAYER": "GNU",
    "DLC_CONTAINER_TYPE": "inference",
    "HF_HUB_USER_AGENT_ORIGIN": "aws:sagemaker:cpu:inference:regular",
}
"""The ENV lines of huggingface/pytorch/inference/docker/2.6/py3/Dockerfile.cpu that reach the serving processes
(TEMP=/tmp and PATH are set per stack below)."""

PROBE_BODY = b'{"inputs": "vectorize me"}'
JSON = "application/json"
STARTUP_TIMEOUT_S = 300.0
STOP_TIMEOUT_S = 20.0
LOG_TAIL_LINES = 40


class ServingStackError(RuntimeError):
    """The stack cannot be started, did not answer, or left something behind; the message says which and why."""


@dataclass(frozen=True)
class FirstAnswer:
    """The first answer to a real invocation, and how long after launch it came."""

    seconds: float
    response: ContainerResponse


def serving_python(explicit: str | os.PathLike[str] | None = None) -> Path:
    """The serving venv's interpreter: `explicit`, else $ALEX_SERVING_PYTHON, else .venv-serving/bin/python.

    Raises ServingStackError naming the path and how to build the venv when it is missing.
    """
    chosen = explicit or os.environ.get(SERVING_PYTHON_ENV) or DEFAULT_SERVING_PYTHON
    path = Path(chosen).expanduser()
    if not path.is_file() or not os.access(path, os.X_OK):
        source = "given" if explicit else f"${SERVING_PYTHON_ENV}" if os.environ.get(SERVING_PYTHON_ENV) else "default"
        raise ServingStackError(
            f"the serving stack's Python {str(path)!r} ({source}) does not exist or is not executable: run "
            f"`make serving-venv` in {PROJECT_DIR} to build .venv-serving, or point ${SERVING_PYTHON_ENV} at a "
            "Python with sagemaker-huggingface-inference-toolkit and multi-model-server installed"
        )
    return path


def java_executable() -> Path:
    """The `java` multi-model-server will run ($JAVA_HOME/bin/java, else the one on PATH)."""
    java_home = os.environ.get("JAVA_HOME")
    found = Path(java_home) / "bin" / "java" if java_home else None
    if found is None or not found.is_file():
        which = shutil.which("java")
        found = Path(which) if which else None
    if found is None:
        raise ServingStackError(
            "java was not found (JAVA_HOME unset and no java on PATH): multi-model-server's frontend is a Java "
            "program; install a Java runtime, 17 or newer, e.g. `apt-get install openjdk-17-jre-headless`"
        )
    return found


@dataclass(frozen=True)
class ProcessInfo:
    pid: int
    parent: int
    group: int
    command: str


def processes() -> Iterator[ProcessInfo]:
    """Every live process this user can see (zombies have exited already: only their parent has to reap them)."""
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat_text = (entry / "stat").read_text()
            command = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode(errors="replace").strip()
        except OSError:
            continue
        fields = stat_text[stat_text.rindex(")") + 2 :].split()
        if fields[0] != "Z":
            yield ProcessInfo(int(entry.name), int(fields[1]), int(fields[2]), command)


def running_model_servers() -> list[tuple[int, str]]:
    """Every multi-model-server frontend on the machine, as sagemaker_inference finds them."""
    return [(p.pid, p.command) for p in processes() if MMS_SERVER_CLASS in p.command.split()]


def free_port() -> int:
    """A port MMS accepts (<= 32767) that nothing listens on right now; the kernel's own picks are above it."""
    for _ in range(200):
        port = random.randint(*PORT_RANGE)
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            try:
                probe.bind(("0.0.0.0", port))
            except OSError:
                continue
            return port
    raise ServingStackError(f"no free port between {PORT_RANGE[0]} and {PORT_RANGE[1]} (MMS refuses higher ones)")


def _set_writable(root: Path, writable: bool) -> None:
    """chmod a tree (folders and files) read-only, or back to writable for its owner."""
    paths = [root, *root.rglob("*")]
    for path in reversed(paths) if writable else paths:
        if path.is_symlink():
            continue
        mode = path.stat().st_mode
        write_bits = stat.S_IWUSR | stat.S_IWGRP | stat.S_IWOTH
        path.chmod(mode | stat.S_IWUSR if writable else mode & ~write_bits)


def _mount_namespace_available() -> bool:
    """Whether `unshare --mount` works here: root with CAP_SYS_ADMIN, and util-linux installed."""
    if os.geteuid() != 0 or shutil.which("unshare") is None or shutil.which("mount") is None:
        return False
    probe = subprocess.run(["unshare", "--mount", "true"], capture_output=True, check=False)
    return probe.returncode == 0


class _MachineLock:
    """One serving stack per machine: an exclusive flock on LOCK_FILE, released when the stack stops."""

    def __init__(self, path: Path = LOCK_FILE) -> None:
        self.path = path
        self._file: int | None = None

    def acquire(self, timeout: float) -> None:
        descriptor = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o666)
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except BlockingIOError:
                if time.monotonic() >= deadline:
                    holder = os.pread(descriptor, 200, 0).decode(errors="replace").strip() or "unknown"
                    os.close(descriptor)
                    raise ServingStackError(
                        f"another serving stack is running on this machine (lock {self.path} held by {holder}): "
                        f"sagemaker_inference writes {MMS_CONFIG_FILE} and finds its model server by scanning all "
                        "processes, so only one stack can run at a time; stop the other one (or wait for it)"
                    ) from None
                time.sleep(0.2)
        os.ftruncate(descriptor, 0)
        os.pwrite(descriptor, f"pid {os.getpid()}".encode(), 0)
        self._file = descriptor

    def release(self) -> None:
        if self._file is not None:
            os.ftruncate(self._file, 0)
            fcntl.flock(self._file, fcntl.LOCK_UN)
            os.close(self._file)
            self._file = None


class ServingStack:
    """The container's serving stack on one model.tar.gz and one environment; an InvocationContainer once started.

    `artifact` is the model.tar.gz SageMaker would download, or a folder of what it holds (None: an empty
    /opt/ml/model, as for a model without ModelDataUrl); `environment` is the model's environment as the program
    sets it; `hf_endpoint` points the Hub client at a fake Hub. Use it as a context manager, or call `start()` and,
    always, `stop()`.
    """

    def __init__(
        self,
        artifact: str | os.PathLike[str] | None,
        environment: Mapping[str, str],
        *,
        python: str | os.PathLike[str] | None = None,
        port: int | None = None,
        hf_endpoint: str | None = None,
        log_path: str | os.PathLike[str] | None = None,
        lock_timeout: float = 0.0,
        read_only_mount: bool | None = None,
    ) -> None:
        self.artifact = Path(artifact) if artifact is not None else None
        self.environment = dict(environment)
        self.python = serving_python(python)
        self.port = port or free_port()
        if not 1 <= self.port <= MAX_MMS_PORT:
            raise ServingStackError(f"port {self.port} is not allowed: multi-model-server accepts 1 to {MAX_MMS_PORT}")
        self.hf_endpoint = hf_endpoint
        self.log_path = Path(log_path) if log_path is not None else None
        self.lock_timeout = lock_timeout
        self.read_only_mount = read_only_mount
        self.work: Path | None = None
        self._work_name = ""  # kept after stop(), to find processes that name the removed folder
        self.process: subprocess.Popen[bytes] | None = None
        self.started_at: float | None = None
        self.first_answer: FirstAnswer | None = None
        self._lock = _MachineLock()
        self._local = threading.local()
        self._log_file: int | None = None

    # --- paths -----------------------------------------------------------------------------------------------------

    @property
    def base_dir(self) -> Path:
        """What SAGEMAKER_BASE_DIR points at: the stand-in for /opt/ml."""
        return self._work() / "opt-ml"

    @property
    def model_dir(self) -> Path:
        return self.base_dir / "model"

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def _work(self) -> Path:
        if self.work is None:
            raise ServingStackError("the serving stack has not been started")
        return self.work

    def _log(self) -> Path:
        return self.log_path or self._work() / "serving-stack.log"

    def log_text(self) -> str:
        """Everything the stack printed so far (the toolkit, MMS's frontend and its workers)."""
        try:
            return self._log().read_text(errors="replace")
        except OSError:
            return ""

    def _log_tail(self) -> str:
        return "\n".join(self.log_text().splitlines()[-LOG_TAIL_LINES:])

    # --- start -----------------------------------------------------------------------------------------------------

    def container_environment(self) -> dict[str, str]:
        """The environment the entry point starts with: image ENV, the model's, then the platform's and ours."""
        work = self._work()
        java = java_executable()
        path = os.pathsep.join(
            dict.fromkeys([str(self.python.parent), str(java.parent), "/usr/local/bin", "/usr/bin", "/bin"])
        )
        environment = {**IMAGE_ENVIRONMENT, "PATH": path, "TEMP": str(work / "tmp")}
        environment |= self.environment
        environment |= {
            "SAGEMAKER_BASE_DIR": str(self.base_dir),
            "SAGEMAKER_BIND_TO_PORT": str(self.port),
            "HOME": str(work / "home"),
            "TMPDIR": str(work / "tmp"),
            "HF_HOME": str(work / "hf-home"),
        }
        if os.environ.get("JAVA_HOME"):
            environment["JAVA_HOME"] = os.environ["JAVA_HOME"]
        if self.hf_endpoint:
            environment["HF_ENDPOINT"] = self.hf_endpoint
        return environment

    def _command(self, mount: bool) -> list[str]:
        entry = [str(self.python), "-c", ENTRY_POINT]
        if not mount:
            return entry
        model = str(self.model_dir)
        script = 'mount --bind "$1" "$1" && mount -o remount,bind,ro "$1" "$1" && shift && exec "$@"'
        return ["unshare", "--mount", "--propagation", "private", "sh", "-c", script, "sh", model, *entry]

    def start(self) -> ServingStack:
        """Extract the artifact, take the machine's lock and launch the entry point; returns without waiting."""
        if self.process is not None:
            raise ServingStackError("this serving stack is already started")
        java_executable()
        if not (os.access(MMS_CONFIG_FILE, os.W_OK) or (not MMS_CONFIG_FILE.exists() and os.access("/etc", os.W_OK))):
            raise ServingStackError(
                f"cannot write {MMS_CONFIG_FILE}: sagemaker_inference writes the model server's configuration there "
                "(a fixed path); run as root, or create that file writable by you"
            )
        self._lock.acquire(self.lock_timeout)
        try:
            others = running_model_servers()
            if others:
                listed = "; ".join(f"pid {pid}: {cmd[:120]}" for pid, cmd in others)
                raise ServingStackError(
                    f"a multi-model-server is already running on this machine ({listed}): sagemaker_inference "
                    "would find two servers and give up; stop it first"
                )
            self.work = Path(tempfile.mkdtemp(prefix="serving-stack-"))
            self._work_name = str(self.work)
            for folder in ("home", "tmp", "hf-home", "cwd"):
                (self.work / folder).mkdir()
            self.model_dir.mkdir(parents=True)
            if self.artifact is not None and self.artifact.is_dir():
                shutil.copytree(self.artifact, self.model_dir, dirs_exist_ok=True)
            elif self.artifact is not None:
                unpack_artifact(self.artifact, self.model_dir)
            _set_writable(self.model_dir, writable=False)
            mount = _mount_namespace_available() if self.read_only_mount is None else self.read_only_mount
            environment = self.container_environment()
            self._log().parent.mkdir(parents=True, exist_ok=True)
            self._log_file = os.open(self._log(), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
            logger.info(
                "serving stack: %s on port %d, model dir %s (read-only by %s)",
                self.artifact or "no artifact",
                self.port,
                self.model_dir,
                "a read-only bind mount" if mount else "permission bits",
            )
            self.started_at = time.monotonic()
            self.process = subprocess.Popen(
                self._command(mount),
                env=environment,
                cwd=self.work / "cwd",
                stdin=subprocess.DEVNULL,
                stdout=self._log_file,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        except BaseException:
            self.stop()
            raise
        return self

    def wait_until_answering(self, timeout: float = STARTUP_TIMEOUT_S) -> FirstAnswer:
        """Send the tutorial's request until the stack answers it (whatever the answer); /ping is not enough.

        Raises ServingStackError with the end of the stack's log if it exits or does not answer in time.
        """
        if self.process is None or self.started_at is None:
            raise ServingStackError("the serving stack has not been started")
        deadline = self.started_at + timeout
        while True:
            code = self.process.poll()
            if code is not None:
                raise ServingStackError(
                    f"the serving stack exited with status {code} before answering; its log ends with:\n"
                    f"{self._log_tail()}"
                )
            try:
                response = self._post(PROBE_BODY, JSON, None, timeout=30.0, fresh=True)
            except (OSError, http.client.HTTPException):
                response = None
            # 503: the frontend is up but no worker holds the model yet.
            if response is not None and response.status != 503:
                self.first_answer = FirstAnswer(time.monotonic() - self.started_at, response)
                return self.first_answer
            if time.monotonic() >= deadline:
                raise ServingStackError(
                    f"the serving stack did not answer POST /invocations within {timeout:g}s; its log ends with:\n"
                    f"{self._log_tail()}"
                )
            time.sleep(0.25)

    # --- invoke ----------------------------------------------------------------------------------------------------

    def _connection(self, timeout: float, fresh: bool) -> http.client.HTTPConnection:
        if fresh:
            return http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=timeout)
            self._local.connection = connection
        connection.timeout = timeout  # this call's, also on a kept-alive connection opened for another
        if connection.sock is not None:
            connection.sock.settimeout(timeout)
        return connection

    def _post(
        self, body: bytes, content_type: str | None, accept: str | None, *, timeout: float, fresh: bool = False
    ) -> ContainerResponse:
        headers = {"Content-Length": str(len(body))}
        if content_type is not None:
            headers["Content-Type"] = content_type
        if accept is not None:
            headers["Accept"] = accept
        for attempt in range(2):
            connection = self._connection(timeout, fresh)
            try:
                connection.request("POST", "/invocations", body=body, headers=headers)
                response = connection.getresponse()
                payload = response.read()
            except (OSError, http.client.HTTPException):
                connection.close()
                self._local.connection = None
                if fresh or attempt == 1:
                    raise
                continue  # a kept-alive connection the server had closed: once more on a new one
            finally:
                if fresh:
                    connection.close()
            return ContainerResponse(response.status, payload, response.getheader("Content-Type") or "")
        raise AssertionError("unreachable")

    def invoke(
        self, body: bytes, content_type: str | None, accept: str | None, *, timeout: float = INVOKE_TIMEOUT_S
    ) -> ContainerResponse:
        """POST /invocations on the stack, as SageMaker forwards InvokeEndpoint (or a transform job's mini-batch,
        with its InvocationsTimeoutInSeconds as `timeout`) to the container. TimeoutError if no answer in time."""
        return self._post(body, content_type, accept, timeout=timeout)

    def ping(self) -> ContainerResponse:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10.0)
        try:
            connection.request("GET", "/ping")
            response = connection.getresponse()
            return ContainerResponse(response.status, response.read(), response.getheader("Content-Type") or "")
        finally:
            connection.close()

    # --- processes and stop ----------------------------------------------------------------------------------------

    def processes(self) -> list[tuple[int, str]]:
        """The stack's live processes: its process group, and anything naming its private folder."""
        if self.process is None:
            return []
        group, work = self.process.pid, self._work_name
        return [(p.pid, p.command) for p in processes() if p.group == group or (work and work in p.command)]

    def worker_pids(self) -> list[int]:
        """The processes that run the model: MMS's model_service_worker.py forks one per frontend connection, and
        that child imports the handler and calls model_fn."""
        if self.process is None:
            return []
        mine = [p for p in processes() if p.group == self.process.pid and WORKER_SCRIPT in p.command]
        parents = {p.pid for p in mine}
        return [p.pid for p in mine if p.parent in parents]

    def wait_for_workers(self, count: int, timeout: float = 120.0) -> list[int]:
        """The worker processes once there are `count` of them: the first answer can come while others still load."""
        deadline = time.monotonic() + timeout
        while True:
            found = self.worker_pids()
            if len(found) >= count or time.monotonic() >= deadline:
                return found
            time.sleep(0.2)

    def stop(self) -> None:
        """Stop every process of the stack (SIGTERM to its group, SIGKILL after STOP_TIMEOUT_S), verify none is
        left, then remove its folders and release the machine's lock. Safe to call more than once.

        Raises ServingStackError listing any process that survived.
        """
        leftovers: list[tuple[int, str]] = []
        try:
            if self.process is not None:
                leftovers = self._stop_group()
        finally:
            if self._log_file is not None:
                os.close(self._log_file)
                self._log_file = None
            connection = getattr(self._local, "connection", None)
            if connection is not None:
                connection.close()
                self._local.connection = None
            if self.work is not None and not leftovers:
                if self.model_dir.exists():
                    _set_writable(self.model_dir, writable=True)
                shutil.rmtree(self.work, ignore_errors=True)
                self.work = None
            self._lock.release()
        if leftovers:
            listed = "; ".join(f"pid {pid}: {cmd[:160]}" for pid, cmd in leftovers)
            raise ServingStackError(f"the serving stack left processes behind after SIGKILL: {listed}")

    def _stop_group(self) -> list[tuple[int, str]]:
        assert self.process is not None
        group = self.process.pid
        for sig, grace in ((signal.SIGTERM, STOP_TIMEOUT_S), (signal.SIGKILL, 5.0)):
            with contextlib.suppress(ProcessLookupError):
                os.killpg(group, sig)
            for pid, _ in self.processes():  # anything that left the group but names the stack's folder
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, sig)
            deadline = time.monotonic() + grace
            while time.monotonic() < deadline:
                with contextlib.suppress(subprocess.TimeoutExpired):
                    self.process.wait(timeout=0.1)
                if not self.processes():
                    return []
                time.sleep(0.1)
        return self.processes()

    def __enter__(self) -> ServingStack:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()


def load_environment_file(path: str | os.PathLike[str]) -> dict[str, str]:
    """A model environment from a JSON file: an object of strings, or an object whose "environment" is one."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (OSError, ValueError) as error:
        raise ServingStackError(f"cannot read the container environment file {str(path)!r}: {error}") from None
    if isinstance(data, dict) and isinstance(data.get("environment"), dict):
        data = data["environment"]
    if not isinstance(data, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in data.items()):
        raise ServingStackError(
            f"the container environment file {str(path)!r} must hold a JSON object of strings, e.g. "
            '{"HF_TASK": "feature-extraction"}, or an object with such an "environment"'
        )
    return dict(data)


def parse_environment_pairs(pairs: list[str]) -> dict[str, str]:
    """NAME=VALUE strings (the twin's --container-env) as a mapping; a string without '=' is refused by name."""
    environment: dict[str, str] = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name or not name.replace("_", "").isalnum():
            raise ServingStackError(
                f"container environment {pair!r} is not NAME=VALUE, e.g. HF_TASK=feature-extraction"
            )
        environment[name] = value
    return environment


def _exit_on_sigterm(signum: int, frame: object) -> None:
    raise SystemExit(128 + signum)


def start_for_twin(
    artifact: str | os.PathLike[str] | None,
    environment: Mapping[str, str],
    *,
    python: str | os.PathLike[str] | None = None,
    timeout: float = STARTUP_TIMEOUT_S,
) -> ServingStack:
    """A started stack that has answered its first invocation with 200, for `python -m local_endpoint --serving-stack`.

    A SIGTERM while it starts stops the stack before the twin exits (the stack runs in a session of its own and
    would outlive it). Raises ServingStackError if the stack cannot start, or answers its first request with an
    error (the model failed to load: every request would fail the same way).
    """
    if artifact is None and "HF_MODEL_ID" not in environment:
        raise ServingStackError(
            "the serving stack needs a model: --model-artifact with a model.tar.gz that holds the model's files, or "
            "HF_MODEL_ID in the container environment (with HF_ENDPOINT for a Hub other than huggingface.co)"
        )
    stack = ServingStack(artifact, environment, python=python)
    previous = signal.signal(signal.SIGTERM, _exit_on_sigterm)
    try:
        stack.start()
        first = stack.wait_until_answering(timeout)
        if first.response.status != 200:
            raise ServingStackError(
                f"the serving stack answered its first request (the tutorial's {PROBE_BODY.decode()}) with HTTP "
                f"{first.response.status}: {first.response.body.decode(errors='replace')[:600]}"
            )
        logger.info("serving stack answered its first request %.1fs after launch", first.seconds)
    except BaseException:
        stack.stop()
        raise
    finally:
        signal.signal(signal.SIGTERM, previous)
    return stack
