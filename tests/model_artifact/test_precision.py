"""ALEX_EMBEDDING_PRECISION: which precision inference.py runs in, the CPU check behind bf16, and the log line.

A one-layer stand-in model is enough for what in_precision decides (it only casts); the real model's bf16 vectors
are test_precision_gate.py's business.
"""

from __future__ import annotations

import logging
from pathlib import Path
from types import ModuleType

import pytest
import torch

from local_endpoint.artifact import ArtifactContainer, ModelArtifactError, import_user_module
from tests.paths import MODEL_ARTIFACT_DIR

ENV = "ALEX_EMBEDDING_PRECISION"
# Abridged /proc/cpuinfo of CPUs on either side of the line.
ZEN4 = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni avx512_bf16 vaes\n"
SAPPHIRE_RAPIDS = "processor\t: 0\nflags\t\t: avx2 avx512f amx_bf16 amx_tile amx_int8 avx512_fp16\n"
SKYLAKE = "processor\t: 0\nvendor_id\t: GenuineIntel\nflags\t\t: fpu sse2 avx2 avx512f avx512bw avx512vl\n"
GRAVITON3 = "processor\t: 0\nFeatures\t: fp asimd sve bf16 i8mm\nCPU implementer\t: 0x41\n"


@pytest.fixture(scope="module")
def inference() -> ModuleType:
    return import_user_module(MODEL_ARTIFACT_DIR / "code", "inference")


def precision_records(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [record for record in caplog.records if "embedding precision" in record.getMessage()]


@pytest.mark.parametrize(
    ("cpuinfo", "native", "reason"),
    [
        pytest.param(ZEN4, True, "this CPU has avx512_bf16", id="zen4"),
        pytest.param(SAPPHIRE_RAPIDS, True, "this CPU has amx_bf16", id="sapphire-rapids"),
        pytest.param(ZEN4 + "\n" + ZEN4.replace(": 0", ": 1"), True, "this CPU has avx512_bf16", id="two-cores"),
        pytest.param(SKYLAKE, False, "this CPU has neither avx512_bf16 nor amx_bf16", id="skylake"),
        pytest.param(GRAVITON3, False, "lists no x86 CPU flags", id="graviton3"),
        pytest.param("", False, "lists no x86 CPU flags", id="empty"),
    ],
)
def test_native_bf16_is_read_from_the_cpu_flags(
    inference: ModuleType, tmp_path: Path, cpuinfo: str, native: bool, reason: str
) -> None:
    path = tmp_path / "cpuinfo"
    path.write_text(cpuinfo)

    support = inference.native_bf16_support(str(path))

    assert support.native is native
    assert reason in support.reason


def test_an_unreadable_cpuinfo_means_no_native_bf16(inference: ModuleType, tmp_path: Path) -> None:
    support = inference.native_bf16_support(str(tmp_path / "missing"))

    assert not support.native
    assert f"cannot read {tmp_path / 'missing'}" in support.reason


@pytest.mark.parametrize("environ", [{}, {ENV: "fp32"}])
def test_fp32_is_the_default_and_leaves_the_model_as_loaded(
    inference: ModuleType, caplog: pytest.LogCaptureFixture, environ: dict[str, str]
) -> None:
    model = torch.nn.Linear(4, 4)
    caplog.set_level(logging.INFO, logger=inference.__name__)

    result = inference.in_precision(model, environ, support=lambda: pytest.fail("fp32 needs no CPU check"))

    assert result is model and model.weight.dtype == torch.float32
    [record] = precision_records(caplog)
    assert record.levelno == logging.INFO
    assert record.getMessage().startswith("embedding precision fp32:")


def test_bf16_on_a_cpu_with_native_bf16_casts_the_model_and_says_why(
    inference: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=inference.__name__)

    model = inference.in_precision(
        torch.nn.Linear(4, 4), {ENV: "bf16"}, support=lambda: inference.Bf16Support(True, "this CPU has amx_bf16")
    )

    assert model.weight.dtype == torch.bfloat16
    [record] = precision_records(caplog)  # once, at load
    assert record.levelno == logging.INFO
    assert record.getMessage().startswith("embedding precision bf16: this CPU has amx_bf16")


def test_bf16_elsewhere_falls_back_to_fp32_with_one_warning(
    inference: ModuleType, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, logger=inference.__name__)
    reason = "this CPU has neither avx512_bf16 nor amx_bf16 (/proc/cpuinfo)"

    model = inference.in_precision(
        torch.nn.Linear(4, 4), {ENV: "bf16"}, support=lambda: inference.Bf16Support(False, reason)
    )

    assert model.weight.dtype == torch.float32
    [record] = precision_records(caplog)
    assert record.levelno == logging.WARNING
    assert record.getMessage().startswith(f"embedding precision fp32, not the requested bf16: {reason}")


@pytest.mark.parametrize("value", ["int8", "fp16", "BF16", "bf16 ", "float32", ""])
def test_an_unknown_precision_is_refused_naming_it_and_the_allowed_ones(inference: ModuleType, value: str) -> None:
    with pytest.raises(ValueError) as raised:
        inference.in_precision(torch.nn.Linear(4, 4), {ENV: value})

    assert str(raised.value) == (
        f"{ENV}={value!r} is not a precision this endpoint offers: use one of fp32, bf16 (unset means fp32)"
    )


def test_model_fn_fails_on_an_unknown_precision(minilm_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(ENV, "int8")

    with pytest.raises(ModelArtifactError, match=f"{ENV}='int8' is not a precision this endpoint offers"):
        ArtifactContainer(MODEL_ARTIFACT_DIR, model_dir=minilm_dir)
