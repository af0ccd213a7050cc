"""Notebook 07 (switch, widths, big.LITTLE) in a real JupyterLab: runs clean, every figure renders, widgets live.

Checks are on the DOM the student sees: tracebacks, each bqplot figure's marks, the lab's summary
badges, and the path of a plotted line after a control is changed.
"""

from __future__ import annotations

import pytest

pytestmark = pytest.mark.browser

NAME = "07-sysctl-widths-heterogeneous.ipynb"
FIGURES = 6  # two per lab: the sysctl lab, the widths lab, the big.LITTLE lab
LAB = ".pmulab-access-lab"
HOP = ".pmulab-biglittle"
# a figure has rendered when its SVG holds at least one drawn mark
RENDERED_JS = """n => { const figs = Array.from(document.querySelectorAll('.jp-OutputArea-output .bqplot'));
  return figs.length === n && figs.every(f => f.querySelector('svg .plotarea_events')
    && f.querySelectorAll('svg path.line, svg path.dot').length > 0); }"""
# where the first figure of a view draws its markers (one transform per marker)
DOTS_JS = """sel => Array.from(document.querySelector(sel).querySelector('.bqplot')
  .querySelectorAll('svg g.object_grp'))
  .map(d => d.getAttribute('transform')).join('|')"""


def _centre(locator) -> None:
    locator.evaluate("e => e.scrollIntoView({block: 'center'})")


def test_notebook_07_runs_and_its_widgets_are_live(notebook, artifacts_dir):
    page = notebook.open(NAME).run_all().page
    assert notebook.error_outputs() == []
    page.wait_for_function(RENDERED_JS, arg=FIGURES, timeout=60_000)

    # the sysctl lab as the notebook left it: the flip at tick 7 traps T twice
    lab = page.locator(LAB).first
    summary = lab.locator(".pmulab-access-summary")
    assert summary.get_attribute("data-opened") == "opened"
    assert lab.locator(".pmulab-badge[data-outcome='SIGILL']").get_attribute("data-n") == "2"
    _centre(lab.locator(".bqplot").first)
    notebook.screenshot(artifacts_dir / "07-sysctl-lab.png")

    # switch the sysctl to 0 (the flip now writes 1): no SIGILL, and the state plot is redrawn
    before = lab.locator(".bqplot").nth(1).locator("svg path.line").first.get_attribute("d")
    lab.locator("button.widget-toggle-button", has_text="0 (default: off)").click()
    page.wait_for_function("""([sel, d]) => { const l = document.querySelector(sel);
        return l && l.querySelectorAll('.bqplot')[1].querySelector('svg path.line').getAttribute('d') !== d; }""",
                           arg=[LAB, before], timeout=30_000)
    page.wait_for_function(f"""() => document.querySelector("{LAB} .pmulab-badge[data-outcome='SIGILL']")
        .dataset.n === '0'""", timeout=30_000)
    notebook.screenshot(artifacts_dir / "07-sysctl-lab-off.png")

    # the widths lab: INST_RETIRED with config1=0x3 on PMUv3p4 is refused at open
    widths = page.locator(LAB).nth(1)
    _centre(widths)
    widths.locator("select").first.select_option("INST_RETIRED")
    page.wait_for_function(f"""() => document.querySelectorAll("{LAB} .pmulab-access-summary")[1]
        .dataset.opened === 'EOPNOTSUPP'""", timeout=30_000)
    notebook.screenshot(artifacts_dir / "07-widths-lab.png")

    # big.LITTLE: pinning T to its cluster removes the SIGILL and moves the CPU markers
    hop = page.locator(HOP).first
    _centre(hop)
    assert hop.locator(".pmulab-badge[data-outcome='SIGILL']").get_attribute("data-n") == "2"
    notebook.screenshot(artifacts_dir / "07-big-little.png")
    before = page.evaluate(DOTS_JS, HOP)
    hop.locator("input[type='checkbox']").first.check()
    page.wait_for_function(f"""() => document.querySelector("{HOP} .pmulab-badge[data-outcome='SIGILL']")
        .dataset.n === '0'""", timeout=30_000)
    page.wait_for_function(f"([sel, b]) => ({DOTS_JS})(sel) !== b", arg=[HOP, before], timeout=30_000)
    assert notebook.error_outputs() == []
    notebook.screenshot(artifacts_dir / "07-big-little-pinned.png")
