"""Notebook 12 in a real JupyterLab: it runs clean, the ring-buffer lab draws, and Run with a faster consumer
makes the LOST records disappear.

Checks are on the DOM: tracebacks, bqplot's SVG lines, and the lab's state attributes (lost, dropped, samples).
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

NAME = "12-sampling-and-ring-buffer.ipynb"
LAB = ".pmulab-ringlab"
STATE = f"{LAB} .pmulab-ring-state"


def test_notebook_12_runs_and_the_consumer_slider_removes_lost_records(notebook, artifacts_dir):
    page = notebook.open(NAME).run_all().page
    notebook.figures_rendered()  # every bqplot figure of the outputs draws its marks
    assert notebook.error_outputs() == []

    notebook.show_lab(LAB, lines=3)
    assert int(notebook.data(STATE, "dropped")) > 0 and int(notebook.data(STATE, "ticks")) == 40

    # consumer every tick: set the slider to 1 with the keyboard (Home), then Run
    slider = page.locator(f"{LAB} .widget-hslider", has_text="consume every").first
    slider.locator(".noUi-handle, .slider-handle").first.focus()
    page.keyboard.press("Home")
    page.locator(f"{LAB} button", has_text="Run").first.click()
    page.wait_for_function(f"document.querySelector('{STATE}').dataset.dropped === '0'", timeout=30_000)
    assert notebook.data(STATE, "lost") == "0" and int(notebook.data(STATE, "samples")) > 0
    assert notebook.error_outputs() == []
    page.locator(LAB).first.scroll_into_view_if_needed()
    notebook.screenshot(artifacts_dir / "12-sampling-and-ring-buffer.png")
