"""Plain facts about AWS regions that must be known before any resource is registered.

The image registry itself is looked up through the provider (`aws.sagemaker.get_prebuilt_ecr_image`), whose
table AWS and the provider maintainers keep current; this module only knows what validation needs offline.
"""

from __future__ import annotations

import re

REGION_PATTERN = re.compile(r"^[a-z]{2,4}(-[a-z]+)+-\d{1,2}$")

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

# Region prefix -> partition. Order matters: the longest prefix must win.
_PARTITIONS: tuple[tuple[str, str], ...] = (
    ("us-isob-", "aws-iso-b"),
    ("us-iso-", "aws-iso"),
    ("us-gov-", "aws-us-gov"),
    ("eusc-", "aws-eusc"),
    ("cn-", "aws-cn"),
)


def partition_of(region: str) -> str:
    """The ARN partition a region belongs to, so ARNs can be checked and built without an API call."""
    for prefix, partition in _PARTITIONS:
        if region.startswith(prefix):
            return partition
    return "aws"


def offers_serverless_inference(region: str) -> bool:
    return region in SERVERLESS_INFERENCE_REGIONS
