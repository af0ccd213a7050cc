"""Notebook 08 (what Linux merged) in a real JupyterLab: runs clean, every figure renders, widgets live.

Checks are on the DOM: tracebacks, each bqplot figure's marks, the walk-through's step text and
line after choosing another design, the S13 ScenarioExplorer's badges on v5.17 and v8, and the story
shown after clicking a cell of the design matrix.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

NAME = "08-what-linux-merged.ipynb"
FIGURES = 5  # timeline, walk-through, S13 explorer (counters, EL0 access), design matrix
WALK = ".pmulab-walkthrough"
MATRIX = ".pmulab-matrix"
RENDERED_JS = """n => { const figs = Array.from(document.querySelectorAll('.jp-OutputArea-output .bqplot'));
  return figs.length === n && figs.every(f => f.querySelector('svg .plotarea_events')
    && f.querySelectorAll('svg path.line, svg path.dot, svg rect.heatmapcell').length > 0); }"""


def test_notebook_08_runs_and_its_widgets_are_live(notebook, artifacts_dir):
    page = notebook.open(NAME).run_all().page
    assert notebook.error_outputs() == []
    page.wait_for_function(RENDERED_JS, arg=FIGURES, timeout=60_000)

    # the series timeline: 13 versions drawn
    timeline = page.locator(".pmulab-timeline-series").first
    assert timeline.locator("svg path.dot").count() == 13
    timeline.scroll_into_view_if_needed()
    notebook.screenshot(artifacts_dir / "08-timeline.png")

    # the walk-through at step 6 on v5.17: U runs, CPU 0 still has ER|CR (S13)
    walk = page.locator(WALK).first
    step = walk.locator(".pmulab-walk-step")
    assert step.get_attribute("data-step") == "6" and step.get_attribute("data-pmuserenr0") == "0xc"
    walk.scroll_into_view_if_needed()
    notebook.screenshot(artifacts_dir / "08-walkthrough.png")
    d0 = walk.locator("svg path.line").first.get_attribute("d")
    walk.locator("select").first.select_option("v8")
    page.wait_for_function(f"""d => document.querySelector("{WALK} svg path.line").getAttribute('d') !== d""",
                           arg=d0, timeout=30_000)
    page.wait_for_function(f"""() => document.querySelector("{WALK} .pmulab-walk-step").dataset.pmuserenr0
        === '0x0'""", timeout=30_000)

    # the S13 explorer (pmulab.viz.ScenarioExplorer, as everywhere): as expected on v5.17; on v8 the window is shut
    s13 = page.locator(".pmulab-explorer-S13").first
    assert s13.locator(".pmulab-verdict").get_attribute("data-ok") == "1"
    assert s13.locator(".pmulab-badge[data-check='stale_access']").inner_text().startswith("✓")
    s13.scroll_into_view_if_needed()
    notebook.screenshot(artifacts_dir / "08-s13-explorer.png")
    s13.locator("select").first.select_option("v8")
    page.wait_for_function("""() => document.querySelector('.pmulab-explorer-S13 .pmulab-badges').dataset.design
        === 'v8'""", timeout=30_000)
    assert s13.locator(".pmulab-verdict").get_attribute("data-ok") == "1"
    assert s13.locator(".pmulab-badge[data-check='stale_access']").inner_text().startswith("✗")

    # the design matrix: 96 cells, all as expected; click S13 x v5.17 and its story appears
    matrix = page.locator(MATRIX).first
    assert matrix.locator("rect.heatmapcell").count() == 96
    assert matrix.locator(".pmulab-matrix-head").get_attribute("data-ok") == "96"
    assert matrix.locator(".pmulab-matrix-story").get_attribute("data-scenario") == "S7"
    matrix.scroll_into_view_if_needed()
    rows = matrix.locator("g.heatmaprow")
    cell = rows.nth(12).locator("rect.heatmapcell").nth(4)  # row S13, column v5.17 (rows in data order)
    cell.click()
    page.wait_for_function(f"""() => {{ const s = document.querySelector("{MATRIX} .pmulab-matrix-story");
        return s.dataset.scenario === 'S13' && s.dataset.design === 'v5.17'; }}""", timeout=30_000)
    assert "stale_access" in matrix.locator(".pmulab-matrix-story").inner_text()
    assert notebook.error_outputs() == []
    notebook.screenshot(artifacts_dir / "08-design-matrix.png")
    matrix.locator(".pmulab-matrix-story").scroll_into_view_if_needed()
    notebook.screenshot(artifacts_dir / "08-design-matrix-story.png")
