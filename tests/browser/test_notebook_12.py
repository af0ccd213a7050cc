"""Notebook 12 in a real JupyterLab: it runs clean, the ring-buffer lab draws, and Run with a faster consumer
makes the LOST records disappear.

Checks are on the DOM: tracebacks, bqplot's SVG lines, and the lab's state attributes (lost, dropped, samples).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

NAME = "12-sampling-and-ring-buffer.ipynb"
LAB = ".pmulab-ringlab"
LINE = f"{LAB} .bqplot svg path.line"
STATE = f"{LAB} .pmulab-ring-state"


def state(page, attr: str) -> str:
    return page.locator(STATE).first.get_attribute(f"data-{attr}")


def test_notebook_12_runs_and_the_consumer_slider_removes_lost_records(notebook, artifacts_dir):
    page = notebook.open(NAME).run_all().page
    notebook.figures_rendered()  # every bqplot figure of the outputs draws its marks
    assert notebook.error_outputs() == []

    lab = page.locator(LAB).first
    lab.wait_for(state="attached", timeout=60_000)
    lab.scroll_into_view_if_needed()
    page.wait_for_selector(LINE, state="attached", timeout=60_000)
    page.wait_for_function(f"document.querySelectorAll('{LINE}').length >= 3", timeout=30_000)
    assert int(state(page, "dropped")) > 0 and int(state(page, "ticks")) == 40

    # consumer every tick: set the slider to 1 with the keyboard (Home), then Run
    slider = page.locator(f"{LAB} .widget-hslider", has_text="consume every").first
    slider.locator(".noUi-handle, .slider-handle").first.focus()
    page.keyboard.press("Home")
    page.locator(f"{LAB} button", has_text="Run").first.click()
    page.wait_for_function(f"document.querySelector('{STATE}').dataset.dropped === '0'", timeout=30_000)
    assert state(page, "lost") == "0" and int(state(page, "samples")) > 0
    assert notebook.error_outputs() == []
    page.locator(LAB).first.scroll_into_view_if_needed()
    notebook.screenshot(artifacts_dir / "12-sampling-and-ring-buffer.png")
