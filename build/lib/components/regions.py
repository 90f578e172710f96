"""Plain facts about AWS regions that must be known before any resource is registered.

Partitions, their DNS suffixes and their regions come from the pinned botocore's `partitions.json`, the table the
AWS SDKs resolve endpoints from, so a region AWS does not have (`us-east-9`) is refused before anything exists.
Which image registry serves a region is asked of the provider (`aws.sagemaker.get_prebuilt_ecr_image`), whose
table AWS and the provider's maintainers keep current.
"""

from __future__ import annotations

import re
from functools import cache
from typing import Any

# Regions where SageMaker Serverless Inference is documented as available. A region outside this set is
# warned about, not refused: AWS adds regions faster than this list is edited, and the API has the last word.
SERVERLESS_INFERENCE_REGIONS = frozenset(
    {
        "us-east-1",
        "us-east-2",
        "us-west-1",
        "us-west-2",
        "af-south-1",
        "ap-east-1",
        "ap-northeast-1",
        "ap-northeast-2",
        "ap-northeast-3",
        "ap-south-1",
        "ap-southeast-1",
        "ap-southeast-2",
        "ap-southeast-3",
        "ca-central-1",
        "eu-central-1",
        "eu-north-1",
        "eu-south-1",
        "eu-west-1",
        "eu-west-2",
        "eu-west-3",
        "me-south-1",
        "sa-east-1",
    }
)


@cache
def _partitions() -> tuple[dict[str, Any], ...]:
    import botocore.session  # imported here: the table is read once, when a region is first checked

    loader = botocore.session.get_session().get_component("data_loader")
    return tuple(loader.load_data("partitions")["partitions"])


def _partition_for(region: str) -> dict[str, Any] | None:
    for partition in _partitions():
        if region in partition["regions"]:
            return partition
    for partition in _partitions():
        if re.fullmatch(partition["regionRegex"].strip("^$"), region, flags=re.ASCII):
            return partition
    return None


@cache
def known_regions() -> tuple[str, ...]:
    """Every region botocore knows, in every partition, sorted (the partitions' pseudo-regions left out)."""
    return tuple(
        sorted(
            region
            for partition in _partitions()
            for region in partition["regions"]
            if re.fullmatch(r"[a-z]+(-[a-z]+)+-\d+", region)
        )
    )


def is_known_region(region: str) -> bool:
    return region in known_regions()


def looks_like_region(region: str) -> bool:
    """The shape of a region of some partition, whether or not botocore knows it yet."""
    return _partition_for(region) is not None


def partition_of(region: str) -> str:
    """The ARN partition a region belongs to, so ARNs can be checked and built without an API call."""
    partition = _partition_for(region)
    return str(partition["id"]) if partition is not None else "aws"


def dns_suffix_of(region: str) -> str:
    """The DNS suffix of the region's partition: `amazonaws.com`, `amazonaws.com.cn`, ..."""
    partition = _partition_for(region)
    return str(partition["outputs"]["dnsSuffix"]) if partition is not None else "amazonaws.com"


def offers_serverless_inference(region: str) -> bool:
    return region in SERVERLESS_INFERENCE_REGIONS
