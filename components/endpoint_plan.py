"""Everything the component decides before it registers anything: checks, region, image, model files, artifact.

A bad value, an unknown region, a model that cannot be downloaded or a folder that cannot be packed all fail here,
so a failed `pulumi up` leaves nothing behind, not even the component. The two invokes this needs (the provider's
region and image registry) are made with the caller's provider before the component exists.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pulumi
import pulumi_aws as aws

from components.container import container_environment, model_revision, resolve_image
from components.endpoint_args import ServerlessEmbeddingEndpointArgs
from components.images import EcrImage
from components.model_artifact import ModelArtifact, build_model_artifact, code_members
from components.model_files import (
    DEFAULT_MODEL_ID,
    ModelDirMismatchError,
    ModelFiles,
    fetch_model_files,
    is_commit,
    local_model_files,
)
from components.regions import offers_serverless_inference
from components.validation import (
    InvalidEndpointArgsError,
    Problem,
    check_component_name,
    check_image_uri,
    check_region,
    check_role_arn,
    problem,
)


@dataclass(frozen=True)
class EndpointPlan:
    """What the component will build, decided from plain values; nothing here is a resource yet."""

    region: str
    image: EcrImage
    model_files: ModelFiles | None
    artifact: ModelArtifact | None
    environment: dict[str, pulumi.Input[str]]
    model_revision: str | None
    warnings: list[str] = field(default_factory=list)


def aws_provider(opts: pulumi.ResourceOptions | None) -> pulumi.ProviderResource | None:
    """The AWS provider the caller gave the component, if any (`provider=` or `providers=`)."""
    if opts is None:
        return None
    if opts.provider is not None and opts.provider.package == "aws":
        return opts.provider
    providers = opts.providers
    if isinstance(providers, Mapping):
        return providers.get("aws")
    return next((p for p in providers or [] if p.package == "aws"), None)


def plan_endpoint(
    name: str, args: ServerlessEmbeddingEndpointArgs, opts: pulumi.ResourceOptions | None
) -> EndpointPlan:
    """Check `args`, then resolve what they leave open; raises before anything is registered."""
    problems = [*check_component_name(name), *args.problems()]
    if problems:
        raise InvalidEndpointArgsError(problems)
    invoke_opts = pulumi.InvokeOptions(parent=opts.parent if opts else None, provider=aws_provider(opts))
    region = args.region or _provider_region(args, invoke_opts)
    image = resolve_image(region, args.image_uri, invoke_opts)
    model_files = _model_files(args) if args.model_source == "artifact" else None
    artifact = _artifact(args, model_files) if args.builds_artifact else None
    return EndpointPlan(
        region=region,
        image=image,
        model_files=model_files,
        artifact=artifact,
        environment=container_environment(args, model_files),
        model_revision=model_revision(args, model_files),
        warnings=_warnings(args, region, model_files),
    )


def _provider_region(args: ServerlessEmbeddingEndpointArgs, opts: pulumi.InvokeOptions) -> str:
    """The region of the provider the component will use; the checks that need a region run again with it."""
    region = aws.get_region(opts=opts).region
    problems = [
        *check_region(region, image_uri=args.image_uri),
        *check_image_uri(args.image_uri, region),
        *check_role_arn(args.execution_role_arn, region),
    ]
    if problems:
        raise InvalidEndpointArgsError(problems)
    return region


def _model_files(args: ServerlessEmbeddingEndpointArgs) -> ModelFiles:
    if args.model_dir is not None:
        try:
            return local_model_files(Path(args.model_dir), model_id=args.model_id, revision=args.model_revision)
        except ModelDirMismatchError as error:
            raise InvalidEndpointArgsError([_mismatch_problem(str(args.model_dir), error.sentence)]) from None
    token = args.hf_token if isinstance(args.hf_token, str) else None
    return fetch_model_files(args.model_id, args.model_revision, token=token)


def _mismatch_problem(folder: str, sentence: str) -> Problem:
    """A folder named as the pinned revision that holds other files: a bad argument, named like the others."""
    return problem(
        "model_dir",
        lambda n: (
            f"{n('model_dir')} {folder!r} {sentence}: {n('model_revision')} names that commit, so the folder must "
            f"hold its files. Copy them into it, or unset {n('model_revision')} to deploy the folder as it is "
            "(reported as local)"
        ),
    )


def _artifact(args: ServerlessEmbeddingEndpointArgs, model_files: ModelFiles | None) -> ModelArtifact:
    members = dict(model_files.paths()) if model_files is not None else {}
    known_sha256 = model_files.known_sha256() if model_files is not None else {}
    if args.pooling == "server":
        members |= code_members(Path(args.code_dir))
    return build_model_artifact(members, Path(args.artifact_build_dir), known_sha256=known_sha256)


def _warnings(args: ServerlessEmbeddingEndpointArgs, region: str, model_files: ModelFiles | None) -> list[str]:
    warnings = []
    if args.endpoint_type == "serverless" and not offers_serverless_inference(region):
        warnings.append(
            f"region {region!r} is not known to offer SageMaker Serverless Inference; the deployment is attempted "
            "anyway and AWS will refuse it if the feature is missing"
        )
    if args.model_id != DEFAULT_MODEL_ID and args.model_dir is None and not is_commit(args.model_revision):
        today = f", which is commit {model_files.revision} today" if model_files is not None else ""
        warnings.append(
            f"model {args.model_id!r} follows {args.model_revision or 'its default branch'}{today}: set modelRevision "
            "to a commit hash so that a change on the Hub cannot change the endpoint"
        )
    if args.builds_artifact and args.execution_role_arn is not None:
        warnings.append(
            f"executionRoleArn {args.execution_role_arn!r} must be allowed s3:GetObject on the model artifact (see "
            "the model_data_url output), or the endpoint cannot start"
        )
    if args.batch_transform is not None and args.execution_role_arn is not None:
        warnings.append(
            f"executionRoleArn {args.execution_role_arn!r} must be allowed s3:ListBucket on input/, s3:GetObject on "
            "input/* and s3:PutObject on output/* of the batch bucket (the batch_bucket output; "
            "BatchBucket.grant_transform_job attaches exactly that), or every transform job fails"
        )
    return warnings
