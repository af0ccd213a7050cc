"""Mark Rutland's first point: counts that are not the reader's become readable at EL0.

Thread (1 Jun 2021): "This still leaks the values of CPU-bound events, or task-bound events
owned by others, right?" -- Rob Herring: "For CPU-bound events, yes. There's not any way to
prevent that without per counter access controls." -- Mark: "I had meant events bounds to this
task, but owned by someone else (e.g. the system administrator)."

- S1: a root CPU-bound event's live count, read by an unprivileged task that opted in.
- S2: an administrator's event bound to T (no user read), read by T.
- S15: B opens an rdpmc event on A and never maps it; does A gain EL0 access? (converse of S2)
- S16: inherited children of a task with an rdpmc event; do they gain EL0 access?

Expected outcomes: v8 and v5.17 from spec §7; the others derived from their code paths:
``v8-efc`` changes only who runs mapped/unmapped, so S1/S2 leak as v8 and S15/S16 give nothing
(no mapping, no access); ``x86-mm`` grants the whole address space that mapped the event, so
S1/S2 leak, and S15/S16 give nothing (access needs a mapping in the reader's mm; an inherited
event cannot even be mapped); ``lazy-trap`` grants from the trap whenever the reader's mm has a
mapping, so the same as x86-mm; ``pmuv3p9`` is v5.17 with PMUACR_EL1: CPU-bound and
foreign-owner counters read as zero (S1/S2 no leak), but the opted-in events of the reader's own
context stay readable (S15/S16 as v5.17).
Kernel: arch/arm64/kernel/perf_event.c armv8pmu_enable_user_access / armv8pmu_start.
"""

from __future__ import annotations

from dataclasses import dataclass

from pmulab.hw.events import ArmEvent
from pmulab.scenarios.base import Params, Run, Scenario, param
from pmulab.scenarios.common import SIGILL, busy, has_access, raw_attr, try_mrs, user_attr

__all__ = ["S1", "S2", "S15", "S16"]

_ALL = ("v8", "v8-efc", "x86-mm", "lazy-trap", "v5.17", "pmuv3p9")


def _table(**cols: tuple) -> dict:
    """{design: {check: value}} from {check: (value per design in _ALL order)}."""
    return {d: {k: v[i] for k, v in cols.items()} for i, d in enumerate(_ALL)}


# ------------------------------------------------------------------------------------- S1
@dataclass(frozen=True)
class S1Params(Params):
    ticks: int = param(3, "ticks before the read", min=1, max=50)
    refill_rate: int = param(20, "L1D refills per tick (root's event)", min=1, max=10_000)


def _s1(run: Run) -> None:
    m, p = run.machine, run.params
    root = m.spawn("root", uid=0, cpu=1)
    t = m.spawn("T", uid=1000, cpu=0, workload=busy(L1D_CACHE_REFILL=p.refill_rate))
    run.note("root opens a CPU-bound L1D_CACHE_REFILL event R on C0 (pid -1, cpu 0)", 1)
    root.perf_event_open(raw_attr(ArmEvent.L1D_CACHE_REFILL, exclude_kernel=0), pid=-1, cpu=0)
    run.note("T (uid 1000) opens INST_RETIRED with config1=0x2 and mmaps it", 0)
    fd = t.perf_event_open(user_attr())
    t.mmap(fd)
    m.run(p.ticks)
    run.note("T executes mrs PMEVCNTR0_EL0: R's counter, not T's", 0)
    run.observe("t_reads_R", try_mrs(t, "PMEVCNTR0_EL0"))
    with m.on_cpu(0):
        run.observe("R_counter", m.cpu(0).mrs("PMEVCNTR0_EL0"))


def _s1_checks(run: Run) -> dict:
    got = run.obs["t_reads_R"]
    return {"t_reads_cpu_bound_count": got not in (SIGILL, 0) and got == run.obs["R_counter"]}


S1 = Scenario("S1", "a CPU-bound event's count read by an unprivileged task", "Mark's point 1 (CPU-bound events)",
              S1Params, _s1, _s1_checks, _table(t_reads_cpu_bound_count=(True, True, True, True, True, False)),
              "t_reads_cpu_bound_count")


# ------------------------------------------------------------------------------------- S2
@dataclass(frozen=True)
class S2Params(Params):
    ticks: int = param(3, "ticks before the read", min=1, max=50)


def _s2(run: Run) -> None:
    m, p = run.machine, run.params
    admin = m.spawn("admin", uid=0, cpu=1)
    t = m.spawn("T", uid=1000, cpu=0, workload=busy())
    run.note("the administrator opens BR_MIS_PRED on task T (pid T, config1=0: no user read)", 1)
    admin.perf_event_open(raw_attr(ArmEvent.BR_MIS_PRED), pid=t.pid, cpu=-1)
    run.note("T opens its own INST_RETIRED (config1=0x2) and mmaps it", 0)
    fd = t.perf_event_open(user_attr())
    t.mmap(fd)
    m.run(p.ticks)
    run.note("T reads PMEVCNTR0_EL0 (the administrator's event) and tries to overwrite it", 0)
    run.observe("t_reads_admin", try_mrs(t, "PMEVCNTR0_EL0"))
    before = m.cpu(0).mrs("PMEVCNTR0_EL0")
    run.observe("t_write", try_mrs_write(t, "PMEVCNTR0_EL0", 0))
    run.observe("admin_counter_kept", m.cpu(0).mrs("PMEVCNTR0_EL0") == before)


def try_mrs_write(task, reg: str, value: int):
    from pmulab.errors import IllegalInstruction

    try:
        task.msr(reg, value)
        return "done"
    except IllegalInstruction:
        return SIGILL


def _s2_checks(run: Run) -> dict:
    got = run.obs["t_reads_admin"]
    return {"t_reads_admin_count": got not in (SIGILL, 0), "el0_cannot_corrupt_it": run.obs["admin_counter_kept"]}


S2 = Scenario("S2", "an administrator's event on T read by T", "Mark's clarified point 1 (task-bound, owned by others)",
              S2Params, _s2, _s2_checks,
              _table(t_reads_admin_count=(True, True, True, True, True, False),
                     el0_cannot_corrupt_it=(True,) * 6), "t_reads_admin_count")


# ------------------------------------------------------------------------------------ S15
@dataclass(frozen=True)
class S15Params(Params):
    ticks: int = param(2, "ticks A runs", min=1, max=50)


def _s15(run: Run) -> None:
    m, p = run.machine, run.params
    a = m.spawn("A", uid=1000, cpu=0, workload=busy())
    b = m.spawn("B", uid=1000, cpu=1)
    run.note("B opens INST_RETIRED with config1=0x2 on A (pid A) and never mmaps it", 1)
    b.perf_event_open(user_attr(), pid=a.pid, cpu=-1)
    m.run(p.ticks)
    run.observe("a_cpu_access", has_access(m, 0))
    run.note("A, which never asked for anything, executes mrs PMEVCNTR0_EL0", 0)
    run.observe("a_reads", try_mrs(a, "PMEVCNTR0_EL0"))


S15 = Scenario("S15", "B's rdpmc event on A, never mapped: does A gain EL0 access?", "converse of Mark's point 1",
               S15Params, _s15,
               lambda run: {"a_gains_access": run.obs["a_cpu_access"], "a_reads_counter": run.obs["a_reads"] != SIGILL},
               _table(a_gains_access=(False, False, False, False, True, True),
                      a_reads_counter=(False, False, False, False, True, True)), "a_gains_access")


# ------------------------------------------------------------------------------------ S16
@dataclass(frozen=True)
class S16Params(Params):
    ticks: int = param(2, "ticks the child runs", min=1, max=50)


def _s16(run: Run) -> None:
    m, p = run.machine, run.params
    a = m.spawn("A", uid=1000, cpu=0, workload=busy())
    run.note("A opens INST_RETIRED with config1=0x2 and attr.inherit=1, then forks a child on C1", 0)
    a.perf_event_open(user_attr(inherit=1))
    child = a.fork(cpu=1, name="child")
    m.run(p.ticks)
    run.observe("child_cpu_access", has_access(m, 1))
    run.note("the child (no fd of its own use, no mapping) executes mrs PMEVCNTR0_EL0", 1)
    run.observe("child_reads", try_mrs(child, "PMEVCNTR0_EL0"))


S16 = Scenario("S16", "inherited children of an rdpmc event: EL0 access without a user page",
               "children of Mark's point 1",
               S16Params, _s16,
               lambda run: {"child_gains_access": run.obs["child_cpu_access"],
                            "child_reads_counter": run.obs["child_reads"] != SIGILL},
               _table(child_gains_access=(False, False, False, False, True, True),
                      child_reads_counter=(False, False, False, False, True, True)), "child_gains_access")
