"""The SageMaker facts the component is built on, each stated once.

`embeddings/` and `local_endpoint/` keep their own copies of the few they need (the client vendors into a Lambda
with boto3 alone, and the twin must not import the Pulumi program); tests/test_shared_facts.py checks the copies
agree with these.
"""

from __future__ import annotations

TYPE_TOKEN = "alex:embeddings:ServerlessEmbeddingEndpoint"
"""The component's type token: part of every child's URN, so it never changes (a new one would replace the live
endpoint, whose fixed name would then collide with itself)."""
ARTIFACT_STORE_TYPE_TOKEN = "alex:embeddings:ModelArtifactStore"
BATCH_BUCKET_TYPE_TOKEN = "alex:embeddings:BatchBucket"

DEFAULT_ENDPOINT_NAME = "alex-embedding-endpoint"
"""The name later parts call the endpoint by."""
VARIANT_NAME = "AllTraffic"
"""The endpoint's only production variant: metrics, alarms and autoscaling address it by this name."""

SAGEMAKER_SERVICE_PRINCIPAL = "sagemaker.amazonaws.com"
ENDPOINT_LOG_GROUP_PREFIX = "/aws/sagemaker/Endpoints"
"""SageMaker writes an endpoint's container logs to `<prefix>/<endpoint name>`."""
TRANSFORM_JOB_LOG_GROUP = "/aws/sagemaker/TransformJobs"
"""Every transform job's container logs, in streams named `<job name>/<instance id>-<epoch seconds>`."""
TRANSFORM_JOB_METRICS_NAMESPACE = "/aws/sagemaker/TransformJobs"
"""A transform job's utilisation metrics (CPUUtilization, MemoryUtilization), published with the execution role."""
SAGEMAKER_METRICS_NAMESPACE = "AWS/SageMaker"
"""Invocation metrics (Invocations, errors, latencies in microseconds, ModelSetupTime)."""
ENDPOINT_METRICS_NAMESPACE = "/aws/sagemaker/Endpoints"
"""Utilisation metrics (CPUUtilization, MemoryUtilization), published with the execution role."""

SCALABLE_DIMENSION = "sagemaker:variant:DesiredInstanceCount"
SCALING_METRIC = "SageMakerVariantInvocationsPerInstance"

SERVERLESS_PAYLOAD_LIMIT_BYTES = 4_000_000
"""Serverless Inference's request and response limit, "4 MB", read as decimal."""

# The container's environment. HF_* and SAGEMAKER_* are read by the Hugging Face inference toolkit; ALEX_* are this
# project's: inference.py reads the precision, and `describe-model` shows an operator what the endpoint serves.
HF_MODEL_ID_ENV = "HF_MODEL_ID"
HF_MODEL_REVISION_ENV = "HF_MODEL_REVISION"
HF_TASK_ENV = "HF_TASK"
SERVER_WORKERS_ENV = "SAGEMAKER_MODEL_SERVER_WORKERS"
MODEL_ID_ENV = "ALEX_EMBEDDING_MODEL_ID"
MODEL_REVISION_ENV = "ALEX_EMBEDDING_MODEL_REVISION"
PRECISION_ENV = "ALEX_EMBEDDING_PRECISION"
MAX_RESPONSE_SIZE_ENV = "MMS_MAX_RESPONSE_SIZE"
"""multi-model-server's `max_response_size`, read from the environment because the toolkit's properties set
`enable_envvars_config=true` (ConfigManager.setSystemVars reads every MMS_* field's variable)."""
MAX_RESPONSE_BYTES = 256 * 1024 * 1024
"""The longest answer the model server passes on with `pooling: server` (its default is 6,553,500 bytes).

Batch Transform's MultiRecord requests are sized by the job's MaxPayloadInMB, and their jsonlines answers are
about 8.1 kB per record (384 floats as JSON), 80x a request of ~100-byte records. 256 MiB answers a 1 MB request
(MaxPayloadInMB=1) of records averaging 32 bytes or more, about 33,000 records; inference.py refuses a longer
answer with a 400 that says so. Real-time answers stay far below it (the serverless limit is 4 MB)."""


# Batch Transform. The bucket's two prefixes, and the rule for the names of this stack's transform jobs: the
# caller's policy (the batch_policy_json output) allows only jobs whose name starts with the prefix, and
# `embeddings.batch` computes the same prefix from the endpoint's name.
DEFAULT_TRANSFORM_INSTANCE_TYPE = "ml.c5.xlarge"
"""x86 with 4 vCPUs: in botocore's TransformInstanceType list (ml.c5.large is not) and offered in every region."""
BATCH_INPUT_PREFIX = "input/"
BATCH_OUTPUT_PREFIX = "output/"
BATCH_JOB_NAME_MARK = "-batch-"
BATCH_JOB_NAME_STEM_MAX = 33
"""The endpoint name's share of the prefix: the prefix is at most 33 + 7 = 40 characters, which leaves 23 of
TransformJobName's 63 for the runner's suffix (16 hex digits of hash, and `-r<n>` on a follow-up job)."""


def batch_job_name_prefix(endpoint_name: str) -> str:
    """`<endpoint name, lower-cased, cut to 33 characters, without trailing hyphens>-batch-`.

    Lower case because SageMaker lower-cases names inside its ARNs and IAM compares ARNs case-sensitively: a job
    named with the prefix as given matches the policy's `transform-job/<prefix>*` whatever the endpoint's case.
    A job name is the prefix plus letters, digits and hyphens, ending in a letter or digit, 63 characters in all.
    """
    return endpoint_name.lower()[:BATCH_JOB_NAME_STEM_MAX].rstrip("-") + BATCH_JOB_NAME_MARK
