"""A SageMaker Serverless endpoint that turns text into sentence-embedding token vectors.

One component owns the whole chain (execution role -> model -> endpoint configuration -> endpoint) so that
later parts can depend on a single, validated thing, and so that a second region is just a second instance
with another provider.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

import pulumi
import pulumi_aws as aws

from components import policies
from components.images import (
    HUGGINGFACE_INFERENCE_CPU_TAG,
    HUGGINGFACE_INFERENCE_REPOSITORY,
    EcrImage,
    parse_ecr_image_uri,
)
from components.regions import offers_serverless_inference, partition_of
from components.validation import (
    InvalidEndpointArgsError,
    check_component_name,
    check_concurrency,
    check_endpoint_name,
    check_image_uri,
    check_memory_size,
    check_model_id,
    check_model_revision,
    check_region,
    check_role_arn,
    check_tags,
    check_task,
)

TYPE_TOKEN = "alex:embeddings:ServerlessEmbeddingEndpoint"
DEFAULT_ENDPOINT_NAME = "alex-embedding-endpoint"
DEFAULT_MODEL_ID = "sentence-transformers/all-MiniLM-L6-v2"
DEFAULT_TASK = "feature-extraction"
DEFAULT_MEMORY_SIZE_MB = 3072
DEFAULT_MAX_CONCURRENCY = 2
VARIANT_NAME = "AllTraffic"


class ImageLookupError(RuntimeError):
    """No Hugging Face inference image is published for the region, and no override was given."""


@dataclass
class ServerlessEmbeddingEndpointArgs:
    """Plain values, so every one of them can be checked before anything is created.

    `region` None means "the provider's region"; `hf_token` is the only Output, because it must stay secret.
    """

    endpoint_name: str = DEFAULT_ENDPOINT_NAME
    model_id: str = DEFAULT_MODEL_ID
    model_revision: str | None = None
    task: str = DEFAULT_TASK
    memory_size_mb: int = DEFAULT_MEMORY_SIZE_MB
    max_concurrency: int = DEFAULT_MAX_CONCURRENCY
    provisioned_concurrency: int | None = None
    image_uri: str | None = None
    execution_role_arn: str | None = None
    hf_token: pulumi.Input[str] | None = None
    region: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)

    def problems(self) -> list[str]:
        return [
            *check_endpoint_name(self.endpoint_name),
            *check_model_id(self.model_id),
            *check_model_revision(self.model_revision),
            *check_task(self.task),
            *check_memory_size(self.memory_size_mb),
            *check_concurrency(self.max_concurrency, self.provisioned_concurrency),
            *check_region(self.region),
            *check_image_uri(self.image_uri, self.region),
            *check_role_arn(self.execution_role_arn, self.region),
            *check_tags(self.tags),
        ]

    def validate(self) -> None:
        problems = self.problems()
        if problems:
            raise InvalidEndpointArgsError(problems)


class ServerlessEmbeddingEndpoint(pulumi.ComponentResource):
    endpoint_name: pulumi.Output[str]
    endpoint_arn: pulumi.Output[str]
    endpoint_config_name: pulumi.Output[str]
    model_name: pulumi.Output[str]
    role_arn: pulumi.Output[str]
    image_uri: pulumi.Output[str]
    region: pulumi.Output[str]
    invoke_policy_json: pulumi.Output[str]

    def __init__(
        self,
        name: str,
        args: ServerlessEmbeddingEndpointArgs,
        opts: pulumi.ResourceOptions | None = None,
    ) -> None:
        problems = [*check_component_name(name), *args.problems()]
        if problems:
            raise InvalidEndpointArgsError(problems)
        super().__init__(TYPE_TOKEN, name, None, opts)

        region = args.region or self._provider_region(args)
        self._warn_if_serverless_unknown(region)
        image = self._resolve_image(region, args.image_uri)
        tags = {
            "project": pulumi.get_project(),
            "stack": pulumi.get_stack(),
            "component": name,
            **args.tags,
        }

        role_arn, model_depends_on = self._execution_role(name, args, image, region, tags)
        model = aws.sagemaker.Model(
            f"{name}-model",
            execution_role_arn=role_arn,
            primary_container=aws.sagemaker.ModelPrimaryContainerArgs(
                image=image.uri,
                mode="SingleModel",
                environment=self._container_environment(args),
            ),
            region=region,
            tags=tags,
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=model_depends_on,
                additional_secret_outputs=["primaryContainer"] if args.hf_token is not None else None,
            ),
        )
        config = aws.sagemaker.EndpointConfiguration(
            f"{name}-config",
            production_variants=[
                aws.sagemaker.EndpointConfigurationProductionVariantArgs(
                    variant_name=VARIANT_NAME,
                    model_name=model.name,
                    serverless_config=aws.sagemaker.EndpointConfigurationProductionVariantServerlessConfigArgs(
                        memory_size_in_mb=args.memory_size_mb,
                        max_concurrency=args.max_concurrency,
                        provisioned_concurrency=args.provisioned_concurrency,
                    ),
                )
            ],
            region=region,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )
        endpoint = aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            name=args.endpoint_name,
            endpoint_config_name=config.name,
            region=region,
            tags=tags,
            opts=pulumi.ResourceOptions(parent=self),
        )

        self.endpoint_name = endpoint.name
        self.endpoint_arn = endpoint.arn
        self.endpoint_config_name = config.name
        self.model_name = model.name
        self.role_arn = pulumi.Output.from_input(role_arn)
        self.image_uri = pulumi.Output.from_input(image.uri)
        self.region = pulumi.Output.from_input(region)
        self.invoke_policy_json = endpoint.arn.apply(lambda arn: policies.to_json(policies.invoke_endpoint_policy(arn)))
        self.register_outputs(
            {
                "endpoint_name": self.endpoint_name,
                "endpoint_arn": self.endpoint_arn,
                "endpoint_config_name": self.endpoint_config_name,
                "model_name": self.model_name,
                "role_arn": self.role_arn,
                "image_uri": self.image_uri,
                "region": self.region,
                "invoke_policy_json": self.invoke_policy_json,
            }
        )

    def _execution_role(
        self,
        name: str,
        args: ServerlessEmbeddingEndpointArgs,
        image: EcrImage,
        region: str,
        tags: Mapping[str, str],
    ) -> tuple[pulumi.Input[str], list[pulumi.Resource]]:
        """The caller's role as is, or a least-privilege one; plus what the model must wait for."""
        if args.execution_role_arn is not None:
            return args.execution_role_arn, []
        account_id = aws.get_caller_identity(opts=pulumi.InvokeOptions(parent=self)).account_id
        role = aws.iam.Role(
            f"{name}-role",
            description=f"SageMaker execution role of the {args.endpoint_name} embedding endpoint",
            assume_role_policy=policies.to_json(policies.sagemaker_trust_policy()),
            tags=dict(tags),
            opts=pulumi.ResourceOptions(parent=self),
        )
        execution_policy = aws.iam.RolePolicy(
            f"{name}-execution",
            role=role.id,
            policy=policies.to_json(
                policies.execution_policy(
                    image=image,
                    partition=partition_of(region),
                    region=region,
                    account_id=account_id,
                    endpoint_name=args.endpoint_name,
                )
            ),
            opts=pulumi.ResourceOptions(parent=self),
        )
        # CreateModel only checks that the role can be assumed; pulling the image needs the policy as well,
        # so the model (and with it the configuration and the endpoint) waits until the policy is attached.
        return role.arn, [execution_policy]

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
        """What the Hugging Face inference toolkit reads at start-up to fetch and serve the model."""
        environment: dict[str, pulumi.Input[str]] = {"HF_MODEL_ID": args.model_id, "HF_TASK": args.task}
        if args.model_revision is not None:
            environment["HF_MODEL_REVISION"] = args.model_revision
        if args.hf_token is not None:
            token = pulumi.Output.secret(args.hf_token)
            # The toolkit reads HF_API_TOKEN; huggingface_hub itself reads HF_TOKEN.
            environment["HF_API_TOKEN"] = token
            environment["HF_TOKEN"] = token
        return environment
