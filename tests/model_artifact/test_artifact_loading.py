"""How an artifact is found, unpacked and called: the toolkit's user-module contract, and unsafe archives refused.

Apart from the real artifact's tar.gz, these use tiny user modules whose "model" is a dict, so they cost no model
load.
"""

from __future__ import annotations

import ast
import json
import sys
import tarfile
from pathlib import Path

import pytest

from local_endpoint.artifact import ArtifactContainer, ModelArtifactError, unpack_artifact
from tests.model_artifact.artifact_support import JSON, add_member, error_message, pack, write_artifact
from tests.paths import MODEL_ARTIFACT_DIR

SPLIT_FUNCTIONS = """
    import json
    from helper import GREETING

    def model_fn(model_dir):
        return {"model_dir": model_dir}

    def input_fn(input_data, content_type):
        return json.loads(input_data)["inputs"]

    def predict_fn(data, model):
        if data == "fail":
            raise RuntimeError("predict_fn refused 'fail'")
        return [GREETING, data, model["model_dir"]]

    def output_fn(prediction, accept):
        return json.dumps(prediction)
"""


def test_the_real_artifact_loads_from_its_tar_gz_and_answers_as_the_folder_does(
    tmp_path: Path, minilm_dir: Path, artifact_container: ArtifactContainer
) -> None:
    archive = pack(MODEL_ARTIFACT_DIR, tmp_path / "model.tar.gz")
    body = json.dumps({"inputs": ["vectorize me", ""]}).encode()

    with ArtifactContainer(archive, model_dir=minilm_dir) as container:
        assert (container.root / "code" / "inference.py").read_bytes() == (
            MODEL_ARTIFACT_DIR / "code" / "inference.py"
        ).read_bytes()
        assert container.invoke(body, JSON, None).body == artifact_container.invoke(body, JSON, None).body
        extracted = container.root
    assert not extracted.exists()  # the temporary copy goes with the container


def test_split_functions_get_model_dir_and_helpers_beside_inference_py(tmp_path: Path) -> None:
    folder = write_artifact(tmp_path / "a", SPLIT_FUNCTIONS, {"helper.py": "GREETING = 'hello'\n"})
    weights = tmp_path / "weights"
    weights.mkdir()

    container = ArtifactContainer(folder, model_dir=weights)
    response = container.invoke(b'{"inputs": "x"}', JSON, None)

    assert (response.status, response.content_type) == (200, JSON)
    assert json.loads(response.body) == ["hello", "x", str(weights)]
    assert "inference" not in sys.modules and "helper" not in sys.modules
    assert str(folder / "code") not in sys.path


def test_model_dir_defaults_to_the_artifact_root_as_without_hf_model_id(tmp_path: Path) -> None:
    folder = write_artifact(tmp_path / "a", SPLIT_FUNCTIONS, {"helper.py": "GREETING = 'hi'\n"})

    response = ArtifactContainer(folder).invoke(b'{"inputs": "x"}', JSON, None)

    assert json.loads(response.body)[2] == str(folder.resolve())


def test_any_exception_in_a_user_function_is_a_400_with_its_text(tmp_path: Path) -> None:
    folder = write_artifact(tmp_path / "a", SPLIT_FUNCTIONS, {"helper.py": "GREETING = 'hi'\n"})
    container = ArtifactContainer(folder)

    assert error_message(container.invoke(b'{"inputs": "fail"}', JSON, None)) == "predict_fn refused 'fail'"
    assert "Expecting value" in error_message(container.invoke(b"nope", JSON, None))


def test_two_artifacts_in_one_process_each_keep_their_own_module(tmp_path: Path) -> None:
    first = ArtifactContainer(write_artifact(tmp_path / "a", SPLIT_FUNCTIONS, {"helper.py": "GREETING = 'one'\n"}))
    second = ArtifactContainer(write_artifact(tmp_path / "b", SPLIT_FUNCTIONS, {"helper.py": "GREETING = 'two'\n"}))

    assert json.loads(first.invoke(b'{"inputs": "x"}', JSON, None).body)[0] == "one"
    assert json.loads(second.invoke(b'{"inputs": "x"}', JSON, None).body)[0] == "two"


def test_transform_fn_with_context_gets_the_raw_request_and_the_json_default_accept(tmp_path: Path) -> None:
    folder = write_artifact(
        tmp_path / "a",
        """
        import json

        def model_fn(model_dir, context):
            return context.system_properties["model_dir"]

        def transform_fn(model, input_data, content_type, accept, context):
            return json.dumps([model, type(input_data).__name__, content_type, accept])
        """,
    )
    container = ArtifactContainer(folder)
    root = str(folder.resolve())

    # multi-model-server's worker hands an undecoded body over as the bytearray it read it into
    assert json.loads(container.invoke(b"raw", "text/plain", "*/*").body) == [root, "bytearray", "text/plain", JSON]
    assert json.loads(container.invoke(b"{}", JSON, None).body) == [root, "str", JSON, JSON]


def test_only_model_fn_keeps_the_toolkits_default_decode_predict_and_encode(tmp_path: Path) -> None:
    folder = write_artifact(
        tmp_path / "a",
        """
        def model_fn(model_dir):
            return lambda inputs, **parameters: {"inputs": inputs, "parameters": parameters}
        """,
    )
    container = ArtifactContainer(folder)

    response = container.invoke(b'{"inputs": ["a"], "parameters": {"k": 1}}', JSON, None)
    assert response.body == b'{"inputs":["a"],"parameters":{"k":1}}'
    assert "is not supported by this framework" in error_message(container.invoke(b"{}", "text/plain", None))


def test_sagemaker_program_names_the_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    folder = write_artifact(tmp_path / "a", "raise RuntimeError('inference.py must not be imported')\n")
    (folder / "code" / "serve.py").write_text(
        "def model_fn(model_dir):\n    return 'ok'\n"
        "def transform_fn(model, data, content_type, accept):\n    return model\n"
    )
    monkeypatch.setenv("SAGEMAKER_PROGRAM", "serve.py")

    assert ArtifactContainer(folder).invoke(b"{}", JSON, None).body == b"ok"


@pytest.mark.parametrize(
    ("inference_py", "expected"),
    [
        (
            "def transform_fn(model, data, content_type, accept):\n    pass\ndef input_fn(data, content_type):\n"
            "    pass\n",
            "Cannot use transform_fn implementation in conjunction with input_fn, predict_fn, and/or output_fn",
        ),
        (
            "def model_fn(model_dir):\n    return None\ndef predict_fn(data, model, context, extra):\n    pass\n",
            "predict_fn definition takes 2 or 3 arguments but 4 were given.",
        ),
        ("def model_fn(model_dir):\n    raise OSError('no weights here')\n", "model_fn("),
        ("import not_a_module_anywhere\n", "importing "),
    ],
)
def test_a_user_module_the_container_would_refuse_fails_at_load(
    tmp_path: Path, inference_py: str, expected: str
) -> None:
    folder = write_artifact(tmp_path / "a", inference_py)

    with pytest.raises(ModelArtifactError) as raised:
        ArtifactContainer(folder)
    assert expected in str(raised.value)


def test_an_artifact_without_code_inference_py_is_refused(tmp_path: Path) -> None:
    (tmp_path / "a" / "code").mkdir(parents=True)
    (tmp_path / "a" / "code" / "requirements.txt").write_text("numpy\n")

    with pytest.raises(ModelArtifactError, match=r"no code/inference.py \(found in code/: \['requirements.txt'\]\)"):
        ArtifactContainer(tmp_path / "a")
    with pytest.raises(ModelArtifactError, match="does not exist"):
        ArtifactContainer(tmp_path / "missing.tar.gz")


@pytest.mark.parametrize(
    ("name", "attributes"),
    [
        ("../evil.py", {}),
        ("code/../../evil.py", {}),
        ("/tmp/evil.py", {}),
        ("code/link", {"type": tarfile.SYMTYPE, "linkname": "../../evil.py"}),
    ],
)
def test_an_archive_with_a_member_outside_its_root_is_refused_whole(
    tmp_path: Path, name: str, attributes: dict
) -> None:
    archive = tmp_path / "model.tar.gz"
    with tarfile.open(archive, "w:gz") as tar:
        add_member(tar, "code/inference.py", b"def transform_fn(m, d, c, a):\n    return 'pwned'\n")
        add_member(tar, name, **attributes)
    destination = tmp_path / "out"
    destination.mkdir()

    with pytest.raises(ModelArtifactError, match=f"member {name!r} is unsafe"):
        unpack_artifact(archive, destination)
    assert list(destination.iterdir()) == []  # nothing half-extracted
    assert not (tmp_path / "evil.py").exists()
    with pytest.raises(ModelArtifactError, match="refusing model artifact"):
        ArtifactContainer(archive)


def test_a_corrupt_archive_is_refused(tmp_path: Path) -> None:
    archive = tmp_path / "model.tar.gz"
    archive.write_bytes(b"not a tar file")

    with pytest.raises(ModelArtifactError, match="cannot read model artifact"):
        ArtifactContainer(archive)


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    imported = {
        alias.name.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.Import) for alias in node.names
    }
    return imported | {
        node.module.split(".")[0] for node in ast.walk(tree) if isinstance(node, ast.ImportFrom) and node.module
    }


def test_the_artifact_holds_only_its_code_which_needs_nothing_the_image_lacks() -> None:
    """No requirements.txt (the container would pip-install it at every cold start), and no imports beyond the
    standard library, torch, transformers, numpy (for the .npy answer: transformers requires it, and the toolkit's
    own decoder_encoder imports it in the same worker) and the module beside inference.py (which needs the standard
    library only)."""
    files = sorted(
        str(path.relative_to(MODEL_ARTIFACT_DIR))
        for path in MODEL_ARTIFACT_DIR.rglob("*")
        if path.is_file() and "__pycache__" not in path.parts
    )
    code = MODEL_ARTIFACT_DIR / "code"

    assert files == ["code/inference.py", "code/worker_threads.py"]
    assert _imports(code / "inference.py") - sys.stdlib_module_names == {
        "numpy",
        "torch",
        "transformers",
        "worker_threads",
    }
    assert _imports(code / "worker_threads.py") - sys.stdlib_module_names == set()
