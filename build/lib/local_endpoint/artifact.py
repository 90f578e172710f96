"""Serve a model artifact (`model.tar.gz` or its folder) the way the Hugging Face inference container does.

The deployed container (sagemaker-huggingface-inference-toolkit 2.6.0 on multi-model-server) finds a user module
and calls it like this, mirrored here statement by statement:

- SageMaker extracts `model_data_url` into /opt/ml/model. `mms_model_server.start_model_server` puts
  /opt/ml/model/code on PYTHONPATH (`sagemaker_inference.model_server._set_python_path`), also when HF_MODEL_ID is
  set; then the weights are downloaded from the Hub into their own directory, which MMS hands to the handler as
  `model_dir`. Without HF_MODEL_ID, `model_dir` is /opt/ml/model itself.
- `HuggingFaceHandlerService.validate_and_initialize_user_module` imports the module named by SAGEMAKER_PROGRAM
  (default `inference`) and takes `model_fn`, `input_fn`, `predict_fn`, `output_fn` and `transform_fn` from it;
  `transform_fn` together with any of the other three is refused. Each function may take one extra trailing
  `context` argument (`function_extra_arg` counts parameters). Missing ones keep the toolkit's defaults.
- `handle` calls `transform_fn(model, body, content_type, accept)`; the default chains input_fn -> predict_fn ->
  output_fn. Accept `*/*` or none means application/json; JSON and CSV bodies are decoded to str first. Any
  exception becomes HTTP 400 with the exception's text, in the model server's JSON error body.

The twin differs in two deliberate ways: a failing `model_fn` (or a malformed module) raises at construction
instead of answering 400 to every request, and the module is imported without leaving its directory on sys.path
or itself in sys.modules, so two artifacts can be loaded in one process.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import sys
import tarfile
import tempfile
import threading
from collections.abc import Callable
from inspect import signature
from pathlib import Path
from types import ModuleType
from typing import Any

from local_endpoint import codec
from local_endpoint.container import ContainerResponse, handle

logger = logging.getLogger(__name__)

CODE_DIR = "code"
DEFAULT_PROGRAM = "inference.py"  # sagemaker_inference.environment.DEFAULT_MODULE_NAME
PROGRAM_ENV = "SAGEMAKER_PROGRAM"  # sagemaker_inference.parameters.USER_PROGRAM_ENV
_USER_FUNCTIONS = ("model_fn", "input_fn", "predict_fn", "output_fn", "transform_fn")


class ModelArtifactError(Exception):
    """The artifact cannot be served: unsafe or unreadable archive, no user module, or a user module that fails."""


class TwinContext:
    """The parts of MMS's Context a user function taking `context` is likely to read."""

    def __init__(self, model_dir: str) -> None:
        self.model_name = "model"
        self.system_properties = {
            "model_dir": model_dir,
            "gpu_id": None,
            "batch_size": 1,
            "server_name": "MMS",
            "server_version": "local-endpoint",
        }


def unpack_artifact(archive: Path, destination: Path) -> None:
    """Extract a model.tar.gz, refusing it whole if any member would land outside `destination`.

    Every member is checked with the standard library's `data` filter (absolute paths, `..`, links leaving the
    directory, devices) before anything is written, so a refused archive leaves nothing behind.
    """
    try:
        with tarfile.open(archive, "r:*") as tar:
            members = tar.getmembers()
            for member in members:
                try:
                    if member.name.startswith("/"):  # the data filter would strip the slash; refuse instead
                        raise tarfile.AbsolutePathError(member)
                    tarfile.data_filter(member, str(destination))
                except tarfile.FilterError as error:
                    raise ModelArtifactError(
                        f"refusing model artifact {archive}: member {member.name!r} is unsafe ({error}); every "
                        "member must stay inside the archive's root, e.g. code/inference.py"
                    ) from None
            tar.extractall(destination, members=members, filter="data")
    except (tarfile.TarError, OSError) as error:
        raise ModelArtifactError(f"cannot read model artifact {archive}: {error}") from error


def _program_name() -> str:
    """sagemaker_inference.environment.Environment.module_name."""
    program = os.environ.get(PROGRAM_ENV, DEFAULT_PROGRAM)
    return program[:-3] if program.endswith(".py") else program


ARCHIVE_SUFFIX = ".tar.gz"


def artifact_path_problem(artifact: str | Path) -> str | None:
    """Why `artifact` cannot be an artifact to serve, as a sentence naming it; None when it looks right.

    A cheap check of the path's form, made before any model loads: a folder must hold code/<program>.py, a file
    must be a .tar.gz. What is inside an archive is checked when it is unpacked (ModelArtifactError).
    """
    path = Path(artifact).expanduser()
    program = f"{CODE_DIR}/{_program_name()}.py"
    if path.is_dir():
        if not (path / program).is_file():
            return (
                f"model artifact folder {str(artifact)!r} has no {program}: use a folder holding {program} or a "
                "model.tar.gz"
            )
        return None
    if path.is_file():
        if not path.name.endswith(ARCHIVE_SUFFIX):
            return (
                f"model artifact {str(artifact)!r} is neither a folder nor a {ARCHIVE_SUFFIX} file: use a folder "
                f"holding {program} or a model.tar.gz"
            )
        return None
    return f"model artifact {str(artifact)!r} does not exist: use a folder holding {program} or a model.tar.gz"


def import_user_module(code_dir: Path, module_name: str) -> ModuleType:
    """Import `code_dir/<module_name>.py` as `module_name`, with `code_dir` first on sys.path while it runs.

    Like the container, the module (and helpers it imports from its directory) see their directory on the path
    during import. Afterwards the path and sys.modules are put back, so a second artifact gets its own module.
    """
    path = code_dir / f"{module_name}.py"
    if not path.is_file():
        found = sorted(p.name for p in code_dir.iterdir()) if code_dir.is_dir() else []
        raise ModelArtifactError(
            f"the model artifact has no {CODE_DIR}/{module_name}.py (found in {CODE_DIR}/: {found or 'nothing'}); "
            f"the container imports the user module from /opt/ml/model/{CODE_DIR}/"
        )
    spec = importlib.util.spec_from_file_location(module_name, path)
    if spec is None or spec.loader is None:
        raise ModelArtifactError(
            f"cannot import {path}: Python has no loader for it; the user module must be a Python source file "
            f"({CODE_DIR}/<name>.py)"
        )
    module = importlib.util.module_from_spec(spec)
    modules_before = set(sys.modules)
    previous = sys.modules.get(module_name)
    sys.path.insert(0, str(code_dir))
    sys.modules[module_name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        raise ModelArtifactError(f"importing {path} failed: {type(error).__name__}: {error}") from error
    finally:
        if str(code_dir) in sys.path:
            sys.path.remove(str(code_dir))
        for name in set(sys.modules) - modules_before:
            if _is_inside(getattr(sys.modules[name], "__file__", None), code_dir):
                del sys.modules[name]
        if previous is not None:
            sys.modules[module_name] = previous
        else:
            sys.modules.pop(module_name, None)
    return module


def _is_inside(file: str | None, directory: Path) -> bool:
    return file is not None and Path(file).resolve().is_relative_to(directory.resolve())


def _extra_args(default: Callable[..., Any], user: Callable[..., Any], context: TwinContext) -> list[Any]:
    """HuggingFaceHandlerService.function_extra_arg: one parameter more than the default's minimum means context."""
    with_context = len(signature(default).parameters)
    given = len(signature(user).parameters)
    if given == with_context:
        return [context]
    if given == with_context - 1:
        return []
    raise TypeError(
        f"{user.__name__} definition takes {with_context - 1} or {with_context} arguments but {given} were given."
    )


class ArtifactContainer:
    """One model artifact served with the toolkit's user-module contract; the interface of HuggingFaceContainer.

    `artifact` is a model.tar.gz or the folder it is packed from. An artifact that holds its model (config.json at
    its root, the stack's `modelSource: artifact`) serves it: `model_fn` receives the artifact's root, as the
    container's does without HF_MODEL_ID. An artifact of code alone (`modelSource: hub`) needs `model_dir`, the
    local copy of the weights standing in for the container's Hub download of HF_MODEL_ID. `task` is HF_TASK,
    used only by the toolkit's default model_fn when the module has none. Calls are serialised: the model server
    runs one worker.
    """

    def __init__(self, artifact: str | Path, model_dir: str | Path | None = None, task: str | None = None) -> None:
        source = Path(artifact).expanduser()
        self._tempdir: tempfile.TemporaryDirectory[str] | None = None
        if source.is_dir():
            self.root = source.resolve()
        elif source.is_file():
            self._tempdir = tempfile.TemporaryDirectory(prefix="model-artifact-")
            self.root = Path(self._tempdir.name)
            try:
                unpack_artifact(source, self.root)
            except ModelArtifactError:
                self.close()
                raise
        else:
            raise ModelArtifactError(f"model artifact {artifact} does not exist: pass a model.tar.gz or a folder")
        try:
            packed = (self.root / "config.json").is_file()
            self.model_dir = str(self.root if packed or not model_dir else Path(model_dir).expanduser().resolve())
            self.task = task or os.environ.get("HF_TASK") or "feature-extraction"
            self.context = TwinContext(self.model_dir)
            self.module = import_user_module(self.root / CODE_DIR, _program_name())
            self._bind_user_functions()
            try:
                self.model = self._load(*([self.model_dir, *self._load_extra]))
            except Exception as error:
                raise ModelArtifactError(
                    f"model_fn({self.model_dir!r}) failed: {type(error).__name__}: {error}"
                ) from error
        except BaseException:
            self.close()
            raise
        self._lock = threading.Lock()
        logger.info("serving %s from %s with model_dir %s", self.module.__name__, self.root, self.model_dir)

    # --- validate_and_initialize_user_module ---------------------------------------------------------------

    def _bind_user_functions(self) -> None:
        found = {name: getattr(self.module, name, None) for name in _USER_FUNCTIONS}
        if found["transform_fn"] and (found["input_fn"] or found["predict_fn"] or found["output_fn"]):
            raise ModelArtifactError(
                "Cannot use transform_fn implementation in conjunction with input_fn, predict_fn, and/or output_fn "
                "implementation"
            )
        self._load, self._load_extra = self._choose(self._default_load, found["model_fn"])
        self._preprocess, self._preprocess_extra = self._choose(self._default_preprocess, found["input_fn"])
        self._predict, self._predict_extra = self._choose(self._default_predict, found["predict_fn"])
        self._postprocess, self._postprocess_extra = self._choose(self._default_postprocess, found["output_fn"])
        self._transform, self._transform_extra = self._choose(self._default_transform, found["transform_fn"])

    def _choose(
        self, default: Callable[..., Any], user: Callable[..., Any] | None
    ) -> tuple[Callable[..., Any], list[Any]]:
        if user is None:
            return default, []
        try:
            return user, _extra_args(default, user, self.context)
        except TypeError as error:
            raise ModelArtifactError(str(error)) from None

    # --- the toolkit's defaults (handler_service.load/preprocess/predict/postprocess/transform_fn) -----------

    def _default_load(self, model_dir: str, context: Any = None) -> Any:
        from local_endpoint.model import ModelSource, load_pipeline

        return load_pipeline(ModelSource(model_id=model_dir, location=model_dir), self.task)

    def _default_preprocess(self, input_data: Any, content_type: str | None, context: Any = None) -> Any:
        if self.task in {"zero-shot-classification", "table-question-answering"} and content_type == codec.CSV:
            raise codec.PredictionError(
                f"content type {content_type} not support with {self.task}, use different content_type", 400
            )
        return codec.decode(input_data, content_type)

    def _default_predict(self, data: Any, model: Any, context: Any = None) -> Any:
        inputs = data.pop("inputs", data)
        parameters = data.pop("parameters", None)
        if parameters is not None:
            return model(inputs, **parameters)
        return model(inputs)

    def _default_postprocess(self, prediction: Any, accept: str, context: Any = None) -> Any:
        return codec.encode(prediction, accept)

    def _default_transform(
        self, model: Any, input_data: Any, content_type: str | None, accept: str, context: Any = None
    ) -> Any:
        processed = self._preprocess(*([input_data, content_type, *self._preprocess_extra]))
        predictions = self._predict(*([processed, model, *self._predict_extra]))
        return self._postprocess(*([predictions, accept, *self._postprocess_extra]))

    # --- handle ----------------------------------------------------------------------------------------------

    def invoke(self, body: bytes, content_type: str | None, accept: str | None) -> ContainerResponse:
        with self._lock:
            return handle(
                body,
                content_type,
                accept,
                lambda data, data_type, accept_type: self._transform(
                    *([self.model, data, data_type, accept_type, *self._transform_extra])
                ),
            )

    def close(self) -> None:
        """Remove the extracted copy of a .tar.gz artifact (a folder artifact is left alone)."""
        if self._tempdir is not None:
            self._tempdir.cleanup()
            self._tempdir = None

    def __enter__(self) -> ArtifactContainer:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
