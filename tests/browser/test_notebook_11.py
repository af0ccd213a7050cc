"""Notebook 11 (model against the recorded arm64 kernel) in a real JupyterLab: runs clean, the figure draws,
choosing another scenario in the dropdown redraws the kernel's bars and the model's dots.

The notebook needs no QEMU: it reads the recorded truths in ``oracle/truths``.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

NAME = "11-arm64-oracle.ipynb"
VIEW = ".pmulab-oracle"


def test_notebook_11_runs_and_the_scenario_menu_redraws(notebook, artifacts_dir):
    page = notebook.open(NAME).run_all().page
    assert notebook.error_outputs() == []

    # the notebook itself last selected S16-noinherit
    head = page.locator(f"{VIEW} .pmulab-oracle-head").first
    head.wait_for(timeout=30_000)
    assert head.get_attribute("data-scenario") == "S16-noinherit"
    assert notebook.figures_rendered(minimum=1) >= 1

    page.locator(VIEW).first.scroll_into_view_if_needed()
    before = notebook.path_of(VIEW)
    page.locator(f"{VIEW} select").first.select_option("S13")
    page.wait_for_function(f"document.querySelector('{VIEW} .pmulab-oracle-head').dataset.scenario === 'S13'",
                           timeout=30_000)
    notebook.wait_redrawn(VIEW, before)
    assert head.get_attribute("data-agree") == "1"  # every compared cell of S13: model == real kernel
    assert page.locator(f"{VIEW} .pmulab-oracle-table tr").count() > 10
    assert notebook.error_outputs() == []
    notebook.screenshot(artifacts_dir / "11-arm64-oracle.png")
