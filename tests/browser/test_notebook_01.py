"""Notebook 01 in a real JupyterLab: it runs clean, the plot renders, and the widgets are live.

Every check is on the DOM the student sees: tracebacks, bqplot's SVG marks, the truth table's
cells, and the path of a counter line after moving the rate slider.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

NAME = "01-pmuv3-hardware.ipynb"
TABLE = ".pmulab-truthtable table.pmulab-truth"
LINE = ".pmulab-timeline .bqplot svg path.line"


def test_notebook_01_runs_and_its_widgets_are_live(notebook, artifacts_dir):
    page = notebook.open(NAME).run_all().page
    notebook.figures_rendered()  # every bqplot figure of the outputs draws its marks

    assert notebook.error_outputs() == []

    # the bqplot figure rendered: one line per counter plus the cycle counter, and overflow markers
    page.wait_for_selector(LINE, state="attached", timeout=60_000)
    page.wait_for_function(f"document.querySelectorAll('{LINE}').length >= 5", timeout=30_000)
    assert page.locator(".pmulab-timeline .bqplot svg path.dot").count() >= 1

    # the truth table shows what the notebook set last (ER|CR): EL0 may not write PMCR_EL0
    table = page.locator(TABLE)
    table.wait_for(timeout=30_000)
    assert table.get_attribute("data-pmuserenr") == "0xc"
    pmcr_write = f"{TABLE} tr[data-register='PMCR_EL0'] td[data-outcome]:nth-of-type(2)"
    assert page.locator(pmcr_write).get_attribute("data-outcome") == "trap"
    before = table.inner_text()
    table.scroll_into_view_if_needed()
    notebook.screenshot(artifacts_dir / "01-pmuv3-hardware-truth-table.png")

    # flip PMUSERENR_EL0.EN in the widget: the table is recomputed by the kernel-side model
    en = page.locator(".pmulab-truthtable button.widget-toggle-button", has_text="EN").first
    en.scroll_into_view_if_needed()
    en.click()
    page.wait_for_function(f"document.querySelector(\"{TABLE}\").dataset.pmuserenr === '0xd'", timeout=30_000)
    assert page.locator(pmcr_write).get_attribute("data-outcome") == "allow"
    assert table.inner_text() != before

    # move the rate slider: counter 0's line is redrawn
    d0 = page.locator(LINE).first.get_attribute("d")
    handle = page.locator(".pmulab-timeline .widget-slider .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(f"d => document.querySelector(\"{LINE}\").getAttribute('d') !== d", arg=d0,
                           timeout=30_000)
    assert notebook.error_outputs() == []

    page.locator(".pmulab-timeline").first.scroll_into_view_if_needed()
    notebook.screenshot(artifacts_dir / "01-pmuv3-hardware.png")
