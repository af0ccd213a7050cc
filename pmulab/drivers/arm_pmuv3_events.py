"""PMUv3 event encodings: the sysfs ``format`` fields, the generic and cache maps, the filters.

Models: how the arm64 PMU driver turns a ``perf_event_attr`` into a PMEVTYPER<n>_EL0 value:
``armpmu_map_event`` and its helpers (drivers/perf/arm_pmu.c), ``armv8_pmuv3_perf_map`` and
``armv8_pmuv3_perf_cache_map``, ``__armv8_pmuv3_map_event`` (CHAIN refused, config1 handled
by the user-access design, only common events present in PMCEID accepted) and
``armv8pmu_set_event_filter`` (drivers/perf/arm_pmuv3.c, then arch/arm64/kernel/perf_event.c).
Omits: the CPU-specific extra maps (Cortex-A53/A57/A73, ThunderX, Vulcan; the generic
``armv8_pmuv3`` PMU passes none, which is what is modelled), the extended common events
(0x4000+), and the VHE host filter rules (the model's kernel runs at EL1, non-VHE).
Cache map subset: L1D/L1I/BPU read access+miss and DTLB/ITLB read miss, i.e. every entry of
the kernel's table whose event is a modelled ``ArmEvent`` (the TLB accesses 0x25/0x26 and the
last-level events 0x36/0x37 are not modelled, so those combinations give ENOENT).
Pinned to: Linux v5.17.
"""

from __future__ import annotations

import errno

from pmulab.bits import Field, Register
from pmulab.errors import PerfError
from pmulab.hw.events import LINUX_GENERIC_MAP, ArmEvent
from pmulab.hw.sysregs import PMEVTYPER
from pmulab.uapi import constants as uc

__all__ = ["CONFIG1", "FORMAT", "EVENT_FIELD", "GENERIC_MAP", "CACHE_MAP",
           "map_attr", "event_filter", "is_64bit", "wants_user_access"]

#: ``attr.config1`` as the PMUv3 driver reads it (sysfs ``format/long`` and ``format/rdpmc``).
CONFIG1 = Register("config1", (
    Field("long", 0, doc="count with a 64-bit counter (chained pair without PMUv3p5)"),
    Field("rdpmc", 1, doc="request EL0 read access to the counter (v5.17)"),
), doc="PMUv3 driver bits of perf_event_attr.config1")

#: The event number field of ``attr.config`` for raw events: PMEVTYPER<n>_EL0.evtCount.
EVENT_FIELD = PMEVTYPER["evtCount"]
_LONG, _RDPMC = CONFIG1["long"].mask, CONFIG1["rdpmc"].mask  # looked up once: both tests run per event sched-in

#: sysfs ``/sys/bus/event_source/devices/armv8_pmuv3/format/*``, derived from the declarations.
FORMAT = {
    "event": f"config:{EVENT_FIELD.lsb}-{EVENT_FIELD.msb}",
    **{f.name: f"config1:{f.lsb}" for f in CONFIG1.fields},
}

#: ``armv8_pmuv3_perf_map``: PERF_COUNT_HW_* value -> event (by uapi name, from hw.events).
GENERIC_MAP: dict[int, ArmEvent] = {getattr(uc, name): ev for name, ev in LINUX_GENERIC_MAP.items()}

_R, _A, _M = uc.PERF_COUNT_HW_CACHE_OP_READ, uc.PERF_COUNT_HW_CACHE_RESULT_ACCESS, uc.PERF_COUNT_HW_CACHE_RESULT_MISS
#: ``armv8_pmuv3_perf_cache_map`` (subset, see the module docstring): (type, op, result) -> event.
CACHE_MAP: dict[tuple[int, int, int], ArmEvent] = {
    (uc.PERF_COUNT_HW_CACHE_L1D, _R, _A): ArmEvent.L1D_CACHE,
    (uc.PERF_COUNT_HW_CACHE_L1D, _R, _M): ArmEvent.L1D_CACHE_REFILL,
    (uc.PERF_COUNT_HW_CACHE_L1I, _R, _A): ArmEvent.L1I_CACHE,
    (uc.PERF_COUNT_HW_CACHE_L1I, _R, _M): ArmEvent.L1I_CACHE_REFILL,
    (uc.PERF_COUNT_HW_CACHE_DTLB, _R, _M): ArmEvent.L1D_TLB_REFILL,
    (uc.PERF_COUNT_HW_CACHE_ITLB, _R, _M): ArmEvent.L1I_TLB_REFILL,
    (uc.PERF_COUNT_HW_CACHE_BPU, _R, _A): ArmEvent.BR_PRED,
    (uc.PERF_COUNT_HW_CACHE_BPU, _R, _M): ArmEvent.BR_MIS_PRED,
}

#: Number of common events described by the low halves of PMCEID0/1 (ARMV8_PMUV3_MAX_COMMON_EVENTS).
MAX_COMMON_EVENTS = 0x40


def is_64bit(attr) -> bool:
    """``armv8pmu_event_is_64bit``: config1 ``long`` requested."""
    return bool(attr.config1 & _LONG)


def wants_user_access(attr) -> bool:
    """``armv8pmu_event_want_user_access``: config1 ``rdpmc`` requested."""
    return bool(attr.config1 & _RDPMC)


def _map_hw(config: int, table: dict | None) -> int:
    """Kernel: armpmu_map_hw_event. Returns the event number or -errno."""
    if config >= uc.PERF_COUNT_HW_MAX:
        return -errno.EINVAL
    if table is None or config not in table:
        return -errno.ENOENT
    return int(table[config])


def _map_cache(config: int, table: dict | None) -> int:
    """Kernel: armpmu_map_cache_event (type, op, result in bytes 0, 1, 2 of config)."""
    kind, op, result = config & 0xFF, (config >> 8) & 0xFF, (config >> 16) & 0xFF
    if kind >= uc.PERF_COUNT_HW_CACHE_MAX or op >= uc.PERF_COUNT_HW_CACHE_OP_MAX \
            or result >= uc.PERF_COUNT_HW_CACHE_RESULT_MAX:
        return -errno.EINVAL
    if table is None or (kind, op, result) not in table:
        return -errno.ENOENT
    return int(table[(kind, op, result)])


def map_attr(attr, pmu_type: int, hw_table: dict | None, cache_table: dict | None) -> int:
    """Map ``attr`` to an event number, or return -errno (never raises).

    Kernel: armpmu_map_event -- the PMU's own type and PERF_TYPE_RAW take ``config`` masked to
    the event field, HARDWARE and HW_CACHE go through the tables, anything else is -ENOENT.
    """
    if attr.type == pmu_type or attr.type == uc.PERF_TYPE_RAW:
        return attr.config & EVENT_FIELD.mask  # armpmu_map_raw_event
    if attr.type == uc.PERF_TYPE_HARDWARE:
        return _map_hw(attr.config, hw_table)
    if attr.type == uc.PERF_TYPE_HW_CACHE:
        return _map_cache(attr.config, cache_table)
    return -errno.ENOENT


def map_event(cpu_pmu, event) -> int:
    """Return the PMEVTYPER event number for ``event``, or raise PerfError.

    Kernel: __armv8_pmuv3_map_event with no CPU-specific maps (armv8_pmuv3_map_event).
    Order as in the kernel: generic/cache/raw map; CHAIN refused (EINVAL); the design's config1
    rules (v5.17: 64-bit flag, rdpmc needs a task-bound event, 64-bit + rdpmc needs long
    counters unless CPU_CYCLES); then a common event < 0x40 is accepted only if PMCEID says the
    CPU implements it, everything else is mapped again without the generic tables (raw events
    pass, generic ones not implemented give ENOENT).
    """
    attr = event.attr
    hw_event_id = map_attr(attr, cpu_pmu.type, GENERIC_MAP, CACHE_MAP)
    if hw_event_id == ArmEvent.CHAIN:
        raise PerfError(errno.EINVAL, "CHAIN (0x1e) cannot be opened on its own: it only pairs adjacent counters")
    cpu_pmu.design.map_event(cpu_pmu, event, hw_event_id)
    if 0 < hw_event_id < MAX_COMMON_EVENTS and cpu_pmu.ops.implements(hw_event_id):
        return hw_event_id
    ret = map_attr(attr, cpu_pmu.type, None, None)
    if ret < 0:
        what = {errno.EINVAL: "config out of range for its type",
                errno.ENOENT: "event not implemented by this PMU (PMCEID / no mapping)"}.get(-ret, "unmapped")
        raise PerfError(-ret, f"{cpu_pmu.name}: {what} (type {attr.type}, config {attr.config:#x})")
    return ret


def event_filter(attr, fields=PMEVTYPER) -> int:
    """Return the PMEVTYPER<n>_EL0 filter bits for ``attr`` (non-VHE host), or raise PerfError(EPERM).

    Kernel: armv8pmu_set_event_filter -- exclude_idle cannot be honoured (EPERM; the caller,
    __hw_perf_event_init, reports any filter error as EOPNOTSUPP); NSH (count at EL2) unless
    exclude_hv or exclude_host; P (not at EL1) for exclude_kernel; U (not at EL0) for exclude_user.
    """
    if attr.exclude_idle:
        raise PerfError(errno.EPERM, "armv8pmu_set_event_filter: exclude_idle is not supported")
    value = 0
    if not attr.exclude_hv and not attr.exclude_host:
        value |= fields["NSH"].mask
    if attr.exclude_kernel:
        value |= fields["P"].mask
    if attr.exclude_user:
        value |= fields["U"].mask
    return value
