"""Run a real Pulumi program against mocks that behave like the AWS provider, and record everything.

`pulumi preview/up` cannot run here, so these mocks stand in for the engine and provider: they compute names
and ARNs the way the provider does (per partition and region), answer the invokes the program makes with
realistic data (including the provider's own failure for a region with no image registry), and keep every
registration and invoke with its parent, provider and dependencies so tests can assert the wiring.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import logging
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

import pulumi
from google.protobuf import json_format
from pulumi.runtime import mocks as pulumi_mocks
from pulumi.runtime.config import set_all_config
from pulumi.runtime.settings import SETTINGS, get_root_resource, set_root_resource
from pulumi.runtime.stack import run_in_stack
from pulumi.runtime.sync_await import _ensure_event_loop, _sync_await

from components.constants import ARTIFACT_STORE_TYPE_TOKEN, BATCH_BUCKET_TYPE_TOKEN, TYPE_TOKEN
from components.outputs import ALWAYS_EXPORTED, OUTPUT_NAMES
from components.regions import dns_suffix_of, partition_of
from tests.hub_cache import seed_hub_cache
from tests.paths import PROJECT_DIR

# Before huggingface_hub is first imported: it reads HF_HUB_CACHE once.
seed_hub_cache()

ACCOUNT_ID = "123456789012"

COMPONENT = TYPE_TOKEN
ARTIFACT_STORE = ARTIFACT_STORE_TYPE_TOKEN
BATCH_STORE = BATCH_BUCKET_TYPE_TOKEN
ROLE = "aws:iam/role:Role"
ROLE_POLICY = "aws:iam/rolePolicy:RolePolicy"
MODEL = "aws:sagemaker/model:Model"
ENDPOINT_CONFIG = "aws:sagemaker/endpointConfiguration:EndpointConfiguration"
ENDPOINT = "aws:sagemaker/endpoint:Endpoint"
SCALING_TARGET = "aws:appautoscaling/target:Target"
SCALING_POLICY = "aws:appautoscaling/policy:Policy"
SCHEDULED_ACTION = "aws:appautoscaling/scheduledAction:ScheduledAction"
METRIC_ALARM = "aws:cloudwatch/metricAlarm:MetricAlarm"
DASHBOARD = "aws:cloudwatch/dashboard:Dashboard"
TOPIC = "aws:sns/topic:Topic"
TOPIC_SUBSCRIPTION = "aws:sns/topicSubscription:TopicSubscription"
BUCKET = "aws:s3/bucket:Bucket"
BUCKET_PUBLIC_ACCESS_BLOCK = "aws:s3/bucketPublicAccessBlock:BucketPublicAccessBlock"
BUCKET_OWNERSHIP_CONTROLS = "aws:s3/bucketOwnershipControls:BucketOwnershipControls"
BUCKET_ENCRYPTION = "aws:s3/bucketServerSideEncryptionConfiguration:BucketServerSideEncryptionConfiguration"
BUCKET_POLICY = "aws:s3/bucketPolicy:BucketPolicy"
BUCKET_LIFECYCLE = "aws:s3/bucketLifecycleConfiguration:BucketLifecycleConfiguration"
BUCKET_OBJECT = "aws:s3/bucketObjectv2:BucketObjectv2"
PREBUILT_IMAGE_INVOKE = "aws:sagemaker/getPrebuiltEcrImage:getPrebuiltEcrImage"

# The stack's contract with later parts (components/outputs.py): exported always, and only with their feature.
STACK_EXPORTS = ALWAYS_EXPORTED
OPTIONAL_EXPORTS = tuple(name for name in OUTPUT_NAMES if name not in ALWAYS_EXPORTED)

# Registry accounts of the AWS Deep Learning Containers (which hold huggingface-pytorch-inference), as the
# pulumi-aws provider's `getPrebuiltEcrImage` table has them. Regions missing here have no registry.
DEEP_LEARNING_REGISTRY_BY_REGION = {
    "af-south-1": "626614931356",
    "ap-east-1": "871362719292",
    "ap-northeast-1": "763104351884",
    "ap-northeast-2": "763104351884",
    "ap-northeast-3": "364406365360",
    "ap-south-1": "763104351884",
    "ap-south-2": "772153158452",
    "ap-southeast-1": "763104351884",
    "ap-southeast-2": "763104351884",
    "ap-southeast-3": "907027046896",
    "ap-southeast-4": "457447274322",
    "ca-central-1": "763104351884",
    "ca-west-1": "204538143572",
    "cn-north-1": "727897471807",
    "cn-northwest-1": "727897471807",
    "eu-central-1": "763104351884",
    "eu-central-2": "380420809688",
    "eu-north-1": "763104351884",
    "eu-south-1": "692866216735",
    "eu-south-2": "503227376785",
    "eu-west-1": "763104351884",
    "eu-west-2": "763104351884",
    "eu-west-3": "763104351884",
    "il-central-1": "780543022126",
    "me-central-1": "914824155844",
    "me-south-1": "217643126080",
    "sa-east-1": "763104351884",
    "us-east-1": "763104351884",
    "us-east-2": "763104351884",
    "us-gov-east-1": "446045086412",
    "us-gov-west-1": "442386744353",
    "us-west-1": "763104351884",
    "us-west-2": "763104351884",
}

_BUCKET_SETTINGS = frozenset(
    {BUCKET_PUBLIC_ACCESS_BLOCK, BUCKET_OWNERSHIP_CONTROLS, BUCKET_ENCRYPTION, BUCKET_POLICY, BUCKET_LIFECYCLE}
)

# Where each SageMaker resource type keeps its ARN path segment.
_SAGEMAKER_ARN_KIND = {
    "aws:sagemaker/model:Model": "model",
    "aws:sagemaker/endpointConfiguration:EndpointConfiguration": "endpoint-config",
    "aws:sagemaker/endpoint:Endpoint": "endpoint",
}


@dataclass
class Registration:
    """One RegisterResource call as the engine saw it, plus the state the mock provider returned."""

    type: str
    name: str
    urn: str
    parent: str
    provider: str
    dependencies: list[str]
    custom: bool
    additional_secret_outputs: list[str]
    inputs: dict[str, Any]
    state: dict[str, Any]
    delete_before_replace: bool = False
    replacement_trigger: Any = None
    alias_parents: list[str] = field(default_factory=list)
    """The parent URN of each alias the resource carries."""


@dataclass
class InvokeRecord:
    token: str
    args: dict[str, Any]
    provider: str


def autoname(logical_name: str, urn: str) -> str:
    """Pulumi's auto-naming: the logical name plus a random suffix (deterministic here, per URN)."""
    return f"{logical_name}-{hashlib.sha256(urn.encode()).hexdigest()[:7]}"


class AwsProviderMocks(pulumi.runtime.Mocks):
    """Answers like pulumi-aws would, for the resources and invokes this project uses."""

    def __init__(self, default_region: str = "us-east-1") -> None:
        self.default_region = default_region
        self.account_id = ACCOUNT_ID
        self.provider_regions: dict[str, str] = {}

    def region_of(self, provider_ref: str, inputs: Mapping[str, Any] | None = None) -> str:
        if inputs and inputs.get("region"):
            return str(inputs["region"])
        # A provider reference is "<urn>::<id>"; the mock gives each provider an id of its own.
        provider_id = provider_ref.rsplit("::", 1)[-1] if provider_ref else ""
        return self.provider_regions.get(provider_id, self.default_region)

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict[str, Any]]:
        inputs = dict(args.inputs)
        urn = f"urn:pulumi:mock::{args.typ}::{args.name}"
        if args.typ == "pulumi:providers:aws":
            provider_id = f"{args.name}-provider-id"
            self.provider_regions[provider_id] = inputs.get("region", self.default_region)
            return provider_id, inputs
        region = self.region_of(args.provider or "", inputs)
        partition = partition_of(region)
        tags = dict(inputs.get("tags") or {})
        if args.typ == BUCKET:
            return self._bucket(inputs, args.name, urn, region, partition)
        if args.typ in _BUCKET_SETTINGS:
            # Bucket sub-resources are identified by their bucket's name.
            return str(inputs["bucket"]), {**inputs, "region": region}
        if args.typ == BUCKET_OBJECT:
            key = inputs["key"]
            state = {
                **inputs,
                "arn": f"arn:{partition}:s3:::{inputs['bucket']}/{key}",
                "etag": hashlib.md5(key.encode()).hexdigest(),  # the provider reports S3's ETag
                "versionId": "",
                "region": region,
                "tagsAll": tags,
            }
            return key, state
        if args.typ == SCALING_TARGET:
            state = {
                **inputs,
                "arn": f"arn:{partition}:application-autoscaling:{region}:{self.account_id}:scalable-target/"
                + hashlib.sha256(urn.encode()).hexdigest()[:32],
                "tagsAll": tags,
            }
            return str(inputs["resourceId"]), state
        if args.typ == SCALING_POLICY:
            name = inputs.get("name") or autoname(args.name, urn)
            state = {
                **inputs,
                "name": name,
                "arn": f"arn:{partition}:autoscaling:{region}:{self.account_id}:scalingPolicy:"
                f"{hashlib.sha256(urn.encode()).hexdigest()[:8]}:resource/{inputs['serviceNamespace']}/"
                f"{inputs['resourceId']}:policyName/{name}",
                "alarmArns": [],
            }
            return name, state
        if args.typ == METRIC_ALARM:
            name = inputs.get("name") or autoname(args.name, urn)
            arn = f"arn:{partition}:cloudwatch:{region}:{self.account_id}:alarm:{name}"
            return name, {**inputs, "name": name, "arn": arn, "tagsAll": tags}
        if args.typ == DASHBOARD:
            name = inputs["dashboardName"]
            arn = f"arn:{partition}:cloudwatch::{self.account_id}:dashboard/{name}"
            return name, {**inputs, "dashboardArn": arn}
        if args.typ == TOPIC:
            name = inputs.get("name") or autoname(args.name, urn)
            arn = f"arn:{partition}:sns:{region}:{self.account_id}:{name}"
            return arn, {**inputs, "name": name, "arn": arn, "owner": self.account_id, "tagsAll": tags}
        if args.typ == TOPIC_SUBSCRIPTION:
            arn = f"{inputs['topic']}:{hashlib.sha256(urn.encode()).hexdigest()[:36]}"
            # An email subscription waits for the recipient to confirm it.
            pending = inputs["protocol"] in ("email", "email-json")
            return arn, {**inputs, "arn": arn, "ownerId": self.account_id, "pendingConfirmation": pending}
        name = inputs.get("name") or autoname(args.name, urn)
        state = {**inputs, "name": name, "tagsAll": tags}
        if args.typ == ROLE:
            state |= {
                "arn": f"arn:{partition}:iam::{self.account_id}:role/{name}",
                "uniqueId": "AROA" + hashlib.sha256(name.encode()).hexdigest()[:17].upper(),
            }
            return name, state
        if args.typ == ROLE_POLICY:
            state.pop("tagsAll")
            return f"{inputs['role']}:{name}", state
        if args.typ in _SAGEMAKER_ARN_KIND:
            kind = _SAGEMAKER_ARN_KIND[args.typ]
            # SageMaker lower-cases names inside its ARNs.
            state["arn"] = f"arn:{partition}:sagemaker:{region}:{self.account_id}:{kind}/{name.lower()}"
            return name, state
        return f"{args.name}-id", state

    def _bucket(
        self, inputs: dict[str, Any], logical_name: str, urn: str, region: str, partition: str
    ) -> tuple[str, dict[str, Any]]:
        """pulumi-aws auto-names buckets in lower case (S3 refuses upper case) and cuts the name at 63."""
        name = inputs.get("bucket") or autoname(logical_name.lower()[:55], urn)
        suffix = dns_suffix_of(region)
        state = {
            **inputs,
            "bucket": name,
            "arn": f"arn:{partition}:s3:::{name}",
            "bucketDomainName": f"{name}.s3.{suffix}",
            "bucketRegionalDomainName": f"{name}.s3.{region}.{suffix}",
            "region": region,
            "hostedZoneId": "Z3AQBSTGFYJSTF",
            "tagsAll": dict(inputs.get("tags") or {}),
        }
        return name, state

    def call(self, args: pulumi.runtime.MockCallArgs) -> dict[str, Any] | tuple[dict[str, Any], list[tuple[str, str]]]:
        """A dict is a successful answer; a (result, failures) pair is how a provider reports a failed invoke."""
        region = self.region_of(args.provider)
        partition = partition_of(region)
        if args.token == "aws:index/getCallerIdentity:getCallerIdentity":
            return {
                "accountId": self.account_id,
                "arn": f"arn:{partition}:iam::{self.account_id}:user/deployer",
                "userId": "AIDAEXAMPLE",
                "id": self.account_id,
            }
        if args.token == "aws:index/getRegion:getRegion":
            return {
                "region": region,
                "name": region,
                "id": region,
                "endpoint": f"ec2.{region}.{dns_suffix_of(region)}",
                "description": region,
            }
        if args.token == "aws:sagemaker/getPrebuiltEcrImage:getPrebuiltEcrImage":
            return self._prebuilt_ecr_image(args.args, region)
        raise NotImplementedError(f"mock has no answer for invoke {args.token}")

    @staticmethod
    def _prebuilt_ecr_image(
        call_args: Mapping[str, Any], provider_region: str
    ) -> dict[str, Any] | tuple[dict[str, Any], list[tuple[str, str]]]:
        """The provider's data source: registry account by region, path `<id>.dkr.ecr.<region>.<suffix>/...`."""
        region = call_args.get("region") or provider_region
        repository = call_args["repositoryName"]
        tag = call_args.get("imageTag") or "1"
        registry = DEEP_LEARNING_REGISTRY_BY_REGION.get(region)
        if registry is None:
            reason = f"no registry ID available for region ({region}) and repository ({repository})"
            return {}, [("", reason)]
        suffix = call_args.get("dnsSuffix") or dns_suffix_of(region)
        return {
            "id": registry,
            "registryId": registry,
            "registryPath": f"{registry}.dkr.ecr.{region}.{suffix}/{repository}:{tag}",
            "repositoryName": repository,
            "imageTag": tag,
            "region": region,
            "dnsSuffix": suffix,
        }


def _trigger(request: Any) -> Any:
    """The replacementTrigger value the SDK sent, as plain data (None when the option is not set)."""
    if not request.HasField("replacement_trigger"):
        return None
    return pulumi.runtime.rpc.deserialize_property(json_format.MessageToDict(request.replacement_trigger))


STACK_TYPE = "pulumi:pulumi:Stack"


class RecordingMonitor(pulumi_mocks.MockMonitor):
    """The stock mock monitor, keeping what the engine would see: parent, provider, dependencies, invokes."""

    def __init__(self, mocks: AwsProviderMocks) -> None:
        super().__init__(mocks)
        self.registrations: list[Registration] = []
        self.invokes: list[InvokeRecord] = []

    def make_urn(self, parent: str, type_: str, name: str) -> str:
        """The engine's URN: the parent's whole qualified type chain, the root stack's type left out."""
        qualified = parent.split("::")[2] if parent else ""
        if qualified and qualified != STACK_TYPE:
            type_ = f"{qualified}${type_}"
        return "urn:pulumi:" + "::".join([pulumi.get_stack(), pulumi.get_project(), type_, name])

    def RegisterResource(self, request: Any) -> Any:
        response = super().RegisterResource(request)
        if request.type == STACK_TYPE:
            return response
        urn = self.make_urn(request.parent, request.type, request.name)
        inputs = pulumi.runtime.rpc.deserialize_properties(request.object)
        self.registrations.append(
            Registration(
                type=request.type,
                name=request.name,
                urn=urn,
                parent=request.parent,
                provider=request.provider,
                dependencies=list(request.dependencies),
                custom=request.custom,
                additional_secret_outputs=list(request.additionalSecretOutputs),
                inputs=inputs,
                state=self.resources[urn].state if urn in self.resources else {},
                delete_before_replace=request.deleteBeforeReplace,
                replacement_trigger=_trigger(request),
                alias_parents=[alias.spec.parentUrn for alias in request.aliases if alias.spec.parentUrn],
            )
        )
        return response

    def Invoke(self, request: Any) -> Any:
        self.invokes.append(
            InvokeRecord(
                token=request.tok,
                args=pulumi.runtime.rpc.deserialize_properties(request.args),
                provider=request.provider,
            )
        )
        return super().Invoke(request)


@dataclass
class Deployment:
    """What one mocked `pulumi up` produced."""

    registrations: list[Registration]
    invokes: list[InvokeRecord]
    exports: dict[str, Any]
    secret_exports: set[str]
    warnings: list[str] = field(default_factory=list)

    def of_type(self, type_token: str) -> list[Registration]:
        return [r for r in self.registrations if r.type == type_token]

    def one_named(self, name: str) -> Registration:
        [found] = [r for r in self.registrations if r.name == name]
        return found

    def one(self, type_token: str) -> Registration:
        found = self.of_type(type_token)
        assert len(found) == 1, f"expected one {type_token}, found {len(found)}"
        return found[0]

    def snapshot(self) -> dict[str, Any]:
        """Everything the engine would be asked to do, as JSON data: registrations, invokes, exports."""
        data = {
            "registrations": [
                {
                    "type": r.type,
                    "name": r.name,
                    "urn": r.urn,
                    "parent": r.parent,
                    "provider": r.provider,
                    "dependencies": sorted(r.dependencies),
                    "custom": r.custom,
                    "additional_secret_outputs": r.additional_secret_outputs,
                    "delete_before_replace": r.delete_before_replace,
                    "replacement_trigger": r.replacement_trigger,
                    "alias_parents": r.alias_parents,
                    "inputs": r.inputs,
                }
                # Registrations wait on their inputs, so their order is the event loop's; the dependencies are what
                # orders creation, and they are part of each record.
                for r in sorted(self.registrations, key=lambda r: r.urn)
            ],
            "invokes": [{"token": i.token, "args": i.args, "provider": i.provider} for i in self.invokes],
            "exports": self.exports,
        }
        text = json.dumps(data, sort_keys=True, default=_plain)
        # The project's folder differs from one checkout to the next; what lies inside it does not.
        return json.loads(text.replace(json.dumps(str(PROJECT_DIR))[1:-1], "<project>"))


def _plain(value: Any) -> Any:
    """JSON for what deserialised inputs hold besides plain data: the artifact's FileAsset."""
    if isinstance(value, pulumi.FileAsset):
        return {"FileAsset": str(value.path)}
    raise TypeError(f"no JSON form for {type(value).__name__}")


class _WarningCollector(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.WARNING)
        self.messages: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.messages.append(record.getMessage())


class ProgramFailed(Exception):
    """The program raised; `recorded` holds what had been registered before it did."""

    def __init__(self, cause: BaseException, recorded: list[Registration]) -> None:
        super().__init__(str(cause))
        self.cause = cause
        self.recorded = recorded


def _as_config_string(value: Any) -> str:
    """The CLI hands every config value to the program as a string; objects and lists as JSON."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return json.dumps(value)
    return str(value)


def _discard_leftover_tasks() -> None:
    """A program that fails inside an apply leaves tasks behind, and the runtime keeps failed ones to re-raise at
    exit; neither may reach the next program (the SDK's own `mocks.test` clears the same state)."""
    loop = _ensure_event_loop()
    leftovers = [task for task in asyncio.all_tasks(loop) if not task.done()]
    for task in leftovers:
        task.cancel()
    loop.run_until_complete(asyncio.gather(*leftovers, return_exceptions=True))
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()


PROGRAM_DEADLINE_S = 120.0
"""Far beyond any program's run here (about a second): a program still running then waits for something that
will never come, and the test fails saying what, instead of hanging the suite."""


class ProgramHung(Exception):
    pass


async def _within_deadline(awaitable: Any) -> Any:
    task = asyncio.ensure_future(awaitable)
    done, _ = await asyncio.wait({task}, timeout=PROGRAM_DEADLINE_S)
    if task in done:
        return task.result()
    here = asyncio.get_running_loop()
    foreign = [future for future in SETTINGS.outputs if future.get_loop() is not here]
    task.cancel()
    raise ProgramHung(
        f"the program did not finish in {PROGRAM_DEADLINE_S:g} s: {len(SETTINGS.outputs)} outputs pending, "
        f"{len(foreign)} of them on another event loop (an Output made outside the program?)"
    )


def run_program(
    program: Callable[[], None],
    *,
    config: Mapping[str, Any] | None = None,
    secret_keys: Iterable[str] = (),
    project: str = "alex-sagemaker",
    stack: str = "dev",
    mocks: AwsProviderMocks | None = None,
) -> Deployment:
    """Run `program` as the Python language host would (inside a Stack), against the mocks.

    The root stack is reset first, so exports never leak from one test into the next. Pass `mocks` (a subclass)
    for a program that uses more than this project's resources, e.g. a consumer's StackReference.
    """
    config = dict(config or {})
    mocks = mocks or AwsProviderMocks(default_region=str(config.get("aws:region", "us-east-1")))
    monitor = RecordingMonitor(mocks)
    collector = _WarningCollector()
    # A logger of this run's own, outside logging's registry: a registered one outlives the run, and pytest's log
    # capture adds its handler to every registered non-propagating logger at every phase of every test, so each of a
    # session's hundreds of runs would make every later phase slower.
    logger = logging.Logger(f"pulumi-mock-{id(monitor)}")
    logger.addHandler(collector)
    logger.propagate = False

    # The SDK creates its futures on the current event loop; a test that ran asyncio.run() before (in this
    # process, under any test order) leaves the thread without one.
    _ensure_event_loop()
    # Every Output registers its future in one global set, which the program's end waits for. One made outside a
    # program (at import, or by a test before this run) may belong to another event loop, where its completion is
    # never delivered: the wait would never end. The SDK's own `mocks.test` clears the same state.
    SETTINGS.rpc_manager.clear()
    SETTINGS.outputs.clear()
    set_root_resource(None)  # type: ignore[arg-type]
    pulumi.runtime.set_mocks(mocks, project=project, stack=stack, preview=False, monitor=monitor, logger=logger)
    # set_mocks installs a finished root stack of its own; the program gets a fresh one, as under the CLI.
    set_root_resource(None)  # type: ignore[arg-type]
    set_all_config({key: _as_config_string(value) for key, value in config.items()}, list(secret_keys))
    roots: list[Any] = []

    def program_in_stack() -> None:
        program()
        # The stack lives in the runtime's own context; take its exports from there.
        roots.append(get_root_resource())

    try:
        _sync_await(_within_deadline(run_in_stack(program_in_stack)))
    except Exception as exc:
        _discard_leftover_tasks()
        raise ProgramFailed(exc, list(monitor.registrations)) from exc
    finally:
        set_root_resource(None)  # type: ignore[arg-type]

    exports: dict[str, Any] = {}
    secret_exports: set[str] = set()
    for key, value in roots[0].outputs.items():
        output = pulumi.Output.from_input(value)
        exports[key] = _sync_await(output.future())
        if _sync_await(output.is_secret()):
            secret_exports.add(key)
    return Deployment(
        registrations=list(monitor.registrations),
        invokes=list(monitor.invokes),
        exports=exports,
        secret_exports=secret_exports,
        warnings=collector.messages,
    )
