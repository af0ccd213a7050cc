"""Heterogeneous (big.LITTLE) machines: one arm_pmu per cluster, each with its own perf type.

Kernel facts modelled (v5.17, kernel/events/core.c and drivers/perf/arm_pmu.c):
- an event opened with ``attr.type`` = a cluster's PMU type counts only on that cluster's CPUs
  (``armpmu_filter_match`` keeps it off the others; ``armpmu_add`` would say -ENOENT);
- a generic PERF_TYPE_HARDWARE task event is initialised by the first PMU in registration order
  that accepts it (``perf_init_event``), so it counts on that cluster only; a CPU-bound generic
  event goes to the PMU that serves its CPU (the others answer -ENOENT in ``armpmu_event_init``);
- all hardware PMUs share one per-CPU context whose ``ctx.pmu`` is the first PMU, and
  ``perf_event_context_sched_in`` brackets a task switch-in with ``perf_pmu_disable/enable`` of
  that PMU (``pmu = ctx->pmu = cpuctx->ctx.pmu``, the heterogeneous "HACK" added in 2021,
  lkml YMsy7BuGT8nBTspT@hirez.programming.kicks-ass.net).
  ``armpmu_enable`` returns at once on a CPU outside ``supported_cpus``; the other cluster's
  ``start()`` runs only from ``event_sched_in``/``event_sched_out`` of its own events (they
  bracket ``pmu->add/del`` with ``perf_pmu_disable/enable(event->pmu)``) or its IRQ handler.
  So a task with only cluster-X user events switched in on a cluster-Y CPU does not call Y's
  ``start()``: PMUSERENR_EL0 there keeps the value of Y's last start() (S12: the stale read
  traps with SIGILL). Even when Y has counters in use (a CPU-bound Y event), the switch-in
  does not re-run Y's start(); the next one (Y's overflow IRQ, or any Y add/del) grants
  access, because the task's context has nr_user > 0.
"""

from __future__ import annotations

import pytest

from pmulab import IllegalInstruction, Machine, Workload, uapi
from pmulab.hw.sysregs import PMUSERENR
from pmulab.user import ReadLoop, read_self

from .helpers import BUSY, attr, value

CLUSTERS = [("cortex-a53", 2, 4), ("cortex-a72", 2, 6)]
ER_CR = PMUSERENR.encode(ER=1, CR=1)


def hetero(**kw) -> Machine:
    return Machine(clusters=CLUSTERS, perf_user_access=1, **kw)


def test_types_and_cpus():
    m = hetero()
    little, big = m.pmus
    assert little.type != big.type
    assert sorted(little.supported_cpus) == [0, 1] and sorted(big.supported_cpus) == [2, 3]
    assert m.pmu_of(1) is little and m.pmu_of(3) is big


def test_event_counts_only_on_its_cluster():
    m = hetero()
    little = m.pmus[0]
    t = m.spawn("T", cpu=0, workload=BUSY)
    fd = t.perf_event_open(attr(type=little.type, config=0x08, config1=0x2))
    page = t.mmap(fd)
    m.run(3)
    on_little = value(t, fd)
    assert on_little == 3 * 800 and read_self(t, page, clock=None) == on_little
    m.migrate(t, 2)
    m.run(4)
    assert value(t, fd) == on_little  # the A72 does not count A53 events
    assert page.index == 0 and read_self(t, page, clock=None) is None  # fallback to read()
    assert t.files[fd].event.state == 0  # INACTIVE: filtered out, not ERROR
    m.migrate(t, 1)
    m.run(2)
    assert value(t, fd) == on_little + 2 * 800


def test_generic_task_event_binds_to_the_first_pmu():
    m = hetero()
    t = m.spawn("T", cpu=3, workload=BUSY)
    fd = t.perf_event_open(attr(uapi.PERF_COUNT_HW_INSTRUCTIONS))
    assert t.files[fd].event.pmu is m.pmus[0]
    m.run(3)
    assert value(t, fd) == 0  # T runs on an A72: the A53-bound generic event never counts
    m.migrate(t, 0)
    m.run(1)
    assert value(t, fd) == 800


def test_generic_cpu_event_goes_to_the_pmu_of_its_cpu():
    m = hetero(perf_event_paranoid=0)
    r = m.spawn("R", uid=0, cpu=2, workload=BUSY)
    fd = r.perf_event_open(attr(uapi.PERF_COUNT_HW_INSTRUCTIONS), pid=-1, cpu=2)
    assert r.files[fd].event.pmu is m.pmus[1]
    m.run(2)
    assert value(r, fd) == 1600


@pytest.mark.parametrize("big_busy", [False, True], ids=["big-idle", "big-in-use"])
def test_s12_stale_index_after_migration_traps(big_busy):
    """S12: T reads index != 0 on an A53 CPU, is migrated to an A72 CPU, then executes its mrs."""
    m = hetero(perf_event_paranoid=0)
    little = m.pmus[0]
    t = m.spawn("T", cpu=1, workload=BUSY)
    if big_busy:  # a root CPU-bound A72 event on C2: the A72 PMU has a counter in use there
        root = m.spawn("R", uid=0, cpu=3, workload=BUSY)
        rfd = root.perf_event_open(attr(type=m.pmus[1].type, config=0x11), pid=-1, cpu=2)
    fd = t.perf_event_open(attr(type=little.type, config=0x08, config1=0x2))
    page = t.mmap(fd)
    m.run(1)
    loop = ReadLoop(t, page, clock=None)
    for _ in range(3):  # lock, times, index: index != 0 (PMEVCNTR0 on the A53)
        loop.step()
    assert loop.history[-1].values["index"] == 1
    m.migrate(t, 2)
    m.switch_to(2, t)
    # T's switch-in on C2 brackets the first PMU (the A53's, a no-op here): no A72 start()
    assert m.cpu(2).mrs("PMUSERENR_EL0") == 0
    loop.step()  # offset
    with pytest.raises(IllegalInstruction):
        loop.step()  # mrs PMEVCNTR0_EL0 on C2 traps: SIGILL, the seqlock cannot help
    assert t.sigill == 1
    if big_busy:
        # the next A72 start() on C2 while T runs grants access: here the root re-enables its
        # event (event_function_call -> IPI to C2 -> ctx_resched -> armpmu_add -> start())
        root.ioctl(rfd, uapi.PERF_EVENT_IOC_DISABLE)
        assert m.cpu(2).mrs("PMUSERENR_EL0") == 0  # A72 used_mask empty after the del: no start()
        root.ioctl(rfd, uapi.PERF_EVENT_IOC_ENABLE)
        assert m.cpu(2).mrs("PMUSERENR_EL0") == ER_CR
        assert t.mrs("PMCCNTR_EL0") >= 0  # T now reads the root's A72 cycle counter (the S1 leak)
        assert read_self(t, page, clock=None) is None  # its own event is not on the A72: index 0


def test_s12_first_pmu_cluster_gets_start_at_switch_in():
    """Control: on the cluster of the first PMU, the context-wide bracket does call start()."""
    m = hetero()
    t = m.spawn("T", cpu=0, workload=BUSY)
    u = m.spawn("U", cpu=0, workload=Workload(el0={"INST_RETIRED": 10}))
    fd = t.perf_event_open(attr(type=m.pmus[0].type, config=0x08, config1=0x2))
    t.mmap(fd)
    m.switch_to(0, u)
    m.switch_to(0, t)
    assert m.cpu(0).mrs("PMUSERENR_EL0") == ER_CR
