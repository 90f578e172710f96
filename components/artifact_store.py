"""ModelArtifactStore: the private bucket that holds model.tar.gz (components/private_bucket.py), and the object.

Its children keep the logical names they had when the endpoint component created them itself, and carry an alias
to that parent, so a stack deployed before this component existed sees no replacement.
"""

from __future__ import annotations

from collections.abc import Mapping

import pulumi
import pulumi_aws as aws

from components.constants import ARTIFACT_STORE_TYPE_TOKEN
from components.model_artifact import ModelArtifact
from components.private_bucket import private_bucket
from components.regions import partition_of


class ModelArtifactStore(pulumi.ComponentResource):
    """A private bucket and the content-addressed model.tar.gz in it. `object_arn` is what the execution role may
    read; `model_data_url` is what the SageMaker model loads."""

    bucket: aws.s3.Bucket
    public_access_block: aws.s3.BucketPublicAccessBlock
    ownership_controls: aws.s3.BucketOwnershipControls
    encryption: aws.s3.BucketServerSideEncryptionConfiguration
    bucket_policy: aws.s3.BucketPolicy
    object: aws.s3.BucketObjectv2
    object_arn: pulumi.Output[str]
    model_data_url: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        artifact: ModelArtifact,
        *,
        region: str,
        tags: Mapping[str, str],
        former_parent: pulumi.Resource,
        opts: pulumi.ResourceOptions,
    ) -> None:
        """`name` prefixes the children's logical names; `former_parent` is the component that owned them before."""
        super().__init__(ARTIFACT_STORE_TYPE_TOKEN, f"{name}-artifact-store", None, opts)

        def child(*depends_on: pulumi.Resource) -> pulumi.ResourceOptions:
            return pulumi.ResourceOptions(
                parent=self, depends_on=list(depends_on), aliases=[pulumi.Alias(parent=former_parent)]
            )

        (
            self.bucket,
            self.public_access_block,
            self.ownership_controls,
            self.encryption,
            self.bucket_policy,
        ) = private_bucket(f"{name}-artifacts", region=region, tags=tags, child=child)
        # The engine compares a FileAsset by the SHA-256 of its contents, not its path; the file name carries the
        # content hash anyway, so unchanged files give the same asset and the same key: no change.
        self.object = aws.s3.BucketObjectv2(
            f"{name}-model-artifact",
            bucket=self.bucket.id,
            key=artifact.object_key,
            source=pulumi.FileAsset(str(artifact.path)),
            content_type="application/gzip",
            region=region,
            tags=dict(tags),
            opts=child(self.public_access_block, self.ownership_controls, self.bucket_policy),
        )
        partition = partition_of(region)
        self.object_arn = pulumi.Output.concat(f"arn:{partition}:s3:::", self.object.bucket, "/", self.object.key)
        self.model_data_url = pulumi.Output.concat("s3://", self.object.bucket, "/", self.object.key)
        self.register_outputs({"object_arn": self.object_arn, "model_data_url": self.model_data_url})
