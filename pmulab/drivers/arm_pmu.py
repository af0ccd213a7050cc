"""The generic Arm PMU driver: ``struct arm_pmu`` and the ``struct pmu`` operations around it.

Models: drivers/perf/arm_pmu.c -- ``armpmu_event_init`` / ``__hw_perf_event_init`` (CPU class
check, mapping, filters, default period, group validation on a fake ``pmu_hw_events``),
``armpmu_add/del/start/stop/read``, ``armpmu_enable/disable`` (start only when a counter is in
use), ``armpmu_filter_match``; the period arithmetic and the PMUv3 IRQ handler are in
``pmulab.drivers.arm_pmu_irq``. One ``ArmPmu`` per PMU type (several on big.LITTLE), one
``PmuHwEvents`` per CPU.
The PMUv3 register work is ``pmulab.drivers.arm_pmuv3.PmuV3``; the EL0-access policy is the
user-access design (``pmulab.drivers.user_access``); the perf core (bound after construction,
``bind(core)``) owns ``update_userpage``, the per-CPU task context and ``perf_event_overflow``.
Omits: IRQ/NMI registration and affinity, CPU hotplug and PM notifiers, sysfs attributes,
KVM, branch stacks (refused), sample records (the core's overflow hook gets the event only).
Pinned to: Linux v5.17.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass, field

from pmulab.drivers import arm_pmuv3_events as evmap
from pmulab.drivers.arm_pmu_irq import PeriodIrqMixin
from pmulab.drivers.arm_pmuv3 import EVT_64BIT, PmuV3
from pmulab.drivers.user_access import resolve
from pmulab.errors import PerfError
from pmulab.hw.events import ArmEvent
from pmulab.hw.sysregs import NUM_SLOTS
from pmulab.perf.api import EF, HES, EventState, PerfEvent
from pmulab.uapi import constants as uc

__all__ = ["ArmPmu", "PmuHwEvents", "DEFAULT_TYPE"]

#: A dynamic PMU type (perf_pmu_register(..., -1) hands out numbers after the fixed types).
DEFAULT_TYPE = 8
_U64 = (1 << 64) - 1
_STOPPED_UPTODATE = HES.STOPPED | HES.UPTODATE  # flag values built once (IntFlag arithmetic is slow)
_RUNNING = HES(0)
_STOPPED, _EF_START = int(HES.STOPPED), int(EF.START)
_EVENT_MASK = evmap.EVENT_FIELD.mask


@dataclass(eq=False)
class PmuHwEvents:
    """``struct pmu_hw_events`` of one CPU: the event in each perf idx and the ``used_mask``."""

    events: list = field(default_factory=lambda: [None] * NUM_SLOTS)
    used_mask: int = 0

    def claim(self, idx: int) -> bool:
        """``!test_and_set_bit(idx, used_mask)``: True if idx was free and is now taken."""
        bit = 1 << idx
        if self.used_mask & bit:
            return False
        self.used_mask |= bit
        return True

    def release(self, idx: int) -> None:
        """``clear_bit(idx, used_mask)``."""
        self.used_mask &= ~(1 << idx)

    def is_used(self, idx: int) -> bool:
        return bool(self.used_mask >> idx & 1)


class ArmPmu(PeriodIrqMixin):
    """One Arm PMU type (``struct arm_pmu`` + its ``struct pmu``); implements ``pmulab.perf.api.Pmu``.

    Parameters
    ----------
    kernel : pmulab.perf.api.Kernel
        this_cpu/current/smp_call/sysctl/cpu_regs provider.
    cpus : list[int]
        ``supported_cpus``.
    version : str or PmuVersion
        "v3p4", "v3p5", "v3p9" (long event counters from v3p5).
    counters : int
        PMCR_EL0.N of these CPUs (checked against the hardware at probe).
    name, type :
        ``pmu.name`` and ``pmu.type`` (``attr.type == type`` opens raw events on this PMU).
    design : str, Design subclass or Design instance
        The user-access policy (default "v5.17").
    core :
        The perf core, or None until ``bind(core)``; must provide ``update_userpage(event)``
        and ``cpu_ctx(cpu).task_ctx``; ``perf_event_overflow(event) -> int`` is optional.
    """

    def __init__(self, kernel, cpus, version, counters: int, name: str = "armv8_pmuv3",
                 type: int = DEFAULT_TYPE, design="v5.17", core=None):
        cpus = sorted(set(cpus))
        if not cpus or any(not isinstance(c, int) or not 0 <= c < kernel.ncpus for c in cpus):
            raise ValueError(f"cpus must be CPU numbers in 0..{kernel.ncpus - 1}, got {cpus!r}")
        if not isinstance(counters, int) or not 0 <= counters <= NUM_SLOTS - 1:
            raise ValueError(f"counters must be 0..{NUM_SLOTS - 1}, got {counters!r}")
        self.kernel = kernel
        self.supported_cpus = frozenset(cpus)
        self.name, self.type = name, type
        self.design = resolve(design)
        self.core = core
        self.ops = PmuV3(self, version)
        self.num_events = counters + 1  # event counters + the cycle counter
        self.hw_events = {cpu: PmuHwEvents() for cpu in range(kernel.ncpus)}
        self.sched_cb_usage = 0
        self.sched_task = None
        #: Observers of every ``armv8pmu_start`` on a CPU of this PMU: callables
        #: ``hook(cpu_pmu)`` run right after it (this_cpu() = that CPU). The lab's invariant
        #: checks and the explorer watch PMUSERENR_EL0 decisions here; the kernel has no such list.
        self.start_hooks: list = []
        if self.design.sched_task is not None:
            self.sched_task = lambda ctx, sched_in: self.design.sched_task(self, ctx, sched_in)
        for cpu in cpus:
            self._probe_cpu(cpu)

    def __repr__(self) -> str:
        return f"ArmPmu({self.name!r}, type={self.type}, cpus={sorted(self.supported_cpus)}, {self.ops.version.value})"

    def _probe_cpu(self, cpu: int) -> None:
        """armv8pmu_probe_pmu + armv8pmu_reset, run on ``cpu`` (cpuhp starting callback)."""
        self.kernel.smp_call(cpu, self._probe_here)

    def _probe_here(self) -> None:
        n = self.ops.probe()
        if n != self.num_events - 1:
            raise ValueError(f"{self.name}: PMCR_EL0.N={n} on CPU {self.kernel.this_cpu()}, "
                             f"but counters={self.num_events - 1}")
        self.ops.reset()

    # --- wiring --------------------------------------------------------------------------------
    def bind(self, core) -> None:
        """Attach the perf core (after ``PerfCore(kernel, pmus)`` exists)."""
        self.core = core

    def update_userpage(self, event: PerfEvent) -> None:
        """perf_event_update_userpage, owned by the core (no-op until bound)."""
        if self.core is not None:
            self.core.update_userpage(event)

    def task_ctx(self, cpu: int):
        """The task context scheduled in on ``cpu`` (the per-CPU pmu_cpu_context's task_ctx in v5.17)."""
        if self.core is None:
            return None
        return self.core.cpu_ctx(cpu).task_ctx

    def this_hw_events(self) -> PmuHwEvents:
        """This CPU's ``PmuHwEvents`` (the arm_pmu's per-CPU hw_events)."""
        return self.hw_events[self.kernel.this_cpu()]

    def handles_cpu(self, cpu: int) -> bool:
        return cpu in self.supported_cpus

    def max_period(self, event: PerfEvent) -> int:
        """Kernel: arm_pmu_event_max_period -- 2^64-1 for 64-bit events, else 2^32-1."""
        return _U64 if event.hw.flags & EVT_64BIT else (1 << 32) - 1

    # --- event_init ----------------------------------------------------------------------------
    def event_init(self, event: PerfEvent) -> None:
        """Kernel: armpmu_event_init + __hw_perf_event_init; raise PerfError, change nothing on error."""
        if event.cpu != -1 and event.cpu not in self.supported_cpus:
            raise PerfError(errno.ENOENT, f"{self.name}: CPU {event.cpu} is not one of this PMU's CPUs")
        if event.attr.sample_type & uc.PERF_SAMPLE_BRANCH_STACK:
            raise PerfError(errno.EOPNOTSUPP, f"{self.name}: branch stack sampling is not supported")
        hw = event.hw
        saved = (hw.flags, hw.idx, hw.config_base, hw.sample_period, hw.last_period, hw.period_left)
        try:
            self._hw_event_init(event)
        except PerfError:
            hw.flags, hw.idx, hw.config_base, hw.sample_period, hw.last_period, hw.period_left = saved
            raise

    def _hw_event_init(self, event: PerfEvent) -> None:
        hw = event.hw
        try:
            evmap.map_event(self, event)  # armpmu_event_init: only ENOENT matters at this point
        except PerfError as e:
            if e.errno == errno.ENOENT:
                raise
        hw.flags = 0
        mapping = evmap.map_event(self, event)
        hw.idx = -1
        try:
            filt = evmap.event_filter(event.attr)
        except PerfError as e:
            raise PerfError(errno.EOPNOTSUPP, f"{self.name} does not support this mode exclusion ({e.check})") from e
        hw.config_base = filt | mapping
        if not event.attr.sample_period:  # !is_sampling_event: half the counter width
            hw.sample_period = self.max_period(event) >> 1
            hw.last_period = hw.period_left = hw.sample_period
        self._validate_group(event)

    def _validate_event(self, fake: PmuHwEvents, event: PerfEvent) -> bool:
        """Kernel: validate_event."""
        if event.pmu is not self:
            return False
        if event.state < EventState.OFF:
            return True
        if event.state == EventState.OFF and not event.attr.enable_on_exec:
            return True
        return self.design.get_event_idx(self, fake, event) >= 0

    def _validate_group(self, event: PerfEvent) -> None:
        """Kernel: validate_group -- the group must fit an empty PMU at once."""
        leader = event.group_leader or event
        fake = PmuHwEvents()
        members = [leader] if leader is event else [leader, *[s for s in leader.siblings if s is not event], event]
        for member in members:
            if not self._validate_event(fake, member):
                raise PerfError(errno.EINVAL, f"{self.name}: group does not fit on the PMU's counters "
                                              f"(or spans PMUs)")

    # --- scheduling ----------------------------------------------------------------------------
    def add(self, event: PerfEvent, flags: EF) -> int:
        """Kernel: armpmu_add -- 0, -ENOENT on a CPU of another type, -EAGAIN when no counter fits."""
        cpu = self.kernel.this_cpu()
        if cpu not in self.supported_cpus:
            return -errno.ENOENT
        hw_events = self.hw_events[cpu]
        idx = self.design.get_event_idx(self, hw_events, event)
        if idx < 0:
            return idx
        event.hw.idx = idx
        self.ops.disable_event(event)
        hw_events.events[idx] = event
        event.hw.state = _STOPPED_UPTODATE
        if int(flags) & _EF_START:
            self.start(event, EF.RELOAD)
        self.update_userpage(event)
        return 0

    def del_(self, event: PerfEvent, flags: EF) -> None:
        """Kernel: armpmu_del -- stop+update, free the counter (its value is left in it), idx = -1."""
        hw_events = self.this_hw_events()
        self.stop(event, EF.UPDATE)
        hw_events.events[event.hw.idx] = None
        self.design.clear_event_idx(self, hw_events, event)
        self.update_userpage(event)
        event.hw.idx = -1

    def start(self, event: PerfEvent, flags: EF) -> None:
        """Kernel: armpmu_start -- always re-arm the period, then enable the counter."""
        event.hw.state = _RUNNING
        self.event_set_period(event)
        self.ops.enable_event(event)

    def stop(self, event: PerfEvent, flags: EF) -> None:
        """Kernel: armpmu_stop -- always update (PERF_EF_UPDATE is implied)."""
        if not int(event.hw.state) & _STOPPED:
            self.ops.disable_event(event)
            self.event_update(event)
            event.hw.state |= _STOPPED_UPTODATE

    def read(self, event: PerfEvent) -> None:
        """Kernel: armpmu_read."""
        self.event_update(event)

    # --- whole-PMU callbacks --------------------------------------------------------------------
    def pmu_enable(self) -> None:
        """Kernel: armpmu_enable -- start() only on a supported CPU with a counter in use."""
        cpu = self.kernel.this_cpu()
        if cpu in self.supported_cpus and self.hw_events[cpu].used_mask:
            self.ops.start()

    def pmu_disable(self) -> None:
        """Kernel: armpmu_disable."""
        if self.kernel.this_cpu() in self.supported_cpus:
            self.ops.stop()

    def filter_match(self, event: PerfEvent) -> bool:
        """Kernel: armpmu_filter_match + armv8pmu_filter_match (never a bare CHAIN event)."""
        if self.kernel.this_cpu() not in self.supported_cpus:
            return False
        return event.hw.config_base & _EVENT_MASK != ArmEvent.CHAIN

    def event_idx(self, event: PerfEvent) -> int:
        """``pmu->event_idx`` (v5.17: armv8pmu_user_event_idx, through the design)."""
        return int(self.design.user_event_idx(self, event))

    def event_mapped(self, event: PerfEvent, mm) -> None:
        self.design.event_mapped(self, event, mm)

    def event_unmapped(self, event: PerfEvent, mm) -> None:
        self.design.event_unmapped(self, event, mm)

    def arch_update_userpage(self, event: PerfEvent, page, now: int) -> None:
        """arch_perf_update_userpage, through the design."""
        self.design.arch_update_userpage(self, event, page, now)

    def sysctl_user_access(self, old: int, value: int) -> None:
        """The action half of armv8pmu_proc_user_access_handler, after the machine stored ``value``.

        Run once per machine (on any one ArmPmu); delegates to ``Design.sysctl_write``.
        """
        self.design.sysctl_write(self.kernel, "kernel.perf_user_access", old, value)
