"""The scheduler alone, with a stub kernel host and a stub perf core recording the hooks."""

from __future__ import annotations

from contextlib import contextmanager

import pytest

from pmulab.sim.sched import BLOCKED, EXITED, RUNNABLE, Scheduler


class Host:
    def __init__(self):
        self.stack, self.log = [], []

    @contextmanager
    def on_cpu(self, cpu):
        self.stack.append(cpu)
        try:
            yield
        finally:
            self.stack.pop()

    def record(self, kind, **f):
        self.log.append((kind, f))


class Perf:
    def __init__(self, host):
        self.host, self.calls = host, []

    def sched_out(self, task, cpu):
        self.calls.append(("out", task.pid, cpu, self.host.stack[-1]))

    def sched_in(self, task, cpu):
        self.calls.append(("in", task.pid, cpu, self.host.stack[-1]))


class T:
    def __init__(self, pid, cpu=0, affinity=(0, 1)):
        self.pid, self.cpu, self.affinity, self.state = pid, cpu, frozenset(affinity), RUNNABLE

    def __repr__(self):
        return f"T{self.pid}"


@pytest.fixture
def s():
    host = Host()
    return Scheduler(host, Perf(host), 2, timeslice=2)


def test_idle_cpu_switches_to_a_new_task_at_once(s):
    a = T(1)
    s.enqueue(a)
    assert s.current(0) is a
    assert s.perf.calls == [("in", 1, 0, 0)]  # hooks run with this_cpu == the switching CPU


def test_round_robin_timeslices(s):
    a, b, c = T(1), T(2), T(3)
    for t in (a, b, c):
        s.enqueue(t)
    order = []
    for _ in range(8):
        s.tick(0)
        order.append(s.current(0).pid)
    # timeslice 2: a runs ticks 1, then b for 2, c for 2, a for 2 ...
    assert order == [1, 2, 2, 3, 3, 1, 1, 2]
    assert ("out", 1, 0, 0) in s.perf.calls and ("in", 2, 0, 0) in s.perf.calls


def test_alone_on_cpu_keeps_running(s):
    a = T(1)
    s.enqueue(a)
    for _ in range(5):
        s.tick(0)
    assert s.current(0) is a and s.switches == 1


def test_switch_to_preempts_and_requeues(s):
    a, b = T(1), T(2)
    s.enqueue(a)
    s.enqueue(b)
    s.switch_to(0, b)
    assert s.current(0) is b and s.queued(0) == [a]
    assert s.perf.calls[-2:] == [("out", 1, 0, 0), ("in", 2, 0, 0)]


def test_affinity_is_enforced(s):
    a = T(1, affinity=(0,))
    s.enqueue(a)
    with pytest.raises(ValueError, match="may not run on CPU 1"):
        s.migrate(a, 1)
    with pytest.raises(ValueError, match="does not exist"):
        s.switch_to(5, a)
    with pytest.raises(TypeError):
        s.migrate(a, "1")
    assert s.current(0) is a  # nothing changed


def test_migrate_running_task_switches_out_first(s):
    a, b = T(1), T(2)
    s.enqueue(a)
    s.enqueue(b)
    s.migrate(a, 1)
    assert a.cpu == 1 and s.current(1) is a and s.current(0) is b
    outs = [c for c in s.perf.calls if c[0] == "out"]
    assert outs == [("out", 1, 0, 0)]  # sched_out on the OLD cpu, executing there
    assert s.perf.calls[-1] == ("in", 1, 1, 1)


def test_block_and_wake(s):
    a, b = T(1), T(2)
    s.enqueue(a)
    s.enqueue(b)
    s.deschedule(a, BLOCKED)
    assert a.state == BLOCKED and s.current(0) is b
    s.tick(0)
    s.tick(0)
    assert s.current(0) is b  # a blocked task never runs
    s.wake(a)
    assert s.queued(0) == [a]
    with pytest.raises(ValueError, match="not blocked"):
        s.wake(a)


def test_wake_on_idle_cpu_runs_at_once_and_respects_affinity(s):
    a = T(1)
    s.enqueue(a)
    s.deschedule(a, BLOCKED)
    assert s.current(0) is None
    a.affinity = frozenset({1})
    s.wake(a)
    assert a.cpu == 1 and s.current(1) is a


def test_exit_never_runs_again(s):
    a, b = T(1), T(2)
    s.enqueue(a)
    s.enqueue(b)
    s.deschedule(a, EXITED)
    for _ in range(6):
        s.tick(0)
    assert all(c[1] != 1 for c in s.perf.calls if c[0] == "in" and c != ("in", 1, 0, 0))
    with pytest.raises(ValueError, match="exited"):
        s.migrate(a, 1)


def test_fork_placement_idlest_then_parent_cpu(s):
    parent = T(1)
    s.enqueue(parent)
    assert s.place_new(parent, parent.affinity) == 1  # CPU 1 is idle
    s.enqueue(T(2, cpu=1))
    assert s.place_new(parent, parent.affinity) == 0  # tie: the parent's CPU


def test_set_affinity_moves_task(s):
    a = T(1)
    s.enqueue(a)
    s.set_affinity(a, {1})
    assert a.cpu == 1 and s.current(1) is a
    with pytest.raises(ValueError):
        s.set_affinity(a, set())


def test_bad_timeslice():
    with pytest.raises(ValueError):
        Scheduler(Host(), None, 1, timeslice=0)
    with pytest.raises(TypeError):
        Scheduler(Host(), None, 1, timeslice=1.5)
