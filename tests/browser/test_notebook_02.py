"""Notebook 02 in a real JupyterLab: it runs clean, every bqplot figure renders, and the multiplexing lab is live.

Checks are on the DOM the student sees: tracebacks, the refusal and event-table HTML, bqplot's SVG lines, and the
path of the time_running lines after moving the counters slider.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

NAME = "02-perf-events.ipynb"
LAB = ".pmulab-muxlab"
LINE = f"{LAB} .bqplot svg path.line"


def test_notebook_02_runs_and_the_multiplexing_lab_is_live(notebook, artifacts_dir):
    page = notebook.open(NAME).run_all().page
    notebook.figures_rendered()  # every bqplot figure of the outputs draws its marks

    assert notebook.error_outputs() == []

    # refusals and the event tables are rendered HTML
    assert page.locator(".pmulab-refusal[data-errno='EACCES']").count() >= 1
    assert page.locator(".pmulab-refusal[data-errno='EINVAL']").count() >= 1
    assert page.locator("table.pmulab-events tr[data-state='ERROR']").count() == 1  # the unschedulable pinned leader

    # both figures of the lab rendered: time_enabled + 4 time_running lines, and true/scaled/raw
    page.wait_for_selector(LINE, state="attached", timeout=60_000)
    page.wait_for_function(f"document.querySelectorAll('{LAB} .bqplot').length === 2", timeout=30_000)
    page.wait_for_function(f"document.querySelectorAll('{LINE}').length >= 5 + 3", timeout=30_000)
    # the last cells left the lab at 4 events on 2 counters: multiplexed
    status = page.locator(f"{LAB} .pmulab-mux-status")
    assert "multiplexed" in status.inner_text()

    lab = page.locator(LAB).first
    lab.scroll_into_view_if_needed()
    notebook.screenshot(artifacts_dir / "02-perf-events-multiplexed.png")

    # move the counters slider up to 4: the lab rebuilds, the running lines join time_enabled
    d0 = page.locator(LINE).nth(1).get_attribute("d")
    handle = page.locator(f"{LAB} .widget-slider .noUi-handle").nth(1)  # events, counters
    handle.focus()
    page.keyboard.press("ArrowRight")
    page.keyboard.press("ArrowRight")
    page.wait_for_function(f"d => document.querySelectorAll(\"{LINE}\")[1].getAttribute('d') !== d", arg=d0,
                           timeout=30_000)
    page.wait_for_function(f"document.querySelector('{LAB} .pmulab-mux-status').innerText.includes('all on the PMU')",
                           timeout=30_000)
    assert notebook.error_outputs() == []
    assert page.locator(f"{LAB} .pmulab-errors").inner_text().strip() == ""

    lab.scroll_into_view_if_needed()
    notebook.screenshot(artifacts_dir / "02-perf-events.png")
