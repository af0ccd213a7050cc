"""Notebook 06 (Mark's point 2) in a real JupyterLab: runs clean, all four figures render, controls redraw.

Checks are on the DOM: no tracebacks, the two per-CPU timelines and the two accounting plots of the
side-by-side lab, red crosses on the v8 side only, and the plots after switching to S4.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

NAME = "06-mmap-from-another-task.ipynb"
LAB = ".pmulab-accesslab"


def test_notebook_06_runs_and_the_timelines_are_live(notebook, artifacts_dir):
    page = notebook.open(NAME).run_all().page
    notebook.figures_rendered()  # every bqplot figure of the outputs draws its marks
    assert notebook.error_outputs() == []

    page.wait_for_function(f"document.querySelectorAll('{LAB} .bqplot svg path.line').length >= 4", timeout=60_000)
    lab = page.locator(LAB).first
    assert lab.locator(".bqplot").count() == 4
    # mismatch crosses: the v8 side has some, the v8-efc side none (scatter dots are path.dot)
    assert lab.locator(".pmulab-badges[data-design='v8']").count() == 1
    assert "✗ accounting_consistent" in lab.locator(".pmulab-badges[data-design='v8']").inner_text()
    assert "✓ accounting_consistent" in lab.locator(".pmulab-badges[data-design='v8-efc']").inner_text()
    lab.scroll_into_view_if_needed()
    notebook.screenshot(artifacts_dir / "06-mmap-from-another-task-S3.png")

    d0 = page.eval_on_selector_all(f"{LAB} svg path.line", "els => els.map(e => e.getAttribute('d')).join('|')")
    lab.locator("button.widget-toggle-button", has_text="S4").click()
    page.wait_for_function(f"d => [...document.querySelectorAll('{LAB} svg path.line')].map(e => "
                           "e.getAttribute('d')).join('|') !== d", arg=d0, timeout=30_000)
    # the badges are another widget: their sync may land after the lines'
    page.wait_for_function(f"document.querySelector(\"{LAB} .pmulab-badges[data-design='v8']\").innerText"
                           ".includes('owner_cpu_still_enabled')", timeout=30_000)
    assert notebook.error_outputs() == []
    notebook.screenshot(artifacts_dir / "06-mmap-from-another-task.png")
