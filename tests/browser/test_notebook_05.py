"""Notebook 05 (S7, dirty counters) in a real JupyterLab: runs clean, both figures render, the design menu redraws.

Checks are on the DOM: no tracebacks, the victim's line and the log-scale count lines, the arithmetic
panel's numbers, and the red count line's path after switching the design from v8 to v5.17.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

NAME = "05-dirty-counters.ipynb"
LAB = ".pmulab-dirtylab"


def test_notebook_05_runs_and_the_victim_plot_is_live(notebook, artifacts_dir):
    page = notebook.open(NAME).run_all().page
    notebook.figures_rendered()  # every bqplot figure of the outputs draws its marks
    assert notebook.error_outputs() == []

    # two figures in the displayed lab, each drawn: the hardware line and the two count lines
    page.wait_for_function(f"document.querySelectorAll('{LAB} .bqplot svg path.line').length >= 3", timeout=60_000)
    lab = page.locator(LAB).first
    assert lab.locator(".bqplot").count() == 2
    arith = lab.locator(".pmulab-arith")
    assert arith.get_attribute("data-jump") == str(0x7FFFFFFF - 60 + 40)
    assert "2147483627" in arith.inner_text()
    lab.scroll_into_view_if_needed()
    notebook.screenshot(artifacts_dir / "05-dirty-counters-v8.png")

    # choose v5.17: the arithmetic says +s, and the reported-count line is redrawn
    d0 = page.eval_on_selector_all(f"{LAB} svg path.line", "els => els.map(e => e.getAttribute('d')).join('|')")
    lab.locator("select").first.select_option("v5.17")
    page.wait_for_function(f"() => document.querySelector('{LAB} .pmulab-arith').dataset.jump === '40'",
                           timeout=30_000)
    page.wait_for_function(f"d => [...document.querySelectorAll('{LAB} svg path.line')].map(e => "
                           "e.getAttribute('d')).join('|') !== d", arg=d0, timeout=30_000)
    assert notebook.error_outputs() == []
    notebook.screenshot(artifacts_dir / "05-dirty-counters.png")
