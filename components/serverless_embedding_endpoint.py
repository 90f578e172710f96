"""A SageMaker endpoint (serverless or instance-backed) that turns text into sentence embeddings.

One component owns the whole chain (execution role -> model -> endpoint configuration -> endpoint, plus
autoscaling, alarms and, for server-side pooling, the model artifact's bucket) so that later parts can depend
on a single, validated thing, and so that a second region is just a second instance with another provider.

The class keeps its name and its type token `alex:embeddings:ServerlessEmbeddingEndpoint` although it now also
builds instance endpoints: the token is part of every child's URN, and a new one would make Pulumi replace the
live endpoint (whose fixed name then collides with itself) unless every stack carried an alias.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components import monitoring, policies
from components.endpoint_args import (
    InstancesVariant,
    Monitoring,
    ServerlessEmbeddingEndpointArgs,
    ServerlessVariant,
)
from components.images import (
    HUGGINGFACE_INFERENCE_CPU_TAG,
    HUGGINGFACE_INFERENCE_REPOSITORY,
    EcrImage,
    parse_ecr_image_uri,
)
from components.model_artifact import ModelArtifact, build_model_artifact
from components.regions import offers_serverless_inference, partition_of
from components.validation import (
    InvalidEndpointArgsError,
    check_component_name,
    check_image_uri,
    check_region,
    check_role_arn,
)

__all__ = [
    "SCALABLE_DIMENSION",
    "TYPE_TOKEN",
    "VARIANT_NAME",
    "ImageLookupError",
    "InstancesVariant",
    "Monitoring",
    "ServerlessEmbeddingEndpoint",
    "ServerlessEmbeddingEndpointArgs",
    "ServerlessVariant",
]

TYPE_TOKEN = "alex:embeddings:ServerlessEmbeddingEndpoint"
VARIANT_NAME = "AllTraffic"
SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
SCALING_METRIC = "SageMakerVariantInvocationsPerInstance"


class ImageLookupError(RuntimeError):
    """No Hugging Face inference image is published for the region, and no override was given."""


class ServerlessEmbeddingEndpoint(pulumi.ComponentResource):
    """The embedding endpoint and everything it needs; children are public attributes, None when not created.

    Children: `role` and `execution_policy` (None with your own role), `model`, `endpoint_config`, `endpoint`;
    instances: `scaling_target`, `scaling_policy`; monitoring: `alarms` (by metric name), `alarm_topic` and
    `alarm_subscription` (with an email), `dashboard`; server pooling: `artifact_bucket` and its
    `artifact_public_access_block`, `artifact_ownership_controls`, `artifact_encryption`, `artifact_bucket_policy`,
    `artifact_object`, and the local build `model_artifact`.
    """

    endpoint_name: pulumi.Output[str]
    endpoint_arn: pulumi.Output[str]
    endpoint_config_name: pulumi.Output[str]
    model_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    image_uri: pulumi.Output[str]
    region: pulumi.Output[str]
    invoke_policy_json: pulumi.Output[str]
    endpoint_type: pulumi.Output[str]
    pooling: pulumi.Output[str]
    dashboard_url: pulumi.Output[str] | None
    alarm_topic_arn: pulumi.Output[str] | None
    model_artifact_bucket: pulumi.Output[str] | None
    model_data_url: pulumi.Output[str] | None

    def __init__(
        self,
        name: str,
        args: ServerlessEmbeddingEndpointArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        problems = [*check_component_name(name), *args.problems()]
        if problems:
            raise InvalidEndpointArgsError(problems)
        # Built before anything is registered: a folder that cannot be packed leaves nothing behind.
        self.model_artifact: ModelArtifact | None = (
            build_model_artifact(Path(args.model_artifact_dir), Path(args.artifact_build_dir))
            if args.pooling == "server"
            else None
        )
        super().__init__(TYPE_TOKEN, name, None, opts)

        region = args.region or self._provider_region(args)
        if args.endpoint_type == "serverless":
            self._warn_if_serverless_unknown(region)
        image = self._resolve_image(region, args.image_uri)
        tags = {
            "project": pulumi.get_project(),
            "stack": pulumi.get_stack(),
            "component": name,
            **args.tags,
        }

        artifact_arn, model_data_url = self._artifact_bucket(name, region, tags)
        if artifact_arn is not None and args.execution_role_arn is not None:
            pulumi.log.warn(
                f"pooling 'server' with executionRoleArn {args.execution_role_arn!r}: that role must be allowed "
                "s3:GetObject on the model artifact (see the model_data_url output), or the endpoint cannot start",
                resource=self,
            )
        role_arn, model_depends_on = self._execution_role(name, args, image, region, tags, artifact_arn)
        container = aws.sagemaker.ModelPrimaryContainerArgs(
            image=image.uri,
            mode="SingleModel",
            environment=self._container_environment(args),
            model_data_url=model_data_url,
        )
        self.model = aws.sagemaker.Model(
            f"{name}-model",
            execution_role_arn=role_arn,
            primary_container=container,
            region=region,
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=model_depends_on,
                additional_secret_outputs=["primaryContainer"] if args.hf_token is not None else None,
            ),
        )
        self.endpoint_config = aws.sagemaker.EndpointConfiguration(
            f"{name}-config",
            production_variants=[self._production_variant(args, self.model.name)],
            region=region,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # The same logical name and the same exact name for every endpoint type: a switch of type updates this
        # endpoint in place (UpdateEndpoint with the new configuration) instead of replacing it.
        self.endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            name=args.endpoint_name,
            endpoint_config_name=self.endpoint_config.name,
            region=region,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.scaling_target, self.scaling_policy = self._autoscaling(name, args.instances, region, tags)
        self._monitoring(name, args, region, tags)

        self.endpoint_name = self.endpoint.name
        self.endpoint_arn = self.endpoint.arn
        self.endpoint_config_name = self.endpoint_config.name
        self.model_name = self.model.name
        self.role_arn = pulumi.Output.from_input(role_arn)
        self.image_uri = pulumi.Output.from_input(image.uri)
        self.region = pulumi.Output.from_input(region)
        self.invoke_policy_json = self.endpoint.arn.apply(
            lambda arn: policies.to_json(policies.invoke_endpoint_policy(arn))
        )
        self.endpoint_type = pulumi.Output.from_input(args.endpoint_type)
        self.pooling = pulumi.Output.from_input(args.pooling)
        self.model_artifact_bucket = self.artifact_bucket.bucket if self.artifact_bucket is not None else None
        self.model_data_url = model_data_url
        outputs = {
            "endpoint_name": self.endpoint_name,
            "endpoint_arn": self.endpoint_arn,
            "endpoint_config_name": self.endpoint_config_name,
            "model_name": self.model_name,
            "role_arn": self.role_arn,
            "image_uri": self.image_uri,
            "region": self.region,
            "invoke_policy_json": self.invoke_policy_json,
            "endpoint_type": self.endpoint_type,
            "pooling": self.pooling,
            "dashboard_url": self.dashboard_url,
            "alarm_topic_arn": self.alarm_topic_arn,
            "model_artifact_bucket": self.model_artifact_bucket,
            "model_data_url": self.model_data_url,
        }
        self.register_outputs({key: value for key, value in outputs.items() if value is not None})

    def grant_invoke(self, name: str, role: aws.iam.Role) -> aws.iam.RolePolicy:
        """Let `role` (a role of the same program) call this endpoint: `sagemaker:InvokeEndpoint` on it, no more.

        Returns the inline RolePolicy, named `name`, a child of this component.
        """
        return aws.iam.RolePolicy(
            name,
            role=role.id,
            policy=self.invoke_policy_json,
            opts=pulumi.ResourceOptions(parent=self),
        )

    @staticmethod
    def _production_variant(
        args: ServerlessEmbeddingEndpointArgs, model_name: pulumi.Output[str]
    ) -> aws.sagemaker.EndpointConfigurationProductionVariantArgs:
        if args.instances is not None:
            # The initial count is the minimum; Application Auto Scaling moves it between min and max.
            return aws.sagemaker.EndpointConfigurationProductionVariantArgs(
                variant_name=VARIANT_NAME,
                model_name=model_name,
                instance_type=args.instances.instance_type,
                initial_instance_count=args.instances.min_instances,
            )
        serverless = args.serverless_variant
        return aws.sagemaker.EndpointConfigurationProductionVariantArgs(
            variant_name=VARIANT_NAME,
            model_name=model_name,
            serverless_config=aws.sagemaker.EndpointConfigurationProductionVariantServerlessConfigArgs(
                memory_size_in_mb=serverless.memory_size_mb,
                max_concurrency=serverless.max_concurrency,
                provisioned_concurrency=serverless.provisioned_concurrency,
            ),
        )

    def _autoscaling(
        self, name: str, instances: InstancesVariant | None, region: str, tags: Mapping[str, str]
    ) -> tuple[aws.appautoscaling.Target | None, aws.appautoscaling.Policy | None]:
        """Target tracking on invocations per instance, between min and max, for instance endpoints only."""
        if instances is None:
            return None, None
        tracking_args = aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationArgs
        metric_args = aws.appautoscaling.PolicyTargetTrackingScalingPolicyConfigurationPredefinedMetricSpecificationArgs
        # Built from the endpoint's output, so the target is registered only once the endpoint is InService.
        resource_id = self.endpoint.name.apply(lambda endpoint: f"endpoint/{endpoint}/variant/{VARIANT_NAME}")
        target = aws.appautoscaling.Target(
            f"{name}-scaling-target",
            service_namespace="sagemaker",
            scalable_dimension=SCALABLE_DIMENSION,
            resource_id=resource_id,
            min_capacity=instances.min_instances,
            max_capacity=instances.max_instances,
            region=region,
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        policy = aws.appautoscaling.Policy(
            f"{name}-scaling-policy",
            policy_type="TargetTrackingScaling",
            service_namespace=target.service_namespace,
            scalable_dimension=target.scalable_dimension,
            resource_id=target.resource_id,
            target_tracking_scaling_policy_configuration=tracking_args(
                target_value=float(instances.target_invocations_per_instance),
                predefined_metric_specification=metric_args(
                    predefined_metric_type=SCALING_METRIC,
                ),
                scale_in_cooldown=instances.scale_in_cooldown_s,
                scale_out_cooldown=instances.scale_out_cooldown_s,
            ),
            region=region,
            opts=pulumi.ResourceOptions(parent=self),
        )
        return target, policy

    def _monitoring(
        self, name: str, args: ServerlessEmbeddingEndpointArgs, region: str, tags: Mapping[str, str]
    ) -> None:
        """Alarms, their optional email topic, and the dashboard; nothing at all when monitoring is None."""
        self.alarms: dict[str, aws.cloudwatch.MetricAlarm] = {}
        self.alarm_topic: aws.sns.Topic | None = None
        self.alarm_subscription: aws.sns.TopicSubscription | None = None
        self.dashboard: aws.cloudwatch.Dashboard | None = None
        self.alarm_topic_arn = None
        self.dashboard_url = None
        settings = args.monitoring
        if settings is None:
            return
        child = pulumi.ResourceOptions(parent=self)
        actions: list[pulumi.Input[str]] = []
        if settings.alarm_email is not None:
            self.alarm_topic = aws.sns.Topic(f"{name}-alarms", region=region, tags=dict(tags), opts=child)
            self.alarm_subscription = aws.sns.TopicSubscription(
                f"{name}-alarm-email",
                topic=self.alarm_topic.arn,
                protocol="email",
                endpoint=settings.alarm_email,
                region=region,
                opts=child,
            )
            self.alarm_topic_arn = self.alarm_topic.arn
            actions = [self.alarm_topic.arn]
        specs = monitoring.alarm_specs(
            endpoint_type=args.endpoint_type,
            model_latency_p90_ms=settings.model_latency_p90_ms,
            model_setup_time_s=settings.model_setup_time_s,
        )
        for spec in specs:
            self.alarms[spec.metric_name] = aws.cloudwatch.MetricAlarm(
                f"{name}-{spec.key}",
                name=spec.alarm_name(args.endpoint_name),
                alarm_description=spec.description,
                namespace=monitoring.SAGEMAKER_NAMESPACE,
                metric_name=spec.metric_name,
                # The endpoint's output, not the plain name: the alarm is created after the endpoint exists.
                dimensions={"EndpointName": self.endpoint.name, "VariantName": VARIANT_NAME},
                statistic=spec.statistic,
                extended_statistic=spec.extended_statistic,
                period=monitoring.PERIOD_S,
                evaluation_periods=spec.evaluation_periods,
                threshold=spec.threshold,
                comparison_operator=spec.comparison_operator,
                treat_missing_data="notBreaching",  # an idle serverless endpoint publishes nothing: that is fine
                alarm_actions=actions,
                ok_actions=actions,
                region=region,
                tags=dict(tags),
                opts=child,
            )
        dashboard_name = monitoring.dashboard_name(args.endpoint_name, region)
        body = monitoring.dashboard_body(
            endpoint_name=self.endpoint.name,
            region=region,
            endpoint_type=args.endpoint_type,
            model_latency_p90_ms=settings.model_latency_p90_ms,
        )
        self.dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=dashboard_name,
            dashboard_body=pulumi.Output.json_dumps(body),
            region=region,
            opts=child,
        )
        self.dashboard_url = self.dashboard.dashboard_name.apply(lambda value: monitoring.dashboard_url(value, region))

    def _artifact_bucket(
        self, name: str, region: str, tags: Mapping[str, str]
    ) -> tuple[pulumi.Output[str] | None, pulumi.Output[str] | None]:
        """Server pooling: a private bucket holding model.tar.gz; returns (object ARN, s3:// URL) or (None, None).

        Private four ways: every public-access block on, ACLs disabled (BucketOwnerEnforced, so the bucket owner
        owns every object), a policy refusing plain HTTP, and SSE-S3 encryption (AES256, not KMS: the execution
        role then needs no kms:Decrypt, and SSE-KMS would add a KMS request charge per model download).
        """
        self.artifact_bucket: aws.s3.Bucket | None = None
        self.artifact_public_access_block: aws.s3.BucketPublicAccessBlock | None = None
        self.artifact_ownership_controls: aws.s3.BucketOwnershipControls | None = None
        self.artifact_encryption: aws.s3.BucketServerSideEncryptionConfiguration | None = None
        self.artifact_bucket_policy: aws.s3.BucketPolicy | None = None
        self.artifact_object: aws.s3.BucketObjectv2 | None = None
        artifact = self.model_artifact
        if artifact is None:
            return None, None  # and pulumi_aws.s3 (a quarter of a second to import) is never loaded
        rule_args = aws.s3.BucketServerSideEncryptionConfigurationRuleArgs
        by_default_args = aws.s3.BucketServerSideEncryptionConfigurationRuleApplyServerSideEncryptionByDefaultArgs
        child = pulumi.ResourceOptions(parent=self)
        bucket = aws.s3.Bucket(f"{name}-artifacts", region=region, tags=dict(tags), opts=child)
        # S3 refuses concurrent changes to one bucket's settings (OperationAborted), so they go one after another.
        public_access_block = aws.s3.BucketPublicAccessBlock(
            f"{name}-artifacts-public-access",
            bucket=bucket.id,
            block_public_acls=True,
            block_public_policy=True,
            ignore_public_acls=True,
            restrict_public_buckets=True,
            region=region,
            opts=child,
        )
        ownership = aws.s3.BucketOwnershipControls(
            f"{name}-artifacts-ownership",
            bucket=bucket.id,
            rule=aws.s3.BucketOwnershipControlsRuleArgs(object_ownership="BucketOwnerEnforced"),
            region=region,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access_block]),
        )
        encryption = aws.s3.BucketServerSideEncryptionConfiguration(
            f"{name}-artifacts-encryption",
            bucket=bucket.id,
            rules=[rule_args(apply_server_side_encryption_by_default=by_default_args(sse_algorithm="AES256"))],
            region=region,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[ownership]),
        )
        bucket_policy = aws.s3.BucketPolicy(
            f"{name}-artifacts-tls-only",
            bucket=bucket.id,
            policy=policies.to_json_output(policies.deny_insecure_transport_policy(bucket.arn)),
            region=region,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[encryption]),
        )
        # The engine compares a FileAsset by the SHA-256 of its contents, not its path; the file name carries the
        # content hash anyway, so an unchanged folder gives the same asset and the same key: no change.
        artifact_object = aws.s3.BucketObjectv2(
            f"{name}-model-artifact",
            bucket=bucket.id,
            key=artifact.object_key,
            source=pulumi.FileAsset(str(artifact.path)),
            content_type="application/gzip",
            region=region,
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self, depends_on=[public_access_block, ownership, bucket_policy]),
        )
        self.artifact_bucket = bucket
        self.artifact_public_access_block = public_access_block
        self.artifact_ownership_controls = ownership
        self.artifact_encryption = encryption
        self.artifact_bucket_policy = bucket_policy
        self.artifact_object = artifact_object
        partition = partition_of(region)
        object_arn = pulumi.Output.concat(f"arn:{partition}:s3:::", artifact_object.bucket, "/", artifact_object.key)
        model_data_url = pulumi.Output.concat("s3://", artifact_object.bucket, "/", artifact_object.key)
        return object_arn, model_data_url

    def _execution_role(
        self,
        name: str,
        args: ServerlessEmbeddingEndpointArgs,
        image: EcrImage,
        region: str,
        tags: Mapping[str, str],
        artifact_arn: pulumi.Output[str] | None,
    ) -> tuple[pulumi.Input[str], list[pulumi.Resource]]:
        """The caller's role as is, or a least-privilege one; plus what the model must wait for."""
        self.role: aws.iam.Role | None = None
        self.execution_policy: aws.iam.RolePolicy | None = None
        if args.execution_role_arn is not None:
            return args.execution_role_arn, []
        account_id = aws.get_caller_identity(opts=pulumi.InvokeOptions(parent=self)).account_id
        self.role = aws.iam.Role(
            f"{name}-role",
            description=f"SageMaker execution role of the {args.endpoint_name} embedding endpoint",
            assume_role_policy=policies.to_json(policies.sagemaker_trust_policy()),
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        document = policies.execution_policy(
            image=image,
            partition=partition_of(region),
            region=region,
            account_id=account_id,
            endpoint_name=args.endpoint_name,
            model_artifact_arn=artifact_arn,
            extra_statements=args.execution_role_statements,
        )
        self.execution_policy = aws.iam.RolePolicy(
            f"{name}-execution",
            role=self.role.id,
            policy=policies.to_json_output(document),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # CreateModel only checks that the role can be assumed; pulling the image needs the policy as well,
        # so the model (and with it the configuration and the endpoint) waits until the policy is attached.
        return self.role.arn, [self.execution_policy]

    def _provider_region(self, args: ServerlessEmbeddingEndpointArgs) -> str:
        """The region of whatever provider this component inherits, when the caller named none.

        The checks that depend on the region run again now that it is known, still before any child exists.
        """
        region = aws.get_region(opts=pulumi.InvokeOptions(parent=self)).region
        problems = [
            *check_region(region),
            *check_image_uri(args.image_uri, region),
            *check_role_arn(args.execution_role_arn, region),
        ]
        if problems:
            raise InvalidEndpointArgsError(problems)
        return region

    def _warn_if_serverless_unknown(self, region: str) -> None:
        if not offers_serverless_inference(region):
            pulumi.log.warn(
                f"region {region!r} is not known to offer SageMaker Serverless Inference; "
                "the deployment is attempted anyway and AWS will refuse it if the feature is missing",
                resource=self,
            )

    def _resolve_image(self, region: str, image_uri: str | None) -> EcrImage:
        """The image from the region's own registry: SageMaker refuses cross-region pulls, so no fallback."""
        if image_uri is not None:
            image = parse_ecr_image_uri(image_uri)
            assert image is not None, "validated by check_image_uri"
            return image
        try:
            found = aws.sagemaker.get_prebuilt_ecr_image(
                repository_name=HUGGINGFACE_INFERENCE_REPOSITORY,
                image_tag=HUGGINGFACE_INFERENCE_CPU_TAG,
                region=region,
                opts=pulumi.InvokeOptions(parent=self),
            )
        except Exception as exc:
            raise ImageLookupError(
                f"no Hugging Face inference image registry is known for region {region!r} "
                f"(provider said: {exc}). Set imageUri to an ECR image in {region!r} "
                "to deploy there; images from other regions cannot be used."
            ) from exc
        return EcrImage(
            account=found.registry_id,
            region=region,
            repository=HUGGINGFACE_INFERENCE_REPOSITORY,
            uri=found.registry_path,
        )

    @staticmethod
    def _container_environment(args: ServerlessEmbeddingEndpointArgs) -> dict[str, pulumi.Input[str]]:
        """What the Hugging Face inference toolkit reads at start-up to fetch and serve the model.

        With server pooling the toolkit still downloads HF_MODEL_ID from the Hub, and puts /opt/ml/model/code
        (from model.tar.gz) on PYTHONPATH so that its `inference.py` handles the requests.
        """
        environment: dict[str, pulumi.Input[str]] = {"HF_MODEL_ID": args.model_id, "HF_TASK": args.task}
        if args.model_revision is not None:
            environment["HF_MODEL_REVISION"] = args.model_revision
        if args.hf_token is not None:
            token = pulumi.Output.secret(args.hf_token)
            # The toolkit reads HF_API_TOKEN; huggingface_hub itself reads HF_TOKEN.
            environment["HF_API_TOKEN"] = token
            environment["HF_TOKEN"] = token
        return environment
