"""The three index spaces of the arm64 PMU driver, and the conversions between them.

Models: ``PerfIdx`` (``hw.idx``: 0 = the cycle counter ``ARMV8_IDX_CYCLE_COUNTER``, k =
PMEVCNTR<k-1>, ``ARMV8_IDX_TO_COUNTER``), ``HwCounter`` (bit position in PMCNTEN/PMINTEN/PMOVS:
0..30, 31 = cycle) and ``UserIndex`` (the user page ``index`` of ``armv8pmu_user_event_idx``: idx,
32 for the cycle counter, 0 = none), the counter's value and type registers and its bitmap bit,
and per perf idx tables of the latter (computed once: the enable/disable/read paths of
``pmulab.drivers.arm_pmuv3`` use them on every event sched-in/out).
Omits: AArch32 register names.
Pinned to: Linux v5.17 (arch/arm64/kernel/perf_event.c).
"""

from __future__ import annotations

from typing import NewType

from pmulab.hw.sysregs import CYCLE_SLOT, NUM_SLOTS, lookup

__all__ = [
    "PerfIdx", "HwCounter", "UserIndex", "CYCLE_IDX", "FIRST_COUNTER_IDX", "CYCLE_COUNTER", "CYCLE_USER_INDEX",
    "counter_of", "idx_of", "user_index_of", "counter_of_user_index", "count_register", "type_register",
    "counter_bit",
]

PerfIdx = NewType("PerfIdx", int)
HwCounter = NewType("HwCounter", int)
UserIndex = NewType("UserIndex", int)

CYCLE_IDX = PerfIdx(0)  # ARMV8_IDX_CYCLE_COUNTER
FIRST_COUNTER_IDX = PerfIdx(1)  # ARMV8_IDX_COUNTER0
CYCLE_COUNTER = HwCounter(CYCLE_SLOT)
CYCLE_USER_INDEX = UserIndex(CYCLE_SLOT + 1)  # ARMV8_IDX_CYCLE_COUNTER_USER: user reads index - 1 = 31

_CNTEN = lookup("PMCNTENSET_EL0").layout  # P<n> / C bits: the layout of every per-counter bitmap


def counter_of(idx: PerfIdx) -> HwCounter:
    """ARMV8_IDX_TO_COUNTER: perf idx -> hardware counter number (idx 0 -> 31, k -> k-1)."""
    if not 0 <= idx < NUM_SLOTS:
        raise ValueError(f"perf idx {idx} out of range 0..{NUM_SLOTS - 1}")
    return HwCounter((idx - 1) % NUM_SLOTS)


def idx_of(counter: HwCounter) -> PerfIdx:
    """Hardware counter number -> perf idx (31 -> 0, n -> n+1)."""
    if not 0 <= counter < NUM_SLOTS:
        raise ValueError(f"hardware counter {counter} out of range 0..{NUM_SLOTS - 1}")
    return PerfIdx((counter + 1) % NUM_SLOTS)


def user_index_of(idx: PerfIdx) -> UserIndex:
    """armv8pmu_user_event_idx's remapping: the cycle counter is 32, event counters keep idx."""
    counter_of(idx)
    return CYCLE_USER_INDEX if idx == CYCLE_IDX else UserIndex(idx)


def counter_of_user_index(index: UserIndex) -> HwCounter:
    """What user space reads for a page ``index``: counter ``index - 1`` (31 = PMCCNTR_EL0)."""
    if not 1 <= index <= CYCLE_USER_INDEX:
        raise ValueError(f"user index {index} names no counter (valid 1..{CYCLE_USER_INDEX}; 0 = none)")
    return HwCounter(index - 1)


def count_register(counter: HwCounter) -> str:
    """The value register of a hardware counter: PMEVCNTR<n>_EL0 or PMCCNTR_EL0."""
    return "PMCCNTR_EL0" if counter == CYCLE_COUNTER else f"PMEVCNTR{counter}_EL0"


def type_register(counter: HwCounter) -> str:
    """The type/filter register of a hardware counter: PMEVTYPER<n>_EL0 or PMCCFILTR_EL0."""
    return "PMCCFILTR_EL0" if counter == CYCLE_COUNTER else f"PMEVTYPER{counter}_EL0"


def counter_bit(counter: HwCounter) -> int:
    """The counter's bit in PMCNTEN*/PMINTEN*/PMOVS* (field P<n>, or C for the cycle counter)."""
    return _CNTEN["C" if counter == CYCLE_COUNTER else f"P{counter}"].mask


#: Per perf idx (0..31): the counter's bitmap bit, value register and type register (the
#: conversions above, done once: the enable/disable/read paths run on every event sched-in/out).
_IDX_BIT = tuple(counter_bit(counter_of(PerfIdx(i))) for i in range(NUM_SLOTS))
_IDX_CNT = tuple(count_register(counter_of(PerfIdx(i))) for i in range(NUM_SLOTS))
_IDX_TYPE = tuple(type_register(counter_of(PerfIdx(i))) for i in range(NUM_SLOTS))


def _checked(idx) -> int:
    """``idx`` itself when it is a perf idx (0..31); ValueError as ``counter_of`` raises otherwise."""
    if idx.__class__ is int and 0 <= idx < NUM_SLOTS:
        return idx
    counter_of(idx)
    return int(idx)
