"""Notebook 13 (design studio) in a real JupyterLab: runs clean, the grade panels render, a click re-grades.

Checks are on the DOM: no tracebacks, every panel's two bqplot figures drawn (safety heat map
cells, cost bars), and clicking the first panel's "grade" button (the student's starting code,
v8's xor, after the reference answer was shown) changes the cost bars and the status line.
"""

from __future__ import annotations

import json

import pytest

pytestmark = pytest.mark.browser

NAME = "13-design-studio.ipynb"
PANELS = 4
STUDIO = ".pmulab-studio"
RENDERED_JS = """n => { const views = Array.from(document.querySelectorAll('.pmulab-studio'));
  return views.length === n && views.every(v => v.querySelectorAll('svg rect.heatmapcell').length === 32
    && v.querySelectorAll('svg rect.bar').length > 0); }"""
PLOTS_JS = """() => { const v = document.querySelector('.pmulab-studio');
  const cells = Array.from(v.querySelectorAll('svg rect.heatmapcell')).map(r => r.style.fill);
  const bars = Array.from(v.querySelectorAll('svg rect.bar')).map(r => r.getAttribute('height'));
  return JSON.stringify({cells, bars}); }"""


def test_notebook_13_runs_and_grades_on_click(notebook, artifacts_dir):
    page = notebook.open(NAME).run_all(timeout_ms=300_000).page
    assert notebook.error_outputs() == []
    page.wait_for_function(RENDERED_JS, arg=PANELS, timeout=60_000)

    view = page.locator(STUDIO).first
    view.scroll_into_view_if_needed()
    assert "FixedDirtyAnswer" in view.text_content()
    notebook.screenshot(artifacts_dir / "13-reference-answer.png")

    before = page.evaluate(PLOTS_JS)
    view.locator("button.pmulab-grade").click()
    page.wait_for_function(f"b => JSON.parse(({PLOTS_JS})()).cells.join() !== JSON.parse(b).cells.join()",
                           arg=before, timeout=90_000)
    page.wait_for_function("""() => document.querySelector('.pmulab-studio').textContent.includes('FixedDirty:')""",
                           timeout=30_000)
    assert "S7" in view.text_content()  # the starting code (v8's xor) fails S7 again
    view.locator(".bqplot").nth(1).scroll_into_view_if_needed()
    page.wait_for_timeout(1000)
    after = page.evaluate(PLOTS_JS)
    bars_before, bars_after = json.loads(before)["bars"], json.loads(after)["bars"]
    assert any(float(h) > 0 for h in bars_after) and bars_after != bars_before  # the cost bars moved too
    assert notebook.error_outputs() == []
    view.scroll_into_view_if_needed()
    notebook.screenshot(artifacts_dir / "13-after-grade-click.png")
