"""The component's outputs, defined once: the stack exports them under these names, later parts read them, and the
README's outputs table is generated from this list.

Each name is also an attribute of `ServerlessEmbeddingEndpoint` holding the Output (None when its feature is off).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OutputSpec:
    name: str
    description: str
    when: str | None = None
    """None: always exported; otherwise the condition under which it exists."""


STACK_OUTPUTS: tuple[OutputSpec, ...] = (
    OutputSpec("endpoint_name", "The endpoint's exact name: `EndpointName` for `invoke_endpoint`."),
    OutputSpec("endpoint_arn", "The endpoint's ARN, for IAM policies."),
    OutputSpec("region", "The region the endpoint is in: callers' `region_name`."),
    OutputSpec("model_name", "The SageMaker model (auto-named): `aws sagemaker describe-model --model-name ...`."),
    OutputSpec("endpoint_config_name", "The endpoint configuration (auto-named)."),
    OutputSpec("role_arn", "The execution role the container runs as."),
    OutputSpec("image_uri", "The container image, from the stack's region."),
    OutputSpec("invoke_policy_json", "An IAM policy allowing `sagemaker:InvokeEndpoint` on this endpoint only."),
    OutputSpec("endpoint_type", "`serverless` or `instances`."),
    OutputSpec("pooling", "`server` (one sentence vector per text) or `client` (token vectors; callers pool)."),
    OutputSpec("model_source", "`artifact` (the model is in model.tar.gz) or `hub` (downloaded at every start)."),
    OutputSpec("model_id", "The Hugging Face model the endpoint serves."),
    OutputSpec(
        "model_revision",
        "The model's Hub commit. For a modelDir: the pinned commit when its files are the pinned ones (with "
        "modelRevision set to it, a file that differs is refused), else the modelRevision it names, unverified, "
        "or `local`.",
        "a revision is known: always, except a hub model on its default branch",
    ),
    OutputSpec(
        "precision", "`fp32` or `bf16` (server pooling only): vectors of two precisions must not share an index."
    ),
    OutputSpec(
        "max_concurrency",
        "The serverless endpoint's MaxConcurrency: how many invocations a bulk client may run at once.",
        "endpointType serverless",
    ),
    OutputSpec("dashboard_url", "The CloudWatch dashboard.", "monitoring true"),
    OutputSpec("alarm_topic_arn", "The SNS topic every alarm notifies.", "alarmEmail set"),
    OutputSpec("model_artifact_bucket", "The private bucket holding model.tar.gz.", "a model.tar.gz is built"),
    OutputSpec("model_data_url", "The `s3://` URL of model.tar.gz.", "a model.tar.gz is built"),
    OutputSpec(
        "batch_bucket",
        "The private bucket for Batch Transform input and output: `EMBEDDINGS_BATCH_BUCKET` of `python -m "
        "embeddings.batch`.",
        "batchTransform true",
    ),
    OutputSpec("batch_input_url", "The `s3://` folder transform jobs read from (`input/`).", "batchTransform true"),
    OutputSpec("batch_output_url", "The `s3://` folder transform jobs write to (`output/`).", "batchTransform true"),
    OutputSpec(
        "batch_policy_json",
        "An IAM policy allowing this stack's transform jobs (names starting `<endpoint name>-batch-`) on its model "
        "and instance type, passing the execution role to SageMaker, and the batch bucket's two folders.",
        "batchTransform true",
    ),
)

OUTPUT_NAMES = tuple(spec.name for spec in STACK_OUTPUTS)
ALWAYS_EXPORTED = tuple(spec.name for spec in STACK_OUTPUTS if spec.when is None)
