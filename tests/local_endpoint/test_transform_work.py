"""The record rules of a transform job (local_endpoint/transform_work.py), the JSONPath subset its filters use, and
the request checks against botocore's shapes: pure functions, no S3, no model."""

from __future__ import annotations

import json
from typing import Any

import botocore.session
import pytest

from local_endpoint import aws_validation, jsonpath_filter
from local_endpoint.transform_work import MIB, Plan, RecordError, answer_records, mini_batches, split_records


def request(**changes: Any) -> dict[str, Any]:
    """A CreateTransformJob request as the runner makes it, with `changes` merged into its top level."""
    base: dict[str, Any] = {
        "TransformJobName": "job",
        "ModelName": "alex-embedding-model",
        "BatchStrategy": "MultiRecord",
        "MaxPayloadInMB": 1,
        "MaxConcurrentTransforms": 2,
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": "s3://bucket/input/"}},
            "ContentType": "application/jsonlines",
            "SplitType": "Line",
        },
        "TransformOutput": {
            "S3OutputPath": "s3://bucket/output",
            "Accept": "application/jsonlines",
            "AssembleWith": "Line",
        },
        "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 1},
        "DataProcessing": {"JoinSource": "Input", "OutputFilter": "$['id','SageMakerOutput']"},
    }
    return base | changes


def lines(*records: Any) -> list[bytes]:
    return [json.dumps(record).encode() + b"\n" for record in records]


# --- splitting and packing ---------------------------------------------------------------------------------------


def test_line_split_keeps_each_record_whole_with_its_newline() -> None:
    assert split_records(b'{"a":1}\n{"a":2}\n', split_lines=True) == [b'{"a":1}\n', b'{"a":2}\n']
    assert split_records(b'{"a":1}\r\n{"a":2}', split_lines=True) == [b'{"a":1}\r\n', b'{"a":2}']
    assert split_records(b"", split_lines=True) == []
    assert split_records(b"x\ny\n", split_lines=False) == [b"x\ny\n"]


def test_multi_record_packs_whole_lines_up_to_max_payload_in_mib() -> None:
    record = b"x" * 99_999 + b"\n"  # 100,000 bytes: ten fit in 1 MiB (1,048,576), eleven do not
    batches = list(mini_batches([record] * 25, Plan.from_request(request())))

    assert [(batch.start, batch.end) for batch in batches] == [(0, 10), (10, 20), (20, 25)]
    assert all(len(batch.body) <= MIB for batch in batches)
    assert b"".join(batch.body for batch in batches) == record * 25


def test_a_batch_fills_to_the_exact_byte_limit() -> None:
    half = b"y" * (MIB // 2 - 1) + b"\n"
    batches = list(mini_batches([half, half, b"z\n"], Plan.from_request(request())))

    assert [(batch.start, batch.end) for batch in batches] == [(0, 2), (2, 3)]
    assert len(batches[0].body) == MIB


def test_single_record_sends_one_line_per_request() -> None:
    records = lines({"id": 1}, {"id": 2}, {"id": 3})
    batches = list(mini_batches(records, Plan.from_request(request(BatchStrategy="SingleRecord"))))

    assert [batch.body for batch in batches] == records


def test_a_record_over_the_limit_fails_naming_its_line_and_the_limit() -> None:
    records = [b"a\n", b"b" * MIB + b"\n"]

    with pytest.raises(
        RecordError, match=r"Too much data for max payload size: line 2 is 1048577 bytes.*MaxPayloadInMB 1"
    ):
        list(mini_batches(records, Plan.from_request(request())))


def test_max_payload_zero_means_no_limit() -> None:
    records = [b"x" * MIB + b"\n"] * 3
    batches = list(mini_batches(records, Plan.from_request(request(MaxPayloadInMB=0))))

    assert [(batch.start, batch.end) for batch in batches] == [(0, 3)]


def test_the_input_filter_selects_from_each_record_before_it_is_sent() -> None:
    plan = Plan.from_request(request(DataProcessing={"InputFilter": "$['inputs']"}))

    [batch] = mini_batches(lines({"id": 1, "inputs": "a"}, {"id": 2, "inputs": "b"}), plan)

    assert batch.body == b'"a"\n"b"\n'


# --- assembling, joining, filtering --------------------------------------------------------------------------------


def assembled(records: list[bytes], answer: bytes, **changes: Any) -> bytes:
    plan = Plan.from_request(request(**changes))
    [batch] = mini_batches(records, plan)
    return answer_records(batch, records, answer, plan)


def test_join_puts_each_answer_under_sagemaker_output_and_the_filter_keeps_id_and_vector() -> None:
    records = lines({"id": "a", "inputs": "first", "extra": 1}, {"id": "b", "inputs": "second", "extra": 2})

    output = assembled(records, b"[0.1,0.2]\n[0.3,0.4]\n")

    assert output.splitlines() == [b'{"id":"a","SageMakerOutput":[0.1,0.2]}', b'{"id":"b","SageMakerOutput":[0.3,0.4]}']


@pytest.mark.parametrize(
    ("output_filter", "expected"),
    [
        ("$", {"id": "a", "inputs": "t", "SageMakerOutput": [1.0]}),
        ("$.SageMakerOutput", [1.0]),
        ("$['SageMakerOutput']", [1.0]),
        ("$['inputs', 'id']", {"inputs": "t", "id": "a"}),
        ('$["id","missing"]', {"id": "a"}),
    ],
)
def test_output_filter_forms(output_filter: str, expected: Any) -> None:
    output = assembled(
        lines({"id": "a", "inputs": "t"}),
        b"[1.0]",
        DataProcessing={"JoinSource": "Input", "OutputFilter": output_filter},
    )

    assert json.loads(output) == expected


def test_a_record_that_is_not_an_object_is_joined_as_sagemaker_input() -> None:
    output = assembled(lines("just text"), b"[1.0]\n", DataProcessing={"JoinSource": "Input"})

    assert json.loads(output) == {"SageMakerInput": "just text", "SageMakerOutput": [1.0]}


def test_a_join_needs_one_answer_line_per_record() -> None:
    with pytest.raises(RecordError, match=r"answered 1 line\(s\) for the 2 records of lines 1-2"):
        assembled(lines({"id": 1}, {"id": 2}), b"[1.0]\n")


def test_without_a_join_line_assembly_ends_each_answer_with_one_newline() -> None:
    records = lines({"inputs": "a"}, {"inputs": "b"})

    assert assembled(records, b"[1]\n[2]", DataProcessing={}) == b"[1]\n[2]\n"
    assert assembled(records, b"[1]\n[2]\n", DataProcessing={}) == b"[1]\n[2]\n"
    unassembled = assembled(records, b"[1]\n[2]", DataProcessing={}, TransformOutput={"S3OutputPath": "s3://b/o"})
    assert unassembled == b"[1]\n[2]"


@pytest.mark.parametrize("expression", ["$[1:]", "$.a.b", "$..id", "$['a',]", "$[0]", "id", "$['a' 'b']"])
def test_other_jsonpath_forms_are_refused_naming_the_ones_allowed(expression: str) -> None:
    with pytest.raises(jsonpath_filter.UnsupportedFilter, match=r"use \$, \$\.key, \$\['key'\]"):
        jsonpath_filter.parse(expression)


@pytest.mark.parametrize(
    ("changes", "fragment"),
    [
        ({"MaxPayloadInMB": 101}, "MaxPayloadInMB 101 is over the maximum of 100"),
        ({"MaxPayloadInMB": 30, "MaxConcurrentTransforms": 4}, "MaxConcurrentTransforms 4 x MaxPayloadInMB 30 = 120"),
        ({"DataProcessing": {"OutputFilter": "$[0,5:]"}}, "DataProcessing: '$[0,5:]' is not a JSONPath"),
        (
            {"TransformOutput": {"S3OutputPath": "s3://b/o", "Accept": "text/csv"}},
            "need JSON on both sides on the local twin",
        ),
    ],
)
def test_a_plan_refuses_what_the_twin_cannot_do_naming_the_member(changes: dict[str, Any], fragment: str) -> None:
    with pytest.raises(ValueError, match=fragment.replace("$", r"\$").replace("[", r"\[")):
        Plan.from_request(request(**changes))


# --- botocore's shapes, with AWS's wording -----------------------------------------------------------------------


def create_problems(value: dict[str, Any]) -> list[str]:
    model = botocore.session.get_session().get_service_model("sagemaker")
    shape = model.operation_model("CreateTransformJob").input_shape
    return aws_validation.problems(shape, value)


def test_a_valid_request_has_no_problems() -> None:
    assert create_problems(request()) == []


def test_enum_pattern_length_and_null_are_worded_as_aws_words_them() -> None:
    bad = request(TransformJobName="bad_name", TransformResources={"InstanceType": "ml.c5.large", "InstanceCount": 0})
    del bad["ModelName"]

    found = create_problems(bad)

    assert "Value null at 'modelName' failed to satisfy constraint: Member must not be null" in found
    assert (
        "Value 'bad_name' at 'transformJobName' failed to satisfy constraint: Member must satisfy regular expression "
        "pattern: [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}"
    ) in found
    assert any(
        problem.startswith(
            "Value 'ml.c5.large' at 'transformResources.instanceType' failed to satisfy constraint: "
            "Member must satisfy enum value set: [ml.m4.xlarge, "
        )
        for problem in found
    )
    assert (
        "Value '0' at 'transformResources.instanceCount' failed to satisfy constraint: Member must have value greater "
        "than or equal to 1"
    ) in found
    assert aws_validation.message(found).startswith("4 validation errors detected: Value ")


def test_a_value_of_the_wrong_type_is_a_serialization_error() -> None:
    with pytest.raises(aws_validation.WrongType, match="maxPayloadInMB must be a whole number"):
        create_problems(request(MaxPayloadInMB="6"))
