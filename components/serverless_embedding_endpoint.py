"""A SageMaker endpoint (serverless or instance-backed) that turns text into sentence embeddings.

One component owns the whole chain (execution role -> model -> endpoint configuration -> endpoint, then
autoscaling and monitoring, and the model artifact's store) so that later parts depend on a single, validated
thing, and a second region is just a second instance with another provider.

The class keeps its name and type token although it also builds instance endpoints: the token is part of every
child's URN, and a new one would make Pulumi replace the live endpoint.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple

import pulumi
import pulumi_aws as aws

from components import monitoring, policies, provisioned_scaling
from components.artifact_store import ModelArtifactStore
from components.batch_bucket import BatchBucket, role_name_of
from components.constants import SCALABLE_DIMENSION, SCALING_METRIC, TYPE_TOKEN, VARIANT_NAME, batch_job_name_prefix
from components.endpoint_args import Monitoring, ServerlessEmbeddingEndpointArgs
from components.endpoint_plan import plan_endpoint
from components.monitoring import Metric, endpoint_metric
from components.outputs import STACK_OUTPUTS
from components.regions import partition_of


class ExecutionRole(NamedTuple):
    """The role the container runs as: created here (`role`, `policy`) or the caller's (both None)."""

    arn: pulumi.Input[str]
    role: aws.iam.Role | None
    policy: aws.iam.RolePolicy | None


class Alarms(NamedTuple):
    alarms: dict[str, aws.cloudwatch.MetricAlarm]
    topic: aws.sns.Topic | None
    subscription: aws.sns.TopicSubscription | None
    dashboard: aws.cloudwatch.Dashboard


class ServerlessEmbeddingEndpoint(pulumi.ComponentResource):
    """The embedding endpoint and everything it needs; children are public attributes, None when not created.

    Children: `artifact_store` (a `ModelArtifactStore`, when a model.tar.gz is built), `batch_store` (a
    `BatchBucket`, with `batch_transform`), `role` and `execution_policy` (None with your own role), `model`,
    `endpoint_config`, `endpoint`; instances, or serverless with `provisioned_concurrency_scaling`: `scaling_target`,
    `scaling_policy`, and the latter's `scheduled_actions` (a list); monitoring: `alarms` (by key), `alarm_topic`
    and `alarm_subscription` (with
    an email), `dashboard`. `plan` holds what was decided before anything was registered (region, image, model
    files, the built artifact). Outputs: the names of `components.outputs.STACK_OUTPUTS`, as attributes and in
    `outputs`.
    """

    def __init__(
        self, name: str, args: ServerlessEmbeddingEndpointArgs, opts: pulumi.ResourceOptions | None = None
    ) -> None:
        self.plan = plan_endpoint(name, args, opts)  # raises before anything is registered
        self.args = args
        super().__init__(TYPE_TOKEN, name, None, opts)
        for warning in self.plan.warnings:
            pulumi.log.warn(warning, resource=self)
        region, tags = self.plan.region, self._tags(name, args)

        self.artifact_store = self._artifact_store(name, region, tags)
        self.batch_store = self._batch_store(name, region, tags)
        execution = self._execution_role(name, args, region, tags)
        self.role, self.execution_policy = execution.role, execution.policy
        self.model = self._model(name, execution, region, tags)
        self.endpoint_config = self._endpoint_config(name, args, region, tags)
        self.endpoint = self._endpoint(name, args, region, tags)
        scaling = self._autoscaling(name, args, region, tags)
        self.scaling_target: aws.appautoscaling.Target | None = scaling.target if scaling else None
        self.scaling_policy: aws.appautoscaling.Policy | None = scaling.policy if scaling else None
        self.scheduled_actions = scaling.scheduled_actions if scaling else []
        watch = self._monitoring(name, args, args.monitoring, region, tags) if args.monitoring is not None else None
        self.alarms = watch.alarms if watch else {}
        self.alarm_topic, self.alarm_subscription = (watch.topic, watch.subscription) if watch else (None, None)
        self.dashboard = watch.dashboard if watch else None

        self._set_outputs(execution)
        self.register_outputs(self.outputs)

    # --- the chain ---------------------------------------------------------------------------------------------

    @staticmethod
    def _tags(name: str, args: ServerlessEmbeddingEndpointArgs) -> dict[str, str]:
        return {"project": pulumi.get_project(), "stack": pulumi.get_stack(), "component": name, **args.tags}

    def _child(self, *depends_on: pulumi.Resource) -> pulumi.ResourceOptions:
        return pulumi.ResourceOptions(parent=self, depends_on=list(depends_on) or None)

    def _artifact_store(self, name: str, region: str, tags: Mapping[str, str]) -> ModelArtifactStore | None:
        if self.plan.artifact is None:
            return None  # and pulumi_aws.s3 (a quarter of a second to import) is never loaded
        return ModelArtifactStore(
            name, self.plan.artifact, region=region, tags=tags, former_parent=self, opts=self._child()
        )

    def _batch_store(self, name: str, region: str, tags: Mapping[str, str]) -> BatchBucket | None:
        if self.args.batch_transform is None:
            return None
        return BatchBucket(name, self.args.batch_transform, region=region, tags=tags, opts=self._child())

    def _execution_role(
        self, name: str, args: ServerlessEmbeddingEndpointArgs, region: str, tags: Mapping[str, str]
    ) -> ExecutionRole:
        """The caller's role as is, or a least-privilege one that the model waits for."""
        if args.execution_role_arn is not None:
            return ExecutionRole(args.execution_role_arn, None, None)
        account_id = aws.get_caller_identity(opts=pulumi.InvokeOptions(parent=self)).account_id
        role = aws.iam.Role(
            f"{name}-role",
            description=f"SageMaker execution role of the {args.endpoint_name} embedding endpoint",
            assume_role_policy=policies.to_json(policies.sagemaker_trust_policy()),
            tags=dict(tags),
            opts=self._child(),
        )
        document = policies.execution_policy(
            image=self.plan.image,
            partition=partition_of(region),
            region=region,
            account_id=account_id,
            endpoint_name=args.endpoint_name,
            model_artifact_arn=self.artifact_store.object_arn if self.artifact_store else None,
            batch_bucket_arn=self.batch_store.arn if self.batch_store else None,
            extra_statements=args.execution_role_statements,
        )
        policy = aws.iam.RolePolicy(
            f"{name}-execution", role=role.id, policy=policies.to_json_output(document), opts=self._child()
        )
        return ExecutionRole(role.arn, role, policy)

    def _model(self, name: str, execution: ExecutionRole, region: str, tags: Mapping[str, str]) -> aws.sagemaker.Model:
        """CreateModel only checks that the role can be assumed; pulling the image needs the policy as well, so the
        model (and with it the configuration and the endpoint) waits until the policy is attached."""
        container = aws.sagemaker.ModelPrimaryContainerArgs(
            image=self.plan.image.uri,
            mode="SingleModel",
            environment=self.plan.environment,
            model_data_url=self.artifact_store.model_data_url if self.artifact_store else None,
        )
        secret = self.args.hf_token is not None and self.args.model_source == "hub"
        return aws.sagemaker.Model(
            f"{name}-model",
            execution_role_arn=execution.arn,
            primary_container=container,
            region=region,
            tags=dict(tags),
            opts=pulumi.ResourceOptions(
                parent=self,
                depends_on=[execution.policy] if execution.policy else [],
                additional_secret_outputs=["primaryContainer"] if secret else None,
            ),
        )

    def _endpoint_config(
        self, name: str, args: ServerlessEmbeddingEndpointArgs, region: str, tags: Mapping[str, str]
    ) -> aws.sagemaker.EndpointConfiguration:
        return aws.sagemaker.EndpointConfiguration(
            f"{name}-config",
            production_variants=[self._production_variant(args, self.model.name)],
            region=region,
            tags=dict(tags),
            opts=self._child(),
        )

    def _endpoint(
        self, name: str, args: ServerlessEmbeddingEndpointArgs, region: str, tags: Mapping[str, str]
    ) -> aws.sagemaker.Endpoint:
        """The same logical and exact name whatever the type. A new model or configuration updates the endpoint in
        place (blue/green, no downtime). A change of type replaces it, deleting first because the name is fixed:
        AWS refuses to update an instance endpoint to serverless, and a switch either way is rare and deliberate."""
        return aws.sagemaker.Endpoint(
            f"{name}-endpoint",
            name=args.endpoint_name,
            endpoint_config_name=self.endpoint_config.name,
            region=region,
            tags=dict(tags),
            opts=pulumi.ResourceOptions(
                parent=self, replacement_trigger=args.endpoint_type, delete_before_replace=True
            ),
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
        self, name: str, args: ServerlessEmbeddingEndpointArgs, region: str, tags: Mapping[str, str]
    ) -> provisioned_scaling.VariantScaling | None:
        """Instances: target tracking on invocations per instance, between min and max. Serverless with
        provisioned-concurrency scaling: target tracking on its utilisation, and the schedules. Otherwise none."""
        instances = args.instances
        if instances is not None:
            target, policy = provisioned_scaling.scale_variant(
                f"{name}-scaling",
                endpoint_name=self.endpoint.name,
                dimension=SCALABLE_DIMENSION,
                min_capacity=instances.min_instances,
                max_capacity=instances.max_instances,
                metric=SCALING_METRIC,
                target_value=instances.target_invocations_per_instance,
                scale_in_cooldown_s=instances.scale_in_cooldown_s,
                scale_out_cooldown_s=instances.scale_out_cooldown_s,
                region=region,
                tags=tags,
                child=self._child,
            )
            return provisioned_scaling.VariantScaling(target, policy, [])
        serverless = args.serverless_variant
        if serverless.provisioned_concurrency_scaling is None:
            return None
        return provisioned_scaling.scale_provisioned_concurrency(
            name,
            serverless.provisioned_concurrency_scaling,
            endpoint_name=self.endpoint.name,
            max_concurrency=serverless.max_concurrency,
            region=region,
            tags=tags,
            child=self._child,
        )

    def _monitoring(
        self,
        name: str,
        args: ServerlessEmbeddingEndpointArgs,
        settings: Monitoring,
        region: str,
        tags: Mapping[str, str],
    ) -> Alarms:
        """Alarms, their optional email topic, and the dashboard."""
        topic = subscription = None
        actions: list[pulumi.Input[str]] = []
        if settings.alarm_email is not None:
            topic = aws.sns.Topic(f"{name}-alarms", region=region, tags=dict(tags), opts=self._child())
            subscription = aws.sns.TopicSubscription(
                f"{name}-alarm-email",
                topic=topic.arn,
                protocol="email",
                endpoint=settings.alarm_email,
                region=region,
                opts=self._child(),
            )
            actions = [topic.arn]
        specs = monitoring.alarm_specs(
            # The endpoint's output, not the plain name: each alarm is created after the endpoint exists.
            endpoint_name=self.endpoint.name,
            endpoint_type=args.endpoint_type,
            model_latency_p90_ms=settings.model_latency_p90_ms,
            model_setup_time_s=settings.model_setup_time_s,
            provisioned_concurrency=self._has_provisioned_concurrency(args),
        )
        alarms = {
            spec.key: aws.cloudwatch.MetricAlarm(
                f"{name}-{spec.key}",
                name=spec.alarm_name(args.endpoint_name),
                **spec.alarm_args(),
                alarm_actions=actions,
                ok_actions=actions,
                region=region,
                tags=dict(tags),
                opts=self._child(),
            )
            for spec in specs
        }
        body = monitoring.dashboard_body(
            endpoint_name=self.endpoint.name,
            region=region,
            endpoint_type=args.endpoint_type,
            model_latency_p90_ms=settings.model_latency_p90_ms,
            provisioned_concurrency=self._has_provisioned_concurrency(args),
            target_utilization=scaling.target_utilization
            if (scaling := args.serverless_variant.provisioned_concurrency_scaling) is not None
            else None,
        )
        dashboard = aws.cloudwatch.Dashboard(
            f"{name}-dashboard",
            dashboard_name=monitoring.dashboard_name(args.endpoint_name, region),
            dashboard_body=pulumi.Output.json_dumps(body),
            region=region,
            opts=self._child(),
        )
        return Alarms(alarms, topic, subscription, dashboard)

    @staticmethod
    def _has_provisioned_concurrency(args: ServerlessEmbeddingEndpointArgs) -> bool:
        """SageMaker publishes the provisioned-concurrency metrics only for a variant that has some."""
        return args.endpoint_type == "serverless" and args.serverless_variant.provisioned_concurrency is not None

    def _set_outputs(self, execution: ExecutionRole) -> None:
        args, plan = self.args, self.plan
        self.endpoint_name: pulumi.Output[str] = self.endpoint.name
        self.endpoint_arn: pulumi.Output[str] = self.endpoint.arn
        self.region: pulumi.Output[str] = pulumi.Output.from_input(plan.region)
        self.model_name: pulumi.Output[str] = self.model.name
        self.endpoint_config_name: pulumi.Output[str] = self.endpoint_config.name
        self.role_arn: pulumi.Output[str] = pulumi.Output.from_input(execution.arn)
        self.image_uri: pulumi.Output[str] = pulumi.Output.from_input(plan.image.uri)
        self.invoke_policy_json: pulumi.Output[str] = self.endpoint.arn.apply(
            lambda arn: policies.to_json(policies.invoke_endpoint_policy(arn))
        )
        self.endpoint_type: pulumi.Output[str] = pulumi.Output.from_input(args.endpoint_type)
        self.pooling: pulumi.Output[str] = pulumi.Output.from_input(args.pooling)
        self.model_source: pulumi.Output[str] = pulumi.Output.from_input(args.model_source)
        self.model_id: pulumi.Output[str] = pulumi.Output.from_input(args.model_id)
        self.model_revision: pulumi.Output[str] | None = (
            pulumi.Output.from_input(plan.model_revision) if plan.model_revision is not None else None
        )
        self.precision: pulumi.Output[str] = pulumi.Output.from_input(
            args.precision if args.pooling == "server" else "fp32"
        )
        self.max_concurrency: pulumi.Output[int] | None = (
            pulumi.Output.from_input(args.serverless_variant.max_concurrency)
            if args.endpoint_type == "serverless"
            else None
        )
        self.dashboard_url: pulumi.Output[str] | None = (
            self.dashboard.dashboard_name.apply(lambda value: monitoring.dashboard_url(value, plan.region))
            if self.dashboard is not None
            else None
        )
        self.alarm_topic_arn: pulumi.Output[str] | None = self.alarm_topic.arn if self.alarm_topic else None
        store = self.artifact_store
        self.model_artifact_bucket: pulumi.Output[str] | None = store.bucket.bucket if store else None
        self.model_data_url: pulumi.Output[str] | None = store.model_data_url if store else None
        batch, settings = self.batch_store, args.batch_transform
        self.batch_bucket: pulumi.Output[str] | None = batch.bucket_name if batch else None
        self.batch_input_url: pulumi.Output[str] | None = batch.input_url if batch else None
        self.batch_output_url: pulumi.Output[str] | None = batch.output_url if batch else None
        self.batch_policy_json: pulumi.Output[str] | None = None
        if batch is not None and settings is not None:
            prefix, instance_type = batch_job_name_prefix(args.endpoint_name), settings.instance_type
            self.batch_policy_json = pulumi.Output.all(self.model.arn, self.role_arn, batch.arn).apply(
                lambda arns: policies.to_json(
                    policies.batch_caller_policy(
                        model_arn=arns[0],
                        role_arn=arns[1],
                        bucket_arn=arns[2],
                        job_prefix=prefix,
                        instance_type=instance_type,
                    )
                )
            )

    @property
    def outputs(self) -> dict[str, pulumi.Output[Any]]:
        """Every output of STACK_OUTPUTS that exists for this endpoint, by name: what the stack exports."""
        values = {spec.name: getattr(self, spec.name) for spec in STACK_OUTPUTS}
        return {key: value for key, value in values.items() if value is not None}

    # --- for callers ---------------------------------------------------------------------------------------------

    def grant_invoke(self, name: str, role: aws.iam.Role | pulumi.Input[str]) -> aws.iam.RolePolicy:
        """Let `role` call this endpoint: `sagemaker:InvokeEndpoint` on it, no more.

        `role` is an `aws.iam.Role`, or a role's name or ARN (a str or an Output). Returns the inline RolePolicy,
        named `name`, a child of this component.
        """
        return aws.iam.RolePolicy(
            name, role=role_name_of(role, "grant_invoke"), policy=self.invoke_policy_json, opts=self._child()
        )

    def grant_batch(self, name: str, role: aws.iam.Role | pulumi.Input[str]) -> aws.iam.RolePolicy:
        """Let `role` run this stack's Batch Transform jobs (`python -m embeddings.batch`): the `batch_policy_json`
        output, attached inline. Needs `batch_transform`; `role` as for `grant_invoke`."""
        if self.batch_policy_json is None:
            raise ValueError("grant_batch: this endpoint has no batch_transform settings, so no batch bucket or jobs")
        return aws.iam.RolePolicy(
            name, role=role_name_of(role, "grant_batch"), policy=self.batch_policy_json, opts=self._child()
        )

    def metric(self, metric_name: str, statistic: str = "Sum", *, period_s: int = monitoring.PERIOD_S) -> Metric:
        """Any metric SageMaker publishes for this endpoint's variant (see the SageMaker metrics reference)."""
        return endpoint_metric(self.endpoint.name, metric_name, statistic, period_s=period_s)

    def metric_invocations(self, statistic: str = "Sum") -> Metric:
        return self.metric("Invocations", statistic)

    def metric_invocation_5xx_errors(self, statistic: str = "Sum") -> Metric:
        return self.metric("Invocation5XXErrors", statistic)

    def metric_invocation_4xx_errors(self, statistic: str = "Sum") -> Metric:
        return self.metric("Invocation4XXErrors", statistic)

    def metric_model_errors(self, statistic: str = "Sum") -> Metric:
        """`InvocationModelErrors`: invocations the container did not answer with 2xx (a failing inference.py)."""
        return self.metric("InvocationModelErrors", statistic)

    def metric_model_latency(self, statistic: str = "p90") -> Metric:
        """Time in the container, in microseconds."""
        return self.metric("ModelLatency", statistic)

    def metric_overhead_latency(self, statistic: str = "p90") -> Metric:
        """SageMaker's own time around the container, in microseconds."""
        return self.metric("OverheadLatency", statistic)

    def metric_model_setup_time(self, statistic: str = "Maximum") -> Metric:
        """Serverless cold starts, in microseconds."""
        return self.metric("ModelSetupTime", statistic)

    # Serverless with provisioned concurrency only; AWS lists Average, Maximum and Minimum as their statistics.

    def metric_provisioned_concurrency_utilization(self, statistic: str = "Maximum") -> Metric:
        """Concurrent executions divided by the allocated provisioned concurrency: what target tracking follows."""
        return self.metric(monitoring.PROVISIONED_CONCURRENCY_UTILIZATION, statistic)

    def metric_provisioned_concurrency_executions(self, statistic: str = "Maximum") -> Metric:
        """Concurrent executions handled by provisioned concurrency."""
        return self.metric(monitoring.PROVISIONED_CONCURRENCY_EXECUTIONS, statistic)

    def metric_provisioned_concurrency_invocations(self, statistic: str = "Maximum") -> Metric:
        """Requests handled by provisioned (warm) concurrency."""
        return self.metric(monitoring.PROVISIONED_CONCURRENCY_INVOCATIONS, statistic)

    def metric_provisioned_concurrency_spillover_invocations(self, statistic: str = "Maximum") -> Metric:
        """Requests provisioned concurrency could not take, served on demand and so possibly cold."""
        return self.metric(monitoring.PROVISIONED_CONCURRENCY_SPILLOVER, statistic)
