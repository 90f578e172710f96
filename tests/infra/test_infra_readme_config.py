"""The README's configuration and outputs tables are generated (make docs) and current."""

from __future__ import annotations

import importlib.util

from tests.paths import PROJECT_DIR


def _generator():
    spec = importlib.util.spec_from_file_location("generate_docs", PROJECT_DIR / "scripts" / "generate_docs.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_the_readmes_tables_are_the_generated_ones() -> None:
    assert _generator().main(["--check"]) == 0, "run `make docs`"


def test_defaults_in_the_table_are_the_components() -> None:
    generator = _generator()
    assert generator.default_of("serverless.memory_size_mb") == "`3072`"
    assert generator.default_of("instances.instance_type") == "`ml.m5.large`"
    assert generator.default_of("model_source") == "`artifact`"
    assert generator.default_of("pooling") == "`server`"
    assert "pinned commit" in generator.default_of("model_revision")
