"""The stack's values as AWS reads them, and errors in the user's own words (issue 20, cases 5, 7, 8 and 9).

0 is a number like any other and refused where AWS refuses it; a number is echoed as the stack wrote it; only the
stack's keys appear in the program's errors; and a model folder named as the pinned revision is checked file by file.
The real __main__.py runs under the mocks, configured as `pulumi up` would configure it.
"""

from __future__ import annotations

import dataclasses
import re
import shutil
from pathlib import Path
from typing import Any

import pytest

from components import (
    DEFAULT_MODEL_REVISION,
    InstancesVariant,
    InvalidEndpointArgsError,
    Monitoring,
    ServerlessEmbeddingEndpointArgs,
    ServerlessVariant,
)
from components.model_files import DEFAULT_MODEL_FILES
from stack_config import KEYS
from tests.hub_cache import model_package_dir
from tests.infra.pulumi_harness import BUCKET_OBJECT, ENDPOINT_CONFIG, MODEL, ProgramFailed

INSTANCES = {"endpointType": "instances"}


def _refused(deploy_stack: Any, settings: dict[str, Any]) -> InvalidEndpointArgsError:
    with pytest.raises(ProgramFailed) as failure:
        deploy_stack("dev", settings)
    assert failure.value.recorded == [], "nothing is registered, not even the component"
    assert isinstance(failure.value.cause, InvalidEndpointArgsError), failure.value.cause
    return failure.value.cause


# --- case 7: 0 is refused where AWS refuses it ----------------------------------------------------------------------

ZEROS: list[tuple[dict[str, Any], str]] = [
    ({"memorySizeMb": 0}, "memorySizeMb 0 is out of range: use a whole number from 1024 to 6144"),
    ({"maxConcurrency": 0}, "maxConcurrency 0 is out of range: use a whole number from 1 to 200"),
    ({"provisionedConcurrency": 0}, "provisionedConcurrency 0 is out of range: use a whole number from 1 to 200"),
    ({**INSTANCES, "maxInstances": 0}, "maxInstances 0 is out of range: use a whole number from 1 to 2147483647"),
    (
        {**INSTANCES, "targetInvocationsPerInstance": 0},
        "targetInvocationsPerInstance 0 is out of range: use a whole number from 1 to 2147483647",
    ),
]


@pytest.mark.parametrize(("settings", "expected"), ZEROS, ids=[next(reversed(s)) for s, _ in ZEROS])
def test_zero_is_refused_where_aws_refuses_it_instead_of_becoming_the_default(
    deploy_stack, settings: dict[str, Any], expected: str
) -> None:
    error = _refused(deploy_stack, settings)

    assert expected in str(error)


def test_min_instances_zero_says_instance_endpoints_cannot_scale_to_zero_and_points_to_serverless(deploy_stack) -> None:
    error = _refused(deploy_stack, {**INSTANCES, "minInstances": 0})

    [message] = error.messages
    assert message.startswith("minInstances 0 asks for scaling to zero, which instance endpoints cannot do")
    assert "billed around the clock" in message and "or endpointType serverless for an endpoint" in message


def test_a_zero_for_the_other_endpoint_type_is_a_misplaced_key_not_an_unset_one(deploy_stack) -> None:
    error = _refused(deploy_stack, {"minInstances": 0})

    assert error.messages == [
        "minInstances 0 is a setting of endpointType 'instances', but endpointType is 'serverless': remove it "
        "(`pulumi config rm minInstances`) or set endpointType instances"
    ]


def test_integer_keys_left_unset_are_the_components_defaults(deploy_stack) -> None:
    """No integer key has a number as its Pulumi.yaml default: unset reaches the component as unset."""
    serverless = deploy_stack("dev").one(ENDPOINT_CONFIG).inputs["productionVariants"][0]["serverlessConfig"]
    instances = deploy_stack("dev", INSTANCES).one(ENDPOINT_CONFIG).inputs["productionVariants"][0]

    defaults = ServerlessVariant()
    assert serverless == {"memorySizeInMb": defaults.memory_size_mb, "maxConcurrency": defaults.max_concurrency}
    assert instances["initialInstanceCount"] == InstancesVariant().min_instances


# --- case 8: numbers are echoed as typed ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("typed", "expected"),
    [
        ("7168", "memorySizeMb 7168 is out of range: use a whole number from 1024 to 6144"),
        ("07168", "memorySizeMb 07168 is out of range"),
        ("99999999999999999999", "memorySizeMb 99999999999999999999 is out of range: use a whole number from 1024"),
        ("-99999999999", "memorySizeMb -99999999999 is out of range"),
    ],
)
def test_a_number_is_echoed_as_the_stack_wrote_it(deploy_stack, typed: str, expected: str) -> None:
    error = _refused(deploy_stack, {"memorySizeMb": typed})

    assert error.messages[0].startswith(expected), error.messages
    assert "," not in error.messages[0].split("(", 1)[0]


def test_a_number_too_long_for_python_is_refused_in_words_not_with_a_traceback(deploy_stack) -> None:
    typed = "9" * 5000  # beyond Python's 4300-digit conversion limit

    error = _refused(deploy_stack, {"maxConcurrency": typed})

    assert error.messages[0].startswith(f"maxConcurrency {typed} is out of range: use a whole number from 1 to 200")


def test_two_numbers_in_one_sentence_are_both_as_typed(deploy_stack) -> None:
    error = _refused(deploy_stack, {"maxConcurrency": "02", "provisionedConcurrency": "003"})

    assert error.messages == [
        "provisionedConcurrency 003 exceeds maxConcurrency 02: provisioned capacity must be at most the maximum"
    ]


# --- case 9: only the stack's keys, and the rules as AWS means them --------------------------------------------------


def _argument_names() -> set[str]:
    """Every Python name of the component's arguments that the stack spells differently."""
    owners = (ServerlessEmbeddingEndpointArgs, ServerlessVariant, InstancesVariant, Monitoring)
    names = {field.name for owner in owners for field in dataclasses.fields(owner)}
    return {name for name in names if "_" in name} | {key.field for key in KEYS if key.field != key.name}


def _speaks_no_python(message: str) -> None:
    leaked = sorted(name for name in _argument_names() if re.search(rf"(?<![\w.-]){re.escape(name)}(?![\w-])", message))
    assert leaked == [], f"{leaked} in {message!r}"


WORDED: list[tuple[dict[str, Any], str]] = [
    (
        {"modelSource": "hub", "modelDir": "/m"},
        "modelDir is set but modelSource is 'hub': a local folder is packed into model.tar.gz, so use modelSource "
        "'artifact' or remove modelDir",
    ),
    ({"endpointName": "my_endpoint"}, "endpointName 'my_endpoint' is not a valid SageMaker endpoint name"),
    ({"endpointName": "a" * 64}, "1-63 characters matching"),
    ({"aws:region": "ap-southeast-9"}, "set an image in it (imageUri) or upgrade boto3"),
    ({**INSTANCES, "minInstances": 0}, "or endpointType serverless"),
    ({"memorySizeMb": 3000}, "memorySizeMb 3000 is not a serverless memory size"),
    ({**INSTANCES, "instanceType": "ml.c6g.large"}, "instanceType 'ml.c6g.large' runs on an Arm host"),
    ({"executionRoleArn": "arn:aws:iam::123456789012:role/a b"}, "executionRoleArn 'arn:aws:iam::123456789012:role"),
    ({"imageUri": "docker.io/library/python:3"}, "imageUri 'docker.io/library/python:3' is not an ECR image URI"),
    ({"pooling": "client", "precision": "bf16"}, "precision 'bf16' needs pooling 'server'"),
    ({"modelRevision": "main branch"}, "modelRevision 'main branch' is not a Hub revision"),
]


@pytest.mark.parametrize(("settings", "expected"), WORDED, ids=[str(s) for s, _ in WORDED])
def test_a_stack_error_speaks_the_stacks_keys_never_the_components_argument_names(
    deploy_stack, settings: dict[str, Any], expected: str
) -> None:
    error = _refused(deploy_stack, settings)

    assert expected in str(error)
    for message in error.messages:
        _speaks_no_python(message)


def test_the_endpoint_name_rule_says_1_to_63_characters_as_awss_pattern_means() -> None:
    [problem] = ServerlessEmbeddingEndpointArgs(endpoint_name="").problems()

    assert "use 1-63 characters matching [a-zA-Z0-9](-*[a-zA-Z0-9]){0,62}" in problem.render()
    assert "0-63" not in problem.render()


# --- case 5: a model folder named as the pinned revision is checked file by file ------------------------------------


@pytest.fixture(scope="module")
def tampered_model(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The packaged model with one byte of model.safetensors flipped; the other files are links to the originals."""
    source, folder = model_package_dir(), tmp_path_factory.mktemp("tampered") / "model"
    for name in DEFAULT_MODEL_FILES:
        (folder / name).parent.mkdir(parents=True, exist_ok=True)
        if name == "model.safetensors":
            shutil.copyfile(source / name, folder / name)
        else:
            (folder / name).symlink_to(source / name)
    with (folder / "model.safetensors").open("r+b") as weights:
        weights.seek(-1, 2)
        last = weights.read(1)
        weights.seek(-1, 2)
        weights.write(bytes([last[0] ^ 1]))
    return folder


def test_a_folder_named_as_the_pinned_revision_with_a_flipped_byte_is_refused_naming_the_file(
    deploy_stack, tampered_model: Path
) -> None:
    error = _refused(deploy_stack, {"modelDir": str(tampered_model), "modelRevision": DEFAULT_MODEL_REVISION})

    [message] = error.messages
    expected = DEFAULT_MODEL_FILES["model.safetensors"]
    assert message.startswith(f"modelDir '{tampered_model}' has a model.safetensors with SHA-256 ")
    assert f"at {DEFAULT_MODEL_REVISION[:12]}… has {expected[:12]}…" in message
    assert "unset modelRevision" in message and expected not in message
    _speaks_no_python(message)


def test_a_folder_named_as_the_pinned_revision_without_one_of_its_files_is_refused_naming_it(
    deploy_stack, tmp_path: Path
) -> None:
    folder = tmp_path / "model"
    shutil.copytree(model_package_dir(), folder, symlinks=True, ignore=shutil.ignore_patterns("vocab.txt"))

    error = _refused(deploy_stack, {"modelDir": str(folder), "modelRevision": DEFAULT_MODEL_REVISION})

    assert error.messages[0].startswith(f"modelDir '{folder}' has no vocab.txt, one of the files of ")


def test_a_folder_with_a_flipped_byte_and_no_revision_is_deployed_and_reported_as_local(
    deploy_stack, tampered_model: Path
) -> None:
    deployment = deploy_stack("dev", {"modelDir": str(tampered_model)})

    assert deployment.exports["model_revision"] == "local"
    environment = deployment.one(MODEL).inputs["primaryContainer"]["environment"]
    assert environment["ALEX_EMBEDDING_MODEL_REVISION"] == "local"
    assert deployment.of_type(BUCKET_OBJECT)


def test_a_folder_named_as_the_pinned_revision_holding_its_files_is_reported_as_it(deploy_stack) -> None:
    deployment = deploy_stack("dev", {"modelDir": str(model_package_dir()), "modelRevision": DEFAULT_MODEL_REVISION})

    assert deployment.exports["model_revision"] == DEFAULT_MODEL_REVISION


def test_the_component_used_directly_names_the_folder_by_its_argument(deploy_component, tampered_model: Path) -> None:
    args = ServerlessEmbeddingEndpointArgs(
        region="us-east-1", model_dir=tampered_model, model_revision=DEFAULT_MODEL_REVISION
    )

    with pytest.raises(ProgramFailed) as failure:
        deploy_component(args)

    assert isinstance(failure.value.cause, InvalidEndpointArgsError)
    [message] = failure.value.cause.messages
    assert message.startswith(f"model_dir '{tampered_model}' has a model.safetensors with SHA-256 ")
    assert "unset model_revision" in message and failure.value.recorded == []
