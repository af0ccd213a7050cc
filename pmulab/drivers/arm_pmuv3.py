"""PMUv3 operations of the arm64 PMU driver: counter access, allocation, start/stop, the user page.

Models: the ``struct arm_pmu`` operations that ``armv8_pmu_init`` installs (drivers/perf/
arm_pmuv3.c; in v5.17 still arch/arm64/kernel/perf_event.c): ``armv8pmu_read_counter`` /
``write_counter`` with chaining and the 32-bit bias, ``enable_event`` / ``disable_event``,
``get_event_idx`` / ``clear_event_idx``, ``start`` / ``stop`` (PMCR_EL0.E; the PMUSERENR_EL0
policy is the user-access design's), ``getreset_flags``, ``reset`` and the PMCEID probe,
``user_event_idx`` and the arm64 ``arch_perf_update_userpage``. Every register access is an
EL1 ``mrs``/``msr`` on ``kernel.cpu_regs(kernel.this_cpu())``.
The three index spaces (``PerfIdx``, ``HwCounter``, ``UserIndex``) are named and converted in
``pmulab.drivers.arm_pmuv3_idx`` and re-exported here.
Omits: KVM host/guest counter deferral, ``isb`` (register writes take effect at once in the
model), PMMIR_EL1, extended common events (PMCEID upper halves), AArch32.
Pinned to: Linux v5.17.
"""

from __future__ import annotations

import errno

from pmulab.drivers import arm_pmuv3_events as evmap
from pmulab.drivers.arm_pmuv3_idx import (  # the index spaces, re-exported (__all__)
    _CNTEN,
    _IDX_BIT,
    _IDX_CNT,
    _IDX_TYPE,
    CYCLE_COUNTER,
    CYCLE_IDX,
    CYCLE_USER_INDEX,
    FIRST_COUNTER_IDX,
    HwCounter,
    PerfIdx,
    UserIndex,
    _checked,
    count_register,
    counter_bit,
    counter_of,
    counter_of_user_index,
    idx_of,
    type_register,
    user_index_of,
)
from pmulab.drivers.sched_clock import ArchTimerClock
from pmulab.hw.events import ArmEvent
from pmulab.hw.sysregs import PMCR, PMEVTYPER, PMUSERENR, PmuVersion
from pmulab.uapi.mmap_page import CAPABILITY_BITS, MmapPage

__all__ = [
    "PerfIdx", "HwCounter", "UserIndex", "CYCLE_IDX", "FIRST_COUNTER_IDX", "CYCLE_COUNTER", "CYCLE_USER_INDEX",
    "counter_of", "idx_of", "user_index_of", "counter_of_user_index", "count_register", "type_register",
    "counter_bit", "EVT_64BIT", "PmuV3", "disable_user_access",
]

#: hw_perf_event.flags bit of 64-bit events (ARMPMU_EVT_64BIT, include/linux/perf/arm_pmu.h).
EVT_64BIT = 0x1

_EVTYPE_MASK = PMEVTYPER["P"].mask | PMEVTYPER["U"].mask | PMEVTYPER["NSH"].mask | PMEVTYPER["evtCount"].mask
_UPPER_32 = ((1 << 64) - 1) ^ ((1 << 32) - 1)  # GENMASK(63, 32): the bias of 32-bit events
_LOW_32 = (1 << 32) - 1


_CHAIN_TYPE = ArmEvent.CHAIN | PMEVTYPER["NSH"].mask
_CYC_TYPE_MASK = _EVTYPE_MASK & ~PMEVTYPER["evtCount"].mask
_PMCR_MASK = PMCR.writable_mask | PMCR.action_mask
_PMCR_E = PMCR["E"].mask
_CFG_LONG = evmap.CONFIG1["long"].mask  # evmap.is_64bit, inlined in the per-event predicates
_TIME_CAPS = sum(1 << CAPABILITY_BITS[c] for c in ("cap_user_time", "cap_user_time_zero", "cap_user_time_short"))
_RDPMC_CAP = 1 << CAPABILITY_BITS["cap_user_rdpmc"]


def disable_user_access(kernel) -> None:
    """Kernel: armv8pmu_disable_user_access -- PMUSERENR_EL0 = 0 on this CPU."""
    kernel.cpu_regs(kernel.this_cpu()).msr(PMUSERENR.name, 0)


class PmuV3:
    """The PMUv3 operations of one ``ArmPmu`` (``cpu_pmu``); state lives in the hardware and in cpu_pmu."""

    def __init__(self, cpu_pmu, version, clock: ArchTimerClock | None = None):
        self.cpu_pmu = cpu_pmu
        self.version = PmuVersion.parse(version)
        self.clock = clock or ArchTimerClock()
        self.pmceid = 0  # armpmu->pmceid_bitmap: common events 0x00..0x3f, filled by probe()
        self._long = self.version.long_counters
        self._el0_values: dict = {}  # PMUSERENR_EL0 value of each set_el0_access(*bits)
        self._time = (None, ())  # (clock, its user-page time fields), derived once per clock

    # --- predicates (armv8pmu_*) --------------------------------------------------------------
    @property
    def has_long_event(self) -> bool:
        """armv8pmu_has_long_event: PMUv3p5 64-bit event counters."""
        return self._long

    def implements(self, number: int) -> bool:
        """test_bit(number, pmceid_bitmap): the CPU advertises common event ``number``."""
        return bool((self.pmceid >> number) & 1)

    def is_64bit(self, event) -> bool:
        """armv8pmu_event_is_64bit (config1 ``long``)."""
        return evmap.is_64bit(event.attr)

    def is_chained(self, event) -> bool:
        """armv8pmu_event_is_chained (v5.17): 64-bit, no user read, no long counters, not the cycle counter."""
        return (not event.has_user_read and bool(event.attr.config1 & _CFG_LONG) and not self._long
                and event.hw.idx != CYCLE_IDX)

    def needs_bias(self, event) -> bool:
        """armv8pmu_event_needs_bias: a 32-bit event in a 64-bit counter (PMUv3p5, or the cycle counter)."""
        return not event.attr.config1 & _CFG_LONG and (self._long or event.hw.idx == CYCLE_IDX)

    # --- lowest rung: one register ----------------------------------------------------------
    def _regs(self):
        kernel = self.cpu_pmu.kernel
        return kernel.cpu_regs(kernel.this_cpu())

    def read_evcntr(self, idx: PerfIdx) -> int:
        """armv8pmu_read_evcntr / PMCCNTR_EL0 for idx 0."""
        return self._regs().mrs(_IDX_CNT[_checked(idx)])

    def write_evcntr(self, idx: PerfIdx, value: int) -> None:
        """armv8pmu_write_evcntr / PMCCNTR_EL0 for idx 0."""
        self._regs().msr(_IDX_CNT[_checked(idx)], value)

    def write_evtype(self, idx: PerfIdx, value: int) -> None:
        """armv8pmu_write_evtype: masked to P|U|NSH|evtCount (PMCCFILTR_EL0 for the cycle counter)."""
        self._write_evtype(self._regs(), _checked(idx), value)

    @staticmethod
    def _write_evtype(regs, idx: int, value: int) -> None:
        regs.msr(_IDX_TYPE[idx], value & (_CYC_TYPE_MASK if idx == CYCLE_IDX else _EVTYPE_MASK))

    def pmcr_read(self) -> int:
        return self._regs().mrs(PMCR.name)

    def pmcr_write(self, value: int) -> None:
        """armv8pmu_pmcr_write: only the writable control bits (ARMV8_PMU_PMCR_MASK)."""
        self._regs().msr(PMCR.name, value & _PMCR_MASK)

    def set_el0_access(self, *bits: str) -> None:
        """Write PMUSERENR_EL0 = the named bits (e.g. ``"ER", "CR"``); no bits = 0."""
        value = self._el0_values.get(bits)
        if value is None:
            value = self._el0_values[bits] = PMUSERENR.encode(**{b: 1 for b in bits})
        self._regs().msr(PMUSERENR.name, value)

    def clear_counter(self, idx: PerfIdx) -> None:
        """Zero one counter (the clearing loop of armv8pmu_enable_user_access)."""
        self.write_evcntr(idx, 0)

    # --- counters of an event -----------------------------------------------------------------
    def read_counter(self, event) -> int:
        """Kernel: armv8pmu_read_counter -- hi then lo for chained pairs, then unbias."""
        idx = event.hw.idx
        value = self.read_evcntr(idx)
        if idx != CYCLE_IDX and self.is_chained(event):
            value = (value << 32) | self.read_evcntr(PerfIdx(idx - 1))
        return value & _LOW_32 if self.needs_bias(event) else value

    def write_counter(self, event, value: int) -> None:
        """Kernel: armv8pmu_write_counter -- bias, then hi/lo halves for chained pairs."""
        idx = event.hw.idx
        if self.needs_bias(event):
            value |= _UPPER_32
        if idx != CYCLE_IDX and self.is_chained(event):
            self.write_evcntr(idx, value >> 32)
            self.write_evcntr(PerfIdx(idx - 1), value & _LOW_32)
        else:
            self.write_evcntr(idx, value)

    def cnten_mask(self, event) -> int:
        """armv8pmu_event_cnten_mask: the event's counter bit, plus the low half's when chained."""
        idx = _checked(event.hw.idx)
        if self.is_chained(event):
            return _IDX_BIT[idx] | _IDX_BIT[_checked(idx - 1)]
        return _IDX_BIT[idx]

    def enable_event(self, event) -> None:
        """Kernel: armv8pmu_enable_event -- counter off, type, overflow IRQ on, counter on."""
        regs, hw = self._regs(), event.hw
        idx = _checked(hw.idx)
        chained = self.is_chained(event)
        mask = _IDX_BIT[idx] | _IDX_BIT[_checked(idx - 1)] if chained else _IDX_BIT[idx]
        regs.msr("PMCNTENCLR_EL0", mask)
        if chained:
            self._write_evtype(regs, idx - 1, hw.config_base)
            self._write_evtype(regs, idx, _CHAIN_TYPE)
        else:
            self._write_evtype(regs, idx, hw.config_base)
        regs.msr("PMINTENSET_EL1", _IDX_BIT[idx])
        regs.msr("PMCNTENSET_EL0", mask)

    def disable_event(self, event) -> None:
        """Kernel: armv8pmu_disable_event -- counter(s) off, overflow IRQ off, pending overflow cleared."""
        regs, bit = self._regs(), _IDX_BIT[_checked(event.hw.idx)]
        regs.msr("PMCNTENCLR_EL0", self.cnten_mask(event))
        regs.msr("PMINTENCLR_EL1", bit)
        regs.msr("PMOVSCLR_EL0", bit)

    def getreset_flags(self) -> int:
        """Kernel: armv8pmu_getreset_flags -- read PMOVS and clear what was read."""
        regs = self._regs()
        value = regs.mrs("PMOVSCLR_EL0") & _LOW_32
        regs.msr("PMOVSCLR_EL0", value)
        return value

    @staticmethod
    def has_overflowed(pmovs: int, idx: PerfIdx) -> bool:
        """armv8pmu_counter_has_overflowed."""
        return bool(pmovs & _IDX_BIT[_checked(idx)])

    # --- allocation ---------------------------------------------------------------------------
    def get_event_idx(self, hw_events, event) -> int:
        """Kernel: armv8pmu_get_event_idx (v5.17); returns a PerfIdx or -EAGAIN.

        CPU_CYCLES prefers the cycle counter; if it is busy, a 64-bit user-read event without
        long counters cannot fall back (-EAGAIN); 64-bit events without long counters take a
        chained even/odd pair; everything else the first free event counter.
        """
        n = self.cpu_pmu.num_events
        if event.hw.config_base & evmap.EVENT_FIELD.mask == ArmEvent.CPU_CYCLES:
            if hw_events.claim(CYCLE_IDX):
                return CYCLE_IDX
            if self.is_64bit(event) and evmap.wants_user_access(event.attr) and not self.has_long_event:
                return -errno.EAGAIN
        if self.is_64bit(event) and not self.has_long_event:
            for idx in range(FIRST_COUNTER_IDX + 1, n, 2):  # armv8pmu_get_chain_idx: hi = odd counter
                if hw_events.claim(idx):
                    if hw_events.claim(idx - 1):
                        return PerfIdx(idx)
                    hw_events.release(idx)
            return -errno.EAGAIN
        for idx in range(FIRST_COUNTER_IDX, n):  # armv8pmu_get_single_idx
            if hw_events.claim(idx):
                return PerfIdx(idx)
        return -errno.EAGAIN

    def clear_event_idx(self, hw_events, event) -> None:
        """Kernel: armv8pmu_clear_event_idx -- release idx, and idx-1 of a chained pair."""
        hw_events.release(event.hw.idx)
        if self.is_chained(event):
            hw_events.release(event.hw.idx - 1)

    # --- whole PMU ---------------------------------------------------------------------------
    def start(self) -> None:
        """Kernel: armv8pmu_start -- the design decides PMUSERENR_EL0, then PMCR_EL0.E = 1."""
        self.cpu_pmu.design.start(self.cpu_pmu)
        self.pmcr_write(self.pmcr_read() | _PMCR_E)
        for hook in getattr(self.cpu_pmu, "start_hooks", ()):
            hook(self.cpu_pmu)

    def stop(self) -> None:
        """Kernel: armv8pmu_stop -- PMCR_EL0.E = 0 (PMUSERENR_EL0 untouched in v5.17)."""
        self.pmcr_write(self.pmcr_read() & ~_PMCR_E)
        self.cpu_pmu.design.stop(self.cpu_pmu)

    def reset(self) -> None:
        """Kernel: armv8pmu_reset -- all counters and IRQs off, overflows cleared, PMCR = P|C|LC (+LP)."""
        regs, every = self._regs(), _CNTEN.valid_mask
        regs.msr("PMCNTENCLR_EL0", every)
        regs.msr("PMINTENCLR_EL1", every)
        regs.msr("PMOVSCLR_EL0", every)
        pmcr = PMCR.encode(P=1, C=1, LC=1)
        if self.has_long_event:
            pmcr |= PMCR["LP"].mask
        self.pmcr_write(pmcr)

    def probe(self) -> int:
        """Kernel: __armv8pmu_probe_pmu -- returns PMCR_EL0.N; records the PMCEID common-event bitmap."""
        regs = self._regs()
        self.pmceid = (regs.mrs("PMCEID0_EL0") & _LOW_32) | ((regs.mrs("PMCEID1_EL0") & _LOW_32) << 32)
        return PMCR["N"].get(self.pmcr_read())

    # --- user page -----------------------------------------------------------------------------
    def user_event_idx(self, event) -> UserIndex:
        """Kernel: armv8pmu_user_event_idx -- 0 unless sysctl on and the event has user read."""
        if not self.cpu_pmu.kernel.sysctl("kernel.perf_user_access") or not event.has_user_read:
            return UserIndex(0)
        return user_index_of(event.hw.idx)

    def update_userpage_time(self, page, now: int) -> None:
        """The sched_clock half of arm64 arch_perf_update_userpage (cap_user_time*, time_*)."""
        clock, fields = self._time
        if clock is not self.clock:  # the clock's fields are constants: derive them once
            c = self.clock
            mult, shift = c.mult & _LOW_32, c.shift & 0xFFFF  # as stored in the u32/u16 page fields
            if shift == 32:
                shift, mult = 31, mult >> 1
            fields = (mult, shift, (c.epoch_ns - c.cycles_to_ns(c.epoch_cyc)) % (1 << 64), c.epoch_cyc, c.mask)
            self._time = (c, fields)
        # The kernel clears cap_user_time* first and sets them last; inside the seqlock only the
        # final page is visible, which is the one written here.
        page.time_mult, page.time_shift, page.time_zero, page.time_cycles, page.time_mask = fields
        page.time_offset = (fields[2] - now) % (1 << 64)
        if page.__class__ is MmapPage:
            page.capabilities |= _TIME_CAPS
        else:
            page.cap_user_time = page.cap_user_time_zero = page.cap_user_time_short = 1

    def arch_update_userpage(self, event, page, now: int) -> None:
        """Kernel: arch_perf_update_userpage (arm64, v5.17): rdpmc capability and width, then time."""
        rdpmc = int(event.has_user_read)
        if page.__class__ is MmapPage:
            page.capabilities = page.capabilities & ~_RDPMC_CAP | (_RDPMC_CAP if rdpmc else 0)
        else:
            page.cap_user_rdpmc = rdpmc
        if rdpmc:
            page.pmc_width = 64 if event.hw.flags & EVT_64BIT else 32
        self.update_userpage_time(page, now)
