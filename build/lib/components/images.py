"""The container image: which Hugging Face inference image, and what an ECR image URI says about itself.

SageMaker pulls the model image from ECR in the endpoint's own region only; a cross-region pull is rejected.
So the image is always resolved for the stack's region, and an override is checked against that region.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# The Hugging Face PyTorch inference DLC, CPU flavour (serverless endpoints have no GPU). The tag is a
# published release listed in AWS's "available Deep Learning Containers images"; it is pinned, not `latest`,
# so a `pulumi up` next month deploys the same container as today.
HUGGINGFACE_INFERENCE_REPOSITORY = "huggingface-pytorch-inference"
HUGGINGFACE_INFERENCE_CPU_TAG = "2.6.0-transformers5.5.3-cpu-py312-ubuntu22.04"

# `<account>.dkr.ecr.<region>.<dns suffix>/<repository>(:<tag>|@sha256:<digest>)`, ASCII only: the account is 12
# ASCII digits, the repository follows ECR's RepositoryName pattern and the tag Docker's tag grammar.
_ECR_IMAGE_URI = re.compile(
    r"(?P<account>[0-9]{12})\.dkr\.ecr\.(?P<region>[a-z0-9-]+)\.(?P<suffix>[a-z0-9.-]+)/"
    r"(?P<repository>(?:[a-z0-9]+(?:[._-][a-z0-9]+)*/)*[a-z0-9]+(?:[._-][a-z0-9]+)*)"
    r"(?::(?P<tag>[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})|@(?P<digest>sha256:[a-f0-9]{64}))",
    flags=re.ASCII,
)


@dataclass(frozen=True)
class EcrImage:
    """An image in an ECR registry: enough to grant exactly the pull permissions it needs."""

    account: str
    region: str
    dns_suffix: str
    repository: str
    uri: str

    def repository_arn(self, partition: str) -> str:
        return f"arn:{partition}:ecr:{self.region}:{self.account}:repository/{self.repository}"


def parse_ecr_image_uri(uri: str) -> EcrImage | None:
    """Read an ECR image URI; None for anything else, since SageMaker only pulls model images from ECR."""
    match = _ECR_IMAGE_URI.fullmatch(uri)
    if match is None:
        return None
    return EcrImage(
        account=match["account"],
        region=match["region"],
        dns_suffix=match["suffix"],
        repository=match["repository"],
        uri=uri,
    )
