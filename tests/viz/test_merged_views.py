"""Headless tests of pmulab.viz.merged_views: the views of notebooks 07 and 08 without a browser.

Each test changes a control the way a student would (setting ``.value``) and checks that the
model behind the view answered (data on the marks, summary HTML) and that no callback failed.
"""

from __future__ import annotations

import errno

import numpy as np
import pytest

from pmulab.hw.sysregs import PMUSERENR
from pmulab.scenarios import SCENARIOS, run_scenario
from pmulab.viz import ScenarioExplorer
from pmulab.viz import merged_views as mv

ER_CR = PMUSERENR.encode(ER=1, CR=1)


def test_access_run_sysctl_off_falls_back_and_flip_traps():
    off = mv.access_run(sysctl=0)
    assert off.cap_user_rdpmc == 1 and off.index == 0 and off.outcomes()["fallback"] == len(off.reads) > 0
    flip = mv.access_run(sysctl=1, flip_at=7)
    assert flip.flips == (7,)
    assert flip.at(6).outcome == "mrs" and flip.at(6).user == flip.at(6).kernel
    assert flip.at(7).outcome == "SIGILL" and flip.at(7).index == 1 and flip.at(7).pmuserenr == 0
    assert flip.at(12).outcome == "fallback"
    with pytest.raises(KeyError, match="no read at tick 3"):
        flip.at(3)  # U's timeslice


def test_access_run_widths_and_refusals():
    assert mv.access_run(config1=0x3).opened == "EOPNOTSUPP"
    assert getattr(errno, mv.access_run(config1=0x3).opened) == errno.EOPNOTSUPP
    assert mv.access_run(cpu_bound=True).opened == "EINVAL"
    cyc = mv.access_run(event="CPU_CYCLES", config1=0x3)
    assert (cyc.index, cyc.pmc_width) == (32, 64) and cyc.outcomes()["mrs"] == len(cyc.reads)
    wide = mv.access_run(pmu="v3p5", config1=0x3)
    assert (wide.index, wide.pmc_width) == (1, 64)
    taken = mv.access_run(event="CPU_CYCLES", config1=0x3, cycles_taken=True)
    assert taken.index == 0 and taken.outcomes()["fallback"] == len(taken.reads)
    assert mv.access_run(config1=0x1).cap_user_rdpmc == 0


def test_user_access_lab_controls_redraw_the_plots():
    lab = mv.user_access_lab()
    assert lab.config1 == 0x2 and lab.run.outcomes()["mrs"] == len(lab.run.reads)
    y0 = np.array(lab.state_lines.y).copy()
    lab.sysctl.value = 0
    assert lab.run.outcomes()["mrs"] == 0 and len(lab.marks["fallback"].x) == len(lab.run.reads)
    assert not np.array_equal(np.array(lab.state_lines.y), y0)
    lab.long.value = True
    assert lab.config1 == 0x3 and 'data-opened="EOPNOTSUPP"' in lab.summary.value
    assert len(lab.kernel_line.x) == 0
    lab.pmu.value = "v3p5"
    assert 'data-opened="opened"' in lab.summary.value and lab.run.pmc_width == 64
    lab.sysctl.value, lab.flip_at.value = 1, 7
    assert len(lab.marks["SIGILL"].x) == 2 and np.ravel(lab.flip_rule.x).tolist() == [7.0, 7.0]
    assert lab.guard.last_error is None


def test_hop_run_crossing_clusters_traps_and_pinning_does_not():
    roam = mv.hop_run()
    assert roam.at(8).hopped and (roam.at(8).cpu_before, roam.at(8).cpu) == (1, 2)
    assert roam.at(8).outcome == "SIGILL"
    assert roam.at(4).outcome == "retried" and roam.at(4).user == roam.at(4).kernel
    assert roam.at(9).outcome == "fallback" and roam.at(11).kernel == roam.at(9).kernel  # A53 event idle on A72
    pinned = mv.hop_run(pinned=True)
    assert {r.cpu for r in pinned.reads} == {0, 1} and pinned.outcomes()["SIGILL"] == 0
    still = mv.hop_run(hop=0)
    assert still.outcomes()["mrs"] == len(still.reads)
    assert mv.hop_run(pmu="cortex-a72").reads[0].cpu == 2


def test_big_little_lab_pinning_moves_the_markers():
    bl = mv.big_little_lab()
    big_before = len(bl.cpu_marks[1].x)
    assert big_before > 0 and len(bl.marks["SIGILL"].x) == 2
    bl.pinned.value = True
    assert len(bl.cpu_marks[1].x) == 0 and len(bl.marks["SIGILL"].x) == 0
    assert 'data-outcome="SIGILL" data-n="0"' in bl.summary.value
    assert bl.guard.last_error is None


def test_walkthrough_steps_v517_against_v8():
    v517 = mv.walk_columns(mv.walkthrough_steps("v5.17"))
    v8 = mv.walk_columns(mv.walkthrough_steps("v8"))
    assert v517["nr_user"] == [0, 1, 1, 1, 1, 1, 1, 0, 0]
    assert v8["nr_user"][:3] == [0, 0, 1]
    assert v517["current"][4:6] == ["U", "U"] and v517["pmuserenr0"][5] == ER_CR  # S13: stale ER|CR for U
    assert v517["el0_reads"][5] != "trap" and v8["el0_reads"][5] == "trap"
    assert v517["pmuserenr0"][8] == 0 and v517["el0_reads"][8] == "trap"


def test_walkthrough_widget_slider_and_design():
    w = mv.walkthrough()
    assert 'data-step="1"' in w.text.value and w.step.max == 9
    w.step.value = 6
    assert 'data-step="6"' in w.text.value and 'data-pmuserenr0="0xc"' in w.text.value
    assert list(w.cursor.x) == [6] and "pmulab-strip" in w.strip.value
    y517 = np.array(w.lines.y).copy()
    w.design.value = "v8"
    assert 'data-pmuserenr0="0x0"' in w.text.value and not np.array_equal(np.array(w.lines.y), y517)
    assert w.guard.last_error is None


def test_design_matrix_selects_by_menu_click_and_selection():
    dm = mv.design_matrix(scenarios=["S1", "S7", "S13"])
    assert dm.total == 18 and dm.n_ok == 18 and dm.values.shape == (3, 6)
    assert dm.values[2, dm.designs.index("v5.17")] == 1 and dm.values[2, dm.designs.index("v8")] == 0
    dm.scenario.value = "S7"
    dm.design.value = "v8"
    assert dm.current.scenario == "S7" and dm.current.design == "v8"
    assert 'data-scenario="S7"' in dm.story.value and "live_count_destroyed" in dm.story.value
    dm._on_click(dm.grid, {"event": "element_click", "data": {"data": 1.0, "index": 16, "rowNum": 2, "columnNum": 4}})
    assert (dm.current.scenario, dm.current.design) == ("S13", "v5.17") and dm.scenario.value == "S13"
    dm.grid.selected = np.array([[0, 5]])
    assert (dm.current.scenario, dm.current.design) == ("S1", "pmuv3p9")
    assert dm.guard.last_error is None


def test_design_matrix_marks_a_mismatch_red():
    outcomes = {s: {d: run_scenario(s, d) for d in ("v5.17", "v8")} for s in ("S7", "S13")}
    outcomes["S13"]["v8"].expected["stale_access"] = True  # pretend the spec expected v8 to leave the window open
    dm = mv.DesignMatrix(designs=["v5.17", "v8"], scenarios=["S7", "S13"], outcomes=outcomes)
    assert dm.values.tolist() == [[0.0, 1.0], [1.0, 2.0]] and dm.n_ok == 3 and 'data-ok="3"' in dm.head.value


def test_notebook_08_s13_explorer_and_timeline():
    assert not hasattr(mv, "scenario_explorer")  # one ScenarioExplorer API: pmulab.viz.ScenarioExplorer
    ex = ScenarioExplorer("S13", design="v8")
    assert ex.outcome.ok and ex.outcome.checks["stale_access"] is False and ex.name == "S13"
    ex.design.value = "v5.17"
    assert ex.outcome.checks["stale_access"] is True and ex.guard.last_error is None
    tl = mv.series_timeline()
    assert tl.versions[7] == "v8" and len(tl.points.x) == 13 and len(tl.rules.x) == 2
    assert "82ff0c022d19" in tl.table.value and SCENARIOS["S13"].headline == "stale_access"
