"""What a raw caller reads from the container's own serving stack, for each model source and pooling mode.

Each case starts the toolkit's entry point on the model.tar.gz and environment the program renders, with the Hub
replaced at its network boundary by the fake Hub (also in artifact mode, to show that nothing is fetched). Vectors
are checked against sentence-transformers (rendered in the main venv): cosine >= 0.9999.
"""

from __future__ import annotations

import json
import math
import struct
import tarfile
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from embeddings.npy import read_matrix
from embeddings.pooling import sentence_vectors
from local_endpoint.artifact import import_user_module
from local_endpoint.container import ContainerResponse
from local_endpoint.serving_stack import PROBE_BODY, FirstAnswer, ServingStack
from serving_stack_tests.cases import (
    CASE_NAMES,
    CLIENT_PARAMETERS,
    DECOY_FILES,
    EMPTY_TEXT,
    LIST_TEXTS,
    LONG_TEXT,
    TUTORIAL_TEXT,
    Case,
    RenderedCases,
)
from tests.fake_hub import DEFAULT_COMMIT, FakeHub
from tests.paths import MODEL_ARTIFACT_DIR

JSON = "application/json"
NPY = "application/x-npy"
DIMENSIONS = 384
MIN_COSINE = 0.9999


@dataclass
class Served:
    case: Case
    stack: ServingStack
    hub: FakeHub
    first: FirstAnswer
    references: dict[str, Any]

    def post(self, payload: Any, content_type: str | None = JSON) -> ContainerResponse:
        return self.stack.invoke(json.dumps(payload).encode(), content_type, None)

    def vectors(self, payload: Any, count: int) -> list[list[float]]:
        response = self.post(payload)
        assert response.status == 200, response.body[:500]
        assert response.content_type.startswith(JSON)
        return sentence_vectors(json.loads(response.body), count, DIMENSIONS)

    def reference(self, name: str) -> list[float]:
        vector: list[float] = self.references["sentence"][name]
        return vector


def cosine(a: Sequence[float], b: Sequence[float]) -> float:
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    return dot / (math.sqrt(sum(x * x for x in a)) * math.sqrt(sum(y * y for y in b)))


@pytest.fixture(scope="module", params=CASE_NAMES)
def served(
    request: pytest.FixtureRequest,
    rendered: RenderedCases,
    model_files: dict[str, bytes],
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[Served]:
    case = rendered.case(request.param)
    revision = case.environment.get("HF_MODEL_REVISION", DEFAULT_COMMIT)
    hub = FakeHub({**model_files, **DECOY_FILES}, commit=revision).start()
    log = tmp_path_factory.mktemp(case.name) / "serving-stack.log"
    stack = ServingStack(case.artifact, case.environment, hf_endpoint=hub.url, log_path=log)
    try:
        stack.start()
        first = stack.wait_until_answering()
        yield Served(case, stack, hub, first, rendered.references())
    finally:
        try:
            stack.stop()
        finally:
            hub.stop()
    assert stack.processes() == []


def test_the_tutorial_request_answers_what_the_pooling_mode_promises(served: Served) -> None:
    """`result[0][0]` of {"inputs": "vectorize me"}: the sentence vector with server pooling; with client pooling
    the first token's ([CLS]) vector, which is not the sentence vector: the mean of all token vectors is."""
    assert json.loads(PROBE_BODY) == {"inputs": TUTORIAL_TEXT}
    response = served.first.response  # the stack's very first answer was to this request
    assert response.status == 200, response.body[:500]
    result = json.loads(response.body)
    reference = served.reference("tutorial")
    if served.case.pooling == "server":
        assert len(result) == 1 and len(result[0]) == 1 and len(result[0][0]) == DIMENSIONS
        assert cosine(result[0][0], reference) >= MIN_COSINE
        return
    assert len(result) == 1 and len(result[0]) == 5  # [CLS] vector ##ize me [SEP]
    assert cosine(result[0][0], served.references["first_token"]["tutorial"]) >= MIN_COSINE
    assert cosine(result[0][0], reference) < 0.9
    assert cosine(sentence_vectors(result, 1)[0], reference) >= MIN_COSINE


def test_a_list_answers_one_vector_per_text_in_order(served: Served) -> None:
    vectors = served.vectors({"inputs": LIST_TEXTS}, len(LIST_TEXTS))

    for index, vector in enumerate(vectors):
        assert cosine(vector, served.reference(f"list{index}")) >= MIN_COSINE, LIST_TEXTS[index]


def test_accept_npy_answers_what_the_pooling_mode_promises(served: Served) -> None:
    """Server pooling: a float32 (texts, 384) .npy whose values are the JSON answer's, bit for bit, labelled
    application/x-npy by the toolkit, passed through the model server unchanged. Client pooling (the toolkit's own
    feature-extraction handler) np.save()s the token-level answer: texts of different token counts are ragged,
    which numpy refuses, so a list is a 400; that is why the client asks for npy only in server pooling."""
    body = json.dumps({"inputs": LIST_TEXTS, "parameters": CLIENT_PARAMETERS}).encode()
    response = served.stack.invoke(body, JSON, NPY)
    if served.case.pooling == "client":
        assert response.status == 400, response.body[:300]
        assert "inhomogeneous" in json.loads(response.body)["message"]
        return
    assert response.status == 200 and response.content_type == NPY, response.body[:300]
    matrix = read_matrix(response.body, DIMENSIONS)
    as_json = json.loads(served.stack.invoke(body, JSON, JSON).body)
    assert len(matrix) == len(LIST_TEXTS)
    assert all(
        struct.pack("<384f", *row) == struct.pack("<384f", *item[0][0])
        for row, item in zip(matrix, as_json, strict=True)
    )
    single = served.stack.invoke(json.dumps({"inputs": TUTORIAL_TEXT}).encode(), JSON, NPY)
    assert len(read_matrix(single.body, DIMENSIONS)) == 1


def test_a_long_text_is_cut_at_256_tokens(served: Served) -> None:
    """Server pooling cuts at 256 itself; the token-level pipeline cuts where the caller's tokenize_kwargs say
    (the project's client sends 256), as sentence-transformers does."""
    assert served.references["max_seq_length"] == 256
    payload: dict[str, Any] = {"inputs": LONG_TEXT}
    if served.case.pooling == "client":
        payload["parameters"] = CLIENT_PARAMETERS

    [vector] = served.vectors(payload, 1)

    assert cosine(vector, served.reference("long")) >= MIN_COSINE


def test_a_long_text_without_token_limits_is_refused_by_the_token_level_pipeline(served: Served) -> None:
    """Without tokenize_kwargs the feature-extraction pipeline does not truncate: past BERT's 512 positions the
    model fails, and the caller reads a 400 with the reason; server pooling always truncates."""
    response = served.post({"inputs": LONG_TEXT})

    if served.case.pooling == "server":
        assert response.status == 200
        return
    assert response.status == 400
    assert "512" in json.loads(response.body)["message"]


def test_an_empty_string_gets_the_models_vector_for_no_text(served: Served) -> None:
    [vector] = served.vectors({"inputs": EMPTY_TEXT}, 1)

    assert cosine(vector, served.reference("empty")) >= MIN_COSINE


@pytest.mark.parametrize(
    ("body", "content_type", "server_says"),
    [
        (b"vectorize me", JSON, "not valid JSON"),
        (b'{"inputs": 42}', JSON, '"inputs" is a JSON number (42)'),
        (b'{"inputs": ["a", null]}', JSON, '"inputs"[1] is a JSON null'),
        (b'{"inputs": "a"}', "text/plain", "Content-Type 'text/plain' is not supported"),
    ],
    ids=["not-json", "number", "null-item", "text-plain"],
)
def test_a_bad_body_is_a_4xx_with_a_message(served: Served, body: bytes, content_type: str, server_says: str) -> None:
    response = served.stack.invoke(body, content_type, None)

    assert 400 <= response.status < 500, response.body[:300]
    error = json.loads(response.body)
    assert error["code"] == response.status and error["message"].strip()
    if served.case.pooling == "server":
        assert server_says in error["message"]


def test_the_hub_is_asked_only_in_hub_mode_and_only_for_the_pytorch_files(
    served: Served, model_files: dict[str, bytes]
) -> None:
    requests = served.hub.recorded()

    if served.case.model_source == "artifact":
        assert requests == []  # HF_ENDPOINT pointed at the recording fake Hub: not one request
        return
    repo = served.hub.repo_id
    assert requests[0].method == "GET" and requests[0].path == f"/api/models/{repo}"  # HfApi().model_info()
    assert sorted(set(served.hub.downloaded_files())) == sorted(model_files)
    assert not set(served.hub.downloaded_files()) & set(DECOY_FILES)
    revisions = {r.path.split("/resolve/")[1].split("/")[0] for r in requests if "/resolve/" in r.path}
    assert revisions == {served.case.environment["HF_MODEL_REVISION"]}


def test_the_model_directory_is_served_as_extracted_and_never_written(served: Served) -> None:
    model_dir = served.stack.model_dir
    found = sorted(p.relative_to(model_dir).as_posix() for p in model_dir.rglob("*"))
    if served.case.artifact is None:
        expected: list[str] = []
    else:
        with tarfile.open(served.case.artifact) as archive:
            expected = sorted(member.name for member in archive.getmembers())

    assert found == expected
    assert all(not p.stat().st_mode & 0o222 for p in [model_dir, *model_dir.rglob("*")])
    if served.case.pooling == "server":
        assert "code/inference.py" in found or served.case.model_source == "hub"


def test_the_first_answer_came_from_a_worker_that_loaded_the_model(served: Served) -> None:
    """Readiness is the first answer to a real invocation; /ping says Healthy regardless."""
    assert served.first.response.status == 200
    assert served.stack.ping().status == 200
    assert served.stack.worker_pids()


def thread_cpu_ticks(pid: int) -> dict[int, int]:
    """CPU time (user + system, clock ticks) of each thread of a process."""
    ticks = {}
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            text = (task / "stat").read_text()
        except OSError:
            continue
        fields = text[text.rindex(")") + 2 :].split()
        ticks[int(task.name)] = int(fields[11]) + int(fields[12])
    return ticks


def busy_threads(before: dict[int, int], after: dict[int, int]) -> int:
    """Threads that did a real share of the work between two samples (a quarter of the busiest one's, >= 50 ms)."""
    deltas = [after[tid] - before.get(tid, 0) for tid in after]
    most = max(deltas)
    return sum(1 for delta in deltas if delta >= max(5, most // 4))


def logged_thread_choices(stack: ServingStack, count: int, timeout: float = 120.0) -> list[str]:
    """The workers' log lines about their threads, once `count` are there (or the timeout has passed)."""
    deadline = time.monotonic() + timeout
    while True:
        found = [line for line in stack.log_text().splitlines() if "torch threads per model-server worker" in line]
        if len(found) >= count or time.monotonic() >= deadline:
            return found
        time.sleep(0.5)


def test_each_worker_computes_on_its_share_of_the_cpus(served: Served) -> None:
    """The worker's torch uses max(1, available CPUs // workers) threads (worker_threads.py, from model_fn), not
    the single thread multi-model-server's OMP_NUM_THREADS=1 gives it; client pooling has no model_fn, so there
    the model server's single thread remains. Checked on the running worker: how many of its threads burn CPU
    while it embeds long texts, and the choice each worker logged."""
    module = import_user_module(MODEL_ARTIFACT_DIR / "code", "worker_threads")
    choice = module.choose_threads(served.case.environment, module.affinity_cpus(), module.cgroup_cpu_quota())
    server_pooling = served.case.pooling == "server"
    workers = served.stack.wait_for_workers(choice.workers)
    assert len(workers) == choice.workers
    logged = logged_thread_choices(served.stack, choice.workers if server_pooling else 0)
    # Token-level answers are ~8 kB per token: one long text per request keeps them under MMS's response limit.
    requests = (
        [{"inputs": [f"{i} {LONG_TEXT}" for i in range(32)]}]
        if server_pooling
        else [{"inputs": f"{i} {LONG_TEXT}", "parameters": CLIENT_PARAMETERS} for i in range(12)]
    )

    before = {pid: thread_cpu_ticks(pid) for pid in workers}
    statuses = [served.post(payload).status for payload in requests]
    time.sleep(0.2)  # let /proc catch up with the last ticks
    after = {pid: thread_cpu_ticks(pid) for pid in workers}

    assert set(statuses) == {200}
    busiest = max(workers, key=lambda pid: sum(after[pid].values()) - sum(before[pid].values()))
    assert busy_threads(before[busiest], after[busiest]) == (choice.threads if server_pooling else 1)
    if server_pooling:
        assert len(logged) == choice.workers  # once per worker
        assert all(f"worker: {choice.threads} = max(1, {choice.cpus} available CPUs" in line for line in logged)
    else:
        assert logged == []


def test_an_answer_over_the_model_servers_response_limit_kills_the_worker(served: Served) -> None:
    """multi-model-server refuses a worker's answer over 6,553,500 bytes by killing the worker ("Worker died.",
    500) and loading the model again. Token-level answers (~8 kB per token) reach it with 4 texts of 256 tokens;
    server pooling's largest answer, 256 texts, is ~2.4 MB."""
    if served.case.pooling == "server":
        response = served.post({"inputs": [f"text {i}" for i in range(256)]})
        assert response.status == 200 and len(response.body) < 6_553_500
        return
    too_big = {"inputs": [LONG_TEXT] * 4, "parameters": CLIENT_PARAMETERS}

    response = served.post(too_big)

    assert (response.status, json.loads(response.body)["message"]) == (500, "Worker died.")
    deadline = time.monotonic() + 120
    while served.post({"inputs": "x"}).status != 200:  # a new worker loads the model again
        assert time.monotonic() < deadline, "the stack did not recover from the dead worker"
        time.sleep(1)
