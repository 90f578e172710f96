"""batchTransform: the batch bucket and its protections, the execution role's two prefixes, the caller's policy and
the four outputs; and none of it when the setting is off."""

from __future__ import annotations

import json
import runpy
from typing import Any

import pulumi_aws as aws
import pytest

from components import (
    BatchBucket,
    BatchTransform,
    InvalidEndpointArgsError,
    ServerlessEmbeddingEndpoint,
    ServerlessEmbeddingEndpointArgs,
)
from components.aws_rules import java_pattern, string_rule
from components.constants import batch_job_name_prefix
from tests.infra.pulumi_cli_config import load_stack_config
from tests.infra.pulumi_harness import (
    ACCOUNT_ID,
    ARTIFACT_STORE,
    BATCH_STORE,
    BUCKET,
    BUCKET_ENCRYPTION,
    BUCKET_LIFECYCLE,
    BUCKET_OWNERSHIP_CONTROLS,
    BUCKET_POLICY,
    BUCKET_PUBLIC_ACCESS_BLOCK,
    COMPONENT,
    MODEL,
    ROLE,
    ROLE_POLICY,
    Deployment,
    ProgramFailed,
    Registration,
    run_program,
)
from tests.paths import PROJECT_DIR

BATCH_OUTPUTS = ("batch_bucket", "batch_input_url", "batch_output_url", "batch_policy_json")
BATCH_SIDS = {
    "ListBatchInput",
    "ReadBatchInput",
    "WriteBatchOutput",
    "WriteTransformJobLogs",
    "PublishTransformJobMetrics",
}
TAGS = {"project": "alex-sagemaker", "stack": "dev", "component": "embedding", "owner": "kb-team"}
JOBS = f"arn:aws:sagemaker:us-east-1:{ACCOUNT_ID}:transform-job/alex-embedding-endpoint-batch-*"
LOG_GROUP = f"arn:aws:logs:us-east-1:{ACCOUNT_ID}:log-group:/aws/sagemaker/TransformJobs"


def _args(**overrides: Any) -> ServerlessEmbeddingEndpointArgs:
    # The Hub source keeps model.tar.gz to code/ alone: the model's 83 MB are not what these tests are about.
    return ServerlessEmbeddingEndpointArgs(
        region="us-east-1", model_source="hub", tags={"owner": "kb-team"}, **overrides
    )


@pytest.fixture(scope="module")
def deployment() -> Deployment:
    from tests.infra.deployments import deploy_component

    return deploy_component(_args(batch_transform=BatchTransform()))


@pytest.fixture(scope="module")
def without() -> Deployment:
    from tests.infra.deployments import deploy_component

    return deploy_component(_args())


def _batch(deployment: Deployment, type_token: str) -> Registration:
    [store] = deployment.of_type(BATCH_STORE)
    [found] = [r for r in deployment.of_type(type_token) if r.parent == store.urn]
    return found


def _statements(document: str) -> dict[str, dict[str, Any]]:
    return {statement["Sid"]: statement for statement in json.loads(document)["Statement"]}


def test_the_batch_bucket_is_a_child_component_with_a_private_tagged_bucket(deployment: Deployment) -> None:
    store = deployment.one(BATCH_STORE)
    assert store.parent == deployment.one(COMPONENT).urn
    bucket = _batch(deployment, BUCKET)
    assert bucket.inputs["tags"] == TAGS
    assert bucket.state["bucket"].startswith("embedding-batch-")  # auto-named
    # Like the artifact store, no force_destroy: a job's output is never deleted by `pulumi destroy`.
    assert "forceDestroy" not in bucket.inputs
    for token in (BUCKET_PUBLIC_ACCESS_BLOCK, BUCKET_OWNERSHIP_CONTROLS, BUCKET_ENCRYPTION, BUCKET_POLICY):
        assert _batch(deployment, token).inputs["bucket"] == bucket.state["bucket"], token


def test_the_batch_bucket_blocks_public_access_owns_its_objects_and_encrypts_them(deployment: Deployment) -> None:
    block = _batch(deployment, BUCKET_PUBLIC_ACCESS_BLOCK).inputs
    keys = ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls", "restrictPublicBuckets")
    assert [block[key] for key in keys] == [True] * 4
    assert _batch(deployment, BUCKET_OWNERSHIP_CONTROLS).inputs["rule"] == {"objectOwnership": "BucketOwnerEnforced"}
    [rule] = _batch(deployment, BUCKET_ENCRYPTION).inputs["rules"]
    assert rule["applyServerSideEncryptionByDefault"] == {"sseAlgorithm": "AES256"}


def test_the_batch_bucket_refuses_plain_http(deployment: Deployment) -> None:
    arn = _batch(deployment, BUCKET).state["arn"]
    [statement] = json.loads(_batch(deployment, BUCKET_POLICY).inputs["policy"])["Statement"]
    assert statement == {
        "Sid": "DenyInsecureTransport",
        "Effect": "Deny",
        "Principal": "*",
        "Action": "s3:*",
        "Resource": [arn, f"{arn}/*"],
        "Condition": {"Bool": {"aws:SecureTransport": "false"}},
    }


def test_input_and_output_expire_after_seven_days_by_default(deployment: Deployment) -> None:
    rules = _batch(deployment, BUCKET_LIFECYCLE).inputs["rules"]
    assert rules == [
        {
            "id": f"expire-{folder}",
            "status": "Enabled",
            "filter": {"prefix": f"{folder}/"},
            "expiration": {"days": 7},
            "abortIncompleteMultipartUpload": {"daysAfterInitiation": 7},
        }
        for folder in ("input", "output")
    ]


def test_the_expiry_is_the_one_given(deploy_component) -> None:
    deployment = deploy_component(_args(batch_transform=BatchTransform(expiry_days=30)))
    rules = _batch(deployment, BUCKET_LIFECYCLE).inputs["rules"]
    assert [rule["expiration"]["days"] for rule in rules] == [30, 30]


def test_the_execution_role_may_read_input_and_write_output_and_nothing_more_there(deployment: Deployment) -> None:
    arn = _batch(deployment, BUCKET).state["arn"]
    policy = deployment.one(ROLE_POLICY).inputs["policy"]
    statements = _statements(policy)
    assert statements["ListBatchInput"] == {
        "Sid": "ListBatchInput",
        "Effect": "Allow",
        "Action": "s3:ListBucket",
        "Resource": arn,
        "Condition": {"StringLike": {"s3:prefix": ["input/", "input/*"]}},
    }
    assert statements["ReadBatchInput"]["Action"] == "s3:GetObject"
    assert statements["ReadBatchInput"]["Resource"] == f"{arn}/input/*"
    assert statements["WriteBatchOutput"]["Action"] == ["s3:PutObject", "s3:AbortMultipartUpload"]
    assert statements["WriteBatchOutput"]["Resource"] == f"{arn}/output/*"
    on_bucket = {sid for sid, s in statements.items() if arn in json.dumps(s["Resource"])}
    assert on_bucket == {"ListBatchInput", "ReadBatchInput", "WriteBatchOutput"}
    assert deployment.one(BATCH_STORE).urn in _depends_on(deployment, deployment.one(ROLE_POLICY))


def _depends_on(deployment: Deployment, resource: Registration) -> set[str]:
    """The URNs `resource` waits for, components standing for their children."""
    parents = {r.urn: r.parent for r in deployment.registrations}
    return {*resource.dependencies, *(parents.get(urn, "") for urn in resource.dependencies)}


def test_the_execution_role_writes_the_transform_jobs_logs_and_metrics(deployment: Deployment) -> None:
    statements = _statements(deployment.one(ROLE_POLICY).inputs["policy"])
    assert statements["WriteTransformJobLogs"]["Resource"] == [LOG_GROUP, f"{LOG_GROUP}:*"]
    assert statements["PublishTransformJobMetrics"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": "/aws/sagemaker/TransformJobs"}
    }


def test_the_four_outputs_name_the_bucket_its_folders_and_the_callers_policy(deployment: Deployment) -> None:
    name = _batch(deployment, BUCKET).state["bucket"]
    exports = deployment.exports
    assert exports["batch_bucket"] == name
    assert exports["batch_input_url"] == f"s3://{name}/input/"
    assert exports["batch_output_url"] == f"s3://{name}/output/"
    assert "batch_policy_json" in exports and deployment.secret_exports == set()


def test_the_callers_policy_is_this_stacks_jobs_model_role_and_folders(deployment: Deployment) -> None:
    bucket = _batch(deployment, BUCKET).state["arn"]
    model = deployment.one(MODEL).state["arn"]
    role = deployment.one(ROLE).state["arn"]
    statements = _statements(deployment.exports["batch_policy_json"])
    assert statements["StartTransformJobsOnThisModel"] == {
        "Sid": "StartTransformJobsOnThisModel",
        "Effect": "Allow",
        "Action": "sagemaker:CreateTransformJob",
        "Resource": JOBS,
        "Condition": {
            "ArnEquals": {"sagemaker:ModelArn": model},
            "ForAllValues:StringEquals": {"sagemaker:InstanceTypes": ["ml.c5.xlarge"]},
        },
    }
    assert statements["TagTransformJobsOnCreate"]["Action"] == "sagemaker:AddTags"
    assert statements["TagTransformJobsOnCreate"]["Resource"] == JOBS
    assert statements["TagTransformJobsOnCreate"]["Condition"] == {
        "StringEquals": {"sagemaker:TaggingAction": "CreateTransformJob"}
    }
    assert statements["WatchTransformJobs"]["Action"] == [
        "sagemaker:DescribeTransformJob",
        "sagemaker:StopTransformJob",
    ]
    assert statements["WatchTransformJobs"]["Resource"] == JOBS
    assert (statements["FindTransformJobs"]["Action"], statements["FindTransformJobs"]["Resource"]) == (
        "sagemaker:ListTransformJobs",
        "*",
    )
    assert (statements["ReadModel"]["Action"], statements["ReadModel"]["Resource"]) == (
        ["sagemaker:DescribeModel", "sagemaker:ListTags"],
        model,
    )
    assert statements["PassExecutionRoleToSageMaker"] == {
        "Sid": "PassExecutionRoleToSageMaker",
        "Effect": "Allow",
        "Action": "iam:PassRole",
        "Resource": role,
        "Condition": {"StringEquals": {"iam:PassedToService": "sagemaker.amazonaws.com"}},
    }
    assert statements["ListBatchFolders"]["Resource"] == bucket
    assert statements["ListBatchFolders"]["Condition"] == {
        "StringLike": {"s3:prefix": ["input/", "input/*", "output/", "output/*"]}
    }
    assert statements["ReadWriteBatchObjects"]["Resource"] == [f"{bucket}/input/*", f"{bucket}/output/*"]
    assert sorted(statements["ReadWriteBatchObjects"]["Action"]) == [
        "s3:AbortMultipartUpload",
        "s3:GetObject",
        "s3:PutObject",
    ]
    assert statements["ReadTransformJobLogs"]["Resource"] == [LOG_GROUP, f"{LOG_GROUP}:*"]
    assert all(s["Effect"] == "Allow" for s in statements.values())
    star = {sid for sid, s in statements.items() if s["Resource"] == "*"}
    assert star == {"FindTransformJobs"}


def test_the_instance_type_given_is_the_one_the_policy_allows(deploy_component) -> None:
    deployment = deploy_component(_args(batch_transform=BatchTransform(instance_type="ml.m5.4xlarge")))
    condition = _statements(deployment.exports["batch_policy_json"])["StartTransformJobsOnThisModel"]["Condition"]
    assert condition["ForAllValues:StringEquals"] == {"sagemaker:InstanceTypes": ["ml.m5.4xlarge"]}


def test_without_batch_transform_nothing_of_it_exists(without: Deployment) -> None:
    assert not without.of_type(BATCH_STORE)
    assert not without.of_type(BUCKET_LIFECYCLE)
    [bucket] = without.of_type(BUCKET)
    assert bucket.parent == without.one(ARTIFACT_STORE).urn
    assert not BATCH_SIDS & set(_statements(without.one(ROLE_POLICY).inputs["policy"]))
    assert not set(BATCH_OUTPUTS) & set(without.exports)


def test_with_batch_transform_the_rest_is_unchanged(deployment: Deployment, without: Deployment) -> None:
    batch_types = [r.type for r in deployment.registrations if not _is_batch(deployment, r)]
    assert sorted(batch_types) == sorted(r.type for r in without.registrations)
    assert set(deployment.exports) - set(without.exports) == set(BATCH_OUTPUTS)


def _is_batch(deployment: Deployment, registration: Registration) -> bool:
    store = deployment.one(BATCH_STORE).urn
    return registration.urn == store or registration.parent == store


# ------------------------------------------------------------------------------------------------ the job-name prefix


@pytest.mark.parametrize(
    ("endpoint_name", "prefix"),
    [
        ("alex-embedding-endpoint", "alex-embedding-endpoint-batch-"),
        ("KB-Embeddings", "kb-embeddings-batch-"),
        ("a" * 32 + "-b" + "c" * 29, "a" * 32 + "-batch-"),  # cut at 33 characters, the trailing hyphen dropped
        ("x" * 63, "x" * 33 + "-batch-"),
    ],
)
def test_the_job_name_prefix_is_the_endpoint_name_lower_cased_and_cut(endpoint_name: str, prefix: str) -> None:
    assert batch_job_name_prefix(endpoint_name) == prefix
    rule = string_rule(("sagemaker", "TransformJobName"))
    job_name = prefix + "f" * (63 - len(prefix))
    assert 63 - len(prefix) >= 17
    assert rule.accepts(job_name) and java_pattern(rule.pattern or "").fullmatch(job_name)


# ------------------------------------------------------------------------------------------------------- grants


def test_grant_transform_job_gives_a_role_of_ones_own_the_two_prefixes() -> None:
    components: list[ServerlessEmbeddingEndpoint] = []

    def program() -> None:
        args = _args(
            batch_transform=BatchTransform(),
            execution_role_arn="arn:aws:iam::123456789012:role/service-role/my-sagemaker-role",
        )
        endpoint = ServerlessEmbeddingEndpoint("embedding", args)
        components.append(endpoint)
        assert endpoint.batch_store is not None
        endpoint.batch_store.grant_transform_job("my-role-batch", args.execution_role_arn or "")

    deployment = run_program(program, config={"aws:region": "us-east-1"})
    assert not deployment.of_type(ROLE)
    [grant] = deployment.of_type(ROLE_POLICY)
    assert grant.inputs["role"] == "my-sagemaker-role"
    assert grant.parent == deployment.one(BATCH_STORE).urn
    assert set(_statements(grant.inputs["policy"])) == {"ListBatchInput", "ReadBatchInput", "WriteBatchOutput"}
    assert isinstance(components[0].batch_store, BatchBucket)
    assert any("executionRoleArn" in w and "input/" in w and "output/" in w for w in deployment.warnings)


def test_grant_batch_attaches_the_callers_policy() -> None:
    def program() -> None:
        endpoint = ServerlessEmbeddingEndpoint("embedding", _args(batch_transform=BatchTransform()))
        endpoint.grant_batch("ci-runs-batch", "arn:aws:iam::123456789012:role/ci")

    deployment = run_program(program, config={"aws:region": "us-east-1"})
    grant = deployment.one_named("ci-runs-batch")
    assert grant.inputs["role"] == "ci"
    assert "StartTransformJobsOnThisModel" in _statements(grant.inputs["policy"])


def test_grant_batch_without_batch_transform_says_so() -> None:
    def program() -> None:
        ServerlessEmbeddingEndpoint("embedding", _args()).grant_batch("grant", "ci")

    with pytest.raises(ProgramFailed, match="grant_batch: this endpoint has no batch_transform settings"):
        run_program(program, config={"aws:region": "us-east-1"})


def test_the_children_are_public_attributes(deploy_component) -> None:
    components: list[ServerlessEmbeddingEndpoint] = []

    def program() -> None:
        components.append(ServerlessEmbeddingEndpoint("embedding", _args(batch_transform=BatchTransform())))

    run_program(program, config={"aws:region": "us-east-1"})
    store = components[0].batch_store
    assert isinstance(store, BatchBucket)
    assert isinstance(store.bucket, aws.s3.Bucket)
    assert isinstance(store.lifecycle, aws.s3.BucketLifecycleConfiguration)
    assert isinstance(store.bucket_policy, aws.s3.BucketPolicy)


# ---------------------------------------------------------------------------------------------------- validation


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (BatchTransform(expiry_days=0), "batch_transform.expiry_days 0 is out of range: use a whole number from 1"),
        (BatchTransform(expiry_days=True), "batch_transform.expiry_days True is a bool"),  # type: ignore[arg-type]
        (
            BatchTransform(instance_type="ml.c5.large"),
            "batch_transform.instance_type 'ml.c5.large' is not a SageMaker Batch Transform instance type",
        ),
        (
            BatchTransform(instance_type="ml.t3.medium"),
            "types of the API's TransformInstanceType list, e.g. ml.c5.xlarge",
        ),
    ],
)
def test_bad_batch_settings_are_refused_before_anything_exists(settings: BatchTransform, expected: str) -> None:
    problems = [p.render() for p in _args(batch_transform=settings).problems()]
    assert any(expected in p for p in problems), problems


# ------------------------------------------------------------------------------------------------- the stack's keys


def test_the_stack_key_creates_the_batch_bucket_with_its_settings(deploy_stack) -> None:
    deployment = deploy_stack(
        "dev",
        {
            "modelSource": "hub",
            "batchTransform": True,
            "batchTransformExpiryDays": 3,
            "batchTransformInstanceType": "ml.m5.xlarge",
        },
    )
    rules = _batch(deployment, BUCKET_LIFECYCLE).inputs["rules"]
    assert [rule["expiration"]["days"] for rule in rules] == [3, 3]
    policy = _statements(deployment.exports["batch_policy_json"])
    condition = policy["StartTransformJobsOnThisModel"]["Condition"]["ForAllValues:StringEquals"]
    assert condition == {"sagemaker:InstanceTypes": ["ml.m5.xlarge"]}
    assert set(BATCH_OUTPUTS) <= set(deployment.exports)


def test_the_dev_stack_has_no_batch_bucket(deploy_stack) -> None:
    deployment = deploy_stack("dev", {"modelSource": "hub"})
    assert not deployment.of_type(BATCH_STORE)
    assert not set(BATCH_OUTPUTS) & set(deployment.exports)


@pytest.mark.parametrize(
    ("settings", "expected"),
    [
        (
            {"batchTransform": True, "batchTransformExpiryDays": -2},
            "batchTransformExpiryDays -2 is out of range: use a whole number from 1 to 2147483647 (days before S3 "
            "deletes batch input and output, s3 Days)",
        ),
        ({"batchTransform": True, "batchTransformExpiryDays": "7.5"}, "batchTransformExpiryDays is '7.5'"),
        (
            {"batchTransform": True, "batchTransformInstanceType": "ml.c5.large"},
            "batchTransformInstanceType 'ml.c5.large' is not a SageMaker Batch Transform instance type",
        ),
        (
            {"batchTransformExpiryDays": 30},
            "batchTransformExpiryDays 30 is set but batchTransform is not true: there is no batch bucket for it to "
            "configure; remove batchTransformExpiryDays or set batchTransform true",
        ),
        (
            {"batchTransform": False, "batchTransformInstanceType": "ml.m5.xlarge"},
            "batchTransformInstanceType 'ml.m5.xlarge' is set but batchTransform is not true",
        ),
        ({"batchTransform": "sometimes"}, "batchTransform is 'sometimes': use true or false"),
    ],
)
def test_a_bad_batch_key_is_named_as_typed_and_nothing_is_registered(settings: dict[str, Any], expected: str) -> None:
    config = {**load_stack_config(PROJECT_DIR, "dev").values}
    config |= {f"alex-sagemaker:{key}": value for key, value in settings.items()}

    with pytest.raises(ProgramFailed) as failure:
        run_program(lambda: runpy.run_path(str(PROJECT_DIR / "__main__.py"), run_name="__main__"), config=config)

    assert isinstance(failure.value.cause, InvalidEndpointArgsError)
    assert expected in str(failure.value)
    assert failure.value.recorded == []
