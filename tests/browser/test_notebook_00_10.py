"""Notebooks 00 (tour) and 10 (real kernel) in a real JupyterLab: run clean, figures render, widgets live.

One JupyterLab server for this module (the ``lab`` fixture); each notebook in a fresh page.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

HOST_LINE = ".pmulab-hosttimes .bqplot svg path.line"


def test_tour_runs_and_its_four_stops_are_live(notebook, artifacts_dir):
    page = notebook.open("00-tour.ipynb").run_all().page
    assert notebook.error_outputs() == []

    # stop 1: the PMUSERENR table as v8 sets it
    table = page.locator(".pmulab-truthtable table.pmulab-truth")
    table.wait_for(timeout=30_000)
    assert table.get_attribute("data-pmuserenr") == "0xc"
    # stops 2-4: one explorer each, on the real designs; every figure of the tour draws
    for name in ("S1", "S3", "S13"):
        page.locator(f".pmulab-explorer-{name} .pmulab-verdict[data-ok='1']").wait_for(timeout=30_000)
    assert notebook.figures_rendered(minimum=6) == 6
    s1 = ".pmulab-explorer-S1"
    assert page.locator(f"{s1} .pmulab-leak").get_attribute("data-leak") == "1"
    assert page.locator(f"{s1} .pmulab-strip td[data-kind='leak']").count() == 1

    # Mark's point 1 answered by hardware: S1 on pmuv3p9 leaks nothing, and its plot is redrawn
    page.locator(s1).scroll_into_view_if_needed()
    before = notebook.path_of(s1)
    page.locator(f"{s1} select").first.select_option("pmuv3p9")
    page.wait_for_function(f"document.querySelector('{s1} .pmulab-leak').dataset.leak === '0'", timeout=30_000)
    notebook.wait_redrawn(s1, before)
    assert page.locator(f"{s1} .pmulab-strip td[data-kind='leak']").count() == 0
    assert notebook.error_outputs() == []
    notebook.screenshot(artifacts_dir / "00-tour-S1.png")

    # Mark's point 2: S3 on v8-efc; EL0 access moves to A's CPU and the accounting agrees
    s3 = ".pmulab-explorer-S3"
    page.locator(s3).scroll_into_view_if_needed()
    before = notebook.path_of(s3)
    page.locator(f"{s3} select").first.select_option("v8-efc")
    page.locator(f"{s3} .pmulab-badge[data-check='accounting_consistent'][data-good='1']").wait_for(timeout=30_000)
    notebook.wait_redrawn(s3, before)
    notebook.screenshot(artifacts_dir / "00-tour-S3.png")
    page.locator(".pmulab-explorer-S13").scroll_into_view_if_needed()
    notebook.screenshot(artifacts_dir / "00-tour.png")
    assert notebook.error_outputs() == []


def test_real_kernel_runs_and_its_plot_follows_the_slider(notebook, artifacts_dir):
    page = notebook.open("10-real-kernel.ipynb").run_all().page
    assert notebook.error_outputs() == []

    page.locator(".pmulab-pagecompare .pmulab-page").first.wait_for(timeout=30_000)
    assert page.locator(".pmulab-pagecompare .pmulab-page[data-index='1']").count() == 1  # the model's page
    page.wait_for_selector(HOST_LINE, state="attached", timeout=60_000)
    notebook.figures_rendered(minimum=1)
    d0 = page.locator(HOST_LINE).first.get_attribute("d")  # host line (noisy) or, if refused, the model's
    handle = page.locator(".pmulab-hosttimes .widget-slider .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    page.wait_for_function(f"d => document.querySelector('{HOST_LINE}').getAttribute('d') !== d", arg=d0,
                           timeout=30_000)
    assert notebook.error_outputs() == []
    page.locator(".pmulab-hosttimes").first.scroll_into_view_if_needed()
    notebook.screenshot(artifacts_dir / "10-real-kernel.png")
    page.locator(".pmulab-pagecompare").first.scroll_into_view_if_needed()
    notebook.screenshot(artifacts_dir / "10-real-kernel-pages.png")
