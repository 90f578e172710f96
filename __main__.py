"""Part 2 of the knowledge base: the embedding endpoint, configured per stack.

Later parts read the exports below (`pulumi stack output`, `pulumi.StackReference`) instead of hard-coding
names, so every export is part of this stack's contract. The optional ones exist only when their feature is on.
"""

from __future__ import annotations

import pulumi

from components import ServerlessEmbeddingEndpoint
from components.stack_settings import endpoint_args_from_config

endpoint = ServerlessEmbeddingEndpoint("embedding", endpoint_args_from_config(pulumi.Config()))

pulumi.export("endpoint_name", endpoint.endpoint_name)
pulumi.export("endpoint_arn", endpoint.endpoint_arn)
pulumi.export("region", endpoint.region)
pulumi.export("model_name", endpoint.model_name)
pulumi.export("endpoint_config_name", endpoint.endpoint_config_name)
pulumi.export("role_arn", endpoint.role_arn)
pulumi.export("image_uri", endpoint.image_uri)
pulumi.export("invoke_policy_json", endpoint.invoke_policy_json)
pulumi.export("endpoint_type", endpoint.endpoint_type)
pulumi.export("pooling", endpoint.pooling)
# Only when monitoring is on / an alarm email is set / pooling is server.
for key in ("dashboard_url", "alarm_topic_arn", "model_artifact_bucket", "model_data_url"):
    if getattr(endpoint, key) is not None:
        pulumi.export(key, getattr(endpoint, key))
