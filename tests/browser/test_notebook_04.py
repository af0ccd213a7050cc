"""Notebook 04 (Mark's point 1) in a real JupyterLab: runs clean, every figure renders, the heat map is live.

Checks are on the DOM the student sees: no tracebacks, one SVG per bqplot figure with its marks,
and the leak-matrix cells' colours after unticking two scenarios.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

NAME = "04-leaks.ipynb"
FIGURES = 5  # three scenario explorers, two leak-matrix heat maps (one shown, one only asserted on)
HEAT = ".pmulab-leaklab .bqplot svg rect"


def test_notebook_04_runs_and_the_leak_matrix_is_live(notebook, artifacts_dir):
    page = notebook.open(NAME).run_all().page
    notebook.figures_rendered()  # every bqplot figure of the outputs draws its marks
    assert notebook.error_outputs() == []

    # every displayed figure rendered its SVG with marks: 3 explorers (lines) + the heat map (cells)
    page.wait_for_function("document.querySelectorAll('.pmulab-explorer .bqplot svg path.line').length >= 3",
                           timeout=60_000)
    page.wait_for_function(f"document.querySelectorAll('{HEAT}').length >= 36", timeout=60_000)
    assert page.locator(".bqplot").count() >= FIGURES - 1
    assert page.locator(".pmulab-badge").count() >= 3

    lab = page.locator(".pmulab-leaklab").first
    lab.scroll_into_view_if_needed()
    notebook.screenshot(artifacts_dir / "04-leaks-matrix.png")
    before = page.eval_on_selector_all(HEAT, "els => els.map(e => e.getAttribute('style') + e.getAttribute('fill'))")
    table_before = page.locator(".pmulab-leaktable").first.inner_text()

    # untick S15 and S16: the 'granted' column empties, the heat map is redrawn
    for s in ("S15", "S16"):
        lab.locator(".widget-checkbox", has_text=f"{s}:").locator("input").click()
    page.wait_for_function("b => { const t = document.querySelector('.pmulab-leaktable'); "
                           "return t && t.innerText !== b; }", arg=table_before, timeout=30_000)
    page.wait_for_function(f"b => JSON.stringify([...document.querySelectorAll('{HEAT}')].map(e => "
                           "e.getAttribute('style') + e.getAttribute('fill'))) !== JSON.stringify(b)", arg=before,
                           timeout=30_000)
    assert "S15" not in page.locator(".pmulab-leaktable").first.inner_text()
    assert notebook.error_outputs() == []

    # the S1 explorer: choose pmuv3p9, the t_reads_cpu_bound_count badge flips
    explorer = page.locator(".pmulab-explorer").first
    explorer.scroll_into_view_if_needed()
    explorer.locator("select").first.select_option("pmuv3p9")
    page.wait_for_function("() => document.querySelector('.pmulab-explorer .pmulab-badges').dataset.design"
                           " === 'pmuv3p9'", timeout=30_000)
    assert "✗ t_reads_cpu_bound_count" in explorer.locator(".pmulab-badges").inner_text()
    notebook.screenshot(artifacts_dir / "04-leaks.png")
