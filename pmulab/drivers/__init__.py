"""drivers/perf: the Arm PMU driver (generic ``arm_pmu`` + PMUv3 ops) and the user-access designs.

Models: drivers/perf/arm_pmu.c and the PMUv3 driver of Linux v5.17, plus the pluggable
EL0-access policies of ``user_access`` (design.md section 3).
Omits: every other drivers/perf PMU (SPE, uncore, CCI/CCN, DSU), the 32-bit Arm PMUs.
Pinned to: Linux v5.17.
"""

from pmulab.drivers.arm_pmu import ArmPmu, PmuHwEvents
from pmulab.drivers.user_access import DESIGNS, Design, PerfUserAccessSysctl, design

__all__ = ["ArmPmu", "PmuHwEvents", "Design", "DESIGNS", "design", "PerfUserAccessSysctl"]
