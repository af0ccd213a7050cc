"""System calls through the Machine into the perf core and the driver (end to end)."""

from __future__ import annotations

import errno

import pytest

from pmulab import IllegalInstruction, Machine, PerfError, PerfEventAttr, Workload, uapi
from pmulab.user import ReadLoop, read_self

WL = Workload(el0={"INST_RETIRED": 800, "CPU_CYCLES": 1000}, el1={"INST_RETIRED": 50, "CPU_CYCLES": 80})
FMT = uapi.PERF_FORMAT_TOTAL_TIME_ENABLED | uapi.PERF_FORMAT_TOTAL_TIME_RUNNING


def user_attr(**kw):
    base = dict(type=uapi.PERF_TYPE_HARDWARE, config=uapi.PERF_COUNT_HW_INSTRUCTIONS, config1=0x2,
                exclude_kernel=1, read_format=FMT)
    base.update(kw)
    return PerfEventAttr(**base)


def count_of(task, fd):
    return uapi.parse_read(task.read(fd), FMT).value


def test_self_monitoring_end_to_end():
    m = Machine(cpus=2, perf_user_access=1)
    t = m.spawn("T", cpu=0, workload=WL)
    fd = t.perf_event_open(user_attr())
    assert fd == 3 and t.fds[3].owner is t
    page = t.mmap(fd)
    assert page.cap_user_rdpmc == 1 and page.index != 0
    m.run(5)
    assert count_of(t, fd) == 5 * 800  # exclude_kernel: EL0 instructions only
    assert read_self(t, page) == 5 * 800
    assert m.trace.columns()["pmuserenr"][-1, 0] != 0  # ER|CR while T runs with a user event
    assert m.trace.page_columns()["index"][-1] == page.index


def test_lowest_free_fd_and_close():
    m = Machine(perf_user_access=1)
    t = m.spawn("T", workload=WL)
    fds = [t.perf_event_open(user_attr()) for _ in range(3)]
    assert fds == [3, 4, 5]
    t.close(4)
    assert t.perf_event_open(user_attr()) == 4
    with pytest.raises(PerfError) as e:
        t.perf_event_open(user_attr(), group_fd=9)
    assert e.value.errno == errno.EBADF and sorted(t.fds) == [3, 4, 5]


def test_close_while_mapped_keeps_the_event_until_munmap():
    m = Machine(perf_user_access=1)
    t = m.spawn("T", workload=WL)
    fd = t.perf_event_open(user_attr())
    ev = t.fds[fd]
    page = t.mmap(fd)
    t.close(fd)
    m.run(2)
    assert ev.state >= 0 and page.index != 0  # still alive: the mapping holds the file
    assert read_self(t, page) == 2 * 800
    t.exec()  # drops the mapping -> last reference -> released
    assert t.mm.mappings == []
    assert ev.state < 0


def test_exec_drops_mappings_keeps_fds():
    m = Machine(perf_user_access=1)
    t = m.spawn("T", workload=WL)
    fd = t.perf_event_open(user_attr())
    t.mmap(fd)
    mm = t.mm
    t.exec()
    assert t.mm is not mm and t.mm.mappings == [] and fd in t.fds
    m.run(1)
    assert count_of(t, fd) == 800


def test_fork_copies_fds_and_not_mappings():
    m = Machine(cpus=1, perf_user_access=1)
    p = m.spawn("P", workload=WL)
    fd = p.perf_event_open(user_attr())
    p.mmap(fd)
    c = p.fork()
    assert c.fds == p.fds and c.mm.mappings == []
    p.close(fd)
    assert count_of(c, fd) >= 0  # the child's copy keeps the event open
    with pytest.raises(ValueError):
        c.munmap(fd)  # nothing mapped in the child's mm


def test_exit_closes_and_unmaps():
    m = Machine(cpus=1, perf_user_access=1)
    t = m.spawn("T", workload=WL)
    fd = t.perf_event_open(user_attr())
    ev = t.fds[fd]
    t.mmap(fd)
    t.exit()
    assert ev.state < 0 and t.files == {} and t.mm.mappings == []


def test_b_mmaps_as_b_on_bs_cpu():
    m = Machine(cpus=2, perf_user_access=1, perf_event_paranoid=1)
    a = m.spawn("A", cpu=0, workload=WL)
    b = m.spawn("B", cpu=1)
    fd = b.perf_event_open(user_attr(), pid=a.pid)
    assert b.fds[fd].target is a
    s0 = len(m.trace.kinds())
    b.mmap(fd)
    mm = [x for x in m.trace.actions("syscall") if x["seq"] >= s0 and x["call"] == "mmap"]
    assert mm and mm[0]["cpu"] == 1 and mm[0]["task"] == b.pid


def test_readloop_as_a_user_step_and_migration_between_steps():
    m = Machine(cpus=2, perf_user_access=1)
    t = m.spawn("T", cpu=0, workload=WL)
    fd = t.perf_event_open(user_attr())
    page = t.mmap(fd)
    m.run(2)
    loop = ReadLoop(t, page)
    step = m.user_step(loop.step, count=4)  # lock, times, index, offset
    m.run(4)
    assert step.calls == 4 and loop.next_step == "mrs"
    m.migrate(t, 1)  # between reading index and the mrs: the kernel republished the page
    result = loop.run()
    assert result == count_of(t, fd) or loop.retries >= 1


def test_sigill_after_sysctl_off_with_stale_page():
    m = Machine(cpus=1, perf_user_access=1)
    t = m.spawn("T", workload=WL)
    fd = t.perf_event_open(user_attr())
    page = t.mmap(fd)
    m.run(1)
    idx = page.index
    assert idx != 0
    m.sysctl("kernel.perf_user_access", 0)  # S10: PMUSERENR cleared at once, page still stale
    assert page.index == idx
    with pytest.raises(IllegalInstruction):
        t.mrs("PMEVCNTR0_EL0" if idx != 32 else "PMCCNTR_EL0")
    assert t.sigill == 1 and m.trace.actions("sigill")


def test_deterministic_with_events():
    def build():
        m = Machine(cpus=2, perf_user_access=1, seed=5)
        wl = Workload(el0={"INST_RETIRED": 800, "CPU_CYCLES": 1000}, jitter=0.5)
        a = m.spawn("A", cpu=0, workload=wl)
        m.spawn("B", cpu=0, workload=wl)
        fd = a.perf_event_open(user_attr())
        a.mmap(fd)
        m.run(8)
        a.fork()
        m.run(8)
        return m.trace.to_json()

    assert build() == build()


def test_switch_in_runs_the_perf_hooks_before_the_call():
    m = Machine(cpus=1, perf_user_access=1)
    t = m.spawn("T", workload=WL)
    fd = t.perf_event_open(user_attr())
    u = m.spawn("U")
    m.switch_to(0, u)  # T out: its event leaves the counter
    assert t.fds[fd].state == 0  # INACTIVE
    s0 = len(m.trace.kinds())
    t.read(fd)  # T must run to make the call: switched in first, with perf_event_task_sched_in
    kinds = [(a["kind"], a["task"]) for a in m.trace.actions()
             if a["seq"] >= s0 and a["kind"] in ("switch", "perf_sched_in", "syscall")]
    assert kinds[:3] == [("switch", t.pid), ("perf_sched_in", t.pid), ("syscall", t.pid)]
    assert t.fds[fd].state == 1  # ACTIVE again
    assert m.cpu(0).mrs("PMUSERENR_EL0") != 0  # v5.17 start(): ER|CR for a ctx with nr_user


def test_heterogeneous_open_by_type_counts_only_on_its_cluster():
    m = Machine(clusters=[("cortex-a53", 1, 6), ("cortex-a72", 1, 6)], perf_user_access=1)
    a53, a72 = m.pmus
    t = m.spawn("T", cpu=0, workload=WL)
    fd = t.perf_event_open(user_attr(type=a53.type, config=0x08))  # raw INST_RETIRED on the A53 PMU
    page = t.mmap(fd)
    m.run(2)
    assert count_of(t, fd) == 1600 and page.index != 0
    m.migrate(t, 1)
    m.run(2)
    assert count_of(t, fd) == 1600  # not counted on the A72
    assert page.index == 0
    with pytest.raises(PerfError):
        t.perf_event_open(user_attr(type=a72.type + 1, config=0x08))


def test_overflow_irq_is_taken_in_phase_3_and_the_count_stays_exact():
    m = Machine(cpus=1)
    t = m.spawn("T", workload=WL)
    fd = t.perf_event_open(PerfEventAttr(type=uapi.PERF_TYPE_HARDWARE, config=uapi.PERF_COUNT_HW_INSTRUCTIONS,
                                         exclude_kernel=1, sample_period=1000))
    m.run(5)
    irqs = m.trace.actions("irq")
    assert len(irqs) >= 3 and all(i["cpu"] == 0 for i in irqs)
    assert uapi.parse_read(t.read(fd), 0).value == 5 * 800


def test_multiplexing_rotates_at_the_tick():
    m = Machine(cpus=1, counters=6)
    t = m.spawn("T", workload=WL)
    fds = [t.perf_event_open(PerfEventAttr(type=uapi.PERF_TYPE_RAW, config=0x08, exclude_kernel=1,
                                           read_format=FMT)) for _ in range(8)]
    m.run(12)
    for fd in fds:
        r = uapi.parse_read(t.read(fd), FMT)
        assert r.time_enabled == 12 * 4_000_000
        assert 0 < r.time_running < r.time_enabled  # everyone got some time, nobody all of it
        assert r.value * 4_000_000 == 800 * r.time_running  # counted exactly while running
