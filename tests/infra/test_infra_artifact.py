"""model.tar.gz: what it holds in each mode, its private bucket, and the model reading it through its one-object
permission.

The bucket tests use the Hub source with a small code folder, so that each builds a small archive of its own; the
tests of the packed model use the project's build folder, where the 90 MB archive is built once and reused.
"""

from __future__ import annotations

import hashlib
import json
import tarfile
from pathlib import Path

import pulumi
import pytest

from components import DEFAULT_MODEL_REVISION, ServerlessEmbeddingEndpointArgs, model_artifact, model_files
from components.endpoint_args import default_build_dir
from components.model_artifact import HASH_LENGTH, code_members, content_listing
from components.model_files import DEFAULT_MODEL_FILES, DEFAULT_MODEL_ID, local_model_files
from tests.hub_cache import model_package_dir
from tests.infra.pulumi_harness import (
    BUCKET,
    BUCKET_ENCRYPTION,
    BUCKET_OBJECT,
    BUCKET_OWNERSHIP_CONTROLS,
    BUCKET_POLICY,
    BUCKET_PUBLIC_ACCESS_BLOCK,
    MODEL,
    ROLE_POLICY,
    Deployment,
)

OWN_ROLE = "arn:aws:iam::123456789012:role/kb-sagemaker"


HANDLER = "def model_fn(model_dir):\n    return model_dir\n"


def _code_dir(root: Path, body: str = HANDLER) -> Path:
    code = root / "code"
    code.mkdir(parents=True, exist_ok=True)
    (code / "inference.py").write_text(body)
    return code


def _server_args(tmp_path: Path, handler: str = HANDLER, **overrides) -> ServerlessEmbeddingEndpointArgs:
    """The Hub source with server pooling: model.tar.gz holds only code/."""
    return ServerlessEmbeddingEndpointArgs(
        region="us-east-1",
        model_source="hub",
        pooling="server",
        code_dir=_code_dir(tmp_path, handler),
        artifact_build_dir=tmp_path / "build",
        **overrides,
    )


def _members(deployment: Deployment) -> list[str]:
    with tarfile.open(deployment.one(BUCKET_OBJECT).inputs["source"].path, "r:gz") as archive:
        return archive.getnames()


@pytest.fixture
def deployment(deploy_component, tmp_path: Path) -> Deployment:
    return deploy_component(_server_args(tmp_path))


def test_the_bucket_is_private_four_ways(deployment: Deployment) -> None:
    bucket = deployment.one(BUCKET)
    name = bucket.state["bucket"]
    assert name.startswith("embedding-artifacts-") and name == name.lower()
    assert bucket.inputs["region"] == "us-east-1"

    block = deployment.one(BUCKET_PUBLIC_ACCESS_BLOCK).inputs
    assert block["bucket"] == name
    assert all(block[key] is True for key in ("blockPublicAcls", "blockPublicPolicy", "ignorePublicAcls"))
    assert block["restrictPublicBuckets"] is True

    ownership = deployment.one(BUCKET_OWNERSHIP_CONTROLS).inputs
    assert ownership == {"bucket": name, "rule": {"objectOwnership": "BucketOwnerEnforced"}, "region": "us-east-1"}

    encryption = deployment.one(BUCKET_ENCRYPTION).inputs
    assert encryption["rules"] == [{"applyServerSideEncryptionByDefault": {"sseAlgorithm": "AES256"}}]


def test_the_bucket_policy_refuses_plain_http(deployment: Deployment) -> None:
    bucket = deployment.one(BUCKET).state
    policy = json.loads(deployment.one(BUCKET_POLICY).inputs["policy"])
    assert policy["Statement"] == [
        {
            "Sid": "DenyInsecureTransport",
            "Effect": "Deny",
            "Principal": "*",
            "Action": "s3:*",
            "Resource": [bucket["arn"], f"{bucket['arn']}/*"],
            "Condition": {"Bool": {"aws:SecureTransport": "false"}},
        }
    ]


def test_bucket_settings_are_applied_one_after_another(deployment: Deployment) -> None:
    """S3 answers OperationAborted to concurrent changes of one bucket's settings."""
    block = deployment.one(BUCKET_PUBLIC_ACCESS_BLOCK).urn
    ownership = deployment.one(BUCKET_OWNERSHIP_CONTROLS)
    encryption = deployment.one(BUCKET_ENCRYPTION)
    policy = deployment.one(BUCKET_POLICY)
    assert block in ownership.dependencies
    assert ownership.urn in encryption.dependencies
    assert encryption.urn in policy.dependencies
    assert {block, ownership.urn, policy.urn} <= set(deployment.one(BUCKET_OBJECT).dependencies)


def test_the_object_is_the_built_tar_gz_as_a_file_asset_under_a_hashed_key(
    deployment: Deployment, tmp_path: Path
) -> None:
    obj = deployment.one(BUCKET_OBJECT)
    source = obj.inputs["source"]
    assert isinstance(source, pulumi.FileAsset)
    built = Path(source.path)
    assert built.parent == tmp_path / "build" and built.name.endswith(".tar.gz")
    content_hash = built.name.removeprefix("model-").removesuffix(".tar.gz")
    assert obj.inputs["key"] == f"model-artifacts/{content_hash}/model.tar.gz"
    assert obj.inputs["bucket"] == deployment.one(BUCKET).state["bucket"]


def test_the_model_reads_the_artifact_and_keeps_the_hub_environment(deployment: Deployment) -> None:
    obj = deployment.one(BUCKET_OBJECT)
    container = deployment.one(MODEL).inputs["primaryContainer"]
    assert container["modelDataUrl"] == f"s3://{obj.inputs['bucket']}/{obj.inputs['key']}"
    assert container["environment"]["HF_MODEL_ID"] == "sentence-transformers/all-MiniLM-L6-v2"
    assert _members(deployment) == ["code", "code/inference.py"]
    assert obj.urn in deployment.one(MODEL).dependencies
    assert deployment.exports["model_data_url"] == container["modelDataUrl"]
    assert deployment.exports["model_artifact_bucket"] == obj.inputs["bucket"]
    assert deployment.exports["pooling"] == "server"


def test_the_role_may_get_that_one_object_and_nothing_else_in_s3(deployment: Deployment) -> None:
    obj = deployment.one(BUCKET_OBJECT)
    statements = json.loads(deployment.one(ROLE_POLICY).inputs["policy"])["Statement"]
    s3 = [s for s in statements if any(str(a).startswith("s3:") for a in _actions(s))]
    assert s3 == [
        {
            "Sid": "ReadModelArtifact",
            "Effect": "Allow",
            "Action": "s3:GetObject",
            "Resource": f"arn:aws:s3:::{obj.inputs['bucket']}/{obj.inputs['key']}",
        }
    ]
    assert obj.urn in deployment.one(ROLE_POLICY).dependencies


def _actions(statement: dict) -> list[str]:
    action = statement["Action"]
    return [action] if isinstance(action, str) else action


def test_an_unchanged_folder_registers_the_same_object_and_a_code_change_a_new_key(
    deploy_component, tmp_path: Path
) -> None:
    first = deploy_component(_server_args(tmp_path)).one(BUCKET_OBJECT).inputs
    again = deploy_component(_server_args(tmp_path)).one(BUCKET_OBJECT).inputs
    assert again["key"] == first["key"]
    assert again["source"].path == first["source"].path
    assert Path(again["source"].path).read_bytes() == Path(first["source"].path).read_bytes()

    changed = deploy_component(_server_args(tmp_path, "def model_fn(model_dir):\n    return 'changed'\n"))
    assert changed.one(BUCKET_OBJECT).inputs["key"] != first["key"]
    assert first["key"] not in changed.one(MODEL).inputs["primaryContainer"]["modelDataUrl"]


def test_bring_your_own_role_is_warned_about_the_object_permission(deploy_component, tmp_path: Path) -> None:
    deployment = deploy_component(_server_args(tmp_path, execution_role_arn=OWN_ROLE))
    assert deployment.of_type(ROLE_POLICY) == []
    assert len(deployment.warnings) == 1
    assert OWN_ROLE in deployment.warnings[0] and "s3:GetObject" in deployment.warnings[0]


def test_the_tutorials_setup_creates_no_bucket_and_no_model_data(deploy_component) -> None:
    deployment = deploy_component(
        ServerlessEmbeddingEndpointArgs(region="us-east-1", model_source="hub", pooling="client")
    )
    assert not [r for r in deployment.registrations if r.type.startswith("aws:s3/")]
    assert "modelDataUrl" not in deployment.one(MODEL).inputs["primaryContainer"]
    assert "model_data_url" not in deployment.exports and "model_artifact_bucket" not in deployment.exports


PACKED_MODEL = [
    "1_Pooling",
    "1_Pooling/config.json",
    "config.json",
    "config_sentence_transformers.json",
    "model.safetensors",
    "modules.json",
    "sentence_bert_config.json",
    "special_tokens_map.json",
    "tokenizer.json",
    "tokenizer_config.json",
    "vocab.txt",
]


def test_by_default_the_archive_holds_the_pinned_model_at_its_root_and_the_code(deploy_component) -> None:
    """As SageMaker extracts it into /opt/ml/model: the toolkit loads the model from there, never from the Hub."""
    deployment = deploy_component()

    assert _members(deployment) == sorted([*PACKED_MODEL, "code", "code/inference.py", "code/worker_threads.py"])
    assert sorted(DEFAULT_MODEL_FILES) == [name for name in PACKED_MODEL if "." in name]
    assert deployment.exports["model_revision"] == DEFAULT_MODEL_REVISION
    assert Path(deployment.one(BUCKET_OBJECT).inputs["source"].path).parent == default_build_dir()


def test_client_pooling_with_the_packed_model_carries_no_code(deploy_component) -> None:
    """The toolkit's default handler then serves the feature-extraction pipeline from /opt/ml/model."""
    deployment = deploy_component(ServerlessEmbeddingEndpointArgs(region="us-east-1", pooling="client"))

    assert _members(deployment) == PACKED_MODEL
    environment = deployment.one(MODEL).inputs["primaryContainer"]["environment"]
    assert "ALEX_EMBEDDING_PRECISION" not in environment
    assert "MMS_MAX_RESPONSE_SIZE" not in environment, "token-level answers keep the model server's limit"


def test_a_model_dir_is_packed_as_it_is_and_the_same_files_give_the_same_key(deploy_component) -> None:
    """modelDir holding the pinned files packs exactly what the download would: the same archive, the same key."""
    downloaded = deploy_component()
    from_folder = deploy_component(ServerlessEmbeddingEndpointArgs(region="us-east-1", model_dir=model_package_dir()))

    assert from_folder.one(BUCKET_OBJECT).inputs["key"] == downloaded.one(BUCKET_OBJECT).inputs["key"]
    assert from_folder.exports["model_revision"] == DEFAULT_MODEL_REVISION


@pytest.mark.parametrize("source", ["download", "model-dir", "model-dir-named-as-the-pin"])
def test_each_pinned_file_is_read_for_its_hash_once_and_the_key_is_that_of_every_member_hashed(
    deploy_component, monkeypatch: pytest.MonkeyPatch, source: str
) -> None:
    """Verifying the pinned files hashes their 90 MB; the archive's key reuses those digests instead of reading the
    files again, and comes out as if every member had been hashed for it."""
    hashed: list[str] = []
    hash_file = model_files.file_sha256

    def counting(path: Path) -> str:
        hashed.append(str(path))
        return hash_file(path)

    monkeypatch.setattr(model_files, "file_sha256", counting)
    monkeypatch.setattr(model_artifact, "file_sha256", counting)
    args = ServerlessEmbeddingEndpointArgs(
        region="us-east-1",
        model_dir=model_package_dir() if source.startswith("model-dir") else None,
        model_revision=DEFAULT_MODEL_REVISION if source == "model-dir-named-as-the-pin" else None,
    )

    deployment = deploy_component(args)

    code = code_members(Path(args.code_dir))
    assert len(hashed) == len(set(hashed)) == len(DEFAULT_MODEL_FILES) + len(code)
    pinned = local_model_files(model_package_dir(), model_id=DEFAULT_MODEL_ID, revision=None)
    every_member_hashed = content_listing({**pinned.paths(), **code}, known_sha256=None)
    key_hash = hashlib.sha256(every_member_hashed.encode("utf-8")).hexdigest()[:HASH_LENGTH]
    assert key_hash in deployment.one(BUCKET_OBJECT).inputs["key"]
