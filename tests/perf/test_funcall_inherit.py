"""task/event_function_call retry paths; inherit at fork, fold at exit; close; exec; nr_user."""

from __future__ import annotations

import errno

import pytest

from pmulab import uapi
from pmulab.perf.api import EventState
from pmulab.perf.context import TOMBSTONE

from .fakes import attr, machine


@pytest.fixture
def m():
    k, pmus, core = machine(ncpus=3, counters=4, paranoid=0)
    a = k.spawn(100, cpu=0)
    return k, pmus[0], core, a


def test_task_function_call_follows_a_task_that_moved(m):
    k, pmu, core, a = m
    b = k.spawn(101, cpu=1)
    seen = []

    def hook(point, task, cpu):
        seen.append((point, cpu))
        if len(seen) == 1:  # migrate b from CPU 1 to CPU 2 between task_cpu() and the IPI
            k.migrate(task, 2)
            k.switch(2, task)

    core.race_hook = hook
    ran = []
    with k.on(0):
        ret = core.task_function_call(b, lambda: ran.append(k.this_cpu()) or 0)
    assert ret == 0 and ran == [2] and seen == [("task_function_call", 1), ("task_function_call", 2)]
    assert k.ipis[-2:] == [(0, 1), (0, 2)]  # the first IPI found -EAGAIN


def test_task_function_call_esrch_when_not_running(m):
    k, pmu, core, a = m
    b = k.spawn(101, cpu=1, run=False)
    with k.on(0):
        assert core.task_function_call(b, lambda: 0) == -errno.ESRCH


def test_event_function_call_retries_when_the_context_became_active(m):
    k, pmu, core, a = m
    k.spawn(101, cpu=1)
    ev = k.syscall(a, "perf_event_open", attr(disabled=1), 101, -1)
    k.switch(1, None)  # b sleeps: the first IPI fails with -ESRCH
    calls = []

    def hook(point, task, cpu):
        calls.append(point)
        if point == "event_function_call":
            k.switch(1, task)  # b is scheduled in before ctx->lock is taken: ctx is active -> retry

    core.race_hook = hook
    k.syscall(a, "ioctl", ev, uapi.PERF_EVENT_IOC_ENABLE)
    assert calls == ["task_function_call", "event_function_call", "task_function_call"]
    assert ev.state == EventState.ACTIVE and ev.oncpu == 1  # done remotely on the second try


def test_event_function_call_tombstone_does_nothing(m):
    k, pmu, core, a = m
    b = k.spawn(101, cpu=1)
    ev = k.syscall(a, "perf_event_open", attr(), 101, -1)
    with k.on(1):
        core.exit(b)
    assert b.perf_ctx is None and ev.ctx.task is TOMBSTONE and ev.state == EventState.EXIT
    k.ipis.clear()
    k.syscall(a, "ioctl", ev, uapi.PERF_EVENT_IOC_ENABLE)
    assert ev.state == EventState.EXIT and k.ipis == []


def test_nr_user_counts_context_membership_not_mmap(m):
    k, pmu, core, a = m
    e1 = k.syscall(a, "perf_event_open", attr(config1=2), 0, -1)
    e2 = k.syscall(a, "perf_event_open", attr(config1=2, disabled=1), 0, -1)
    k.syscall(a, "perf_event_open", attr(), 0, -1)
    ctx = a.perf_ctx
    assert ctx.nr_user == 2
    k.syscall(a, "ioctl", e1, uapi.PERF_EVENT_IOC_DISABLE)
    k.switch(0, None)
    assert ctx.nr_user == 2  # enable state and scheduling do not matter
    k.switch(0, a)
    with k.on(0):
        core.close(e2)
    assert ctx.nr_user == 1 and ctx.nr_events == 2


def test_closing_the_last_event_deactivates_the_context(m):
    k, pmu, core, a = m
    ev = k.syscall(a, "perf_event_open", attr(config1=2), 0, -1)
    with k.on(0):
        core.close(ev)
    assert ev.state == EventState.DEAD and core.cpu_ctx(0).task_ctx is None
    assert a.perf_ctx.is_active == 0 and a.perf_ctx.nr_user == 0 and core.events == []


def test_closing_a_leader_promotes_its_siblings(m):
    k, pmu, core, a = m
    lead = k.syscall(a, "perf_event_open", attr(), 0, -1)
    sib = k.syscall(a, "perf_event_open", attr(), 0, -1, lead)
    with k.on(0):
        core.close(lead)
    assert sib.group_leader is sib and sib in a.perf_ctx.flexible_groups
    assert sib.state == EventState.ACTIVE and sib in a.perf_ctx.flexible_active


def test_inherit_on_fork_and_fold_at_exit(m):
    k, pmu, core, a = m
    fmt = uapi.PERF_FORMAT_TOTAL_TIME_ENABLED | uapi.PERF_FORMAT_ID
    ev = k.syscall(a, "perf_event_open", attr(inherit=1, config1=2, read_format=fmt), 0, -1)
    plain = k.syscall(a, "perf_event_open", attr(), 0, -1)
    child = k.spawn(200, cpu=1, run=False)
    with k.on(0):
        core.fork(a, child)
    [copy] = ev.children
    assert plain.children == [] and copy.parent is ev and copy.ctx is child.perf_ctx
    assert copy.has_user_read and child.perf_ctx.nr_user == 1 and copy.state == EventState.INACTIVE
    assert k.syscall(a, "ioctl", ev, uapi.PERF_EVENT_IOC_ID) == ev.id
    k.switch(1, child)
    pmu.advance(1, 40)
    pmu.advance(0, 2)
    k.time = 10
    v = uapi.parse_read(k.syscall(a, "read", ev), fmt)
    assert v.value == 42 and v.id == ev.id and v.time_enabled == 20  # live child read by IPI
    with k.on(1):
        core.exit(child)
    assert ev.child_count == 40 and ev.child_total_time_enabled == 10 and ev.children == []
    assert copy.state == EventState.DEAD and child.perf_ctx is None
    assert uapi.parse_read(k.syscall(a, "read", ev), fmt).value == 42


def test_close_parent_removes_children(m):
    k, pmu, core, a = m
    ev = k.syscall(a, "perf_event_open", attr(inherit=1), 0, -1)
    child = k.spawn(200, cpu=1, run=False)
    with k.on(0):
        core.fork(a, child)
    k.switch(1, child)
    [copy] = ev.children
    assert copy.state == EventState.ACTIVE
    with k.on(0):
        core.close(ev)
    assert copy.state == EventState.DEAD and child.perf_ctx.nr_events == 0 and pmu.events[1][1] is None


def test_fork_from_disabled_parent_gives_off_children(m):
    k, pmu, core, a = m
    ev = k.syscall(a, "perf_event_open", attr(inherit=1, disabled=1), 0, -1)
    child = k.spawn(200, cpu=1, run=False)
    with k.on(0):
        core.fork(a, child)
    assert ev.children[0].state == EventState.OFF


def test_exec_enable_on_exec_and_remove_on_exec(m):
    k, pmu, core, a = m
    later = k.syscall(a, "perf_event_open", attr(disabled=1, enable_on_exec=1), 0, -1)
    gone = k.syscall(a, "perf_event_open", attr(remove_on_exec=1, config1=2), 0, -1)
    assert a.perf_ctx.nr_user == 1
    with k.on(0):
        core.exec(a)
    assert later.state == EventState.ACTIVE and later.attr.enable_on_exec == 0
    assert gone.state == EventState.EXIT and a.perf_ctx.nr_user == 0 and gone.owner is None
