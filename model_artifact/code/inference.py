"""Sentence vectors from the Hugging Face inference container: the user module of the `pooling: server` model.

The container (sagemaker-huggingface-inference-toolkit) imports this file as the module `inference` from
/opt/ml/model/code and calls `model_fn(model_dir)` once, then `input_fn` -> `predict_fn` -> `output_fn` for every
request; whatever they raise becomes HTTP 400 carrying the exception's text. `model_dir` is /opt/ml/model, where
model.tar.gz holds the model's files beside code/ (the stack's `modelSource: artifact`); with HF_MODEL_ID set
(`modelSource: hub`) it is the container's download of the Hub repository instead.

It computes exactly what sentence-transformers computes for all-MiniLM-L6-v2: tokens truncated at 256, the
attention-masked mean of the last hidden state, L2-normalised. The answer keeps the token-level nesting of the
feature-extraction pipeline with a single "token", the sentence vector, so every existing caller keeps working:
a string answers `[[v]]` (`result[0][0]` is `v`), a list answers `[[[v1]], [[v2]], ...]`; mean-pooling that
answer gives `v` back. A caller that sends Accept application/x-npy gets the same vectors as numpy's .npy instead:
a float32 (n, 384) array, one row per text in order (a string is n = 1), 1.5 kB a text instead of ~8 kB of JSON;
its values are the JSON answer's, bit for bit (JSON prints each float32 widened to a Python float).

SageMaker Batch Transform sends `application/jsonlines` (SplitType=Line, BatchStrategy=MultiRecord packs as many
lines as fit in MaxPayloadInMB into one request): one JSON object per line, the text under "inputs", other keys
(an id) ignored. The answer is `application/jsonlines` too: one line per input line, in order, each the sentence
vector as a JSON array, its numbers written exactly as the JSON mode writes them, lines separated by newlines with
none after the last (AssembleWith=Line adds that). Such a request has no MAX_TEXTS limit: it is tokenized and run in
chunks of LINES_CHUNK texts, so memory grows with the answer, not with the work in flight. The toolkit hands this
body to input_fn as multi-model-server's `bytearray`, not `bytes` (it decodes only application/json and text/csv);
and it turns a missing or `*/*` Accept into application/json before output_fn sees it, so a jsonlines request
answers jsonlines for Accept application/jsonlines, application/json, `*/*` or none (the toolkit then labels the
answer application/json: set TransformOutput.Accept to application/jsonlines).

The environment variable ALEX_EMBEDDING_PRECISION chooses the transformer's precision: `fp32` (the default when
unset) or `bf16`, which runs the transformer in bfloat16 where the CPU computes bf16 natively (avx512_bf16 or AMX)
and falls back to fp32 elsewhere, since emulated bf16 is slower than fp32 there. Pooling and normalisation stay in
fp32 either way. docs/precision.md has the measured quality and speed.

Only torch and transformers APIs present in the images' pinned versions are used (torch 2.6.0 with transformers
5.5.3, and with 4.51.3 in the previous 2.6 image), plus numpy.save for the .npy answer (transformers requires
numpy, and the toolkit imports it in the same worker); nothing is installed at start-up. `worker_threads.py`, beside
this file, gives torch its share of the CPUs in each model-server worker.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
from collections.abc import Callable, Mapping
from typing import Any, NamedTuple

import torch
import transformers
import worker_threads
from transformers import AutoModel, AutoTokenizer

MAX_TOKENS = 256  # what sentence-transformers uses for all-MiniLM-L6-v2 (max_seq_length)
MIN_TOKENS = 2  # [CLS] and [SEP]; below this the tokenizer silently stops truncating
# Texts per JSON request. The answer is <= 2.5 MB as JSON (<= 9.6 kB a text) and 0.4 MB as npy (1.5 kB a text),
# under the serverless 4 MB either way; what binds is time: 256 texts of 256 tokens take 7-43 s on two shared
# cores (docs/client.md, Limits), against SageMaker's 60 s per invocation, so npy's smaller answer buys no more.
MAX_TEXTS = 256
# Texts are sorted by token count and cut into sub-batches of at most this many padded tokens (texts x the longest
# text's tokens, as TEI's max_batch_tokens): short texts are not padded to a long one's length, and uniform short
# texts still give torch large matrices. Chosen by measurement (benchmarks/bench_answer_formats.py).
MAX_BATCH_TOKENS = 512
JSON_TYPE = "application/json"
NPY_TYPE = "application/x-npy"  # sagemaker_inference.content_types.NPY: numpy's .npy format, float32 (n, 384)
JSONLINES_TYPE = "application/jsonlines"
# jsonlines requests are tokenized and embedded this many texts at a time (sorted by length within the chunk).
LINES_CHUNK = 512
# multi-model-server refuses a worker's answer longer than max_response_size (6,553,500 bytes unless
# MMS_MAX_RESPONSE_SIZE says otherwise, ConfigManager.getMaxResponseSize) by killing the worker: "Worker died.", a
# 500 with no reason. In a model-server worker an answer over that is refused here instead, with the reason.
MAX_RESPONSE_ENV = "MMS_MAX_RESPONSE_SIZE"
MMS_DEFAULT_MAX_RESPONSE = 6_553_500
ALLOWED_TOKENIZE_KWARGS = ("truncation", "max_length")
ALLOWED_PARAMETERS = ("tokenize_kwargs",)
ALLOWED_KEYS = ("inputs", "parameters")
_EXAMPLE = '{"inputs": "a text"} or {"inputs": ["a text", "another"]}'
_LINE_EXAMPLE = '{"inputs": "a text"} (other keys, such as "id", are ignored)'
PRECISION_ENV = "ALEX_EMBEDDING_PRECISION"
PRECISIONS = ("fp32", "bf16")  # the first is the default
CPUINFO = "/proc/cpuinfo"
# Linux's names for the x86 features that compute in bf16: AVX512-BF16 (Cooper Lake, Sapphire Rapids, AMD Zen 4 and
# later) and AMX (Sapphire Rapids and later). Without them oneDNN emulates bf16, at about half fp32's speed.
NATIVE_BF16_FLAGS = ("avx512_bf16", "amx_bf16")

logger = logging.getLogger(__name__)  # the model server's worker logs INFO and above to stdout, i.e. CloudWatch

# from_pretrained's name for the weights' dtype: `dtype` from transformers 4.56 on, `torch_dtype` before. An older
# transformers hands an unknown keyword on to the model's __init__, which refuses it: every request would be a 400.
_RELEASE = tuple(int(part) for part in re.findall(r"\d+", transformers.__version__)[:2])
DTYPE_KEYWORD = "dtype" if _RELEASE >= (4, 56) else "torch_dtype"


class SentenceEncoder(NamedTuple):
    """What model_fn loads: the tokenizer and the transformer under the sentence-transformers pooling."""

    tokenizer: Any
    model: Any


class Bf16Support(NamedTuple):
    """Whether this CPU computes bf16 natively, and the evidence, for the log line that names the precision."""

    native: bool
    reason: str


class EmbeddingRequest(NamedTuple):
    """A validated request: the texts, whether they came as one string, and the token limit to cut them at."""

    texts: list[str]
    single: bool
    max_length: int


class SentenceVectors(NamedTuple):
    """The answer to an EmbeddingRequest: one float32 row per text, in request order, and whether it was one string."""

    vectors: Any
    single: bool


class LinesRequest(NamedTuple):
    """A validated application/jsonlines request: the text of each line, in order."""

    texts: list[str]


class LineVectors(NamedTuple):
    """The answer to a LinesRequest: one row per line, float32 (a torch tensor, lines x dimensions)."""

    vectors: Any


def model_fn(model_dir: str) -> SentenceEncoder:
    """Load the tokenizer and model from `model_dir`, refusing a model whose own pooling is not the mean."""
    worker_threads.set_torch_threads(torch)
    pooling_config = os.path.join(model_dir, "1_Pooling", "config.json")
    if os.path.isfile(pooling_config):
        with open(pooling_config, encoding="utf-8") as file:
            pooling = json.load(file)
        if not pooling.get("pooling_mode_mean_tokens", False):
            raise ValueError(
                f"the model in {model_dir} pools with {pooling}, but this inference.py computes the mean of the "
                "token vectors; use a mean-pooled sentence-transformers model or pooling: client"
            )
    tokenizer = AutoTokenizer.from_pretrained(model_dir)
    model = AutoModel.from_pretrained(model_dir, **{DTYPE_KEYWORD: torch.float32})
    model.eval()
    model = in_precision(model)
    return SentenceEncoder(tokenizer, model)


def requested_precision(environ: Mapping[str, str] | None = None) -> str:
    """The precision ALEX_EMBEDDING_PRECISION asks for; a value this module does not know stops the model load."""
    value = (os.environ if environ is None else environ).get(PRECISION_ENV)
    if value is None:
        return PRECISIONS[0]
    if value not in PRECISIONS:
        raise ValueError(
            f"{PRECISION_ENV}={value!r} is not a precision this endpoint offers: use one of "
            f"{', '.join(PRECISIONS)} (unset means {PRECISIONS[0]})"
        )
    return value


def native_bf16_support(cpuinfo: str = CPUINFO) -> Bf16Support:
    """Read the CPU's flags as the kernel reports them.

    torch's CPU capability cannot answer this: it says AVX512 on CPUs with and without bf16 instructions alike,
    and bf16 matrix products run on oneDNN's own choice of instructions whatever torch's capability is. The
    kernel's flags are what oneDNN finds too, also in a container or a virtual machine that hides some of them.
    """
    try:
        with open(cpuinfo, encoding="utf-8", errors="replace") as file:
            lines = file.read().splitlines()
    except OSError as error:
        return Bf16Support(False, f"cannot read {cpuinfo} ({error.strerror or error})")
    flags: set[str] = set()
    for line in lines:
        key, _, value = line.partition(":")
        if key.strip() == "flags":
            flags.update(value.split())
    if not flags:
        return Bf16Support(False, f"{cpuinfo} lists no x86 CPU flags")
    found = [flag for flag in NATIVE_BF16_FLAGS if flag in flags]
    if not found:
        return Bf16Support(False, f"this CPU has neither {' nor '.join(NATIVE_BF16_FLAGS)} ({cpuinfo})")
    return Bf16Support(True, f"this CPU has {' and '.join(found)}")


def in_precision(
    model: Any, environ: Mapping[str, str] | None = None, support: Callable[[], Bf16Support] | None = None
) -> Any:
    """The model in the precision it will run in, which is logged once, at model load.

    bf16 casts the weights rather than running under autocast: on this model that is the faster of the two, and
    both pass the quality gate with margin (docs/precision.md).
    """
    if requested_precision(environ) == "fp32":
        logger.info("embedding precision fp32: the transformer runs in float32 (%s=bf16 to change)", PRECISION_ENV)
        return model
    evidence = (native_bf16_support if support is None else support)()
    if not evidence.native:
        logger.warning(
            "embedding precision fp32, not the requested bf16: %s, and emulated bf16 is slower than fp32",
            evidence.reason,
        )
        return model
    logger.info(
        "embedding precision bf16: %s, so the transformer runs in bfloat16; pooling and normalisation in float32",
        evidence.reason,
    )
    return model.to(torch.bfloat16)


def _media_type(header: str | None) -> str | None:
    return header.split(";", 1)[0].strip().lower() if header else None


def input_fn(input_data: str | bytes | bytearray, content_type: str | None) -> EmbeddingRequest | LinesRequest:
    """Parse and validate a request; every refusal names the bad value and what is allowed."""
    media_type = _media_type(content_type)
    if media_type == JSONLINES_TYPE:
        return _lines_request(input_data)
    if media_type != JSON_TYPE:
        raise ValueError(
            f"Content-Type {content_type!r} is not supported: send {JSON_TYPE}, a body like {_EXAMPLE}, or "
            f"{JSONLINES_TYPE}, one {_LINE_EXAMPLE} per line"
        )
    if isinstance(input_data, bytes | bytearray):
        try:
            input_data = input_data.decode("utf-8")
        except UnicodeDecodeError as error:
            raise ValueError(f"the request body is not UTF-8 ({error}): send JSON like {_EXAMPLE}") from None
    try:
        body = json.loads(input_data)
    except json.JSONDecodeError as error:
        raise ValueError(f"the request body is not valid JSON ({error}): send {_EXAMPLE}") from None
    if not isinstance(body, dict):
        raise ValueError(f"the request body is a JSON {_json_type(body)}, not an object: send {_EXAMPLE}")
    unknown = sorted(set(body) - set(ALLOWED_KEYS))
    if unknown:
        raise ValueError(
            f"unknown key(s) {', '.join(map(repr, unknown))} in the request: allowed are {', '.join(ALLOWED_KEYS)} "
            '(token limits go in "parameters": {"tokenize_kwargs": {"truncation": true, "max_length": 256}})'
        )
    if "inputs" not in body:
        raise ValueError(f'the request has no "inputs": send {_EXAMPLE}')
    texts, single = _texts(body["inputs"])
    return EmbeddingRequest(texts, single, _max_length(body.get("parameters")))


def _lines_request(input_data: str | bytes | bytearray) -> LinesRequest:
    """One text per line; the first bad line fails the request, named by its number (1-based).

    Lines end in a line feed (a carriage return before it is dropped), as Batch Transform's SplitType=Line splits
    them; the last line may end in one too. Other line breaks (U+2028, form feeds...) may stand unescaped inside a
    JSON string, so they do not end a line.
    """
    if isinstance(input_data, str):
        text = input_data
    else:
        try:
            text = bytes(input_data).decode("utf-8")
        except UnicodeDecodeError as error:
            line = bytes(input_data[: error.start]).count(b"\n") + 1
            raise ValueError(
                f"line {line} is not UTF-8 ({error.reason} at byte {error.start} of the body): send UTF-8 JSON Lines"
            ) from None
    lines = text.split("\n")
    if lines[-1] == "":
        lines.pop()  # the newline after the last record
    if not lines:
        raise ValueError(f"the request has no lines: send one {_LINE_EXAMPLE} per line")
    texts = []
    for number, line in enumerate(lines, start=1):
        texts.append(_line_text(number, line.removesuffix("\r")))
    return LinesRequest(texts)


def _line_text(number: int, line: str) -> str:
    if not line.strip():
        raise ValueError(f"line {number} is blank: every line must be a JSON object like {_LINE_EXAMPLE}")
    try:
        record = json.loads(line)
    except json.JSONDecodeError as error:
        raise ValueError(
            f"line {number} is not valid JSON ({error.msg} at column {error.colno}: {_show_text(line)}): send "
            f"{_LINE_EXAMPLE}"
        ) from None
    if not isinstance(record, dict):
        raise ValueError(
            f"line {number} is a JSON {_json_type(record)} ({_show(record)}), not an object: send {_LINE_EXAMPLE}"
        )
    if "inputs" not in record:
        raise ValueError(f'line {number} has no "inputs" ({_show(record)}): send {_LINE_EXAMPLE}')
    inputs = record["inputs"]
    if not isinstance(inputs, str):
        raise ValueError(
            f'line {number}: "inputs" is a JSON {_json_type(inputs)} ({_show(inputs)}): send one string per line'
        )
    return inputs


def _texts(inputs: Any) -> tuple[list[str], bool]:
    if isinstance(inputs, str):
        return [inputs], True
    if not isinstance(inputs, list):
        raise ValueError(f'"inputs" is a JSON {_json_type(inputs)} ({_show(inputs)}): send a string or list of strings')
    if not inputs:
        raise ValueError('"inputs" is an empty list: send at least one string')
    if len(inputs) > MAX_TEXTS:
        raise ValueError(f'"inputs" has {len(inputs)} texts: send at most {MAX_TEXTS} per request')
    for index, item in enumerate(inputs):
        if not isinstance(item, str):
            raise ValueError(
                f'"inputs"[{index}] is a JSON {_json_type(item)} ({_show(item)}): every item must be a string'
            )
    return inputs, False


def _max_length(parameters: Any) -> int:
    if parameters is None:
        return MAX_TOKENS
    if not isinstance(parameters, dict):
        raise ValueError(f'"parameters" is a JSON {_json_type(parameters)} ({_show(parameters)}): send an object')
    unknown = sorted(set(parameters) - set(ALLOWED_PARAMETERS))
    if unknown:
        raise ValueError(
            f"unknown parameter(s) {', '.join(map(repr, unknown))}: allowed is only tokenize_kwargs with "
            f"{' and '.join(ALLOWED_TOKENIZE_KWARGS)}"
        )
    kwargs = parameters.get("tokenize_kwargs", {})
    if not isinstance(kwargs, dict):
        raise ValueError(f'"tokenize_kwargs" is a JSON {_json_type(kwargs)} ({_show(kwargs)}): send an object')
    unknown = sorted(set(kwargs) - set(ALLOWED_TOKENIZE_KWARGS))
    if unknown:
        raise ValueError(
            f"unknown tokenize_kwargs {', '.join(map(repr, unknown))}: allowed are "
            f"{' and '.join(ALLOWED_TOKENIZE_KWARGS)}"
        )
    if "truncation" in kwargs and kwargs["truncation"] is not True:
        raise ValueError(
            f"tokenize_kwargs truncation {_show(kwargs['truncation'])} is not supported: texts are always "
            f"truncated at {MAX_TOKENS} tokens (truncation: true)"
        )
    max_length = kwargs.get("max_length", MAX_TOKENS)
    if isinstance(max_length, bool) or not isinstance(max_length, int) or not MIN_TOKENS <= max_length <= MAX_TOKENS:
        raise ValueError(
            f"tokenize_kwargs max_length {_show(max_length)} is not allowed: use an integer from {MIN_TOKENS} to "
            f"{MAX_TOKENS}"
        )
    return max_length


def _json_type(value: Any) -> str:
    names = {dict: "object", list: "array", str: "string", bool: "boolean", type(None): "null"}
    return names.get(type(value), "number")


def _show(value: Any, limit: int = 60) -> str:
    return _show_text(json.dumps(value, ensure_ascii=False), limit)


def _show_text(text: str, limit: int = 60) -> str:
    return text if len(text) <= limit else text[: limit - 3] + "..."


def predict_fn(data: EmbeddingRequest | LinesRequest, model: SentenceEncoder) -> SentenceVectors | LineVectors:
    """Embed the texts shortest first in sub-batches padded on the right; answer in the request's order."""
    if isinstance(data, LinesRequest):
        return _predict_lines(data, model)
    return SentenceVectors(_embed_texts(model, data.texts, data.max_length), data.single)


def sub_batches(lengths: list[int], max_batch_tokens: int) -> list[list[int]]:
    """Indexes into `lengths`, shortest first, cut so that each sub-batch's texts x its longest length (the tokens
    it computes, padding included) stays within `max_batch_tokens`; a text longer than the budget runs alone."""
    order = sorted(range(len(lengths)), key=lambda index: lengths[index])
    batches: list[list[int]] = []
    current: list[int] = []
    for index in order:
        if current and (len(current) + 1) * lengths[index] > max_batch_tokens:
            batches.append(current)
            current = []
        current.append(index)
    if current:
        batches.append(current)
    return batches


def _embed_texts(model: SentenceEncoder, texts: list[str], max_length: int) -> Any:
    """A float32 (texts x dimensions) tensor, rows in the order of `texts`."""
    encoded = model.tokenizer(texts, truncation=True, max_length=max_length)["input_ids"]
    rows: list[Any] = [None] * len(encoded)
    with torch.inference_mode():
        for chunk in sub_batches([len(ids) for ids in encoded], MAX_BATCH_TOKENS):
            for index, vector in zip(chunk, _embed(model, [encoded[i] for i in chunk]), strict=True):
                rows[index] = vector
    return torch.stack(rows)


def _predict_lines(data: LinesRequest, model: SentenceEncoder) -> LineVectors:
    """Chunks of LINES_CHUNK texts, each embedded as the JSON mode embeds a list, into one float32 matrix.

    The matrix holds exactly the float32 values the JSON mode answers (its floats are these, converted to Python
    floats), at 1.5 kB a line instead of the ~12 kB of Python lists.
    """
    rows: list[Any] = []
    for start in range(0, len(data.texts), LINES_CHUNK):
        rows.append(_embed_texts(model, data.texts[start : start + LINES_CHUNK], MAX_TOKENS))
    return LineVectors(torch.cat(rows))


def _embed(encoder: SentenceEncoder, rows: list[list[int]]) -> Any:
    """Masked mean of the last hidden state, L2-normalised, as sentence-transformers' Pooling and Normalize do."""
    width = max(len(row) for row in rows)
    input_ids = torch.full((len(rows), width), encoder.tokenizer.pad_token_id or 0, dtype=torch.long)
    attention_mask = torch.zeros((len(rows), width), dtype=torch.long)
    for index, row in enumerate(rows):
        input_ids[index, : len(row)] = torch.tensor(row, dtype=torch.long)
        attention_mask[index, : len(row)] = 1
    inputs = {"input_ids": input_ids, "attention_mask": attention_mask}
    if "token_type_ids" in encoder.tokenizer.model_input_names:
        inputs["token_type_ids"] = torch.zeros_like(input_ids)  # one segment, as the tokenizer gives a single text
    hidden = encoder.model(**inputs).last_hidden_state.float()  # pooling in fp32 whatever the model's precision
    mask = attention_mask.unsqueeze(-1).to(hidden.dtype)
    mean = (hidden * mask).sum(dim=1) / mask.sum(dim=1).clamp(min=1e-9)
    return torch.nn.functional.normalize(mean, p=2, dim=1)


def output_fn(prediction: SentenceVectors | LineVectors, accept: str) -> str | bytes:
    """Compact JSON, as the toolkit writes it, or .npy bytes for Accept application/x-npy; a vector that is not
    finite is an error, never an answer.

    The toolkit labels the answer with the Accept it passed here, verbatim, and the model server sends bytes on
    unchanged, so an npy answer arrives as Content-Type application/x-npy.
    """
    media_type = _media_type(accept)
    if isinstance(prediction, LineVectors):
        # The toolkit has already turned a missing or */* Accept into application/json.
        if media_type not in (JSONLINES_TYPE, JSON_TYPE):
            raise ValueError(f"Accept {accept!r} is not supported for {JSONLINES_TYPE}: it answers {JSONLINES_TYPE}")
        return _lines_answer(prediction)
    if media_type == NPY_TYPE:
        return _npy_answer(prediction.vectors)
    if media_type != JSON_TYPE:
        raise ValueError(
            f"Accept {accept!r} is not supported: this endpoint answers {JSON_TYPE} or {NPY_TYPE} ({JSONLINES_TYPE} "
            f"only to a Content-Type {JSONLINES_TYPE} request)"
        )
    # The feature-extraction pipeline's token-level nesting with one "token": a string answers [[v]], a list
    # [[[v1]], [[v2]], ...].
    vectors = prediction.vectors.tolist()
    return _dumps([vectors] if prediction.single else [[[vector]] for vector in vectors])


def _npy_answer(vectors: Any) -> bytes:
    """numpy's .npy of the float32 (texts x dimensions) matrix: the JSON answer's values, bit for bit.

    A single string answers shape (1, dimensions) too: one row per text, whatever the request's form.
    """
    import numpy  # transformers depends on it; imported here so that JSON callers never need it

    if not bool(torch.isfinite(vectors).all()):
        raise ValueError("the model produced a vector that is not finite (NaN or infinity): no answer")
    buffer = io.BytesIO()
    numpy.save(buffer, numpy.ascontiguousarray(vectors.numpy(), dtype="<f4"), allow_pickle=False)
    return buffer.getvalue()


def _dumps(value: Any) -> str:
    try:
        return json.dumps(value, separators=(",", ":"), allow_nan=False)
    except ValueError:
        raise ValueError("the model produced a vector that is not finite (NaN or infinity): no answer") from None


def _lines_answer(prediction: LineVectors) -> str:
    """One line per vector, formatted as the JSON mode formats a vector; refused if the model server would."""
    answer = "\n".join(_dumps(row.tolist()) for row in prediction.vectors)
    limit = max_response_bytes()
    if limit is not None and len(answer) > limit:  # the answer is ASCII: characters are bytes
        raise ValueError(
            f"the answer to these {len(prediction.vectors)} lines is {len(answer)} bytes, over the model server's "
            f"limit of {limit} bytes ({MAX_RESPONSE_ENV}): send fewer lines per request (a smaller MaxPayloadInMB)"
        )
    return answer


def max_response_bytes(environ: Mapping[str, str] | None = None) -> int | None:
    """The longest answer multi-model-server passes on, in one of its workers; None elsewhere (no such limit)."""
    if not worker_threads.in_model_server_worker():
        return None
    value = (os.environ if environ is None else environ).get(MAX_RESPONSE_ENV)
    try:
        return int(value) if value is not None else MMS_DEFAULT_MAX_RESPONSE
    except ValueError:
        return MMS_DEFAULT_MAX_RESPONSE  # MMS itself would not have started with it
