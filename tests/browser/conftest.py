"""Fixtures for the browser tests: one JupyterLab per module, one Chromium per session.

A missing Chromium or Playwright skips these tests with the reason, and fails them under
``CI=true``. A failing test leaves ``test-artifacts/<test>.png`` and the server log behind.
"""

from __future__ import annotations

import os
import re

import pytest
from jlab import CHROMIUM, CHROMIUM_ARGS, LabServer, NotebookPage


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, f"rep_{rep.when}", rep)


@pytest.fixture(scope="session")
def chromium_browser(missing_tool):
    if not os.access(CHROMIUM, os.X_OK):
        missing_tool(f"no chromium at {CHROMIUM} (apt-get install -y chromium, or set PMULAB_CHROMIUM)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        missing_tool("the playwright package is not installed (pip install -e '.[test]')")
    pw = sync_playwright().start()
    try:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
    except Exception as exc:  # a broken browser install is as good as a missing one
        pw.stop()
        missing_tool(f"chromium did not start: {exc}")
    yield browser
    browser.close()
    pw.stop()


@pytest.fixture(scope="module")
def lab(chromium_browser, notebooks_dir, tmp_path_factory, artifacts_dir, request):
    name = re.sub(r"\W+", "_", request.module.__name__)
    server = LabServer(notebooks_dir, tmp_path_factory.mktemp("lab"), artifacts_dir / f"{name}-jupyterlab.log")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def notebook(chromium_browser, lab, artifacts_dir, request):
    """A fresh browser page on the module's JupyterLab; screenshot on failure."""
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    nb = NotebookPage(page, lab)
    yield nb
    rep = getattr(request.node, "rep_call", None)
    if rep is None or rep.failed:
        shot = artifacts_dir / f"{re.sub(r'[^A-Za-z0-9_.-]+', '_', request.node.name)}-FAILED.png"
        try:
            nb.screenshot(shot)
            print(f"screenshot: {shot}")
        except Exception as exc:  # the page may be gone; the failure itself matters more
            print(f"no screenshot: {exc}")
    context.close()
