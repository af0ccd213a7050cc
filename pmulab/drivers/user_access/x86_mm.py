"""The x86 way, translated to arm64: EL0 access follows the address space (arm64 v5/v6 design).

Models (spec §6; Rob Herring's v5, 14 Jan 2021, and v6, 11 Mar 2021, which copied it):
- opt-in with config1 ``rdpmc`` for task-bound AND CPU-bound events (x86 flags every event at
  ``x86_pmu_event_init`` while ``attr_rdpmc`` is on; the arm64 sysctl ``kernel.perf_user_access``
  plays ``attr_rdpmc``: 0 = never, 1 = conditional); a 64-bit request without long counters is
  silently 32-bit (as v8), never chained;
- ``x86_pmu_event_mapped``/``_unmapped``: a per-mm count of mapped user-readable events; its
  0 -> 1 and 1 -> 0 edges IPI every CPU in the mm's cpumask (``on_each_cpu_mask(mm_cpumask(mm),
  cr4_update_pce)``; v5/v6: ``refresh_pmuserenr``), which recompute access for whatever mm is
  current there;
- ``switch_mm_irqs_off`` -> ``cr4_update_pce_mm(next)``: at every switch-in, access iff the
  sysctl is on and the incoming mm's count is non-zero, with ``perf_clear_dirty_counters``
  (AND-NOT: assigned counters never cleared) just before access is granted;
- dirty bits set when a counter is released (``x86_pmu_del``);
- user page: ``cap_user_rdpmc`` = the event's flag, ``index`` = idx (32 for the cycle counter)
  whenever the flagged event is active, ``pmc_width`` 64 for 64-bit events;
- sysctl writes IPI every CPU to recompute (``set_attr_rdpmc`` -> ``on_each_cpu(cr4_update_pce)``).
Omits: rdpmc = 2 ("always"), the P6 erratum, metric/fixed counter encodings, mmap_lock.
Pinned to: arch/x86/events/core.c and arch/x86/mm/tlb.c of v5.14; arm64 v6
<refresh_pmuserenr> (series v6, 11 Mar 2021).
"""

from __future__ import annotations

from pmulab.drivers import arm_pmuv3_events as evmap
from pmulab.drivers.arm_pmuv3 import disable_user_access, user_index_of
from pmulab.drivers.user_access.dirty import AND_NOT
from pmulab.drivers.user_access.per_mm import PerMm
from pmulab.drivers.user_access.v8 import EL0_RD_CNTR, V8

__all__ = ["X86Mm"]

PERF_USER_ACCESS = "kernel.perf_user_access"


class X86Mm(PerMm, V8):
    """Per-mm count, IPIs to the mm's CPUs, a switch_mm hook that clears dirty counters (AND-NOT)."""

    name = "x86-mm"
    dirty_op = AND_NOT

    def rdpmc(self, cpu_pmu) -> int:
        """``x86_pmu.attr_rdpmc``, played by the arm64 sysctl."""
        return cpu_pmu.kernel.sysctl(PERF_USER_ACCESS)

    def map_event(self, cpu_pmu, event, hw_event_id: int) -> None:
        """x86_pmu_event_init's flagging: any event (task- or CPU-bound) asking for rdpmc while on."""
        self.hook_switches(cpu_pmu)
        super().map_event(cpu_pmu, event, hw_event_id)
        if evmap.wants_user_access(event.attr) and self.rdpmc(cpu_pmu):
            event.hw.flags |= EL0_RD_CNTR

    def refresh(self, cpu_pmu) -> None:
        """Kernel: cr4_update_pce_mm(current mm) on this CPU (v5/v6: refresh_pmuserenr)."""
        pmu = self.pmu_for(cpu_pmu, cpu_pmu.kernel.this_cpu())
        if self.expected_access(pmu, pmu.kernel.this_cpu()):
            self.clear_dirty(pmu)  # perf_clear_dirty_counters
            pmu.ops.set_el0_access("ER", "CR")
        else:
            disable_user_access(pmu.kernel)

    def expected_access(self, cpu_pmu, cpu: int) -> bool | None:
        """Access on ``cpu`` iff the switch is on and the current task's mm has mapped user events."""
        return bool(self.rdpmc(cpu_pmu) and self.mm_users(self.current_mm(cpu_pmu, cpu)))

    def _ipi_mm(self, cpu_pmu, mm) -> None:
        """on_each_cpu_mask(mm_cpumask(mm), cr4_update_pce): the caller's CPU runs it directly."""
        kernel = cpu_pmu.kernel
        for cpu in range(kernel.ncpus):
            if self.current_mm(cpu_pmu, cpu) is mm:
                kernel.smp_call(cpu, lambda: self.refresh(cpu_pmu))

    def event_mapped(self, cpu_pmu, event, mm) -> None:
        """Kernel: x86_pmu_event_mapped -- count per mm; the first mapping IPIs the mm's CPUs."""
        if event.hw.flags & EL0_RD_CNTR and self.add_mm_user(mm, +1) == 1:
            self._ipi_mm(cpu_pmu, mm)

    def event_unmapped(self, cpu_pmu, event, mm) -> None:
        """Kernel: x86_pmu_event_unmapped -- the last mapping IPIs the mm's CPUs."""
        if event.hw.flags & EL0_RD_CNTR and self.add_mm_user(mm, -1) == 0:
            self._ipi_mm(cpu_pmu, mm)

    def sched_task(self, cpu_pmu, ctx, sched_in: bool) -> None:
        """Stand-in for switch_mm_irqs_off: recompute access for the incoming task's mm."""
        if sched_in:
            self.refresh(cpu_pmu)

    def sysctl_write(self, kernel, name: str, old: int, new: int) -> None:
        """set_attr_rdpmc: every CPU recomputes (on_each_cpu(cr4_update_pce))."""
        if name != PERF_USER_ACCESS:
            return
        here, pmus = kernel.this_cpu(), self.hooked_pmus()
        if not pmus:
            return
        for cpu in range(kernel.ncpus):
            if cpu == here:
                self.refresh(pmus[0])
            else:
                kernel.smp_call(cpu, lambda: self.refresh(pmus[0]))

    def user_event_idx(self, cpu_pmu, event) -> int:
        """Kernel: x86_pmu_event_idx -- the flag alone decides (the switch acts on access, not index)."""
        return user_index_of(event.hw.idx) if event.hw.flags & EL0_RD_CNTR else 0

    def arch_update_userpage(self, cpu_pmu, event, page, now: int) -> None:
        """x86 arch_perf_update_userpage: cap_user_rdpmc = the event's flag; width by EVT_64BIT."""
        cpu_pmu.ops.arch_update_userpage(event, page, now)
