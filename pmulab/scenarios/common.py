"""Shared pieces of the scenarios: attributes, workloads, reads that may trap, invariant checks.

Models: the user-space side of the review's scenarios (what a task asks perf for, how it reads)
and the per-design invariants of spec §7 (end), evaluated on a Machine.
Omits: nothing the scenarios need; each scenario module says what it sets up.
"""

from __future__ import annotations

from pmulab import uapi
from pmulab.errors import IllegalInstruction, PerfError
from pmulab.hw.sysregs import PMUSERENR
from pmulab.sim.workload import Workload
from pmulab.uapi import PerfEventAttr
from pmulab.user import ReadLoop

__all__ = ["user_attr", "raw_attr", "busy", "try_mrs", "try_call", "read_count", "read_user",
           "has_access", "SIGILL", "access_consistent"]

#: What ``try_mrs`` returns when the EL0 access trapped (the task got SIGILL).
SIGILL = "SIGILL"
_ER = PMUSERENR["ER"].mask


def raw_attr(event: int, config1: int = 0, **kw) -> PerfEventAttr:
    """A raw PMUv3 event (PERF_TYPE_RAW, config = the architectural event number)."""
    kw.setdefault("exclude_kernel", 1)
    kw.setdefault("read_format", uapi.PERF_FORMAT_TOTAL_TIME_ENABLED | uapi.PERF_FORMAT_TOTAL_TIME_RUNNING)
    kw.setdefault("type", uapi.PERF_TYPE_RAW)
    return PerfEventAttr(config=int(event), config1=config1, **kw)


def user_attr(event: int = 0x08, config1: int = 0x2, **kw) -> PerfEventAttr:
    """A self-monitoring request: config1 ``rdpmc`` (0x2), exclude_kernel (paranoid 2)."""
    return raw_attr(event, config1, **kw)


def busy(**el0: int) -> Workload:
    """A task that retires instructions, burns cycles and misses caches at EL0 (no jitter)."""
    rates = {"INST_RETIRED": 800, "CPU_CYCLES": 1000, "L1D_CACHE_REFILL": 20, "BR_MIS_PRED": 10}
    rates.update(el0)
    return Workload(el0=rates)


def try_mrs(task, reg: str):
    """``task.mrs(reg)``, or SIGILL when the access trapped."""
    try:
        return task.mrs(reg)
    except IllegalInstruction:
        return SIGILL


def try_call(fn, *args, **kw):
    """``fn(...)``, or the errno name of the PerfError it raised."""
    try:
        return fn(*args, **kw)
    except PerfError as exc:
        return exc.name


def read_count(task, fd: int) -> int:
    """The count read() returns (first value)."""
    attr = task.fds[fd].attr
    return uapi.parse_read(task.read(fd), attr.read_format).value


def read_user(task, page, variant: str = "documented"):
    """The documented self-monitoring read: count, None (fall back to read()) or SIGILL."""
    try:
        return ReadLoop(task, page, variant=variant, clock=None, scale=False).run()
    except IllegalInstruction:
        return SIGILL


def has_access(m, cpu: int) -> bool:
    """PMUSERENR_EL0.ER on ``cpu`` (EL1 view)."""
    return bool(m.cpu(cpu).mrs("PMUSERENR_EL0") & _ER)


def access_consistent(m) -> bool:
    """The design's own accounting agrees with PMUSERENR_EL0 on every CPU running a task.

    ``Design.expected_access`` (v8: ctx nr_user of the active task context; x86-mm: the current
    mm's count; v5.17/pmuv3p9: the start() policy while a counter is in use; lazy-trap: never
    without the mm's count); None = no promise at that point.
    """
    for cpu in range(m.ncpus):
        if m.sched.current(cpu) is None:
            continue
        with m.on_cpu(cpu):
            want = m.design.expected_access(m.pmu_of(cpu), cpu)
        if want is not None and want != has_access(m, cpu):
            return False
    return True
