"""Will Deacon's suggestion, as in the v7 series: grant EL0 access lazily, from the trap.

Models: Rob Herring's v7 (20 Apr 2021), which replaced v5/v6's IPIs with an undefined-
instruction hook (``armv8pmu_undef_handler``, matching EL0 ``mrs`` of PMU registers: encoding
mask 0xffff8800, value 0xd53b8800): when a task's ``mrs`` of a PMU register traps and its
``current->mm`` has mapped user-readable events, the hook grants PMUSERENR_EL0 = ER|CR on this
CPU (after zeroing dirty counters) and the faulting instruction is re-executed; otherwise the
task gets SIGILL. Access is taken away at every context switch (``.sched_task``), so each task
pays one trap per timeslice and no IPI is ever sent. Accounting is per mm, in
``event_mapped``/``event_unmapped`` of the mapping task (``pmu_direct_access``); the last unmap
also clears access on the caller's CPU. Events, allocation, the sysfs ``rdpmc`` switch and the
user page are v8's (v7 introduced them; see ``pmulab.drivers.user_access.v8``).
Dirty counters: released counters are zeroed before access is granted with an AND-NOT
(the clearing v7 meant); v8's xor slip is the subject of S7 and of the ``v8`` design.
Rob (21 Jul 2021) noted the same hook could instead emulate reads (return 0) when the context
has user events; not modelled.
Omits: AArch32 EL0 (``cp15`` traps), emulation of the read, other threads' CPUs keeping access
until their next switch after the last unmap.
Pinned to: v7 <armv8pmu_undef_handler> (20 Apr 2021); Mark Rutland 1 Jun 2021 ("IIUC the main
objection there was that we'd have to signal all tasks associated with the mm or all CPUs").
"""

from __future__ import annotations

from pmulab.drivers.arm_pmuv3 import disable_user_access
from pmulab.drivers.user_access.dirty import AND_NOT
from pmulab.drivers.user_access.per_mm import PerMm
from pmulab.drivers.user_access.v8 import EL0_RD_CNTR, V8
from pmulab.hw import sysregs

__all__ = ["LazyTrap"]

#: The registers whose EL0 ``mrs`` the v7 hook matches: every PMU register EL0 could read.
_PMU_REGS = frozenset(n for n in sysregs.SYSREGS if n.startswith("PM") and n.endswith("_EL0"))


class LazyTrap(PerMm, V8):
    """Per-mm count; access cleared at every switch, granted from the EL0 undef trap, mrs retried."""

    name = "lazy-trap"
    dirty_op = AND_NOT

    def map_event(self, cpu_pmu, event, hw_event_id: int) -> None:
        self.hook_switches(cpu_pmu)
        super().map_event(cpu_pmu, event, hw_event_id)

    def event_mapped(self, cpu_pmu, event, mm) -> None:
        """v7 event_mapped: count the mapping in the caller's mm; no register write, no IPI."""
        if event.hw.flags & EL0_RD_CNTR:
            self.add_mm_user(mm, +1)

    def event_unmapped(self, cpu_pmu, event, mm) -> None:
        """v7 event_unmapped: the last mapping of the mm also clears access on this CPU."""
        if event.hw.flags & EL0_RD_CNTR and self.add_mm_user(mm, -1) == 0:
            disable_user_access(cpu_pmu.kernel)

    def sched_task(self, cpu_pmu, ctx, sched_in: bool) -> None:
        """Every switch-in starts without access: the next PMU ``mrs`` traps."""
        if sched_in:
            disable_user_access(cpu_pmu.kernel)

    def el0_trap(self, cpu_pmu, task, reg: str, write: bool) -> bool:
        """Kernel: armv8pmu_undef_handler (v7) -- grant and retry, or SIGILL."""
        if write or reg not in _PMU_REGS or not self.rdpmc(cpu_pmu):
            return False
        if not self.mm_users(getattr(task, "mm", None)):
            return False
        self.enable_user_access(self.pmu_for(cpu_pmu, cpu_pmu.kernel.this_cpu()))
        return True

    def expected_access(self, cpu_pmu, cpu: int) -> bool | None:
        """Access on ``cpu`` only if the current task's mm has mapped user events (granted lazily)."""
        return None if self.mm_users(self.current_mm(cpu_pmu, cpu)) else False
