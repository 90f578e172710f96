"""The ServerlessEmbeddingEndpoint component in a program of your own.

One endpoint sized for bulk ingest, with an alarm email; a Lambda role allowed to call it and nothing else; an alarm
of your own on the metric the built-in latency alarm reads; and a second endpoint in another region, through an
explicit provider. `pulumi up` in this folder deploys it (tests/examples run it under Pulumi's mocks).
"""

from __future__ import annotations

import json

import pulumi
import pulumi_aws as aws

from components import Monitoring, ServerlessEmbeddingEndpoint, ServerlessEmbeddingEndpointArgs, ServerlessVariant

embeddings = ServerlessEmbeddingEndpoint(
    "embedding",
    ServerlessEmbeddingEndpointArgs(
        serverless=ServerlessVariant(memory_size_mb=4096, max_concurrency=4),
        monitoring=Monitoring(alarm_email="ops@example.com"),
        tags={"team": "knowledge-base"},
    ),
)

# The ingest Lambda's role may invoke this endpoint and nothing else (a Role, its name or its ARN will do).
ingest_role = aws.iam.Role(
    "ingest",
    assume_role_policy=json.dumps(
        {
            "Version": "2012-10-17",
            "Statement": [
                {"Effect": "Allow", "Principal": {"Service": "lambda.amazonaws.com"}, "Action": "sts:AssumeRole"}
            ],
        }
    ),
)
embeddings.grant_invoke("ingest-invokes-embeddings", ingest_role)

# p99 of the time in the container above 2 s (ModelLatency is in microseconds), on the built-in alarms' metric.
aws.cloudwatch.MetricAlarm(
    "embedding-latency-p99",
    **embeddings.metric_model_latency("p99").alarm_args(),
    comparison_operator="GreaterThanThreshold",
    threshold=2_000_000,
    evaluation_periods=3,
    treat_missing_data="notBreaching",
)

# The same endpoint in Europe: the component asks the provider for its region and takes the image from there.
europe = aws.Provider("europe", region="eu-west-1")
embeddings_eu = ServerlessEmbeddingEndpoint(
    "embedding-eu",
    ServerlessEmbeddingEndpointArgs(endpoint_name="alex-embedding-endpoint-eu", monitoring=None),
    pulumi.ResourceOptions(provider=europe),
)

pulumi.export("endpoint_name", embeddings.endpoint_name)
pulumi.export("endpoint_name_eu", embeddings_eu.endpoint_name)
pulumi.export("invoke_policy_json", embeddings.invoke_policy_json)
