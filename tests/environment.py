"""The process environment every test run has, set before anything reads it: no network, and a cache of its own.

Imported by tests/conftest.py and by the snapshot recorder (`make snapshot`), so both see the same paths.
"""

from __future__ import annotations

import os

from tests.paths import PROJECT_DIR

# The component builds archives in a per-user cache by default; the tests' copy lives in the project (git-ignored),
# where a session finds the 83 MB archive of the default model already built.
os.environ["XDG_CACHE_HOME"] = str(PROJECT_DIR / ".build" / "test-cache")
os.environ["HF_HUB_OFFLINE"] = "1"
os.environ["TRANSFORMERS_OFFLINE"] = "1"
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
