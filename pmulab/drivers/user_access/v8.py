"""The design Mark Rutland reviewed: "[PATCH v8 3/5] arm64: perf: Enable PMU counter userspace
access for perf event" (Rob Herring, 17 May 2021) with 1/5 (``ctx->nr_user``), 2/5 (Kan Liang's
per-PMU ``sched_cb_usage``) and 4/5 (the per-PMU sysfs ``rdpmc`` switch), exactly as posted.

Models:
- ``__armv8_pmuv3_map_event`` (v8): 64-bit only if config1 ``long`` and (no ``rdpmc`` request,
  or long counters, or CPU_CYCLES) -- a 64-bit user request on PMUv3p4 silently becomes 32-bit;
  ``ARMPMU_EL0_RD_CNTR`` only if ``rdpmc`` and the event is task-bound (``hw.target``) and the
  PMU's sysfs ``rdpmc`` is 1 -- a CPU-bound request silently gets no user access. The flag is
  carried as ``PERF_EVENT_FLAG_USER_READ_CNT`` (so the driver's "no chaining with user read"
  rule is v8's ``armv8pmu_event_can_chain``); v8's own ``nr_user`` is kept here, per context,
  because v8 counts mappings, not context membership (the core's v5.17 ``ctx.nr_user`` is
  ignored by this design).
- ``armv8pmu_get_event_idx`` with ``armv8pmu_event_can_chain``; ``armv8pmu_clear_event_idx``
  setting ``dirty_mask`` (the only place dirty bits are set).
- ``armv8pmu_enable_user_access``: if ``dirty_mask`` is not empty, ``dirty ^= used``, zero every
  counter left set, ``bitmap_zero(dirty)``; then PMUSERENR_EL0 = ER|CR.
  ``armv8pmu_disable_user_access``: PMUSERENR_EL0 = 0.
- ``armv8pmu_event_mapped``/``_unmapped``: only for EL0_RD_CNTR events whose ``mmap_count`` is 1
  at the call; ``nr_user`` 0 -> 1 bumps ``pmu->sched_cb_usage`` and enables access on the
  CALLER's CPU; 1 -> 0 drops it and disables there (Mark's point 2).
- ``armv8pmu_sched_task(ctx, sched_in)``: enable if switching in a context with ``nr_user``,
  else disable; the core calls it only while ``sched_cb_usage`` is non-zero and only for tasks
  that have a perf context.
- ``armv8pmu_access_event_idx``: 0 unless EL0_RD_CNTR and sysfs ``rdpmc``; 32 for the cycle
  counter; else idx. ``arch_perf_update_userpage`` (v8): ``cap_user_rdpmc = !!index``;
  ``pmc_width`` 64 iff a 64-bit event and (long counters or index 32), else 32.
- v8 4/5: ``rdpmc`` (default 1) per PMU; writing 0 IPIs the PMU's CPUs to clear PMUSERENR_EL0
  and gates enable/event_idx/map_event. ``kernel.perf_user_access`` does not exist in v8 and
  is ignored.
Omits: the sysfs file itself (``sysfs_rdpmc_write`` is the store handler; the machine has no
sysfs yet), ``local_irq_save`` (the model runs hooks atomically).
Pinned to: lore <20210517195405.3079458-1-robh@kernel.org> (v8 0/5 .. 5/5).
"""

from __future__ import annotations

import errno

from pmulab.drivers import arm_pmuv3_events as evmap
from pmulab.drivers.arm_pmuv3 import CYCLE_IDX, EVT_64BIT, FIRST_COUNTER_IDX, disable_user_access, user_index_of
from pmulab.drivers.user_access.base import Design
from pmulab.drivers.user_access.dirty import XOR, DirtyCounters
from pmulab.errors import PerfError
from pmulab.hw.events import ArmEvent
from pmulab.perf.api import FLAG_USER_READ_CNT

__all__ = ["V8"]

#: ARMPMU_EL0_RD_CNTR, carried as the generic user-read flag (see the module docstring).
EL0_RD_CNTR = FLAG_USER_READ_CNT


class V8(DirtyCounters, Design):
    """v8 as posted (17 May 2021): mmap-driven accounting on the caller's CPU, xor dirty clearing."""

    name = "v8"
    dirty_op = XOR

    def __init__(self):
        self.nr_user: dict = {}  # ctx -> v8's atomic_t nr_user (mapped EL0_RD_CNTR events)
        self._rdpmc: dict = {}  # arm_pmu name -> sysfs rdpmc (default 1)

    # --- v8 4/5: the sysfs switch -------------------------------------------------------------
    def rdpmc(self, cpu_pmu) -> int:
        """``armpmu->attr_rdpmc`` of this PMU (default 1)."""
        return self._rdpmc.get(cpu_pmu.name, 1)

    def sysfs_rdpmc_write(self, cpu_pmu, value) -> None:
        """Kernel (v8 4/5): the ``rdpmc`` store handler -- 0 or 1; 0 IPIs supported_cpus to clear."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"rdpmc takes an int, not {type(value).__name__}")
        if value not in (0, 1):
            raise PerfError(errno.EINVAL, f"{cpu_pmu.name}/rdpmc: {value} is not 0 or 1")
        old = self.rdpmc(cpu_pmu)
        self._rdpmc[cpu_pmu.name] = value
        if old and not value:
            kernel = cpu_pmu.kernel
            for cpu in sorted(cpu_pmu.supported_cpus):
                kernel.smp_call(cpu, lambda: disable_user_access(kernel))

    # --- event init / allocation ------------------------------------------------------------
    def map_event(self, cpu_pmu, event, hw_event_id: int) -> None:
        """Kernel: __armv8_pmuv3_map_event (v8): silent downgrades, never an error."""
        attr = event.attr
        user = evmap.wants_user_access(attr)
        if evmap.is_64bit(attr) and (not user or cpu_pmu.ops.has_long_event or hw_event_id == ArmEvent.CPU_CYCLES):
            event.hw.flags |= EVT_64BIT
        if user and event.hw.target is not None and self.rdpmc(cpu_pmu):
            event.hw.flags |= EL0_RD_CNTR

    def can_chain(self, cpu_pmu, event) -> bool:
        """Kernel: armv8pmu_event_can_chain (v8)."""
        return not event.hw.flags & EL0_RD_CNTR and bool(event.hw.flags & EVT_64BIT) \
            and not cpu_pmu.ops.has_long_event

    def allocate(self, cpu_pmu, hw_events, event) -> int:
        """Kernel: armv8pmu_get_event_idx (v8): cycle counter, chained pair iff can_chain, else single."""
        n = cpu_pmu.num_events
        if event.hw.config_base & evmap.EVENT_FIELD.mask == ArmEvent.CPU_CYCLES:
            if hw_events.claim(CYCLE_IDX):
                return CYCLE_IDX
            if event.hw.flags & EVT_64BIT and event.hw.flags & EL0_RD_CNTR and not cpu_pmu.ops.has_long_event:
                return -errno.EAGAIN
        if self.can_chain(cpu_pmu, event):
            return cpu_pmu.ops.get_event_idx(hw_events, event)
        for idx in range(FIRST_COUNTER_IDX, n):
            if hw_events.claim(idx):
                return idx
        return -errno.EAGAIN

    # --- PMUSERENR ----------------------------------------------------------------------------
    def enable_user_access(self, cpu_pmu) -> None:
        """Kernel: armv8pmu_enable_user_access (v8) on this CPU; a no-op while sysfs rdpmc is 0."""
        if not self.rdpmc(cpu_pmu):
            return
        self.clear_dirty(cpu_pmu)
        cpu_pmu.ops.set_el0_access("ER", "CR")

    def users(self, ctx) -> int:
        """v8's ``atomic_read(&ctx->nr_user)``."""
        return self.nr_user.get(ctx, 0) if ctx is not None else 0

    def _mapping_edge(self, event) -> bool:
        return bool(event.hw.flags & EL0_RD_CNTR) and event.mmap_count == 1

    def event_mapped(self, cpu_pmu, event, mm) -> None:
        """Kernel: armv8pmu_event_mapped (v8) -- runs on the mmap() caller's CPU."""
        if not self._mapping_edge(event):
            return
        self.nr_user[event.ctx] = self.users(event.ctx) + 1
        if self.nr_user[event.ctx] == 1:
            event.pmu.sched_cb_usage += 1
            self.enable_user_access(event.pmu)

    def event_unmapped(self, cpu_pmu, event, mm) -> None:
        """Kernel: armv8pmu_event_unmapped (v8) -- runs on the munmap() caller's CPU."""
        if not self._mapping_edge(event):
            return
        self.nr_user[event.ctx] = self.users(event.ctx) - 1
        if self.nr_user[event.ctx] == 0:
            event.pmu.sched_cb_usage -= 1
            disable_user_access(cpu_pmu.kernel)

    def sched_task(self, cpu_pmu, ctx, sched_in: bool) -> None:
        """Kernel: armv8pmu_sched_task (v8)."""
        if sched_in and self.users(ctx):
            self.enable_user_access(cpu_pmu)
        else:
            disable_user_access(cpu_pmu.kernel)

    def expected_access(self, cpu_pmu, cpu: int) -> bool | None:
        """v8's intended invariant: access on ``cpu`` iff the task ctx active there has nr_user."""
        return bool(self.rdpmc(cpu_pmu) and self.users(cpu_pmu.task_ctx(cpu)))

    # --- user page ----------------------------------------------------------------------------
    def user_event_idx(self, cpu_pmu, event) -> int:
        """Kernel: armv8pmu_access_event_idx (v8)."""
        if not event.hw.flags & EL0_RD_CNTR or not self.rdpmc(cpu_pmu):
            return 0
        return user_index_of(event.hw.idx)

    def arch_update_userpage(self, cpu_pmu, event, page, now: int) -> None:
        """Kernel: arch_perf_update_userpage (v8): capability follows the index."""
        page.cap_user_rdpmc = int(bool(page.index))
        if page.cap_user_rdpmc:
            long_ok = cpu_pmu.ops.has_long_event or page.index == user_index_of(CYCLE_IDX)
            page.pmc_width = 64 if event.hw.flags & EVT_64BIT and long_ok else 32
        cpu_pmu.ops.update_userpage_time(page, now)
