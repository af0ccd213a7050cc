"""Notebook 03 in a real JupyterLab: it runs clean, the lock/index plot renders, and the Step/Inject buttons work.

Checks are on the DOM: tracebacks, bqplot's SVG, the panel's data attributes (lock, parity, retries, steps), and
the plotted path after clicking Step and Inject.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

NAME = "03-user-page-and-seqlock.ipynb"
LAB = ".pmulab-readloop"
LINE = f"{LAB} .bqplot svg path.line"
STATE = f"{LAB} .pmulab-readloop-state"


def test_notebook_03_runs_and_the_read_loop_steps(notebook, artifacts_dir):
    page = notebook.open(NAME).run_all().page
    notebook.figures_rendered()  # every bqplot figure of the outputs draws its marks

    assert notebook.error_outputs() == []

    lab = notebook.show_lab(LAB, lines=2)  # the lab's lines are drawn; nothing stepped or run yet
    assert notebook.data(STATE, "steps") == "0"
    assert notebook.data(STATE, "parity") == "0"

    step = page.locator(f"{LAB} button", has_text="Step").first
    inject = page.locator(f"{LAB} button", has_text="Inject now").first

    # three steps (lock, times, index), then a preemption: the plotted lock line changes
    for n in (1, 2, 3):
        step.click()
        page.wait_for_function(f"document.querySelector('{STATE}').dataset.steps === '{n}'", timeout=30_000)
    d0 = page.locator(LINE).first.get_attribute("d")
    lock0 = notebook.data(STATE, "lock")
    inject.click()  # the dropdown's default is "preemption"
    page.wait_for_function(f"document.querySelector('{STATE}').dataset.lock !== '{lock0}'", timeout=30_000)
    page.wait_for_function(f"d => document.querySelector(\"{LINE}\").getAttribute('d') !== d", arg=d0,
                           timeout=30_000)
    assert page.locator(f"{LAB} .bqplot svg path.dot").count() >= 1  # the injection marker

    # step on: offset, mrs, recheck -> the lock changed, so the loop retries
    for n in (4, 5, 6):
        step.click()
        page.wait_for_function(f"document.querySelector('{STATE}').dataset.steps === '{n}'", timeout=30_000)
    assert notebook.data(STATE, "retries") == "1"
    finish = page.locator(f"{LAB} button", has_text="Finish loop").first
    finish.click()
    page.wait_for_function(f"document.querySelector('{STATE}').dataset.done === '1'", timeout=30_000)
    assert page.locator(f"{STATE} .pmulab-error").inner_text().strip() == "0"
    assert notebook.data(STATE, "parity") == "0"
    assert notebook.error_outputs() == []
    assert page.locator(f"{LAB} .pmulab-errors").inner_text().strip() == ""

    lab.scroll_into_view_if_needed()
    notebook.screenshot(artifacts_dir / "03-user-page-and-seqlock.png")
