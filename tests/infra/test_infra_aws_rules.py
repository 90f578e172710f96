"""The rules validation applies are botocore's own, read from the pinned service models, with Java's semantics."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import botocore
import pytest

from components import aws_rules
from components.regions import dns_suffix_of, is_known_region, partition_of
from components.validation import is_arm_instance_type


def _shape(service: str, shape: str) -> dict:
    (model_file,) = (Path(botocore.__file__).parent / "data" / service).glob("*/service-2.json.gz")
    return json.loads(gzip.decompress(model_file.read_bytes()))["shapes"][shape]


@pytest.mark.parametrize(
    "rule",
    [aws_rules.ENDPOINT_NAME, aws_rules.ROLE_ARN, aws_rules.ROLE_NAME, aws_rules.ROLE_PATH, *aws_rules.TAG_KEYS],
    ids=lambda rule: " ".join(rule),
)
def test_string_rules_are_the_service_models_own(rule: tuple[str, str]) -> None:
    shape = _shape(*rule)
    checked = aws_rules.string_rule(rule)
    assert (checked.pattern, checked.max_length) == (shape.get("pattern"), shape.get("max"))


def test_instance_types_are_the_service_models_enum() -> None:
    enum = _shape(*aws_rules.INSTANCE_TYPE)["enum"]
    assert aws_rules.enum_values(aws_rules.INSTANCE_TYPE) == tuple(enum)
    assert "ml.m5.large" in enum and "ml.t3.medium" not in enum


def test_integers_without_a_stated_maximum_are_java_ints() -> None:
    assert aws_rules.integer_rule(aws_rules.SCALING_CAPACITY).maximum == 2**31 - 1
    assert aws_rules.integer_rule(aws_rules.MAX_CONCURRENCY).maximum == _shape(*aws_rules.MAX_CONCURRENCY)["max"]


@pytest.mark.parametrize(
    ("pattern", "value", "accepted"),
    [
        (r"\d{3}", "123", True),
        (r"\d{3}", "١٢٣", False),  # Java's \d is ASCII; Python's would take Arabic-Indic digits
        (r"[\w+=,.@-]+", "role", True),
        (r"[\w+=,.@-]+", "rôle", False),  # Java's \w is ASCII, inside a class too
        (r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*", "café 3", True),  # \p{...} is Unicode
        (r"[\p{L}\p{Z}\p{N}_.:/=+\-@]*", "cost*center", False),
        (r"[a-z]+", "abc\n", False),  # the whole value: no `$` before a final newline
    ],
)
def test_java_patterns_are_matched_with_javas_semantics(pattern: str, value: str, accepted: bool) -> None:
    assert (aws_rules.java_pattern(pattern).fullmatch(value) is not None) is accepted


@pytest.mark.parametrize(
    ("instance_type", "arm"),
    [
        ("ml.c7g.large", True),
        ("ml.m6gd.xlarge", True),
        ("ml.c6gn.large", True),
        ("ml.r8g.large", True),
        ("ml.p6e-gb200.36xlarge", True),
        ("ml.m5.large", False),
        ("ml.g5.xlarge", False),
        ("ml.g6e.xlarge", False),
        ("ml.p5en.48xlarge", False),
        ("ml.inf2.xlarge", False),
        ("ml.trn1n.32xlarge", False),
        ("ml.p6-b200.48xlarge", False),
    ],
)
def test_arm_hosts_are_told_from_x86(instance_type: str, arm: bool) -> None:
    assert instance_type in aws_rules.enum_values(aws_rules.INSTANCE_TYPE)
    assert is_arm_instance_type(instance_type) is arm


@pytest.mark.parametrize(
    ("region", "partition", "suffix"),
    [
        ("us-east-1", "aws", "amazonaws.com"),
        ("cn-north-1", "aws-cn", "amazonaws.com.cn"),
        ("us-gov-west-1", "aws-us-gov", "amazonaws.com"),
        ("us-iso-east-1", "aws-iso", "c2s.ic.gov"),
        ("us-isob-east-1", "aws-iso-b", "sc2s.sgov.gov"),
        ("eu-isoe-west-1", "aws-iso-e", "cloud.adc-e.uk"),
        ("eusc-de-east-1", "aws-eusc", "amazonaws.eu"),
    ],
)
def test_partitions_and_suffixes_come_from_botocores_table(region: str, partition: str, suffix: str) -> None:
    assert (is_known_region(region), partition_of(region), dns_suffix_of(region)) == (True, partition, suffix)


def test_a_region_aws_does_not_have_is_unknown() -> None:
    assert not is_known_region("us-east-9") and not is_known_region("aws-global")
