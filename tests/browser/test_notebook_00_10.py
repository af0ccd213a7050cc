"""Notebooks 00 (tour) and 10 (real kernel) in a real JupyterLab: run clean, figures render, widgets live.

One JupyterLab server for this module (the ``lab`` fixture); each notebook in a fresh page.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

TRACE = ".pmulab-tracestrip .pmulab-tracestrip-table"
HOST_LINE = ".pmulab-hosttimes .bqplot svg path.line"


def test_tour_runs_and_its_widgets_are_live(notebook, artifacts_dir):
    page = notebook.open("00-tour.ipynb").run_all().page
    assert notebook.error_outputs() == []

    table = page.locator(".pmulab-truthtable table.pmulab-truth")
    table.wait_for(timeout=30_000)
    assert table.get_attribute("data-pmuserenr") == "0xc"
    page.locator(".pmulab-page[data-index='1']").wait_for(timeout=30_000)
    assert page.locator(".pmulab-strip td[data-kind='leak']").count() == 1

    # the tick slider of the trace strip: step back one tick, the table follows
    strip = page.locator(TRACE)
    last = strip.get_attribute("data-tick")
    handle = page.locator(".pmulab-tracestrip .widget-slider .noUi-handle").first
    handle.scroll_into_view_if_needed()
    handle.focus()
    page.keyboard.press("ArrowLeft")
    page.wait_for_function(f"t => document.querySelector('{TRACE}').dataset.tick !== t", arg=last, timeout=30_000)
    assert int(strip.get_attribute("data-tick")) == int(last) - 1
    assert notebook.error_outputs() == []
    page.locator(".pmulab-ownership").first.scroll_into_view_if_needed()
    notebook.screenshot(artifacts_dir / "00-tour.png")


def test_real_kernel_runs_and_its_plot_follows_the_slider(notebook, artifacts_dir):
    page = notebook.open("10-real-kernel.ipynb").run_all().page
    assert notebook.error_outputs() == []

    page.locator(".pmulab-pagecompare .pmulab-page").first.wait_for(timeout=30_000)
    assert page.locator(".pmulab-pagecompare .pmulab-page[data-index='1']").count() == 1  # the model's page
    page.wait_for_selector(HOST_LINE, state="attached", timeout=60_000)
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
