"""What a transform job does to one S3 object's bytes: split into records, pack mini-batches, assemble the answers.

Pure functions over bytes, so the rules AWS documents are tested without S3 or a model:

- `SplitType=Line` splits on newlines; each record keeps its own newline, so a mini-batch is a run of whole lines
  exactly as they are in the object (`None`: the whole object is one record).
- `BatchStrategy=MultiRecord` packs as many whole records as fit in `MaxPayloadInMB` (MiB: sagemaker-inference
  turns `SAGEMAKER_MAX_PAYLOAD_IN_MB` into the model server's `max_request_size` as MB x 1024 x 1024);
  `SingleRecord` sends one record per request. A record larger than the limit fails its object.
- `AssembleWith=Line` ends each answer with a newline (one already there is not doubled); `None` concatenates.
- `DataProcessing`: `InputFilter` is applied to each JSON record before it is sent; with `JoinSource=Input` each
  answer line is joined to its input record under `SageMakerOutput` (a record that is not an object is wrapped as
  `SageMakerInput`), then `OutputFilter` selects from the joined record (API_DataProcessing.html). A join needs
  exactly one answer line per record of the mini-batch.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from local_endpoint import jsonpath_filter
from local_endpoint.jsonpath_filter import JsonPathFilter

MIB = 1024 * 1024
DEFAULT_MAX_PAYLOAD_MB = 6
"""CreateTransformJob's documented default for MaxPayloadInMB."""
MAX_PAYLOAD_MB = 100
"""MaxPayloadInMB, and MaxConcurrentTransforms x MaxPayloadInMB, may not exceed 100 (API_CreateTransformJob)."""
DEFAULT_MAX_RETRIES = 3
"""ModelClientConfig.InvocationsMaxRetries' documented default."""
DEFAULT_INVOCATION_TIMEOUT_S = 600
"""ModelClientConfig.InvocationsTimeoutInSeconds' documented default."""

JSON_TYPES = ("application/json", "application/jsonlines", "application/x-jsonlines", "application/jsonl")


class RecordError(ValueError):
    """A record or an answer that the job cannot process; its message becomes the job's FailureReason."""


@dataclass(frozen=True)
class Plan:
    """How a job treats each object, read from the CreateTransformJob request (already validated)."""

    content_type: str | None
    accept: str | None
    split_lines: bool
    multi_record: bool
    max_payload_bytes: int | None  # None: MaxPayloadInMB 0, no limit
    concurrency: int
    assemble_lines: bool
    join_input: bool
    input_filter: JsonPathFilter
    output_filter: JsonPathFilter
    gzip: bool
    max_retries: int
    invocation_timeout_s: float = DEFAULT_INVOCATION_TIMEOUT_S

    @property
    def per_record(self) -> bool:
        """Answers are handled record by record (joined or filtered), not passed through as they come."""
        return self.join_input or not self.output_filter.is_identity

    @classmethod
    def from_request(cls, request: dict[str, Any]) -> Plan:
        """The plan; ValueError naming the member and what the twin allows for what it does not reproduce."""
        transform_input = request["TransformInput"]
        output = request["TransformOutput"]
        processing = request.get("DataProcessing") or {}
        content_type = transform_input.get("ContentType")
        accept = output.get("Accept")
        split = transform_input.get("SplitType", "None")
        if split not in ("None", "Line"):
            raise ValueError(f"SplitType {split} is not supported by the local twin: use Line or None")
        payload_mb = request.get("MaxPayloadInMB", DEFAULT_MAX_PAYLOAD_MB)
        concurrency = request.get("MaxConcurrentTransforms") or 1
        if payload_mb > MAX_PAYLOAD_MB:
            raise ValueError(f"MaxPayloadInMB {payload_mb} is over the maximum of {MAX_PAYLOAD_MB}")
        if concurrency * payload_mb > MAX_PAYLOAD_MB:
            raise ValueError(
                f"MaxConcurrentTransforms {concurrency} x MaxPayloadInMB {payload_mb} = {concurrency * payload_mb} is "
                f"over the maximum of {MAX_PAYLOAD_MB}"
            )
        try:
            input_filter = jsonpath_filter.parse(processing.get("InputFilter"))
            output_filter = jsonpath_filter.parse(processing.get("OutputFilter"))
        except jsonpath_filter.UnsupportedFilter as error:
            raise ValueError(f"DataProcessing: {error}") from None
        join_input = processing.get("JoinSource", "None") == "Input"
        if not input_filter.is_identity and not _is_json(content_type):
            raise ValueError(
                f"DataProcessing InputFilter {input_filter.expression} needs JSON records; the local twin filters "
                f"ContentType application/json or application/jsonlines, not {content_type or 'none'}"
            )
        if (join_input or not output_filter.is_identity) and not (_is_json(content_type) and _is_json(accept)):
            raise ValueError(
                "DataProcessing JoinSource=Input and OutputFilter need JSON on both sides on the local twin: "
                "TransformInput ContentType and TransformOutput Accept application/json or application/jsonlines, "
                f"not {content_type or 'none'} and {accept or 'none'}"
            )
        client_config = request.get("ModelClientConfig") or {}
        return cls(
            content_type=content_type,
            accept=accept,
            split_lines=split == "Line",
            multi_record=request.get("BatchStrategy", "MultiRecord") == "MultiRecord",
            max_payload_bytes=payload_mb * MIB if payload_mb else None,
            concurrency=concurrency,
            assemble_lines=output.get("AssembleWith", "None") == "Line",
            join_input=join_input,
            input_filter=input_filter,
            output_filter=output_filter,
            gzip=transform_input.get("CompressionType", "None") == "Gzip",
            max_retries=client_config.get("InvocationsMaxRetries", DEFAULT_MAX_RETRIES),
            invocation_timeout_s=client_config.get("InvocationsTimeoutInSeconds", DEFAULT_INVOCATION_TIMEOUT_S),
        )


def _is_json(media_type: str | None) -> bool:
    return (media_type or "").split(";")[0].strip().lower() in JSON_TYPES


def split_records(data: bytes, split_lines: bool) -> list[bytes]:
    """The object's records, each with its own line ending (the last may have none); an empty object has none."""
    if not split_lines:
        return [data] if data else []
    records = data.split(b"\n")
    last = records.pop()
    result = [record + b"\n" for record in records]
    if last:
        result.append(last)
    return result


@dataclass(frozen=True)
class MiniBatch:
    """Records [start, end) of one object (0-based), and the body sent for them."""

    start: int
    end: int
    body: bytes

    @property
    def lines(self) -> str:
        """The records' line numbers as a person counts them."""
        return f"line {self.start + 1}" if self.end - self.start == 1 else f"lines {self.start + 1}-{self.end}"


def mini_batches(records: Sequence[bytes], plan: Plan) -> Iterator[MiniBatch]:
    """The mini-batches to send, in order; RecordError for a record that does not fit MaxPayloadInMB alone."""
    bodies = [_filtered(record, index, plan) for index, record in enumerate(records)]
    limit = plan.max_payload_bytes
    start = 0
    while start < len(bodies):
        size = len(bodies[start])
        if limit is not None and size > limit:
            mb = limit // MIB
            raise RecordError(
                f"Too much data for max payload size: line {start + 1} is {size} bytes, over MaxPayloadInMB {mb} "
                f"({limit} bytes)"
            )
        end = start + 1
        if plan.multi_record:
            while end < len(bodies) and (limit is None or size + len(bodies[end]) <= limit):
                size += len(bodies[end])
                end += 1
        yield MiniBatch(start, end, b"".join(bodies[start:end]))
        start = end


def _filtered(record: bytes, index: int, plan: Plan) -> bytes:
    if plan.input_filter.is_identity:
        return record
    try:
        selected = plan.input_filter.apply(_parse_record(record, index, "input record"))
    except jsonpath_filter.FilterError as error:
        raise RecordError(f"line {index + 1}: InputFilter: {error}") from None
    ending = record[len(record.rstrip(b"\r\n")) :]
    return _dump(selected) + (ending or b"")


def answer_records(batch: MiniBatch, records: Sequence[bytes], answer: bytes, plan: Plan) -> bytes:
    """The output bytes for one mini-batch's answer, ready to be appended to the object's output."""
    if not plan.per_record:
        if plan.assemble_lines and not answer.endswith(b"\n"):
            return answer + b"\n"
        return answer
    count = batch.end - batch.start
    pieces = [answer.rstrip(b"\r\n")] if count == 1 else _answer_lines(answer)
    if len(pieces) != count:
        raise RecordError(
            f"the model answered {len(pieces)} line(s) for the {count} records of {batch.lines}: joining the answers "
            "to their input records (JoinSource=Input) or filtering them needs exactly one answer line per record"
        )
    out = []
    for offset, piece in enumerate(pieces):
        index = batch.start + offset
        output = _parse_record(piece, index, "answer")
        if plan.join_input:
            source = _parse_record(records[index], index, "input record")
            joined = (
                {**source, "SageMakerOutput": output}
                if isinstance(source, dict)
                else {"SageMakerInput": source, "SageMakerOutput": output}
            )
        else:
            joined = output
        try:
            selected = plan.output_filter.apply(joined)
        except jsonpath_filter.FilterError as error:
            raise RecordError(f"line {index + 1}: OutputFilter: {error}") from None
        out.append(_dump(selected) + (b"\n" if plan.assemble_lines else b""))
    return b"".join(out)


def _answer_lines(answer: bytes) -> list[bytes]:
    body = answer[:-1] if answer.endswith(b"\n") else answer
    return [line.rstrip(b"\r") for line in body.split(b"\n")] if body else []


def _parse_record(data: bytes, index: int, what: str) -> Any:
    try:
        return json.loads(data)
    except ValueError as error:  # json.JSONDecodeError and UnicodeDecodeError alike
        raise RecordError(f"line {index + 1}: the {what} is not JSON: {error}") from None


def _dump(value: Any) -> bytes:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False).encode("utf-8")
