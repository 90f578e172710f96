"""What the model container runs: its image, and the environment the Hugging Face inference toolkit reads.

The environment decides where the model comes from. With `HF_MODEL_ID` set the toolkit downloads that model from
the Hub at every start; without it the toolkit serves /opt/ml/model, which SageMaker fills from model.tar.gz. So
the artifact source leaves `HF_MODEL_ID` and every token out, and names the model under this project's own keys,
where `describe-model` shows an operator which model and revision the endpoint serves.
"""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from components.constants import (
    HF_MODEL_ID_ENV,
    HF_MODEL_REVISION_ENV,
    HF_TASK_ENV,
    MAX_RESPONSE_BYTES,
    MAX_RESPONSE_SIZE_ENV,
    MODEL_ID_ENV,
    MODEL_REVISION_ENV,
    PRECISION_ENV,
    SERVER_WORKERS_ENV,
)
from components.endpoint_args import ServerlessEmbeddingEndpointArgs
from components.images import (
    HUGGINGFACE_INFERENCE_CPU_TAG,
    HUGGINGFACE_INFERENCE_REPOSITORY,
    EcrImage,
    parse_ecr_image_uri,
)
from components.model_files import ModelFiles, default_revision
from components.regions import dns_suffix_of

# The provider's answer for a region its table has no registry for (pulumi-aws, getPrebuiltEcrImage).
_NO_REGISTRY = "no registry ID available for region"


class ImageLookupError(RuntimeError):
    """The container image cannot be resolved: the region has no Hugging Face image, or the provider could not be
    asked."""


def resolve_image(region: str, image_uri: str | None, opts: pulumi.InvokeOptions) -> EcrImage:
    """The image from the region's own registry: SageMaker refuses cross-region pulls, so there is no fallback."""
    if image_uri is not None:
        image = parse_ecr_image_uri(image_uri)
        if image is None:  # validation refuses such a URI first; this is for a caller that skipped it
            raise ImageLookupError(f"image_uri {image_uri!r} is not an ECR image URI")
        return image
    try:
        found = aws.sagemaker.get_prebuilt_ecr_image(
            repository_name=HUGGINGFACE_INFERENCE_REPOSITORY,
            image_tag=HUGGINGFACE_INFERENCE_CPU_TAG,
            region=region,
            opts=opts,
        )
    except Exception as error:  # the engine reports a failed invoke as a plain Exception carrying the provider's text
        reason = " ".join(str(error).split())
        if _NO_REGISTRY in reason:
            raise ImageLookupError(
                f"no Hugging Face inference image is published in region {region!r} (the provider says: {reason}). "
                f"Set imageUri to an ECR image in {region!r} to deploy there; images from other regions cannot be "
                "used."
            ) from error
        raise ImageLookupError(
            f"could not ask the AWS provider for the Hugging Face inference image of region {region!r}: {reason}. "
            "Check the provider's credentials and network, then run again"
        ) from error
    return EcrImage(
        account=found.registry_id,
        region=region,
        dns_suffix=dns_suffix_of(region),
        repository=HUGGINGFACE_INFERENCE_REPOSITORY,
        uri=found.registry_path,
    )


def model_revision(args: ServerlessEmbeddingEndpointArgs, model: ModelFiles | None) -> str | None:
    """The revision the endpoint serves: the packed files' commit, or the one the Hub source is pinned to."""
    if model is not None:
        return model.revision
    return args.model_revision or default_revision(args.model_id)


def container_environment(
    args: ServerlessEmbeddingEndpointArgs, model: ModelFiles | None
) -> dict[str, pulumi.Input[str]]:
    """The model container's environment for `args`; `model` is what model.tar.gz carries (artifact source)."""
    environment: dict[str, pulumi.Input[str]] = {HF_TASK_ENV: args.task}
    if model is not None:
        environment[MODEL_ID_ENV] = model.model_id
        environment[MODEL_REVISION_ENV] = model.revision
    else:
        environment[HF_MODEL_ID_ENV] = args.model_id
        revision = model_revision(args, None)
        if revision is not None:
            environment[HF_MODEL_REVISION_ENV] = revision
        # huggingface_hub downloads through Xet by default; Xet downloads have hung with 403s on AWS and failed the
        # endpoint's health check, and hf_transfer is not in the image: plain HTTPS for both.
        environment["HF_HUB_DISABLE_XET"] = "1"
        environment["HF_HUB_ENABLE_HF_TRANSFER"] = "0"
        if args.hf_token is not None:
            token = pulumi.Output.secret(args.hf_token)
            # The toolkit reads HF_API_TOKEN; huggingface_hub itself reads HF_TOKEN.
            environment["HF_API_TOKEN"] = token
            environment["HF_TOKEN"] = token
    if args.pooling == "server":
        environment[PRECISION_ENV] = args.precision
        # Batch Transform runs this same Model, and inference.py answers its jsonlines requests: a 1 MB MultiRecord
        # request of ~100-byte records answers ~80 MB, over multi-model-server's max_response_size default of
        # 6,553,500 bytes, which it enforces by killing the worker ("Worker died.", multi-model-server 1.1.11
        # ConfigManager.getMaxResponseSize, CodecUtils.readLength). MMS reads MMS_MAX_RESPONSE_SIZE because the
        # toolkit's default-mms.properties sets enable_envvars_config=true. The request limit needs nothing here:
        # sagemaker-inference 1.10.1 maps SAGEMAKER_MAX_PAYLOAD_IN_MB, which the job sets, onto max_request_size
        # (model_server._generate_mms_config_properties). Nor does the worker's timeout: sagemaker-inference writes
        # default_response_timeout=60 (SAGEMAKER_MODEL_SERVER_TIMEOUT's default), which MMS 1.1.11 reads as
        # minutes (ConfigManager.getDefaultResponseTimeoutSeconds: 60 x 60 s), the longest invocation timeout a
        # job may set (ModelClientConfig.InvocationsTimeoutInSeconds <= 3600).
        environment[MAX_RESPONSE_SIZE_ENV] = str(MAX_RESPONSE_BYTES)
    if args.endpoint_type == "serverless":
        # AWS recommends one model-server worker on serverless endpoints; the toolkit would start one per vCPU.
        environment[SERVER_WORKERS_ENV] = "1"
    return environment
