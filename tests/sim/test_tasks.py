"""Tasks on the Machine: switch-in before every call, scheduling operations, SIGILL, fd errors."""

from __future__ import annotations

import errno

import pytest

from pmulab import IllegalInstruction, Machine, PerfError, Workload


def kinds_after(m, seq0):
    return [(a["kind"], a["cpu"], a["task"]) for a in m.trace.actions() if a["seq"] >= seq0]


def nseq(m):
    return len(m.trace.kinds())


def test_a_task_call_switches_the_task_in_first_on_its_cpu():
    m = Machine(cpus=2)
    a = m.spawn("A", cpu=0)
    b = m.spawn("B", cpu=0)
    assert m.current(0) is a and not b.running
    s0 = nseq(m)
    value = b.mrs("CNTVCT_EL0")
    assert value == 0  # generic timer at t=0
    sw = m.trace.actions("switch")[-1]
    assert (sw["cpu"], sw["prev"], sw["task"], sw["why"]) == (0, a.pid, b.pid, "switch_to")
    assert [k for k, *_ in kinds_after(m, s0)][-1] == "mrs"
    assert m.current(0) is b and m.sched.queued(0) == [a]  # A preempted, still runnable


def test_no_switch_when_already_current():
    m = Machine()
    a = m.spawn("A")
    n = len(m.trace.actions("switch"))
    a.mrs("CNTVCT_EL0")
    assert len(m.trace.actions("switch")) == n


def test_cntvct_follows_time():
    m = Machine()
    a = m.spawn("A")
    m.run(2)
    assert a.mrs("CNTVCT_EL0") == 2 * 4_000_000 // 16  # 62.5 MHz generic timer
    with pytest.raises(IllegalInstruction):
        a.msr("CNTVCT_EL0", 0)


def test_el0_pmu_access_without_pmuserenr_is_sigill():
    m = Machine()
    a = m.spawn("A")
    with pytest.raises(IllegalInstruction):
        a.mrs("PMCCNTR_EL0")
    assert a.sigill == 1
    sig = m.trace.actions("sigill")[0]
    assert sig["task"] == a.pid and sig["reg"] == "PMCCNTR_EL0" and sig["write"] is False
    m.cpu(0).msr("PMUSERENR_EL0", 0b0100)  # CR: cycle counter readable at EL0
    assert a.mrs("PMCCNTR_EL0") == 0
    with pytest.raises(TypeError):
        a.mrs(31)
    with pytest.raises(ValueError):
        a.mrs("PMCCNTR_EL9")


def test_block_wake_and_calls_of_blocked_or_exited_tasks():
    m = Machine(cpus=1)
    a, b = m.spawn("A"), m.spawn("B")
    a.block()
    assert a.state == "blocked" and m.current(0) is b
    with pytest.raises(ValueError, match="blocked"):
        a.mrs("CNTVCT_EL0")
    m.run(10)
    assert all(cur == [b.pid] for cur in m.trace.columns()["current"])
    a.wake()
    assert m.sched.queued(0) == [a]
    b.exit()
    assert m.current(0) is a and b.state == "exited"
    with pytest.raises(ValueError, match="exited"):
        b.mrs("CNTVCT_EL0")
    assert m.find_task(b.pid) is None and m.find_task(a.pid) is a


def test_block_of_a_queued_task_runs_it_first():
    m = Machine(cpus=1)
    a, b = m.spawn("A"), m.spawn("B")
    b.block()  # B must run to go to sleep
    whys = [(s["prev"], s["task"], s["why"]) for s in m.trace.actions("switch")]
    assert whys[-2:] == [(a.pid, b.pid, "switch_to"), (b.pid, a.pid, "blocked")]


def test_round_robin_with_timeslice():
    m = Machine(cpus=1, timeslice=2)
    a, b = m.spawn("A"), m.spawn("B")
    m.run(6)
    assert [c[0] for c in m.trace.columns()["current"]] == [a.pid, b.pid, b.pid, a.pid, a.pid, b.pid]


def test_migrate_and_switch_to_and_affinity():
    m = Machine(cpus=2)
    a = m.spawn("A", cpu=0)
    b = m.spawn("B", cpu=0)
    m.migrate(a, 1)
    assert a.cpu == 1 and m.current(1) is a and m.current(0) is b
    mig = m.trace.actions("migrate")[-1]
    assert (mig["cpu"], mig["task"], mig["to"]) == (0, a.pid, 1)
    m.switch_to(0, a)  # switch_to another CPU migrates first
    assert a.cpu == 0 and m.current(0) is a and m.current(1) is None
    c = m.spawn("C", cpu=1, affinity={1})
    with pytest.raises(ValueError, match="may not run"):
        m.migrate(c, 0)
    c.set_affinity({0})
    assert c.cpu == 0
    with pytest.raises(ValueError):
        m.spawn("D", cpu=1, affinity={0})


def test_fork_places_child_on_idlest_cpu_and_copies_workload():
    m = Machine(cpus=2)
    wl = Workload(el0={"CPU_CYCLES": 10})
    p = m.spawn("P", cpu=0, workload=wl)
    c = p.fork()
    assert c.cpu == 1 and m.current(1) is c and c.workload == wl and c.uid == p.uid
    assert c.mm is not p.mm and c.parent is p
    t = p.thread()
    assert t.mm is p.mm and t.files is p.files
    c2 = p.fork(cpu=0)
    assert c2.cpu == 0
    fk = m.trace.actions("fork")
    assert [f["child"] for f in fk] == [c.pid, t.pid, c2.pid] and fk[1]["thread"] is True


def test_fd_errors_are_ebadf_and_change_nothing():
    m = Machine()
    a = m.spawn("A")
    for call in (lambda: a.mmap(3), lambda: a.close(3), lambda: a.read(7), lambda: a.munmap(4),
                 lambda: a.ioctl(3, 0)):
        with pytest.raises(PerfError) as e:
            call()
        assert e.value.errno == errno.EBADF
    assert a.fds == {}
    assert [x["errno"] for x in m.trace.actions("error")] == ["EBADF"] * 5
    with pytest.raises(TypeError):
        a.close("3")


def test_spawn_bad_input():
    m = Machine()
    with pytest.raises(TypeError):
        m.spawn(3)
    with pytest.raises(TypeError):
        m.spawn("A", workload={"INST_RETIRED": 1})
    with pytest.raises(ValueError):
        m.spawn("A", uid=-1)
    with pytest.raises(ValueError):
        m.spawn("A", cpu=2)
    assert m.tasks == []


def test_step_order_is_a_fresh_list():
    m = Machine()
    order = Machine.step_order
    assert isinstance(order, list) and all(isinstance(s, str) for s in order) and order == m.step_order
    order.append("x")
    assert len(Machine.step_order) == 6


def test_thread_exit_keeps_shared_mm_and_files():
    m = Machine(cpus=2)
    p = m.spawn("P", cpu=0)
    t = p.thread(cpu=1)
    t.exit()
    assert p.mm.users == 1 and t.state == "exited"
    p.exec()
    assert p.mm.users == 1
