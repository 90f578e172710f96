"""The private bucket both stores are built on: the model artifact's and Batch Transform's.

Private four ways: every public-access block on, ACLs disabled (BucketOwnerEnforced, so the bucket owner owns every
object), SSE-S3 encryption (AES256, not KMS: the execution role then needs no kms:Decrypt, and SSE-KMS would add a
KMS request charge per read), and a policy refusing plain HTTP. No `force_destroy`: objects Pulumi did not write are
never deleted by `pulumi destroy`.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import NamedTuple

import pulumi
import pulumi_aws as aws

from components import policies


class PrivateBucket(NamedTuple):
    bucket: aws.s3.Bucket
    public_access_block: aws.s3.BucketPublicAccessBlock
    ownership_controls: aws.s3.BucketOwnershipControls
    encryption: aws.s3.BucketServerSideEncryptionConfiguration
    bucket_policy: aws.s3.BucketPolicy


def private_bucket(
    stem: str,
    *,
    region: str,
    tags: Mapping[str, str],
    child: Callable[..., pulumi.ResourceOptions],
) -> PrivateBucket:
    """The bucket `<stem>` and its settings `<stem>-public-access`, `-ownership`, `-encryption` and `-tls-only`,
    registered with `child(*depends_on)`'s options (the caller's parent, and any aliases it needs).

    S3 refuses concurrent changes to one bucket's settings (OperationAborted), so they go one after another."""
    rule_args = aws.s3.BucketServerSideEncryptionConfigurationRuleArgs
    by_default_args = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs
    bucket = aws.s3.Bucket(stem, region=region, tags=dict(tags), opts=child())
    public_access_block = aws.s3.BucketPublicAccessBlock(
        f"{stem}-public-access",
        bucket=bucket.id,
        block_public_acls=True,
        block_public_policy=True,
        ignore_public_acls=True,
        restrict_public_buckets=True,
        region=region,
        opts=child(),
    )
    ownership_controls = aws.s3.BucketOwnershipControls(
        f"{stem}-ownership",
        bucket=bucket.id,
        rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
        region=region,
        opts=child(public_access_block),
    )
    encryption = aws.s3.BucketServerSideEncryptionConfiguration(
        f"{stem}-encryption",
        bucket=bucket.id,
        rules=[rule_args(apply_server_side_encryption_by_default=by_default_args(sse_algorithm="AES256"))],
        region=region,
        opts=child(ownership_controls),
    )
    bucket_policy = aws.s3.BucketPolicy(
        f"{stem}-tls-only",
        bucket=bucket.id,
        policy=policies.to_json_output(policies.deny_insecure_transport_policy(bucket.arn)),
        region=region,
        opts=child(encryption),
    )
    return PrivateBucket(bucket, public_access_block, ownership_controls, encryption, bucket_policy)
