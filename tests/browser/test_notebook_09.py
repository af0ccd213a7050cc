"""Notebook 09 (the explorer) in a real JupyterLab: runs clean, the replay renders, the menu redraws.

Checks are on the DOM: no tracebacks, the summary and story texts, bqplot's line paths in the
three replay panels, and those paths after choosing another counterexample in the replay menu.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

NAME = "09-explorer.ipynb"
VIEW = ".pmulab-explore"
LINES = f"{VIEW} .bqplot svg path.line"


def test_notebook_09_runs_and_the_replay_is_live(notebook, artifacts_dir):
    page = notebook.open(NAME).run_all().page
    assert notebook.error_outputs() == []

    # the view rendered: summary, story, and the three panels drawn
    page.wait_for_function(f"document.querySelectorAll('{LINES}').length >= 3", timeout=60_000)
    view = page.locator(VIEW).first
    assert view.locator(".bqplot").count() == 3
    assert "states" in view.locator(".pmulab-explore-summary").inner_text()
    story = view.locator(".pmulab-explore-story")
    assert story.get_attribute("data-invariant") == "accounting"
    assert "accounting violated" in story.inner_text()
    view.scroll_into_view_if_needed()
    notebook.screenshot(artifacts_dir / "09-explorer-accounting.png")

    # replay another counterexample: the story and the counter lines are redrawn
    d0 = page.eval_on_selector_all(LINES, "els => els.map(e => e.getAttribute('d')).join('|')")
    view.locator(".pmulab-explore-replay select").select_option("no_destroyed_counts")
    page.wait_for_function(f"() => document.querySelector('{VIEW} .pmulab-explore-story').dataset.invariant "
                           "=== 'no_destroyed_counts'", timeout=30_000)
    page.wait_for_function(f"d => [...document.querySelectorAll('{LINES}')].map(e => "
                           "e.getAttribute('d')).join('|') !== d", arg=d0, timeout=30_000)
    assert "no_destroyed_counts violated" in view.locator(".pmulab-explore-story").inner_text()
    assert notebook.error_outputs() == []
    notebook.screenshot(artifacts_dir / "09-explorer.png")
