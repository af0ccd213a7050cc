"""The contracts between the perf core, the PMU drivers and the machine that runs them.

Models: the kernel's ``struct perf_event`` / ``struct hw_perf_event`` (include/linux/perf_event.h),
event states and the PERF_EF_* / PERF_HES_* flags, the ``struct pmu`` operations a driver
provides, and the few services the core needs from the rest of the kernel (which CPU is
executing, who is current there, IPIs, time, sysctls, credentials). ``pmulab.sim`` implements
``Kernel``; ``pmulab.drivers`` implements ``Pmu``; the core calls only these protocols, so a
driver or a user-access design plugs in without touching the core.
Omits: software/tracepoint PMUs (only hardware events are modelled), cgroups, BPF.
Pinned to: Linux v5.17 (include/linux/perf_event.h, kernel/events/core.c).
"""

from __future__ import annotations

import enum
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

__all__ = [
    "EventState", "EF", "HES", "ATTACH_TASK", "FLAG_USER_READ_CNT", "FLAG_ARCH",
    "HwPerfEvent", "PerfEvent", "Pmu", "Kernel",
]


class EventState(enum.IntEnum):
    """``enum perf_event_state``: ordered so that ``state >= INACTIVE`` means enabled."""

    DEAD = -4
    EXIT = -3
    ERROR = -2
    OFF = -1
    INACTIVE = 0
    ACTIVE = 1


class EF(enum.IntFlag):
    """PERF_EF_*: flags of pmu->add/start/stop."""

    START = 0x01
    RELOAD = 0x02
    UPDATE = 0x04


class HES(enum.IntFlag):
    """PERF_HES_*: hw_perf_event.state bits."""

    STOPPED = 0x01
    UPTODATE = 0x02
    ARCH = 0x04


#: event->attach_state bit of task-bound events (PERF_ATTACH_TASK).
ATTACH_TASK = 0x04
#: Generic event flag set by drivers for user-readable events (v5.17, commit 369461ce8fb6).
FLAG_USER_READ_CNT = 0x80000000
#: Low bits of hw_perf_event.flags reserved for the architecture (ARMPMU_EVT_64BIT = 1, ...).
FLAG_ARCH = 0x0000FFFF


@dataclass(eq=False)
class HwPerfEvent:
    """``struct hw_perf_event``: the driver's per-event state.

    ``idx`` is the perf index (-1: no counter; arm64: 0 = cycle counter, k = PMEVCNTR<k-1>).
    ``prev_count`` is a full 64-bit unsigned value (see armpmu_event_set_period).
    """

    idx: int = -1
    config_base: int = 0
    flags: int = 0
    prev_count: int = 0
    period_left: int = 0
    sample_period: int = 0
    last_period: int = 0
    state: HES = HES.STOPPED | HES.UPTODATE
    interrupts: int = 0
    interrupts_seq: int = -1  # perf_throttled_seq of the tick ``interrupts`` counts in
    freq_count_stamp: int = 0  # count at the last frequency re-estimate
    target: Any = None  # the task of a task-bound event (set before event_init)


@dataclass(eq=False)
class PerfEvent:
    """``struct perf_event``: one opened event.

    ``owner`` is the task that called perf_event_open; ``target`` the task it is bound to
    (None for CPU-bound events); ``cpu`` -1 or the CPU it is restricted to; ``ctx`` the
    context it lives in; ``count`` the 64-bit accumulated count (``local64_t count``);
    ``page`` the ``uapi.MmapPage`` of its mapping (None until the first mmap);
    ``mmap_count`` how many mappings exist.
    """

    id: int
    attr: Any  # pmulab.uapi.PerfEventAttr
    pmu: Any  # the Pmu it belongs to
    owner: Any
    target: Any = None
    cpu: int = -1
    ctx: Any = None
    group_leader: PerfEvent | None = None
    siblings: list = field(default_factory=list)
    state: EventState = EventState.OFF
    count: int = 0
    child_count: int = 0
    total_time_enabled: int = 0
    total_time_running: int = 0
    child_total_time_enabled: int = 0
    child_total_time_running: int = 0
    tstamp: int = 0
    hw: HwPerfEvent = field(default_factory=HwPerfEvent)
    attach_state: int = 0
    mmap_count: int = 0
    page: Any = None
    parent: PerfEvent | None = None
    children: list = field(default_factory=list)
    event_limit: int = 0
    oncpu: int = -1
    pending_disable: bool = False  # disable at the next tick (perf_event_disable_inatomic -> irq_work)
    rb: Any = None  # the perf.ring_buffer.RingBuffer its output goes to (own mmap or SET_OUTPUT)
    lost_samples: int = 0  # SAMPLE records dropped for want of space (PERF_FORMAT_LOST)

    @property
    def is_group_leader(self) -> bool:
        return self.group_leader is self

    @property
    def has_user_read(self) -> bool:
        """``hw.flags & PERF_EVENT_FLAG_USER_READ_CNT``."""
        return bool(self.hw.flags & FLAG_USER_READ_CNT)


class Pmu(Protocol):
    """``struct pmu``: what the core calls on a driver (kernel names, ``del`` spelled ``del_``)."""

    name: str
    type: int
    sched_task: Callable | None  # (ctx, sched_in) -> None, or None
    sched_cb_usage: int

    def event_init(self, event: PerfEvent) -> None: ...  # raise PerfError; ENOENT = not this PMU
    def add(self, event: PerfEvent, flags: EF) -> int: ...  # 0, or -errno: could not schedule
    def del_(self, event: PerfEvent, flags: EF) -> None: ...
    def start(self, event: PerfEvent, flags: EF) -> None: ...
    def stop(self, event: PerfEvent, flags: EF) -> None: ...
    def read(self, event: PerfEvent) -> None: ...
    def event_idx(self, event: PerfEvent) -> int: ...  # user page index, 0 = none
    def event_mapped(self, event: PerfEvent, mm: Any) -> None: ...  # runs in the mmap() caller's context
    def event_unmapped(self, event: PerfEvent, mm: Any) -> None: ...
    def pmu_enable(self) -> None: ...  # on kernel.this_cpu()
    def pmu_disable(self) -> None: ...
    def filter_match(self, event: PerfEvent) -> bool: ...  # may the event run on this CPU?
    def arch_update_userpage(self, event: PerfEvent, page: Any, now: int) -> None: ...
    def handles_cpu(self, cpu: int) -> bool: ...  # cpu in supported_cpus


class Kernel(Protocol):
    """Services the perf core and the drivers use from the rest of the kernel (``pmulab.sim``).

    Everything per-CPU is relative to ``this_cpu()``: the CPU executing kernel code now
    (``smp_processor_id()``); ``smp_call`` switches it for the duration of an IPI.
    """

    ncpus: int

    def this_cpu(self) -> int: ...
    def current(self, cpu: int) -> Any: ...  # task running on cpu, or None (idle)
    def task_cpu(self, task: Any) -> int: ...
    def smp_call(self, cpu: int, func: Callable[[], Any]) -> Any: ...  # synchronous IPI, recorded
    def now(self) -> int: ...  # ns since boot
    def sysctl(self, name: str) -> int: ...  # "kernel.perf_event_paranoid", "kernel.perf_user_access", ...
    def find_task(self, pid: int) -> Any: ...  # None if no such task
    def capable(self, task: Any) -> bool: ...  # CAP_PERFMON (uid 0 in the model)
    def cpu_regs(self, cpu: int) -> Any: ...  # pmulab.hw.cpu.Cpu of that CPU (EL1 accesses)
    def record(self, kind: str, **fields: Any) -> None: ...  # append to the machine's trace
