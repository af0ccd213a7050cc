"""Determinism: the same seed gives the same trace, byte for byte; another seed another trace.

A busy scenario: three tasks with jittered workloads on two CPUs, user-read, multiplexed,
sampling and CPU-bound events, a mapped page read from user space every tick, migrations,
a fork, an exec and a sysctl flip.
"""

from __future__ import annotations

from pmulab import Machine, Workload, uapi
from pmulab.user import read_self

from .helpers import attr


def busy(seed: int) -> Machine:
    m = Machine(cpus=2, counters=3, pmu="v3p4", perf_user_access=1, perf_event_paranoid=1, seed=seed)
    wl = Workload(el0={"INST_RETIRED": 700, "CPU_CYCLES": 1000, "L1D_CACHE": 90},
                  el1={"INST_RETIRED": 60, "CPU_CYCLES": 80}, jitter=0.3)
    a = m.spawn("A", cpu=0, workload=wl)
    b = m.spawn("B", cpu=1, workload=Workload(el0={"INST_RETIRED": 300, "CPU_CYCLES": 500}, jitter=0.5))
    c = m.spawn("C", uid=0, cpu=0, workload=wl)
    fd = a.perf_event_open(attr(config1=0x2))
    page = a.mmap(fd)
    for cfg in (uapi.PERF_COUNT_HW_CPU_CYCLES, uapi.PERF_COUNT_HW_CACHE_REFERENCES, uapi.PERF_COUNT_HW_INSTRUCTIONS):
        b.perf_event_open(attr(cfg))  # 3 flexible events + ... on 3 counters: rotation
    b.perf_event_open(attr(sample_period=700, pinned=1))
    c.perf_event_open(attr(exclude_kernel=0), pid=-1, cpu=1)
    m.user_step(lambda: read_self(a, page, clock=None), name="A reads")
    m.run(10)
    m.migrate(a, 1)
    m.run(5)
    child = a.fork()
    m.run(5)
    child.exec()
    m.sysctl("kernel.perf_user_access", 0)
    m.run(5)
    m.sysctl("kernel.perf_user_access", 1)
    m.migrate(b, 0)
    m.run(10)
    return m


def test_same_seed_same_trace():
    one, two = busy(7), busy(7)
    assert one.trace.to_json() == two.trace.to_json()
    assert one.snapshot() == two.snapshot()
    assert len(one.trace) == 35 and "irq" in one.trace.kinds() and "ipi" in one.trace.kinds()


def test_different_seed_different_trace():
    one, two = busy(7), busy(8)
    assert one.trace.to_json() != two.trace.to_json()
    assert one.snapshot() != two.snapshot()
