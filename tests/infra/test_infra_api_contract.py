"""Replay what the program registers as the boto3 calls the provider makes, against the API's shapes and moto.

The mocks only echo our own inputs back; this layer asks AWS's published API definitions (patterns, lengths,
enums) and moto (IAM policy grammar; SageMaker's references between model, config and endpoint; Application
Auto Scaling's namespace/dimension/resource-id rules; CloudWatch alarms and dashboards; SNS; S3 buckets, their
settings and the uploaded artifact) whether the same requests would be accepted, for both endpoint types.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from moto import mock_aws

from components import (
    BatchTransform,
    InstancesVariant,
    Monitoring,
    ProvisionedConcurrencyScaling,
    ScalingSchedule,
    ServerlessEmbeddingEndpointArgs,
    ServerlessVariant,
)
from components.constants import batch_job_name_prefix
from tests.infra.api_shapes import violations
from tests.infra.pulumi_harness import (
    ARTIFACT_STORE,
    BATCH_STORE,
    BUCKET,
    BUCKET_ENCRYPTION,
    BUCKET_LIFECYCLE,
    BUCKET_OBJECT,
    BUCKET_OWNERSHIP_CONTROLS,
    BUCKET_POLICY,
    BUCKET_PUBLIC_ACCESS_BLOCK,
    DASHBOARD,
    ENDPOINT,
    ENDPOINT_CONFIG,
    METRIC_ALARM,
    MODEL,
    ROLE,
    ROLE_POLICY,
    SCALING_POLICY,
    SCALING_TARGET,
    SCHEDULED_ACTION,
    TOPIC,
    TOPIC_SUBSCRIPTION,
    Deployment,
    Registration,
)

MOTO_SERVICES = ("application-autoscaling", "cloudwatch", "sns", "s3")


def _client(service: str, region: str) -> Any:
    """A client of moto's, from a session of its own (tests/suite_speed.py shares botocore's parsed models).

    Checksums only where an operation requires them: otherwise PutObject streams the 83 MB archive as aws-chunked
    with a CRC trailer, which botocore encodes and moto decodes in pure Python (4 s of the test's 8).
    """
    return boto3.Session(region_name=region).client(
        service, config=Config(request_checksum_calculation="when_required")
    )


def _tags(inputs: dict[str, Any]) -> list[dict[str, str]]:
    return [{"Key": key, "Value": value} for key, value in sorted((inputs.get("tags") or {}).items())]


def _integer(value: float) -> int:
    """The engine carries numbers as doubles; the provider sends the schema's integers."""
    assert float(value).is_integer(), f"{value} is not a whole number"
    return int(value)


def create_role_request(deployment: Deployment) -> dict[str, Any]:
    role = deployment.one(ROLE)
    return {
        "RoleName": role.state["name"],
        "AssumeRolePolicyDocument": role.inputs["assumeRolePolicy"],
        "Description": role.inputs["description"],
        "Tags": _tags(role.inputs),
    }


def put_role_policy_request(deployment: Deployment) -> dict[str, Any]:
    policy = deployment.one(ROLE_POLICY)
    return {
        "RoleName": policy.inputs["role"],
        "PolicyName": policy.state["name"],
        "PolicyDocument": policy.inputs["policy"],
    }


def create_model_request(deployment: Deployment) -> dict[str, Any]:
    model = deployment.one(MODEL)
    container = model.inputs["primaryContainer"]
    return {
        "ModelName": model.state["name"],
        "ExecutionRoleArn": model.inputs["executionRoleArn"],
        "PrimaryContainer": {
            "Image": container["image"],
            "Mode": container["mode"],
            "Environment": container["environment"],
            **({"ModelDataUrl": container["modelDataUrl"]} if "modelDataUrl" in container else {}),
        },
        "Tags": _tags(model.inputs),
    }


def _production_variant(variant: dict[str, Any]) -> dict[str, Any]:
    request = {"VariantName": variant["variantName"], "ModelName": variant["modelName"]}
    if "serverlessConfig" in variant:
        serverless = variant["serverlessConfig"]
        request["ServerlessConfig"] = {
            "MemorySizeInMB": _integer(serverless["memorySizeInMb"]),
            "MaxConcurrency": _integer(serverless["maxConcurrency"]),
            **(
                {"ProvisionedConcurrency": _integer(serverless["provisionedConcurrency"])}
                if "provisionedConcurrency" in serverless
                else {}
            ),
        }
    else:
        request |= {
            "InstanceType": variant["instanceType"],
            "InitialInstanceCount": _integer(variant["initialInstanceCount"]),
            # The provider's schema default for an unset initial_variant_weight.
            "InitialVariantWeight": variant.get("initialVariantWeight", 1.0),
        }
    return request


def create_endpoint_config_request(deployment: Deployment) -> dict[str, Any]:
    config = deployment.one(ENDPOINT_CONFIG)
    return {
        "EndpointConfigName": config.state["name"],
        "ProductionVariants": [_production_variant(v) for v in config.inputs["productionVariants"]],
        "Tags": _tags(config.inputs),
    }


def create_endpoint_request(deployment: Deployment) -> dict[str, Any]:
    endpoint = deployment.one(ENDPOINT)
    return {
        "EndpointName": endpoint.inputs["name"],
        "EndpointConfigName": endpoint.inputs["endpointConfigName"],
        "Tags": _tags(endpoint.inputs),
    }


def scaling_requests(deployment: Deployment) -> list[tuple[str, str, dict[str, Any]]]:
    requests = []
    for target in deployment.of_type(SCALING_TARGET):
        inputs = target.inputs
        requests.append(
            (
                "application-autoscaling",
                "RegisterScalableTarget",
                {
                    "ServiceNamespace": inputs["serviceNamespace"],
                    "ResourceId": inputs["resourceId"],
                    "ScalableDimension": inputs["scalableDimension"],
                    "MinCapacity": _integer(inputs["minCapacity"]),
                    "MaxCapacity": _integer(inputs["maxCapacity"]),
                    "Tags": dict(inputs.get("tags") or {}),
                },
            )
        )
    for policy in deployment.of_type(SCALING_POLICY):
        inputs = policy.inputs
        tracking = inputs["targetTrackingScalingPolicyConfiguration"]
        requests.append(
            (
                "application-autoscaling",
                "PutScalingPolicy",
                {
                    "PolicyName": policy.state["name"],
                    "ServiceNamespace": inputs["serviceNamespace"],
                    "ResourceId": inputs["resourceId"],
                    "ScalableDimension": inputs["scalableDimension"],
                    "PolicyType": inputs["policyType"],
                    "TargetTrackingScalingPolicyConfiguration": {
                        "TargetValue": float(tracking["targetValue"]),
                        "PredefinedMetricSpecification": {
                            "PredefinedMetricType": tracking["predefinedMetricSpecification"]["predefinedMetricType"]
                        },
                        **{
                            key: _integer(tracking[name])
                            for key, name in (
                                ("ScaleInCooldown", "scaleInCooldown"),
                                ("ScaleOutCooldown", "scaleOutCooldown"),
                            )
                            if name in tracking
                        },
                    },
                },
            )
        )
    for action in deployment.of_type(SCHEDULED_ACTION):
        inputs = action.inputs
        bounds = inputs["scalableTargetAction"]
        requests.append(
            (
                "application-autoscaling",
                "PutScheduledAction",
                {
                    "ServiceNamespace": inputs["serviceNamespace"],
                    "ResourceId": inputs["resourceId"],
                    "ScalableDimension": inputs["scalableDimension"],
                    "ScheduledActionName": inputs["name"],
                    "Schedule": inputs["schedule"],
                    **({"Timezone": inputs["timezone"]} if "timezone" in inputs else {}),
                    "ScalableTargetAction": {
                        key: _integer(bounds[name])
                        for key, name in (("MinCapacity", "minCapacity"), ("MaxCapacity", "maxCapacity"))
                        if name in bounds
                    },
                },
            )
        )
    return requests


def _dimensions(dimensions: dict[str, str]) -> list[dict[str, str]]:
    return [{"Name": name, "Value": value} for name, value in sorted(dimensions.items())]


def _alarm_metric(inputs: dict[str, Any]) -> dict[str, Any]:
    """One metric with its statistic, or metric-math queries (the provider's `metric_query` blocks)."""
    if "metricQueries" not in inputs:
        statistic = (
            {"ExtendedStatistic": inputs["extendedStatistic"]}
            if "extendedStatistic" in inputs
            else {"Statistic": inputs["statistic"]}
        )
        return {
            "MetricName": inputs["metricName"],
            "Namespace": inputs["namespace"],
            **statistic,
            "Dimensions": _dimensions(inputs["dimensions"]),
            "Period": _integer(inputs["period"]),
        }
    queries = []
    for query in inputs["metricQueries"]:
        request: dict[str, Any] = {"Id": query["id"], "ReturnData": query.get("returnData", False)}
        if "expression" in query:
            request |= {"Expression": query["expression"], "Label": query["label"]}
        else:
            metric = query["metric"]
            request["MetricStat"] = {
                "Metric": {
                    "Namespace": metric["namespace"],
                    "MetricName": metric["metricName"],
                    "Dimensions": _dimensions(metric["dimensions"]),
                },
                "Period": _integer(metric["period"]),
                "Stat": metric["stat"],
            }
        queries.append(request)
    return {"Metrics": queries}


def monitoring_requests(deployment: Deployment) -> list[tuple[str, str, dict[str, Any]]]:
    requests: list[tuple[str, str, dict[str, Any]]] = []
    for topic in deployment.of_type(TOPIC):
        requests.append(("sns", "CreateTopic", {"Name": topic.state["name"], "Tags": _tags(topic.inputs)}))
    for subscription in deployment.of_type(TOPIC_SUBSCRIPTION):
        inputs = subscription.inputs
        requests.append(
            (
                "sns",
                "Subscribe",
                {
                    "TopicArn": inputs["topic"],
                    "Protocol": inputs["protocol"],
                    "Endpoint": inputs["endpoint"],
                    "ReturnSubscriptionArn": True,
                },
            )
        )
    for alarm in deployment.of_type(METRIC_ALARM):
        inputs = alarm.inputs
        requests.append(
            (
                "cloudwatch",
                "PutMetricAlarm",
                {
                    "AlarmName": inputs["name"],
                    "AlarmDescription": inputs["alarmDescription"],
                    "AlarmActions": inputs.get("alarmActions", []),
                    "OKActions": inputs.get("okActions", []),
                    **_alarm_metric(inputs),
                    "EvaluationPeriods": _integer(inputs["evaluationPeriods"]),
                    **(
                        {"DatapointsToAlarm": _integer(inputs["datapointsToAlarm"])}
                        if "datapointsToAlarm" in inputs
                        else {}
                    ),
                    "Threshold": float(inputs["threshold"]),
                    "ComparisonOperator": inputs["comparisonOperator"],
                    "TreatMissingData": inputs["treatMissingData"],
                    "Tags": _tags(inputs),
                },
            )
        )
    for dashboard in deployment.of_type(DASHBOARD):
        requests.append(
            (
                "cloudwatch",
                "PutDashboard",
                {
                    "DashboardName": dashboard.inputs["dashboardName"],
                    "DashboardBody": dashboard.inputs["dashboardBody"],
                },
            )
        )
    return requests


def _child(deployment: Deployment, store: str, type_token: str) -> Registration:
    """The one resource of `type_token` under the store component `store` (the artifact store or the batch bucket)."""
    [parent] = [r.urn for r in deployment.of_type(store)]
    [found] = [r for r in deployment.of_type(type_token) if r.parent == parent]
    return found


def private_bucket_requests(deployment: Deployment, store: str) -> list[tuple[str, str, dict[str, Any]]]:
    """The bucket of a store component and the settings that make it private, as the provider creates them."""
    bucket_registration = _child(deployment, store, BUCKET)
    bucket = bucket_registration.state
    name, region = bucket["bucket"], bucket["region"]
    block = _child(deployment, store, BUCKET_PUBLIC_ACCESS_BLOCK).inputs
    ownership = _child(deployment, store, BUCKET_OWNERSHIP_CONTROLS).inputs
    rules = _child(deployment, store, BUCKET_ENCRYPTION).inputs["rules"]
    encryption = rules[0]["applyServerSideEncryptionByDefault"]
    return [
        (
            "s3",
            "CreateBucket",
            {"Bucket": name}
            if region == "us-east-1"
            else {"Bucket": name, "CreateBucketConfiguration": {"LocationConstraint": region}},
        ),
        ("s3", "PutBucketTagging", {"Bucket": name, "Tagging": {"TagSet": _tags(bucket_registration.inputs)}}),
        (
            "s3",
            "PutPublicAccessBlock",
            {
                "Bucket": name,
                "PublicAccessBlockConfiguration": {
                    "BlockPublicAcls": block["blockPublicAcls"],
                    "IgnorePublicAcls": block["ignorePublicAcls"],
                    "BlockPublicPolicy": block["blockPublicPolicy"],
                    "RestrictPublicBuckets": block["restrictPublicBuckets"],
                },
            },
        ),
        (
            "s3",
            "PutBucketOwnershipControls",
            {
                "Bucket": name,
                "OwnershipControls": {"Rules": [{"ObjectOwnership": ownership["rule"]["objectOwnership"]}]},
            },
        ),
        (
            "s3",
            "PutBucketEncryption",
            {
                "Bucket": name,
                "ServerSideEncryptionConfiguration": {
                    "Rules": [{"ApplyServerSideEncryptionByDefault": {"SSEAlgorithm": encryption["sseAlgorithm"]}}]
                },
            },
        ),
        (
            "s3",
            "PutBucketPolicy",
            {"Bucket": name, "Policy": _child(deployment, store, BUCKET_POLICY).inputs["policy"]},
        ),
    ]


def artifact_bucket_requests(deployment: Deployment) -> list[tuple[str, str, dict[str, Any]]]:
    if not deployment.of_type(ARTIFACT_STORE):
        return []
    obj = deployment.one(BUCKET_OBJECT).inputs
    return [
        *private_bucket_requests(deployment, ARTIFACT_STORE),
        (
            "s3",
            "PutObject",
            {
                "Bucket": obj["bucket"],
                "Key": obj["key"],
                "Body": Path(obj["source"].path).read_bytes(),
                "ContentType": obj["contentType"],
            },
        ),
    ]


def batch_bucket_requests(deployment: Deployment) -> list[tuple[str, str, dict[str, Any]]]:
    """With batchTransform: the batch bucket, its protections and its expiry rules."""
    if not deployment.of_type(BATCH_STORE):
        return []
    lifecycle = _child(deployment, BATCH_STORE, BUCKET_LIFECYCLE).inputs
    rules = [
        {
            "ID": rule["id"],
            "Status": rule["status"],
            "Filter": {"Prefix": rule["filter"]["prefix"]},
            "Expiration": {"Days": _integer(rule["expiration"]["days"])},
            "AbortIncompleteMultipartUpload": {
                "DaysAfterInitiation": _integer(rule["abortIncompleteMultipartUpload"]["daysAfterInitiation"])
            },
        }
        for rule in lifecycle["rules"]
    ]
    return [
        *private_bucket_requests(deployment, BATCH_STORE),
        (
            "s3",
            "PutBucketLifecycleConfiguration",
            {"Bucket": lifecycle["bucket"], "LifecycleConfiguration": {"Rules": rules}},
        ),
    ]


def batch_policy_requests(deployment: Deployment) -> list[tuple[str, str, dict[str, Any]]]:
    if "batch_policy_json" not in deployment.exports:
        return []
    return [("iam", "CreatePolicy", {"PolicyName": "batch", "PolicyDocument": deployment.exports["batch_policy_json"]})]


def every_request(deployment: Deployment) -> list[tuple[str, str, dict[str, Any]]]:
    """The calls the provider makes for this deployment, in the order the engine would create things."""
    return [
        *artifact_bucket_requests(deployment),
        *batch_bucket_requests(deployment),
        ("iam", "CreateRole", create_role_request(deployment)),
        ("iam", "PutRolePolicy", put_role_policy_request(deployment)),
        ("sagemaker", "CreateModel", create_model_request(deployment)),
        ("sagemaker", "CreateEndpointConfig", create_endpoint_config_request(deployment)),
        ("sagemaker", "CreateEndpoint", create_endpoint_request(deployment)),
        *scaling_requests(deployment),
        *monitoring_requests(deployment),
        ("iam", "CreatePolicy", {"PolicyName": "invoke", "PolicyDocument": deployment.exports["invoke_policy_json"]}),
        *batch_policy_requests(deployment),
    ]


# Only "defaults" packs the model (83 MB): the others use the Hub source, whose archive holds code/ alone.
ARGS: dict[str, Callable[[Path], ServerlessEmbeddingEndpointArgs]] = {
    "defaults": lambda _: ServerlessEmbeddingEndpointArgs(region="us-east-1"),
    "every option": lambda build_dir: ServerlessEmbeddingEndpointArgs(
        region="eu-west-1",
        endpoint_name="kb-embeddings-" + "x" * 49,
        model_source="hub",
        model_id="BAAI/bge-small-en-v1.5",
        model_revision="5c38ec7c405ec4b44b94cc5a9bb96e735b38267a",
        precision="bf16",
        serverless=ServerlessVariant(memory_size_mb=6144, max_concurrency=200, provisioned_concurrency=200),
        monitoring=Monitoring(alarm_email="ops@example.com"),
        batch_transform=BatchTransform(expiry_days=30, instance_type="ml.m5.xlarge"),
        artifact_build_dir=build_dir,
        tags={"cost-center": "kb", "café": "naïve"},
    ),
    "china, the tutorial's setup": lambda _: ServerlessEmbeddingEndpointArgs(
        region="cn-north-1",
        model_source="hub",
        pooling="client",
        serverless=ServerlessVariant(memory_size_mb=1024, max_concurrency=1),
    ),
    "instances, hub, client pooling": lambda _: ServerlessEmbeddingEndpointArgs(
        region="eu-west-1",
        model_source="hub",
        pooling="client",
        # moto's own instance-type list stops at ml.c5 (botocore's, checked above, has ml.c6i and newer).
        instances=InstancesVariant(instance_type="ml.c5.xlarge", min_instances=2, max_instances=5),
        monitoring=Monitoring(alarm_email="ops@example.com"),
        tags={"cost-center": "kb"},
    ),
    "serverless, provisioned concurrency following the day": lambda _: ServerlessEmbeddingEndpointArgs(
        region="eu-west-2",
        model_source="hub",
        pooling="client",
        serverless=ServerlessVariant(
            max_concurrency=6,
            provisioned_concurrency=1,
            provisioned_concurrency_scaling=ProvisionedConcurrencyScaling(
                min=1,
                max=4,
                target_utilization=0.6,
                schedules=[
                    ScalingSchedule("office-hours", "cron(0 8 ? * MON-FRI *)", "Europe/London", min=2, max=6),
                    ScalingSchedule("night", "cron(0 19 ? * MON-FRI *)", "Europe/London", min=1, max=1),
                    ScalingSchedule("launch day", "at(2027-03-01T07:30:00)", max=6),
                ],
            ),
        ),
        monitoring=Monitoring(alarm_email="ops@example.com"),
    ),
    "instances, hub, server pooling": lambda build_dir: ServerlessEmbeddingEndpointArgs(
        region="eu-west-1",
        model_source="hub",
        instances=InstancesVariant(),
        artifact_build_dir=build_dir,
        tags={"cost-center": "kb"},
    ),
}


@pytest.fixture(params=list(ARGS), ids=list(ARGS))
def deployment(request: pytest.FixtureRequest, deploy_component, tmp_path: Path) -> Deployment:
    args = ARGS[request.param](tmp_path)
    return deploy_component(args, region=args.region)


@pytest.fixture
def aws_api(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for variable in list(os.environ):
        if variable == "AWS_PROFILE" or variable.startswith("AWS_ENDPOINT_URL"):
            monkeypatch.delenv(variable)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    with mock_aws():
        yield


def test_every_request_satisfies_the_api_shapes(deployment: Deployment) -> None:
    for service, operation, params in every_request(deployment):
        assert violations(service, operation, params) == [], f"{service}:{operation}"


def test_the_shape_check_catches_what_botocore_lets_through() -> None:
    """Guard for the check itself: these pass botocore's own validation but AWS would refuse them."""
    bad = {
        "EndpointConfigName": "has_underscore",
        "ProductionVariants": [
            {
                "VariantName": "AllTraffic",
                "ModelName": "m",
                "ServerlessConfig": {"MemorySizeInMB": 512, "MaxConcurrency": 201},
            },
            {"VariantName": "Instances", "ModelName": "m", "InstanceType": "ml.t3.medium", "InitialInstanceCount": 0},
        ],
    }
    found = violations("sagemaker", "CreateEndpointConfig", bad)
    variants = "productionVariants.{}.member"
    expected = [
        "Value 'has_underscore' at 'endpointConfigName' failed to satisfy constraint: Member must satisfy regular "
        "expression pattern: ",
        f"Value '512' at '{variants.format(1)}.serverlessConfig.memorySizeInMB' failed to satisfy constraint: Member "
        "must have value greater than or equal to 1024",
        f"Value '201' at '{variants.format(1)}.serverlessConfig.maxConcurrency' failed to satisfy constraint: Member "
        "must have value less than or equal to 200",
        f"Value 'ml.t3.medium' at '{variants.format(2)}.instanceType' failed to satisfy constraint: Member must "
        "satisfy enum value set: [",
        f"Value '0' at '{variants.format(2)}.initialInstanceCount' failed to satisfy constraint: Member must have "
        "value greater than or equal to 1",
    ]
    assert [next((v for v in found if v.startswith(e)), None) is not None for e in expected] == [True] * len(expected)
    assert len(found) == len(expected), found
    alarm = {"AlarmName": "a", "ComparisonOperator": "Bigger", "TreatMissingData": "x" * 256, "Treshold": 1.0}
    found = violations("cloudwatch", "PutMetricAlarm", alarm)
    assert found == [
        "Value 'Bigger' at 'comparisonOperator' failed to satisfy constraint: Member must satisfy enum value set: "
        "[GreaterThanOrEqualToThreshold, GreaterThanThreshold, LessThanThreshold, LessThanOrEqualToThreshold, "
        "LessThanLowerOrGreaterThanUpperThreshold, LessThanLowerThreshold, GreaterThanUpperThreshold]",
        f"Value '{'x' * 256}' at 'treatMissingData' failed to satisfy constraint: Member must have length less than or "
        "equal to 255",
        "Member 'treshold' is not in PutMetricAlarmInput",
    ]
    assert violations("sagemaker", "CreateEndpointConfig", {**bad, "EndpointConfigName": 7}) == [
        "CreateEndpointConfig: endpointConfigName must be a string"
    ]


def test_java_patterns_with_surrogate_pairs_are_checked_as_java_reads_them() -> None:
    """Application Auto Scaling's strings are XML-safe: `[\\u0020-\\uD7FF\\uE000-\\uFFFD\\uD800\\uDC00-\\uDBFF\\uDFFF
    \\r\\n\\t]*`, the last range a surrogate pair that Java reads as U+10000-U+10FFFF, which Python's `re` cannot
    compile."""
    action = {
        "ServiceNamespace": "sagemaker",
        "ScheduledActionName": "office-hours",
        "ResourceId": "endpoint/e/variant/AllTraffic",
        "ScalableDimension": "sagemaker:variant:DesiredProvisionedConcurrency",
        "Schedule": "cron(0 8 ? * MON-FRI *)",
        "Timezone": "Europe/London \U0001f600",
    }
    assert violations("application-autoscaling", "PutScheduledAction", action) == []
    found = violations("application-autoscaling", "PutScheduledAction", {**action, "Timezone": "Europe/London\x00"})
    assert len(found) == 1 and found[0].startswith("Value 'Europe/London\x00' at 'timezone' failed to satisfy"), found


def test_moto_accepts_the_whole_chain_and_the_references_line_up(aws_api: None, deployment: Deployment) -> None:
    region = deployment.exports["region"]
    iam = _client("iam", region)
    sagemaker = _client("sagemaker", region)
    clients = {service: _client(service, region) for service in MOTO_SERVICES}

    role = iam.create_role(**create_role_request(deployment))["Role"]
    iam.put_role_policy(**put_role_policy_request(deployment))  # moto checks the policy grammar
    iam.create_policy(PolicyName="invoke-embeddings", PolicyDocument=deployment.exports["invoke_policy_json"])
    assert create_model_request(deployment)["ExecutionRoleArn"] == role["Arn"] == deployment.exports["role_arn"]

    # moto enforces a bucket policy but ignores its Condition, so the TLS-only Deny would refuse moto's own
    # requests: the policy goes on last here, after the object has been written and read back.
    bucket_requests = [*artifact_bucket_requests(deployment), *batch_bucket_requests(deployment)]
    for service, operation, params in [r for r in bucket_requests if r[1] != "PutBucketPolicy"]:
        clients[service]._make_api_call(operation, params)
    _check_artifact(clients["s3"], deployment)
    _check_batch_bucket(clients["s3"], deployment)
    for _, _, params in batch_policy_requests(deployment):
        iam.create_policy(**params)  # moto checks the policy grammar
    for service, operation, params in [r for r in bucket_requests if r[1] == "PutBucketPolicy"]:
        clients[service]._make_api_call(operation, params)
        assert clients["s3"].get_bucket_policy(Bucket=params["Bucket"])["Policy"] == params["Policy"]
    sagemaker.create_model(**create_model_request(deployment))
    sagemaker.create_endpoint_config(**create_endpoint_config_request(deployment))  # moto checks the model exists
    sagemaker.create_endpoint(**create_endpoint_request(deployment))  # and that the config exists
    for service, operation, params in _as_moto_implements(clients, scaling_requests(deployment)):
        clients[service]._make_api_call(operation, params)
    for service, operation, params in monitoring_requests(deployment):
        clients[service]._make_api_call(operation, params)

    described = sagemaker.describe_endpoint(EndpointName=deployment.exports["endpoint_name"])
    assert described["EndpointConfigName"] == deployment.exports["endpoint_config_name"]
    # The invoke policy names the endpoint exactly as AWS reports its ARN (SageMaker lower-cases the name).
    invoke_resource = json.loads(deployment.exports["invoke_policy_json"])["Statement"][0]["Resource"]
    assert invoke_resource.lower() == described["EndpointArn"].lower() == deployment.exports["endpoint_arn"]
    model = sagemaker.describe_model(ModelName=deployment.exports["model_name"])
    image_region = model["PrimaryContainer"]["Image"].split(".")[3]
    assert image_region == region, "SageMaker refuses images from another region"
    _check_scaling(clients["application-autoscaling"], deployment)
    _check_monitoring(clients["cloudwatch"], clients["sns"], deployment)
    if deployment.of_type(BUCKET_OBJECT):
        assert model["PrimaryContainer"]["ModelDataUrl"] == deployment.exports["model_data_url"]
    else:
        assert "ModelDataUrl" not in model["PrimaryContainer"]


# moto 5.2.5's ScalableDimension enum predates serverless provisioned concurrency (botocore's has it, checked by
# test_every_request_satisfies_the_api_shapes); moto checks everything else the same for either variant dimension.
PROVISIONED_CONCURRENCY_DIMENSION = "sagemaker:variant:DesiredProvisionedConcurrency"
MOTO_VARIANT_DIMENSION = "sagemaker:variant:DesiredInstanceCount"


def _as_moto_implements(
    clients: dict[str, Any], requests: list[tuple[str, str, dict[str, Any]]]
) -> list[tuple[str, str, dict[str, Any]]]:
    """The requests, with the provisioned-concurrency dimension swapped for the variant dimension moto knows, once
    moto is seen to refuse that dimension and only it (when moto learns it, this stops swapping and says so)."""
    if not any(params.get("ScalableDimension") == PROVISIONED_CONCURRENCY_DIMENSION for _, _, params in requests):
        return requests
    service, operation, params = requests[0]
    with pytest.raises(clients[service].exceptions.ValidationException, match=r"scalableDimension.*enum value set"):
        clients[service]._make_api_call(operation, params)
    return [(s, o, {**p, "ScalableDimension": MOTO_VARIANT_DIMENSION}) for s, o, p in requests]


def _check_scaling(autoscaling: Any, deployment: Deployment) -> None:
    targets = autoscaling.describe_scalable_targets(ServiceNamespace="sagemaker")["ScalableTargets"]
    if not deployment.of_type(SCALING_TARGET):
        assert targets == []
        return
    (target,) = targets
    assert target["ResourceId"] == f"endpoint/{deployment.exports['endpoint_name']}/variant/AllTraffic"
    (policy,) = autoscaling.describe_scaling_policies(ServiceNamespace="sagemaker")["ScalingPolicies"]
    assert policy["ResourceId"] == target["ResourceId"]
    tracking = policy["TargetTrackingScalingPolicyConfiguration"]
    metric = tracking["PredefinedMetricSpecification"]["PredefinedMetricType"]
    actions = autoscaling.describe_scheduled_actions(ServiceNamespace="sagemaker")["ScheduledActions"]
    assert sorted(a["ScheduledActionName"] for a in actions) == sorted(
        a.inputs["name"] for a in deployment.of_type(SCHEDULED_ACTION)
    )
    assert all(a["ResourceId"] == target["ResourceId"] for a in actions)
    if deployment.one(SCALING_TARGET).inputs["scalableDimension"] == PROVISIONED_CONCURRENCY_DIMENSION:
        assert metric == "SageMakerVariantProvisionedConcurrencyUtilization"
        assert actions
    else:
        assert metric == "SageMakerVariantInvocationsPerInstance"


def _check_monitoring(cloudwatch: Any, sns: Any, deployment: Deployment) -> None:
    alarms = cloudwatch.describe_alarms()["MetricAlarms"]
    assert sorted(a["AlarmName"] for a in alarms) == sorted(a.inputs["name"] for a in deployment.of_type(METRIC_ALARM))
    topics = [t["TopicArn"] for t in sns.list_topics()["Topics"]]
    for alarm in alarms:
        assert alarm["AlarmActions"] == topics, "every alarm notifies the topic, or there is none"
    dashboards = [d["DashboardName"] for d in cloudwatch.list_dashboards()["DashboardEntries"]]
    assert dashboards == [d.inputs["dashboardName"] for d in deployment.of_type(DASHBOARD)]
    assert all(t.state["arn"] in topics for t in deployment.of_type(TOPIC))


def _check_artifact(s3: Any, deployment: Deployment) -> None:
    if not deployment.of_type(BUCKET_OBJECT):
        return
    bucket = _child(deployment, ARTIFACT_STORE, BUCKET).state["bucket"]
    block = s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"]
    assert all(block.values()) and len(block) == 4
    rules = s3.get_bucket_ownership_controls(Bucket=bucket)["OwnershipControls"]["Rules"]
    assert rules == [{"ObjectOwnership": "BucketOwnerEnforced"}]
    url = create_model_request(deployment)["PrimaryContainer"]["ModelDataUrl"]
    assert url.startswith(f"s3://{bucket}/")
    stored = s3.get_object(Bucket=bucket, Key=url.removeprefix(f"s3://{bucket}/"))["Body"].read()
    assert stored == Path(deployment.one(BUCKET_OBJECT).inputs["source"].path).read_bytes()
    read = next(
        s
        for s in json.loads(deployment.one(ROLE_POLICY).inputs["policy"])["Statement"]
        if s.get("Sid") == "ReadModelArtifact"
    )
    assert read["Resource"] == f"arn:aws:s3:::{url.removeprefix('s3://')}"


def _check_batch_bucket(s3: Any, deployment: Deployment) -> None:
    if not deployment.of_type(BATCH_STORE):
        assert "batch_bucket" not in deployment.exports
        return
    bucket = deployment.exports["batch_bucket"]
    assert all(s3.get_public_access_block(Bucket=bucket)["PublicAccessBlockConfiguration"].values())
    encryption = s3.get_bucket_encryption(Bucket=bucket)["ServerSideEncryptionConfiguration"]["Rules"]
    assert encryption[0]["ApplyServerSideEncryptionByDefault"]["SSEAlgorithm"] == "AES256"
    rules = s3.get_bucket_lifecycle_configuration(Bucket=bucket)["Rules"]
    assert sorted((rule["Filter"]["Prefix"], rule["Expiration"]["Days"]) for rule in rules) == [
        ("input/", 30),
        ("output/", 30),
    ]


def test_a_job_name_with_the_stacks_prefix_is_one_sagemaker_accepts(deploy_component, tmp_path: Path) -> None:
    """The runner names its jobs `<prefix><16 hex digits>`, and a follow-up job `<name>-r<n>`; with the longest
    endpoint name ("every option" has a 63-character one) such a name still fits, and the request passes
    CreateTransformJob's shapes with the stack's model, folders and instance type."""
    args = ARGS["every option"](tmp_path)
    deployment = deploy_component(args, region=args.region)
    prefix = batch_job_name_prefix(deployment.exports["endpoint_name"])
    request = {
        "TransformJobName": prefix + "0123456789abcdef" + "-r99",
        "ModelName": deployment.exports["model_name"],
        "TransformInput": {
            "DataSource": {"S3DataSource": {"S3DataType": "S3Prefix", "S3Uri": deployment.exports["batch_input_url"]}},
            "ContentType": "application/jsonlines",
            "SplitType": "Line",
        },
        "TransformOutput": {"S3OutputPath": deployment.exports["batch_output_url"], "AssembleWith": "Line"},
        "TransformResources": {"InstanceType": "ml.m5.xlarge", "InstanceCount": 2},
    }
    assert len(request["TransformJobName"]) <= 63
    assert violations("sagemaker", "CreateTransformJob", request) == []
    statement = json.loads(deployment.exports["batch_policy_json"])["Statement"][0]
    assert statement["Resource"].endswith(f":transform-job/{prefix}*")
