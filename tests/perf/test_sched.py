"""Context switches, PMU disable nesting, sched_task, groups, pinned ERROR, multiplexing, times."""

from __future__ import annotations

import pytest

from pmulab import uapi
from pmulab.perf.api import EventState

from .fakes import attr, machine

TIMES = uapi.PERF_FORMAT_TOTAL_TIME_ENABLED | uapi.PERF_FORMAT_TOTAL_TIME_RUNNING


@pytest.fixture
def m():
    k, pmus, core = machine(ncpus=2, counters=2, paranoid=0)
    a = k.spawn(100, cpu=0)
    return k, pmus[0], core, a


def test_switch_out_and_in_dels_and_adds(m):
    k, pmu, core, a = m
    ev = k.syscall(a, "perf_event_open", attr(), 0, -1)
    b = k.spawn(101, cpu=0)  # a switched out
    assert ev.state == EventState.INACTIVE and core.cpu_ctx(0).task_ctx is None and not a.perf_ctx.is_active
    assert pmu.ops("del")[-1] == ("del", 0, ev.id)
    k.switch(0, a)
    assert ev.state == EventState.ACTIVE and core.cpu_ctx(0).task_ctx is a.perf_ctx
    assert b.perf_ctx is None


def test_pmu_disable_nests_and_enables_once(m):
    k, pmu, core, a = m
    k.syscall(a, "perf_event_open", attr(), 0, -1)
    pmu.log.clear()
    k.switch(0, None)
    assert pmu.ops("pmu_disable", "pmu_enable") == [("pmu_disable", 0), ("pmu_enable", 0)]
    assert pmu.ops("del") and core.pmu_disable_count(pmu, 0) == 0
    k.switch(0, a)
    assert pmu.ops("pmu_disable", "pmu_enable")[-2:] == [("pmu_disable", 0), ("pmu_enable", 0)]
    # the add happened inside the disabled window
    log = [e[0] for e in pmu.log]
    second = log.index("pmu_disable", 1)
    assert second < log.index("add") < log.index("pmu_enable", second)


def test_task_without_context_triggers_nothing(m):
    k, pmu, core, a = m
    calls = []
    pmu.sched_task = lambda ctx, sched_in: calls.append((ctx, sched_in))
    pmu.sched_cb_usage = 1
    k.switch(0, None)  # a has no context
    k.switch(0, a)
    assert calls == [] and pmu.log == []


def test_sched_task_called_iff_usage(m):
    k, pmu, core, a = m
    calls = []
    pmu.sched_task = lambda ctx, sched_in: calls.append((ctx, sched_in, core.pmu_disable_count(pmu, 0)))
    k.syscall(a, "perf_event_open", attr(), 0, -1)
    k.switch(0, None)
    k.switch(0, a)
    assert calls == []
    pmu.sched_cb_usage = 1
    k.switch(0, None)
    k.switch(0, a)
    # out: with the task's ctx, PMU disabled; in: after scheduling, with cpuctx->task_ctx
    assert calls == [(a.perf_ctx, False, 1), (a.perf_ctx, True, 1)]


def test_per_cpu_sched_cb_usage_runs_for_context_less_tasks(m):
    k, pmu, core, a = m
    calls = []
    pmu.sched_task = lambda ctx, sched_in: calls.append((ctx, sched_in, k.this_cpu()))
    with k.on(1):
        core.perf_sched_cb_inc(pmu)
    k.switch(1, k.spawn(102, cpu=1, run=False))
    k.switch(1, None)
    assert calls == [(None, True, 1), (None, False, 1)]


def test_sched_in_order_cpu_pinned_task_pinned_cpu_flexible_task_flexible(m):
    k, _, core = machine(ncpus=1, counters=8, paranoid=0)
    pmu = core.pmus[0]
    a = k.spawn(100, cpu=0)
    names = {}
    for label, pid, cpu, pinned in [("task_flex", 0, -1, 0), ("cpu_flex", -1, 0, 0),
                                    ("task_pin", 0, -1, 1), ("cpu_pin", -1, 0, 1)]:
        names[k.syscall(a, "perf_event_open", attr(pinned=pinned), pid, cpu).id] = label
    k.switch(0, None)
    pmu.log.clear()
    k.switch(0, a)
    order = [names[e[2]] for e in pmu.ops("add")]
    assert order == ["task_pin", "cpu_flex", "task_flex"]  # cpu_pin never left the PMU
    # a task with pinned events makes the CPU flexible groups go out and come back after them
    assert [names[e[2]] for e in pmu.ops("del")] == ["cpu_flex"]


def test_group_all_or_nothing_and_pinned_error(m):
    k, pmu, core, a = m
    lead = k.syscall(a, "perf_event_open", attr(pinned=1), 0, -1)
    k.syscall(a, "perf_event_open", attr(), 0, -1, lead)
    assert lead.state == EventState.ACTIVE and all(s.state == EventState.ACTIVE for s in lead.siblings)
    # a CPU pinned event takes a counter first: the 2-member pinned group can no longer fit
    blocker = k.syscall(a, "perf_event_open", attr(pinned=1), -1, 0)
    assert blocker.state == EventState.ACTIVE
    k.switch(0, None)
    k.switch(0, a)
    assert lead.state == EventState.ERROR and lead.siblings[0].state == EventState.INACTIVE
    assert [e for e in pmu.events[0] if e is not None] == [blocker]
    assert k.syscall(a, "read", lead) == b""
    with k.on(0):
        core.close(blocker)
    k.syscall(a, "ioctl", lead, uapi.PERF_EVENT_IOC_ENABLE)  # ERROR -> OFF -> enabled again
    assert lead.state == EventState.ACTIVE and lead.siblings[0].state == EventState.ACTIVE


def test_failed_sibling_rolls_back_the_leader(m):
    k, pmu, core, a = m
    k.syscall(a, "perf_event_open", attr(), -1, 0)  # CPU flexible event holds counter 1
    lead = k.syscall(a, "perf_event_open", attr(), 0, -1)
    sib = k.syscall(a, "perf_event_open", attr(), 0, -1, lead)
    assert lead.state == sib.state == EventState.INACTIVE and a.perf_ctx.rotate_necessary
    assert pmu.events[0][2] is None


def test_multiplexing_rotation_and_times(m):
    k, pmu, core, a = m
    evs = [k.syscall(a, "perf_event_open", attr(read_format=TIMES), 0, -1) for _ in range(3)]
    assert [e.state for e in evs] == [EventState.ACTIVE, EventState.ACTIVE, EventState.INACTIVE]
    assert a.perf_ctx.rotate_necessary == 1
    running = {e.id: 0 for e in evs}
    for _ in range(6):
        k.time += 1000
        for e in evs:
            running[e.id] += 1000 * (e.state == EventState.ACTIVE)
        with k.on(0):
            core.tick(0)
    for e in evs:
        v = uapi.parse_read(k.syscall(a, "read", e), TIMES)
        assert v.time_enabled == 6000 and v.time_running == running[e.id]
    assert sorted(running.values()) == [4000, 4000, 4000]


def test_times_follow_the_task_context_clock(m):
    k, pmu, core, a = m
    ev = k.syscall(a, "perf_event_open", attr(read_format=TIMES), 0, -1)
    off = k.syscall(a, "perf_event_open", attr(read_format=TIMES, disabled=1), 0, -1)
    k.time = 100
    k.switch(0, None)
    k.time = 250  # a is not running: neither clock advances
    k.switch(0, a)
    k.time = 300
    v = uapi.parse_read(k.syscall(a, "read", ev), TIMES)
    assert (v.time_enabled, v.time_running) == (150, 150)
    k.syscall(a, "ioctl", off, uapi.PERF_EVENT_IOC_ENABLE)
    k.syscall(a, "ioctl", ev, uapi.PERF_EVENT_IOC_DISABLE)
    k.time = 340
    v, w = (uapi.parse_read(k.syscall(a, "read", e), TIMES) for e in (ev, off))
    assert (v.time_enabled, v.time_running) == (150, 150) and (w.time_enabled, w.time_running) == (40, 40)


def test_cpu_event_time_runs_while_idle(m):
    k, pmu, core, a = m
    ev = k.syscall(a, "perf_event_open", attr(read_format=TIMES), -1, 1)
    k.time = 500
    v = uapi.parse_read(k.syscall(a, "read", ev), TIMES)
    assert (v.time_enabled, v.time_running) == (500, 500) and (0, 1) in k.ipis


def test_sched_hooks_must_run_on_their_cpu(m):
    k, pmu, core, a = m
    with k.on(1), pytest.raises(ValueError, match="must run on CPU 0"):
        core.sched_out(a, 0)
