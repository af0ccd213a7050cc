"""What a user-access design costs, measured on one standard workload.

Models: the price each design of the series pays for EL0 counter access, as the review argued
it: IPIs (Will Deacon's objection to signalling every CPU of an mm), PMUSERENR_EL0 writes and
counter clears per context switch (v8's sched_task, v5.17's armv8pmu_start), extra work inside
mmap()/munmap() (v8's hooks; Mark Rutland's event_function_call), and work in the EL0
undefined-instruction trap (v7's lazy grant).

The standard workload (``standard_workload``): 2 CPUs x 6 counters, 1-tick timeslices,
``kernel.perf_user_access`` = 1. CPU 0 runs A (uid 1000: a self-monitoring INST_RETIRED event,
config1 rdpmc, mmapped) and B (uid 1000: its own plain event, no user access); root keeps a
CPU-bound L1D_CACHE_REFILL event on CPU 0; CPU 1 runs C and D (uid 1001, no perf events) and
root. A forks A2 onto CPU 1, which mmaps and munmaps A's event there first (a mapping from
another task, Mark Rutland's point 2), then A maps it itself. Over ``TICKS`` ticks, whenever A
is current on CPU 0 it runs the documented read loop (``pmulab.user.ReadLoop``) and the
result is compared with the event's true count.

Measurement: the Machine's ``cpu_regs`` is wrapped, for this one machine only, by a counting
proxy, so every kernel-side write of PMUSERENR_EL0 and every write of 0 to a counter register
(a clear; ``armpmu_event_set_period`` never writes 0) is counted, whichever function of the
design made it; IPIs come from ``kernel.ipis``, switches from the trace's ``switch`` rows.
Each count is attributed to the phase it happened in (mmap, munmap, remote mmap/munmap, the
read loops = EL0 trap work, the ticks = switch work).
Omits: time; costs are counts of architectural operations, deterministic by construction.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from pmulab.hw.events import ArmEvent
from pmulab.hw.sysregs import PMUSERENR
from pmulab.scenarios.common import SIGILL, busy, raw_attr, read_user, user_attr
from pmulab.sim.explore_ops import true_count
from pmulab.sim.machine import Machine

__all__ = ["TICKS", "standard_workload", "CountingRegs", "Meter"]

#: Ticks of the standard workload.
TICKS = 40
_COUNTERS = frozenset(["PMCCNTR_EL0", *(f"PMEVCNTR{n}_EL0" for n in range(31))])


class Meter:
    """Counts per phase: PMUSERENR_EL0 writes, counter clears, IPIs."""

    def __init__(self, machine: Machine):
        self.m = machine
        self.phase = "setup"
        self.counts: dict[str, dict[str, int]] = {}

    def add(self, what: str, n: int = 1) -> None:
        row = self.counts.setdefault(self.phase, {"pmuserenr_writes": 0, "counter_clears": 0, "ipis": 0})
        row[what] += n

    def get(self, phase: str, what: str) -> int:
        return self.counts.get(phase, {}).get(what, 0)

    def work(self, phase: str) -> int:
        return sum(self.counts.get(phase, {}).values())

    @contextmanager
    def during(self, phase: str):
        outer, ipis = self.phase, self.m.ipis
        self.phase = phase
        try:
            yield
        finally:
            self.add("ipis", self.m.ipis - ipis)
            self.phase = outer


class CountingRegs:
    """A CPU's register file seen through the kernel: counts the writes that cost something."""

    __slots__ = ("_cpu", "_meter")

    def __init__(self, cpu: Any, meter: Meter):
        self._cpu, self._meter = cpu, meter

    def msr(self, name: str, value: int, el: int = 1) -> None:
        self._cpu.msr(name, value, el)
        if name == PMUSERENR.name:
            self._meter.add("pmuserenr_writes")
        elif name in _COUNTERS and value == 0:
            self._meter.add("counter_clears")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._cpu, name)


def _instrument(m: Machine, meter: Meter) -> None:
    raw = m.cpu_regs
    proxies = [CountingRegs(raw(c), meter) for c in range(m.ncpus)]
    m.cpu_regs = proxies.__getitem__  # this machine only: the kernel looks registers up per access


def standard_workload(design: Any, pmu: str = "v3p4", guard: Any = None) -> dict[str, Any]:
    """Run the standard workload on ``design`` (an instance, class or name); return the cost dict.

    ``guard``: the ``pmulab.studio.guard.Guard`` of a guarded instance, which counts the
    trap hook's calls (without it ``el0_traps`` is None).

    Keys: ``switches``, ``ipis`` (whole run), ``pmuserenr_writes_per_switch``,
    ``counter_clears_per_switch`` (tick phase / switches), ``mmap_work`` / ``munmap_work``
    (writes + clears + IPIs inside A's own mmap/munmap), ``remote_mmap_work`` (A2's mmap+munmap of
    A's event from CPU 1), ``el0_traps`` (EL0 accesses the design's trap hook handled),
    ``el0_trap_work`` (writes + clears + IPIs inside the read loops), ``self_reads``,
    ``self_reads_ok`` (read loops that returned the true count from the counter).
    """
    m = Machine(cpus=2, counters=6, pmu=pmu, design=design, perf_user_access=1, seed=0, timeslice=1)
    m.design.tracing = True
    meter = Meter(m)
    _instrument(m, meter)
    a = m.spawn("A", uid=1000, cpu=0, workload=busy())
    b = m.spawn("B", uid=1000, cpu=0, workload=busy())
    root = m.spawn("root", uid=0, cpu=1)
    m.spawn("C", uid=1001, cpu=1, workload=busy())
    m.spawn("D", uid=1001, cpu=1, workload=busy())
    root.perf_event_open(raw_attr(ArmEvent.L1D_CACHE_REFILL, exclude_kernel=0), pid=-1, cpu=0)
    b.perf_event_open(raw_attr(ArmEvent.BR_MIS_PRED))
    fd = a.perf_event_open(user_attr())
    event = a.fds[fd]
    event = getattr(event, "event", event)
    a2 = a.fork(cpu=1, name="A2")
    with meter.during("remote_mmap"):
        a2.mmap(fd)
        a2.munmap(fd)
    with meter.during("mmap"):
        page = a.mmap(fd)
    reads = good = 0
    traps0 = guard.per_hook.get("el0_trap", 0) if guard is not None else 0
    switches0 = sum(1 for r in m.trace.actions() if r["kind"] == "switch")
    for _ in range(TICKS):
        with meter.during("ticks"):
            m.run(1)
        if m.sched.current(a.cpu) is a:
            with meter.during("reads"):
                got = read_user(a, page)
            reads += 1
            good += int(got is not None and got != SIGILL and got == true_count(m, event))
    switches = sum(1 for r in m.trace.actions() if r["kind"] == "switch") - switches0
    with meter.during("munmap"):
        a.munmap(fd)
    traps = guard.per_hook.get("el0_trap", 0) - traps0 if guard is not None else None
    per = max(switches, 1)
    return {
        "switches": switches,
        "ipis": m.ipis,
        "pmuserenr_writes_per_switch": round(meter.get("ticks", "pmuserenr_writes") / per, 3),
        "counter_clears_per_switch": round(meter.get("ticks", "counter_clears") / per, 3),
        "mmap_work": meter.work("mmap"),
        "munmap_work": meter.work("munmap"),
        "remote_mmap_work": meter.work("remote_mmap"),
        "el0_traps": traps,
        "el0_trap_work": meter.work("reads"),
        "self_reads": reads,
        "self_reads_ok": good,
    }
