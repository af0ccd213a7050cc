"""Architectural (common) PMU event numbers, declared once.

Models: the PMUv3 common events 0x00-0x24 (Arm ARM D24.11 "Common event numbers") that the
model's workloads produce, and the generic hardware events Linux maps onto them
(``armv8_pmuv3_perf_map`` in drivers/perf/arm_pmuv3.c, keyed by the uapi names so that this
layer carries no Linux numbers).
Omits: the extended common events (0x4000+) and IMPLEMENTATION DEFINED events.
Pinned to: Linux v5.17 (arch/arm64/kernel/perf_event.c).
"""

from __future__ import annotations

import enum

from pmulab.bits import close_names

__all__ = ["ArmEvent", "NUM_EVENTS", "LINUX_GENERIC_MAP", "event"]

#: Size of the event axis of the counter core's occurrence arrays (events 0x00..0x3F).
NUM_EVENTS = 0x40


class ArmEvent(enum.IntEnum):
    """PMUv3 common event numbers (PMEVTYPER<n>_EL0.evtCount)."""

    SW_INCR = 0x00  # counts PMSWINC_EL0 writes only
    L1I_CACHE_REFILL = 0x01
    L1I_TLB_REFILL = 0x02
    L1D_CACHE_REFILL = 0x03
    L1D_CACHE = 0x04
    L1D_TLB_REFILL = 0x05
    LD_RETIRED = 0x06
    ST_RETIRED = 0x07
    INST_RETIRED = 0x08
    EXC_TAKEN = 0x09
    EXC_RETURN = 0x0A
    CID_WRITE_RETIRED = 0x0B
    PC_WRITE_RETIRED = 0x0C
    BR_IMMED_RETIRED = 0x0D
    BR_RETURN_RETIRED = 0x0E
    UNALIGNED_LDST_RETIRED = 0x0F
    BR_MIS_PRED = 0x10
    CPU_CYCLES = 0x11
    BR_PRED = 0x12
    MEM_ACCESS = 0x13
    L1I_CACHE = 0x14
    L1D_CACHE_WB = 0x15
    L2D_CACHE = 0x16
    L2D_CACHE_REFILL = 0x17
    L2D_CACHE_WB = 0x18
    BUS_ACCESS = 0x19
    MEMORY_ERROR = 0x1A
    INST_SPEC = 0x1B
    TTBR_WRITE_RETIRED = 0x1C
    BUS_CYCLES = 0x1D
    CHAIN = 0x1E  # odd counter counts the even counter's overflows
    L1D_CACHE_ALLOCATE = 0x1F
    L2D_CACHE_ALLOCATE = 0x20
    BR_RETIRED = 0x21
    BR_MIS_PRED_RETIRED = 0x22
    STALL_FRONTEND = 0x23
    STALL_BACKEND = 0x24


def event(name_or_number) -> ArmEvent:
    """Return the ArmEvent for a name (``"INST_RETIRED"``) or number (ValueError if unknown)."""
    if isinstance(name_or_number, str):
        try:
            return ArmEvent[name_or_number]
        except KeyError:
            raise ValueError(
                f"unknown event {name_or_number!r}{close_names(name_or_number, ArmEvent.__members__)}"
            ) from None
    if isinstance(name_or_number, bool) or not isinstance(name_or_number, int):
        raise TypeError(f"event must be a name or number, not {type(name_or_number).__name__}")
    try:
        return ArmEvent(name_or_number)
    except ValueError:
        raise ValueError(f"event number {name_or_number:#x} is not a modelled common event") from None


#: Linux ``armv8_pmuv3_perf_map``: generic PERF_COUNT_HW_* name -> architectural event.
LINUX_GENERIC_MAP: dict[str, ArmEvent] = {
    "PERF_COUNT_HW_CPU_CYCLES": ArmEvent.CPU_CYCLES,
    "PERF_COUNT_HW_INSTRUCTIONS": ArmEvent.INST_RETIRED,
    "PERF_COUNT_HW_CACHE_REFERENCES": ArmEvent.L1D_CACHE,
    "PERF_COUNT_HW_CACHE_MISSES": ArmEvent.L1D_CACHE_REFILL,
    "PERF_COUNT_HW_BRANCH_INSTRUCTIONS": ArmEvent.PC_WRITE_RETIRED,
    "PERF_COUNT_HW_BRANCH_MISSES": ArmEvent.BR_MIS_PRED,
    "PERF_COUNT_HW_BUS_CYCLES": ArmEvent.BUS_CYCLES,
    "PERF_COUNT_HW_STALLED_CYCLES_FRONTEND": ArmEvent.STALL_FRONTEND,
    "PERF_COUNT_HW_STALLED_CYCLES_BACKEND": ArmEvent.STALL_BACKEND,
}
