"""Issue 4 items 1-5 and 8 end to end on a real Machine (core + driver + scheduler together).

PERIOD and REFRESH on live sampling events, inherit on fork (children count, read() sums them,
exit folds them into the parent), every read_format layout incl. GROUP/ID/LOST, exec dropping
the mappings but keeping the events (and the user access, spec S13), IPIs recorded in the
trace, task_function_call's retry when the target migrates between reading task_cpu and the
IPI, and the CLI's ``pmulab run``.
"""

from __future__ import annotations

import errno

import pytest

from pmulab import PerfError, Workload, uapi
from pmulab.perf.api import EventState
from pmulab.user import read_self

from .helpers import BUSY, attr, machine, value

ER_CR = 0b1100


def test_period_ioctl_rearms_a_live_event():
    """__perf_event_period: stop with update, period_left = 0, start -> set_period with the new period."""
    m = machine()
    t = m.spawn("T", workload=Workload(el0={"INST_RETIRED": 1000}))
    fd = t.perf_event_open(attr(sample_period=1_000_000))
    m.run(3)
    assert not m.trace.actions("irq")
    t.ioctl(fd, uapi.PERF_EVENT_IOC_PERIOD, 2500)
    ev = t.files[fd].event
    assert ev.hw.sample_period == 2500 and ev.attr.sample_period == 2500
    assert ev.hw.prev_count == (-2500) & ((1 << 64) - 1)  # re-armed with the new period at once
    m.run(10)  # 10000 instructions: 4 periods of 2500
    assert len(m.trace.actions("irq")) == 4
    assert value(t, fd) == 13000


def test_refresh_disables_after_n_overflows():
    """_perf_event_refresh: event_limit += n and enable; at 0 the overflow path disables the event."""
    m = machine()
    t = m.spawn("T", workload=Workload(el0={"INST_RETIRED": 1000}))
    fd = t.perf_event_open(attr(sample_period=1000, disabled=1))
    m.run(2)
    assert value(t, fd) == 0
    t.ioctl(fd, uapi.PERF_EVENT_IOC_REFRESH, 2)
    m.run(6)
    ev = t.files[fd].event
    assert ev.state == EventState.OFF and ev.event_limit == 0
    assert value(t, fd) == 2000  # it counted exactly two periods, then stopped
    t.ioctl(fd, uapi.PERF_EVENT_IOC_REFRESH, 1)
    m.run(3)
    assert value(t, fd) == 3000 and t.files[fd].event.state == EventState.OFF


def test_inherit_on_fork_counts_children():
    m = machine(cpus=2)
    p = m.spawn("P", cpu=0, workload=Workload(el0={"INST_RETIRED": 100}))
    fmt = uapi.PERF_FORMAT_TOTAL_TIME_ENABLED | uapi.PERF_FORMAT_TOTAL_TIME_RUNNING
    fd = p.perf_event_open(attr(inherit=1, config1=0x2, read_format=fmt))
    child = p.fork(cpu=1)
    assert child.perf_ctx is not None and child.perf_ctx.nr_user == 1  # S16: the copy is user-read too
    m.run(4)
    r = uapi.parse_read(p.read(fd), fmt)
    assert r.value == 800  # parent 4*100 + live child 4*100
    assert r.time_enabled == r.time_running == 2 * 4 * 4_000_000
    assert m.cpu(1).mrs("PMUSERENR_EL0") == ER_CR  # the child got access without fd or mapping
    child.exit()
    m.run(1)
    assert value(p, fd, fmt) == 900 and not p.files[fd].event.children
    assert p.files[fd].event.child_count == 400


def test_read_formats_group_id_lost():
    m = machine()
    t = m.spawn("T", workload=BUSY)
    fmt = (uapi.PERF_FORMAT_GROUP | uapi.PERF_FORMAT_ID | uapi.PERF_FORMAT_LOST
           | uapi.PERF_FORMAT_TOTAL_TIME_ENABLED | uapi.PERF_FORMAT_TOTAL_TIME_RUNNING)
    lead = t.perf_event_open(attr(uapi.PERF_COUNT_HW_CPU_CYCLES, read_format=fmt))
    sib = t.perf_event_open(attr(read_format=fmt), group_fd=lead)
    m.run(2)
    raw = t.read(lead)
    assert len(raw) == uapi.read_size(fmt, 2) == 8 * (3 + 2 * 3)
    r = uapi.parse_read(raw, fmt)
    ids = [t.ioctl(lead, uapi.PERF_EVENT_IOC_ID), t.ioctl(sib, uapi.PERF_EVENT_IOC_ID)]
    assert r.nr == 2 and [v.id for v in r.values] == ids
    assert [v.value for v in r.values] == [2000, 1600] and [v.lost for v in r.values] == [0, 0]
    assert r.time_enabled == r.time_running == 2 * 4_000_000
    assert uapi.parse_read(t.read(sib), fmt).values == r.values  # a sibling reads the whole group
    single = t.perf_event_open(attr(read_format=uapi.PERF_FORMAT_ID | uapi.PERF_FORMAT_LOST))
    one = uapi.parse_read(t.read(single), uapi.PERF_FORMAT_ID | uapi.PERF_FORMAT_LOST)
    assert one.id == t.ioctl(single, uapi.PERF_EVENT_IOC_ID) and one.lost == 0


def test_exec_drops_mappings_keeps_events_and_access():
    m = machine()
    t = m.spawn("T", workload=BUSY)
    fd = t.perf_event_open(attr(config1=0x2))
    t.mmap(fd)
    m.run(1)
    ev = t.files[fd].event
    t.exec()
    assert not t.mm.mappings and ev.mmap_count == 0 and ev.page is None
    assert fd in t.files and t.perf_ctx.nr_user == 1
    m.run(1)
    assert t.mrs("PMEVCNTR0_EL0") > 0  # S13: access stays with the context, not the mapping
    page = t.mmap(fd)  # the new image maps it again
    assert read_self(t, page, clock=None) == value(t, fd)


def test_ipis_are_recorded():
    m = machine(cpus=2)
    a = m.spawn("A", cpu=0, workload=BUSY)
    b = m.spawn("B", cpu=1, workload=BUSY)
    fd = b.perf_event_open(attr(), pid=a.pid)  # install: task_function_call to A's CPU
    before = m.ipis
    m.run(1)
    assert value(b, fd) == 800  # perf_event_read: IPI from CPU 1 to CPU 0
    assert m.ipis == before + 1
    last = m.trace.actions("ipi")[-1]
    assert (last["cpu"], last["source"]) == (0, 1)
    m.sysctl("kernel.perf_user_access", 0)  # on_each_cpu from CPU 0: one IPI to CPU 1
    assert m.trace.actions("ipi")[-1]["cpu"] == 1


def test_task_function_call_retries_when_the_task_moves():
    """remote_function answers -EAGAIN when the task left the CPU the IPI went to; the caller retries."""
    m = machine(cpus=2)
    a = m.spawn("A", cpu=0, workload=BUSY)
    b = m.spawn("B", cpu=1, workload=Workload(el0={"INST_RETIRED": 1}))
    moved = []

    def race(point, task, cpu):
        if point == "task_function_call" and not moved and task is a:
            moved.append(cpu)
            m.migrate(a, 1 - cpu)
            m.switch_to(1 - cpu, a)

    fd = b.perf_event_open(attr(disabled=1), pid=a.pid)
    m.perf.race_hook = race
    seen = len(m.trace.actions("ipi"))
    b.ioctl(fd, uapi.PERF_EVENT_IOC_ENABLE)
    m.perf.race_hook = None
    assert moved == [0] and a.cpu == 1
    ev = b.files[fd].event
    assert ev.state == EventState.ACTIVE and ev.oncpu == 1  # enabled where A runs now
    # the IPI to CPU 0 missed A (-EAGAIN); the retry targets CPU 1, B's own CPU: a local call, no IPI
    assert [r["cpu"] for r in m.trace.actions("ipi")[seen:]] == [0]


def test_enable_on_a_dead_context_is_silent():
    """event_function_call on a TASK_TOMBSTONE context returns without doing anything."""
    m = machine(cpus=2)
    a = m.spawn("A", cpu=0, workload=BUSY)
    b = m.spawn("B", cpu=1, workload=BUSY)
    fd = b.perf_event_open(attr(disabled=1), pid=a.pid)
    a.exit()
    assert b.ioctl(fd, uapi.PERF_EVENT_IOC_ENABLE) == 0
    assert b.files[fd].event.state == EventState.EXIT
    assert b.read(fd)  # EXIT events still read their final count
    with pytest.raises(PerfError, match=r"no task with pid") as exc:
        b.perf_event_open(attr(), pid=a.pid)
    assert exc.value.errno == errno.ESRCH


def test_cli_run_prints_trace(capsys):
    from pmulab.cli import main

    assert main(["run"]) in (0, None)
    out = capsys.readouterr().out
    assert "tick" in out and "ccnt=" in out and "userenr=" in out
