"""Per-counter EL0 access with FEAT_PMUv3p9: PMUACR_EL1 + PMUSERENR_EL0.UEN.

Models: the v5.17 design (sysctl, config1 bits, task-bound only, ``nr_user`` on context
add/del, the decision in ``armv8pmu_start``) with the PMUv3p9 branch Linux later added to
``armv8pmu_enable_user_access`` (Rob Herring, "perf: arm_pmuv3: Add support for Armv9.4 PMU
instruction counter"/UEN work, merged for v6.13, late 2024): on a PMUv3p9 CPU, PMUACR_EL1 gets
exactly the counters in ``used_mask`` whose event has user read (on that CPU those are the
current task context's own opted-in events), and PMUSERENR_EL0 = ER|CR|UEN ("when UEN is set,
the CR/ER bits control EL0 write access and must be set to disable write access"). Every other
counter then reads as zero at EL0 (RAZ), so CPU-bound and foreign-owner counts no longer leak
-- the "per counter access controls" whose absence Rob Herring cited in the v8 thread. On a CPU
without PMUv3p9 it falls back to v5.17 (clear unused counters, ER|CR). Use
``Machine(pmu="v3p9", design="pmuv3p9")``.
Omits: the instruction counter (PMICNTR_EL0) and PMUSERENR_EL0.IR.
Pinned to: drivers/perf/arm_pmuv3.c of v6.13 (armv8pmu_enable_user_access, update_pmuserenr).
"""

from __future__ import annotations

from pmulab.drivers.arm_pmuv3 import counter_bit, counter_of
from pmulab.drivers.user_access.v5_17 import V517
from pmulab.hw.sysregs import PMUACR

__all__ = ["PmuV3p9"]


class PmuV3p9(V517):
    """v5.17 + PMUACR_EL1/UEN: only the running task's own user-read counters are readable."""

    name = "pmuv3p9"

    def enable_user_access(self, cpu_pmu) -> None:
        """Kernel: armv8pmu_enable_user_access (v6.13): per-counter grant on PMUv3p9."""
        if not cpu_pmu.ops.version.per_counter_el0:
            super().enable_user_access(cpu_pmu)
            return
        hw_events = cpu_pmu.this_hw_events()
        mask = 0
        for idx in range(cpu_pmu.num_events):
            event = hw_events.events[idx]
            if hw_events.is_used(idx) and event is not None and event.has_user_read:
                mask |= counter_bit(counter_of(idx))
        kernel = cpu_pmu.kernel
        kernel.cpu_regs(kernel.this_cpu()).msr(PMUACR.name, mask)
        cpu_pmu.ops.set_el0_access("ER", "CR", "UEN")
