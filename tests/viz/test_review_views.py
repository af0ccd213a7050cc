"""The review views of notebooks 04-06, headless: they draw what the scenarios say and redraw on control changes."""

from __future__ import annotations

import numpy as np
import pytest

from pmulab.hw.sysregs import PMUSERENR
from pmulab.scenarios import run_scenario
from pmulab.scenarios.base import DESIGN_NAMES
from pmulab.viz.review_views import (
    MATRIX_KINDS,
    access_timeline_lab,
    count_register_of,
    dirty_counter_lab,
    leak_matrix_lab,
    mismatches,
    probe_run,
)

ER_CR = PMUSERENR.encode(ER=1, CR=1)


# --- leak matrix lab --------------------------------------------------------------------------------
def test_leak_matrix_lab_shares_follow_the_ticked_scenarios():
    lab = leak_matrix_lab()
    assert lab.kinds == list(MATRIX_KINDS) and lab.designs == list(DESIGN_NAMES)
    np.testing.assert_array_equal(lab.matrix.grid.color, lab.values)
    v8 = lab.values[lab.designs.index("v8")]
    assert v8[lab.kinds.index("cpu_bound")] == 0.25 and v8[lab.kinds.index("destroyed")] == 0.25
    assert lab.leaks("pmuv3p9") == ["granted"]
    lab.boxes["S15"].value = False
    lab.boxes["S16"].value = False
    assert lab.selected == ["S1", "S2"]
    assert lab.values[lab.designs.index("v5.17"), lab.kinds.index("granted")] == 0
    assert lab.values[lab.designs.index("v8"), lab.kinds.index("cpu_bound")] == 0.5
    np.testing.assert_array_equal(lab.matrix.grid.color, lab.values)
    assert "S15" not in lab.note.value and lab.guard.last_error is None


def test_leak_matrix_lab_with_nothing_ticked_is_all_zero():
    lab = leak_matrix_lab(scenarios=("S1",))
    lab.boxes["S1"].value = False
    assert not lab.values.any() and lab.leaks("v8") == []


def test_leak_matrix_lab_agrees_with_each_outcome():
    lab = leak_matrix_lab(scenarios=("S2",))
    for d in DESIGN_NAMES:
        assert set(lab.leaks(d)) == set(run_scenario("S2", d).leak.kinds)


# --- dirty counter lab ------------------------------------------------------------------------------
def test_dirty_counter_lab_v8_shows_the_exact_jump():
    lab = dirty_counter_lab("v8")
    assert (lab.r, lab.s) == (60, 40)
    assert lab.jump == lab.xor_jump == 0x7FFFFFFF - 60 + 40
    assert list(lab.read_line.y) == [60, 60 + lab.jump] and list(lab.true_line.y) == [60, 100]
    assert len(lab.hw_clear.x) == 1 and lab.destroyed[0]["live"] == [1]
    assert lab.hw_line.y[-1] == lab.s  # the zeroed counter then counted s refills from 0
    assert f"data-jump='{lab.jump}'" in lab.arith.value and "dirty (xor)" in lab.clears.value


@pytest.mark.parametrize("design", ["v8-efc", "x86-mm", "lazy-trap", "v5.17", "pmuv3p9"])
def test_dirty_counter_lab_repairs_keep_the_count(design):
    lab = dirty_counter_lab("v8")
    lab.controls["refill_rate"].value = 7
    lab.design.value = design
    assert lab.outcome.design == design and lab.jump == lab.s == 7 * 2
    assert len(lab.hw_clear.x) == 0 and lab.destroyed == []
    assert list(lab.read_line.y) == list(lab.true_line.y)


def test_dirty_counter_lab_controls_are_the_params():
    lab = dirty_counter_lab("v8")
    assert set(lab.controls) == {"before", "after", "refill_rate"}
    assert lab.controls["before"].min == 1 and lab.controls["before"].max == 50
    lab.controls["before"].value = 10
    lab.controls["after"].value = 5
    assert (lab.r, lab.s) == (200, 100) and lab.jump == 0x7FFFFFFF - 200 + 100
    assert len(lab.hw_line.x) == 15 and list(lab.fig_hw.axes[0].tick_values) == list(lab.hw_line.x)


def test_count_register_of_uses_perf_idx():
    assert count_register_of(0) == "PMCCNTR_EL0" and count_register_of(1) == "PMEVCNTR0_EL0"


# --- probes and the access timeline -----------------------------------------------------------------
def test_probe_run_leaves_the_same_run_as_run_scenario():
    outcome, probes = probe_run("S3", "v8")
    plain = run_scenario("S3", "v8")
    assert outcome.checks == plain.checks and outcome.ok
    assert outcome.machine.snapshot() == plain.machine.snapshot()
    assert len(outcome.trace.actions()) == len(plain.trace.actions())
    assert all(a != b for a, b in zip(probes, probes[1:], strict=False))  # consecutive duplicates are dropped


def test_probes_show_v8_writing_the_callers_cpu():
    _, probes = probe_run("S3", "v8")
    after_mmap = probes[2]
    assert after_mmap.pmuserenr == (0, ER_CR) and after_mmap.expected == (1, 0)
    assert (after_mmap.nr_user, after_mmap.sched_cb_usage) == (1, 1)
    assert (3, 1) in mismatches(probes) and probes[3].running[1] == "D"


@pytest.mark.parametrize("scenario", ["S3", "S4"])
@pytest.mark.parametrize("design", ["v8-efc", "x86-mm", "lazy-trap", "v5.17", "pmuv3p9"])
def test_probes_agree_with_accounting_except_on_v8(scenario, design):
    outcome, probes = probe_run(scenario, design)
    assert mismatches(probes) == [] and outcome.checks["accounting_consistent"]


def test_access_timeline_lab_draws_both_sides_and_redraws():
    lab = access_timeline_lab("S3", "v8", "v8-efc")
    left = np.asarray(lab.left.hw.y)
    assert left.shape == (2, len(lab.probes("v8")))
    np.testing.assert_array_equal(left[1] - 2, [p.er[1] for p in lab.probes("v8")])
    assert len(lab.left.bad.x) == len(lab.mismatches("v8")) > 0 and len(lab.right.bad.x) == 0
    assert "data-design='v8'" in lab.left.badges.value and "<details" in lab.steps.value
    lab.scenario.value = "S4"
    assert set(lab.controls) == {"ticks"} and lab.outcome("v8").scenario == "S4"
    assert lab.mismatches("v8") == [(2, 0), (3, 0)]
    lab.right.design.value = "v5.17"
    assert lab.outcome("v5.17").checks["owner_cpu_still_enabled"] and len(lab.right.bad.x) == 0
    lab.controls["ticks"].value = 5
    assert lab.outcome("v8").params.ticks == 5 and lab.guard.last_error is None


def test_access_timeline_lab_shows_a_failing_callback():
    lab = access_timeline_lab()
    before = np.asarray(lab.left.hw.y).copy()
    lab.left.design.options = [*lab.left.design.options, "no-such-design"]
    lab.left.design.value = "no-such-design"
    assert "unknown design" in lab.guard.shown and "ValueError" in lab.guard.last_error
    np.testing.assert_array_equal(lab.left.hw.y, before)
