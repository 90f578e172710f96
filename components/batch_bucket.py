"""BatchBucket: the private bucket SageMaker Batch Transform jobs read their input from and write their output to.

Private as the artifact store is (components/private_bucket.py), and transient: lifecycle rules delete everything
under `input/` and `output/`, and unfinished multipart uploads there, after `expiry_days`.

Like the artifact store it does not set `force_destroy`: objects Pulumi did not write (a job's input and output) are
never deleted by `pulumi destroy` or by turning `batchTransform` off. The bucket is removed once it is empty, which the
lifecycle rules ensure after `expiry_days` at the latest (docs/operations.md, clean-up).
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from components import policies
from components.constants import BATCH_BUCKET_TYPE_TOKEN, BATCH_INPUT_PREFIX, BATCH_OUTPUT_PREFIX
from components.endpoint_args import BatchTransform
from components.private_bucket import private_bucket


def role_name_of(role: aws.iam.Role | pulumi.Input[str], grant: str) -> pulumi.Input[str]:
    """The name of a role given as an `aws.iam.Role`, or by name or ARN (a str or an Output)."""
    if isinstance(role, aws.iam.Role):
        return role.id
    return pulumi.Output.from_input(role).apply(lambda value: policies.role_name(value, grant))


class BatchBucket(pulumi.ComponentResource):
    """A private, expiring bucket for transform jobs. `input_url` and `output_url` are the `s3://` folders a job
    reads and writes; `grant_transform_job` lets a role of your own (a job's execution role) use them."""

    bucket: aws.s3.Bucket
    public_access_block: aws.s3.BucketPublicAccessBlock
    ownership_controls: aws.s3.BucketOwnershipControls
    encryption: aws.s3.BucketServerSideEncryptionConfiguration
    bucket_policy: aws.s3.BucketPolicy
    lifecycle: aws.s3.BucketLifecycleConfiguration
    bucket_name: pulumi.Output[str]
    arn: pulumi.Output[str]
    input_url: pulumi.Output[str]
    output_url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        settings: BatchTransform,
        *,
        region: str,
        tags: Mapping[str, str],
        opts: pulumi.ResourceOptions,
    ) -> None:
        """`name` prefixes the children's logical names (`<name>-batch`, ...)."""
        super().__init__(BATCH_BUCKET_TYPE_TOKEN, f"{name}-batch-bucket", None, opts)
        self._region = region

        def child(*depends_on: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(parent=self, depends_on=list(depends_on))

        (
            self.bucket,
            self.public_access_block,
            self.ownership_controls,
            self.encryption,
            self.bucket_policy,
        ) = private_bucket(f"{name}-batch", region=region, tags=tags, child=child)
        self.lifecycle = aws.s3.BucketLifecycleConfiguration(
            f"{name}-batch-expiry",
            bucket=self.bucket.id,
            rules=[_expiry_rule(prefix, settings.expiry_days) for prefix in (BATCH_INPUT_PREFIX, BATCH_OUTPUT_PREFIX)],
            region=region,
            opts=child(self.bucket_policy),
        )
        self.bucket_name = self.bucket.bucket
        self.arn = self.bucket.arn
        self.input_url = pulumi.Output.concat("s3://", self.bucket.bucket, "/", BATCH_INPUT_PREFIX)
        self.output_url = pulumi.Output.concat("s3://", self.bucket.bucket, "/", BATCH_OUTPUT_PREFIX)
        self.register_outputs(
            {"bucket_name": self.bucket_name, "input_url": self.input_url, "output_url": self.output_url}
        )

    def grant_transform_job(self, name: str, role: aws.iam.Role | pulumi.Input[str]) -> aws.iam.RolePolicy:
        """Let `role` do what a transform job's execution role does here: list and read `input/`, write `output/`.

        For an `executionRoleArn` of your own (the component then creates no IAM). `role` is an `aws.iam.Role`, or a
        role's name or ARN. Returns the inline RolePolicy, named `name`, a child of this bucket.
        """
        document = {"Version": "2012-10-17", "Statement": policies.batch_bucket_statements(self.arn)}
        return aws.iam.RolePolicy(
            name,
            role=role_name_of(role, "grant_transform_job"),
            policy=policies.to_json_output(document),
            opts=pulumi.ResourceOptions(parent=self),
        )


def _expiry_rule(prefix: str, days: int) -> aws.s3.BucketLifecycleConfigurationRuleArgs:
    return aws.s3.BucketLifecycleConfigurationRuleArgs(
        id=f"expire-{prefix.rstrip('/')}",
        status="Enabled",
        filter=aws.s3.BucketLifecycleConfigurationRuleFilterArgs(prefix=prefix),
        expiration=aws.s3.BucketLifecycleConfigurationRuleExpirationArgs(days=days),
        abort_incomplete_multipart_upload=aws.s3.BucketLifecycleConfigurationRuleAbortIncompleteMultipartUploadArgs(
            days_after_initiation=days
        ),
    )
