"""The two boto3 clients the runner uses, with botocore's standard retry mode (throttling and 5xx retried with
back-off by botocore, not by hand). No endpoint_url is passed, so AWS_ENDPOINT_URL_SAGEMAKER and
AWS_ENDPOINT_URL_S3 (the local twin's control plane, an S3 emulator) and AWS profiles keep working."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import boto3
from botocore.config import Config
from botocore.exceptions import BotoCoreError, NoRegionError, ProfileNotFound

from embeddings.batch.errors import BatchError, UsageError

CLIENT_CONFIG = Config(connect_timeout=10, read_timeout=60, retries={"mode": "standard", "max_attempts": 5})


@dataclass(frozen=True)
class Clients:
    sagemaker: Any
    s3: Any


def make_clients(region: str | None) -> Clients:
    try:
        session = boto3.session.Session(region_name=region)
        return Clients(
            sagemaker=session.client("sagemaker", config=CLIENT_CONFIG),
            s3=session.client("s3", config=CLIENT_CONFIG),
        )
    except NoRegionError:
        raise UsageError(
            "no AWS region configured: pass --region, set AWS_DEFAULT_REGION, or give the profile a region"
        ) from None
    except ProfileNotFound as error:
        raise BatchError(f"AWS profile not found: {error}") from None
    except BotoCoreError as error:  # e.g. InvalidRegionError for --region 'eu west 1'
        raise UsageError(f"--region: {error}") from None
