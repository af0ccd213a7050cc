"""The user-access design Linux merged in v5.17 (Rob Herring's v13, applied December 2021).

Models: ``__armv8_pmuv3_map_event``'s config1 rules, ``armv8pmu_start`` deciding
PMUSERENR_EL0 from ``sysctl_perf_user_access && task_ctx->nr_user``,
``armv8pmu_enable_user_access`` (zero every counter not in ``used_mask``, then write
PMUSERENR_EL0 = 0 and then ER|CR), ``armv8pmu_user_event_idx``, the arm64
``arch_perf_update_userpage``, and the ``kernel.perf_user_access`` handler's IPI on a write
that leaves 0 (writing 1 does nothing until each CPU's next start()).
Omits: the PMSELR_EL0 zeroing the documentation promises but the code never does (spec 5.4).
Pinned to: Linux v5.17 (arch/arm64/kernel/perf_event.c; later drivers/perf/arm_pmuv3.c).
"""

from __future__ import annotations

import errno

from pmulab.drivers import arm_pmuv3_events as evmap
from pmulab.drivers.arm_pmuv3 import disable_user_access
from pmulab.drivers.user_access.base import Design
from pmulab.errors import PerfError
from pmulab.hw.events import ArmEvent
from pmulab.perf.api import ATTACH_TASK, FLAG_USER_READ_CNT

__all__ = ["V517", "PERF_USER_ACCESS"]

PERF_USER_ACCESS = "kernel.perf_user_access"


class V517(Design):
    """v5.17: sysctl (default 0), config1 bits, task-bound only, nr_user on context add/del, policy in start()."""

    name = "v5.17"

    def map_event(self, cpu_pmu, event, hw_event_id: int) -> None:
        """Kernel: __armv8_pmuv3_map_event (config1 part).

        ``long`` sets the 64-bit flag. ``rdpmc`` needs a task-bound event (EINVAL), and with
        ``long`` needs PMUv3p5 unless the event is CPU_CYCLES (EOPNOTSUPP); then the event gets
        FLAG_USER_READ_CNT. No sysctl check at open.
        """
        super().map_event(cpu_pmu, event, hw_event_id)
        if not evmap.wants_user_access(event.attr):
            return
        if not event.attach_state & ATTACH_TASK:
            raise PerfError(errno.EINVAL, "config1 rdpmc requires a task-bound event (pid >= 0)")
        if evmap.is_64bit(event.attr) and hw_event_id != ArmEvent.CPU_CYCLES and not cpu_pmu.ops.has_long_event:
            raise PerfError(errno.EOPNOTSUPP, "config1 rdpmc with long needs 64-bit event counters (PMUv3p5), "
                                              "except for CPU_CYCLES")
        event.hw.flags |= FLAG_USER_READ_CNT

    def start(self, cpu_pmu) -> None:
        """Kernel: armv8pmu_start (policy part): ER|CR iff sysctl and the current task ctx has nr_user."""
        kernel = cpu_pmu.kernel
        task_ctx = cpu_pmu.task_ctx(kernel.this_cpu())
        nr_user = task_ctx.nr_user if task_ctx is not None else 0
        if kernel.sysctl(PERF_USER_ACCESS) and nr_user:
            self.enable_user_access(cpu_pmu)
        else:
            disable_user_access(kernel)

    def enable_user_access(self, cpu_pmu) -> None:
        """Kernel: armv8pmu_enable_user_access -- clear unused counters to avoid leaking them, then ER|CR."""
        hw_events = cpu_pmu.this_hw_events()
        self.clear_counters(cpu_pmu, [i for i in range(cpu_pmu.num_events) if not hw_events.is_used(i)], "unused")
        cpu_pmu.ops.set_el0_access()
        cpu_pmu.ops.set_el0_access("ER", "CR")

    def policy(self, cpu_pmu) -> bool:
        """armv8pmu_start's decision on this CPU: sysctl on and the current task ctx has nr_user."""
        task_ctx = cpu_pmu.task_ctx(cpu_pmu.kernel.this_cpu())
        return bool(cpu_pmu.kernel.sysctl(PERF_USER_ACCESS) and task_ctx is not None and task_ctx.nr_user)

    def expected_access(self, cpu_pmu, cpu: int) -> bool | None:
        """The start() policy, promised only while a counter is in use (else start() never ran: S13)."""
        if not cpu_pmu.hw_events[cpu].used_mask:
            return None
        return self.policy(cpu_pmu)

    def user_event_idx(self, cpu_pmu, event) -> int:
        return cpu_pmu.ops.user_event_idx(event)

    def arch_update_userpage(self, cpu_pmu, event, page, now: int) -> None:
        cpu_pmu.ops.arch_update_userpage(event, page, now)

    def sysctl_write(self, kernel, name: str, old: int, new: int) -> None:
        """Kernel: armv8pmu_proc_user_access_handler -- a write leaving 0 clears PMUSERENR on every CPU."""
        if name != PERF_USER_ACCESS or new:
            return
        here = kernel.this_cpu()
        for cpu in range(kernel.ncpus):  # on_each_cpu: the local CPU runs it directly
            if cpu == here:
                disable_user_access(kernel)
            else:
                kernel.smp_call(cpu, lambda: disable_user_access(kernel))
