"""Prototype, not shipped: inference.py's handler with the transformer run by ONNX Runtime (fp32) instead of torch.

In an archive it is code/inference.py, with the project's own inference.py beside it as code/inference_base.py
(and worker_threads.py): requests are parsed, validated, tokenised, sorted by length, cut into sub-batches and
answered by inference_base's own functions, and the masked mean and L2 normalisation are its torch code, so only
the kernels that run the six layers differ. model.onnx (benchmarks/onnx_prototype/export.py) sits beside the
tokenizer files in model_dir.

onnxruntime is imported from `<model_dir>/python` when the archive carries it there (the wheel unpacked at deploy
time: nothing is installed at start-up), else from wherever Python finds it (PYTHONPATH, for the in-process
benchmark). Its intra-op threads follow the worker's torch thread count, which worker_threads sets per model-server
worker; its inter-op pool stays at one thread, as the graph is a single chain.
"""

from __future__ import annotations

import logging
import os
import sys
import time
from typing import Any, NamedTuple

import inference_base as base
import numpy
import torch
import worker_threads

ONNX_FILE = "model.onnx"
LIB_DIR = "python"
SUB_BATCH_ENV = "ALEX_ONNX_SUB_BATCH"  # prototype only: sub-batch size to measure (default inference_base's)

logger = logging.getLogger(__name__)

# What the container calls and what stays as it is.
input_fn = base.input_fn
output_fn = base.output_fn
EmbeddingRequest = base.EmbeddingRequest
MAX_TOKENS = base.MAX_TOKENS


class OnnxEncoder(NamedTuple):
    tokenizer: Any
    session: Any
    sub_batch: int
    input_names: tuple[str, ...]


def model_fn(model_dir: str) -> OnnxEncoder:
    started = time.perf_counter()
    lib = os.path.join(model_dir, LIB_DIR)
    if os.path.isdir(lib) and lib not in sys.path:
        sys.path.insert(0, lib)
    import onnxruntime

    choice = worker_threads.set_torch_threads(torch)
    threads = choice.threads if choice is not None else torch.get_num_threads()
    session = open_session(os.path.join(model_dir, ONNX_FILE), threads)
    from transformers import AutoTokenizer

    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    sub_batch = int(os.environ.get(SUB_BATCH_ENV, base.SUB_BATCH_SIZE))
    logger.info(
        "embedding runtime onnx: onnxruntime %s, %d intra-op threads, sub-batches of %d, loaded in %.2f s",
        onnxruntime.__version__,
        threads,
        sub_batch,
        time.perf_counter() - started,
    )
    return OnnxEncoder(tokenizer, session, sub_batch, tuple(i.name for i in session.get_inputs()))


def open_session(path: str, threads: int) -> Any:
    """An fp32 CPU session with all graph optimisations, `threads` intra-op threads and no inter-op pool."""
    import onnxruntime

    options = onnxruntime.SessionOptions()
    options.intra_op_num_threads = threads
    options.inter_op_num_threads = 1
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    return onnxruntime.InferenceSession(path, options, providers=["CPUExecutionProvider"])


def predict_fn(data: Any, model: OnnxEncoder) -> list[Any]:
    """inference_base.predict_fn's order and sub-batches; the transformer's forward pass is the session's."""
    encoded = model.tokenizer(data.texts, truncation=True, max_length=data.max_length)["input_ids"]
    order = sorted(range(len(encoded)), key=lambda index: len(encoded[index]))
    vectors: list[list[float]] = [[] for _ in encoded]
    with torch.inference_mode():
        for start in range(0, len(order), model.sub_batch):
            chunk = order[start : start + model.sub_batch]
            for index, vector in zip(chunk, _embed(model, [encoded[i] for i in chunk]), strict=True):
                vectors[index] = vector
    if data.single:
        return [vectors]
    return [[[vector]] for vector in vectors]


def _embed(encoder: OnnxEncoder, rows: list[list[int]]) -> list[list[float]]:
    """inference_base._embed with the session in place of the torch model; the pooling is the same torch code."""
    width = max(len(row) for row in rows)
    input_ids = numpy.full((len(rows), width), encoder.tokenizer.pad_token_id or 0, dtype=numpy.int64)
    attention_mask = numpy.zeros((len(rows), width), dtype=numpy.int64)
    for index, row in enumerate(rows):
        input_ids[index, : len(row)] = row
        attention_mask[index, : len(row)] = 1
    feeds = {"input_ids": input_ids, "attention_mask": attention_mask, "token_type_ids": numpy.zeros_like(input_ids)}
    (last_hidden_state,) = encoder.session.run(None, {name: feeds[name] for name in encoder.input_names})
    hidden = torch.from_numpy(last_hidden_state).float()
    mask = torch.from_numpy(attention_mask).unsqueeze(-1).to(hidden.dtype)
    mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(mean, p=2, dim=1).tolist()
