"""Shared pytest configuration: repository paths and the `browser` marker's CI rule.

Browser tests need Debian's Chromium and the Playwright package. Where they are missing the
tests are skipped with the reason, except under ``CI=true``, where a missing browser is a
failure: a green CI run must mean the notebooks really ran in a browser.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
NOTEBOOKS = ROOT / "notebooks"
ARTIFACTS = ROOT / "test-artifacts"


def on_ci() -> bool:
    """True when the environment says this is a CI run (``CI=true``)."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


def unavailable(reason: str):
    """Fail under CI, skip elsewhere, naming what is missing."""
    if on_ci():
        pytest.fail(f"{reason} (CI=true: browser tests may not be skipped)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="session")
def missing_tool():
    """The CI rule for missing tools, as a fixture: ``missing_tool("no chromium")``."""
    return unavailable


@pytest.fixture(scope="session")
def artifacts_dir() -> Path:
    """Where screenshots and server logs go (``test-artifacts/``, ignored by git)."""
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return ROOT


@pytest.fixture(scope="session")
def notebooks_dir() -> Path:
    return NOTEBOOKS
