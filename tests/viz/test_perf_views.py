"""Headless tests of the notebook 02/03 views: the widgets' callbacks drive their own Machines and redraw.

No browser: widget values are set from Python, which fires the same ``observe``/``on_click`` callbacks the
frontend fires. Each test asserts a model fact the view claims to show.
"""

from __future__ import annotations

import errno

import numpy as np
import pytest

from pmulab import Machine, PerfEventAttr, uapi
from pmulab.viz import perf_views, readloop_view
from pmulab.viz.readloop_view import INJECTIONS, signed64


# ----------------------------------------------------------------------------------- perf_views
def test_attempt_returns_the_refusal_and_changes_nothing():
    m = Machine(cpus=1, counters=2, seed=0)
    t = m.spawn("T", uid=1000)
    attr = PerfEventAttr(type=uapi.PERF_TYPE_HARDWARE, config=uapi.PERF_COUNT_HW_INSTRUCTIONS, exclude_kernel=1)
    r = perf_views.attempt(t.perf_event_open, attr, pid=-1, cpu=0)
    assert isinstance(r, perf_views.Refusal)
    assert (r.errno, r.name) == (errno.EACCES, "EACCES")
    assert "perf_allow_cpu" in r.check and r.text.startswith("EACCES (Permission denied)")
    assert "data-errno='EACCES'" in r._repr_html_()
    assert t.fds == {}
    fd = perf_views.attempt(t.perf_event_open, attr)
    assert isinstance(fd, int) and list(t.fds) == [fd]


def test_attempt_lets_other_exceptions_through():
    with pytest.raises(ZeroDivisionError):
        perf_views.attempt(lambda: 1 // 0)


def test_event_table_shows_states_and_counters():
    m = Machine(cpus=1, counters=2, seed=0)
    t = m.spawn("T", uid=1000)
    raw = uapi.PERF_TYPE_RAW
    a = t.perf_event_open(PerfEventAttr(type=raw, config=0x08, exclude_kernel=1, pinned=1))
    t.perf_event_open(PerfEventAttr(type=raw, config=0x21, exclude_kernel=1), group_fd=a)
    b = t.perf_event_open(PerfEventAttr(type=raw, config=0x04, exclude_kernel=1, pinned=1))
    t.perf_event_open(PerfEventAttr(type=raw, config=0x13, exclude_kernel=1), group_fd=b)
    m.run(2)
    html = perf_views.event_table(t).value
    assert html.count("data-state='ACTIVE'") == 2
    assert html.count("data-state='ERROR'") == 1
    assert "INST_RETIRED" in html and "PMEVCNTR0" in html and "PMEVCNTR1" in html
    assert perf_views.event_name(PerfEventAttr(type=uapi.PERF_TYPE_HARDWARE,
                                               config=uapi.PERF_COUNT_HW_INSTRUCTIONS)) == "HW_INSTRUCTIONS"


def test_mux_lab_multiplexes_and_scales():
    lab = perf_views.mux_lab(events=4, counters=2, ticks=40)
    assert lab.data.shape == (40, 4, 3)
    assert (lab.running[-1] < lab.enabled[-1]).all()
    assert (lab.running <= lab.enabled).all()
    assert (lab.value[-1] < lab.true[-1]).all()
    assert lab.error_percent().max() < 5
    assert "multiplexed" in lab.status.value
    # the plot shows time_enabled + one running line per event, and true/scaled/raw of the chosen event
    assert lab.times.y.shape == (5, 40)
    assert lab.counts.y.shape == (3, 40)
    np.testing.assert_allclose(lab.times.y[0], lab.enabled[:, 0] / 1e6)


def test_mux_lab_controls_rebuild_the_machine():
    lab = perf_views.mux_lab(events=4, counters=2, ticks=20)
    before = lab.times.y.copy()
    lab.counters.value = 4
    assert lab.machine.pmu_of(0) is not None and (lab.running == lab.enabled).all()
    assert lab.error_percent().max() == 0
    assert not np.array_equal(before, lab.times.y)
    lab.events.value = 6
    assert lab.times.y.shape == (7, 20) and list(lab.shown.options) == list(perf_views.LAB_EVENTS[:6])
    lab.shown.value = "MEM_ACCESS"
    k = lab.names.index("MEM_ACCESS")
    np.testing.assert_allclose(lab.counts.y[0], lab.true[:, k])
    lab.tick.value = 5
    assert lab.times.y.shape == (7, 5)
    assert lab.guard.last_error is None


def test_mux_lab_group_is_all_or_nothing():
    lab = perf_views.mux_lab(events=2, counters=2, ticks=10, group=True)
    assert lab.refusal is None
    assert (lab.running == lab.enabled).all()
    lab.events.value = 3
    assert lab.refusal is not None and lab.refusal.errno == errno.EINVAL
    assert "data-refused='EINVAL'" in lab.status.value
    assert lab.guard.last_error is None


# -------------------------------------------------------------------------------- readloop_view
def test_readloop_clean_pass_matches_read():
    lab = readloop_view.readloop_lab()
    assert lab.loop.history == [] and not lab.step_button.disabled
    assert lab.finish() == lab.truth
    assert lab.loop.retries == 0 and lab.error == 0
    assert lab.step_button.disabled and lab.finish_button.disabled
    assert "data-done='1'" in lab.panel.value


@pytest.mark.parametrize("kind", ["preemption", "migration", "overflow"])
def test_readloop_republishing_injections_force_one_retry(kind):
    lab = readloop_view.readloop_lab()
    for _ in range(3):
        lab.step()
    lock = lab.page.lock
    lab.inject(kind)
    assert lab.page.lock > lock and lab.page.lock % 2 == 0
    lab.finish()
    assert lab.loop.retries == 1 and lab.error == 0
    assert (lab.series()["lock"] % 2 == 0).all()
    assert len(lab.injected.x) == 1


def test_readloop_tick_needs_no_retry():
    lab = readloop_view.readloop_lab()
    for _ in range(3):
        lab.step()
    lab.inject("tick")
    lab.finish()
    assert lab.loop.retries == 0 and lab.error == 0


def test_readloop_migration_reads_the_stale_counter_first():
    lab = readloop_view.readloop_lab()
    for _ in range(3):
        lab.step()
    lab.inject("migration")
    lab.finish()
    regs = [s.values["register"] for s in lab.loop.history if s.name == "mrs"]
    assert regs == ["PMEVCNTR0_EL0", "PMEVCNTR1_EL0"] and lab.T.cpu == 1


def test_readloop_ioc_reset_documented_vs_zero_extend():
    doc = readloop_view.readloop_lab()
    doc.inject("IOC_RESET")
    doc.finish()
    assert doc.truth == 0 and doc.error == -(2**32)
    zext = readloop_view.readloop_lab(variant="zero-extend")
    zext.inject("IOC_RESET")
    zext.finish()
    assert zext.error == 0
    clean = readloop_view.readloop_lab(variant="zero-extend")
    clean.finish()
    assert clean.error == 2**32


def test_readloop_reader_toggle_and_buttons():
    lab = readloop_view.readloop_lab()
    lab.step_button.click()
    lab.step_button.click()
    assert len(lab.loop.history) == 2 and "data-steps='2'" in lab.panel.value
    lab.what.value = "IOC_RESET"
    lab.inject_button.click()
    assert lab.events[-1]["kind"] == "inject"
    lab.finish_button.click()
    assert lab.loop.done and lab.error == -(2**32)
    lab.reader.value = "zero-extend"  # a reset with the other reader
    assert lab.loop.variant == "zero-extend" and lab.loop.history == []
    lab.reset_button.click()
    assert lab.loop.history == [] and len(lab.events) == 1
    assert lab.guard.last_error is None


def test_readloop_fallback_when_index_is_zero():
    lab = readloop_view.readloop_lab(extra_events=6)
    assert lab.page.index == 0
    assert lab.finish() is None and lab.loop.fallback
    back = lab.read()
    assert back.time_running < back.time_enabled
    lab.reset()
    lab.inject("rotation")
    assert lab.page.index != 0


def test_readloop_bad_injection_is_shown_not_raised_from_a_button():
    lab = readloop_view.readloop_lab()
    with pytest.raises(ValueError):
        lab.inject("earthquake")
    lab.what.value = "rotation"  # needs extra_events: the callback fails, the guard shows it
    lab.inject_button.click()
    assert lab.guard.last_error is not None and "rotation" in lab.guard.shown
    assert set(INJECTIONS) == {"tick", "preemption", "migration", "overflow", "IOC_RESET", "rotation"}


def test_signed64():
    assert signed64(2**64 - 1) == -1 and signed64(5) == 5 and signed64(None) is None
