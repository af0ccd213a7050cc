"""The register storage of the vectorised counter core, and its one-call EL1 access path.

Models: what an EL1 ``MRS``/``MSR`` of a PMUv3 register reads and changes in ``CounterBank``'s
state (Arm ARM D24): PMEVCNTR<n>_EL0/PMCCNTR_EL0 and PMEVTYPER<n>_EL0/PMCCFILTR_EL0 in
``(cpus, 32)`` arrays, the per-counter bitmaps (PMCNTEN, PMINTEN, PMOVS, PMUACR) kept twice -- as
``(cpus, 32)`` bool arrays for the counting kernels and as one int per CPU for register accesses
-- and the per-CPU words (PMCR_EL0, PMSELR_EL0, PMUSERENR_EL0). PMOVS is set by counting, so its
ints are refreshed on demand. Only PMCR, PMCNTEN and PMEVTYPER decide the compiled counting
program, and a store that changes nothing drops nothing.
The decoding (which storage a register views, which bits a write keeps, sets or clears) is
``RegisterFile``'s plan; ``_fast_read``/``_fast_write`` apply a plan without the generic
``_load``/``_store`` calls (the modelled kernel makes several hundred EL1 accesses per tick),
with exactly the result of ``RegisterFile._fast_write``.
Omits: the counting itself (``pmulab.hw.counters``).
Pinned to: Arm ARM DDI 0487 D24 (register access types: RW, W1S, W1C, RAZ/WI).
"""

from __future__ import annotations

import numpy as np

from pmulab.bits import mask
from pmulab.hw import sysregs
from pmulab.hw.regfile import BITMAPS

__all__ = ["CounterStorage"]

_SLOTS = np.arange(sysregs.NUM_SLOTS, dtype=np.uint64)
_CYC = sysregs.CYCLE_SLOT
_PROGRAM_WORDS = ("PMCR", "PMCNTEN")  # ints whose change drops the compiled program (with PMEVTYPER)


class CounterStorage:
    """Storage half of ``CounterBank`` (mixed in before ``RegisterFile``, whose abstract storage it provides)."""

    def _init_storage(self, cpus: int) -> None:
        self._value = np.zeros((cpus, sysregs.NUM_SLOTS), np.uint64)
        self._evtype = np.zeros((cpus, sysregs.NUM_SLOTS), np.uint64)
        self._bits = {s: np.zeros((cpus, sysregs.NUM_SLOTS), bool) for s in BITMAPS}
        self._words = {"PMCR": np.full(cpus, self.pmcr_reset, np.uint64),
                       "PMSELR": np.zeros(cpus, np.uint64), "PMUSERENR": np.zeros(cpus, np.uint64)}
        self._prescale = np.zeros(cpus, np.uint64)
        self._store_mask = np.full(sysregs.NUM_SLOTS, mask(64 if self.long_counters else 32), np.uint64)
        self._store_mask[_CYC] = mask(64)
        self._ints = {s: [0] * cpus for s in BITMAPS} | {s: [int(v) for v in a] for s, a in self._words.items()}
        self._pmovs_stale = False
        self._compiled = None

    def _load(self, cpu, state, slot):
        if state == "PMEVCNTR":
            return int(self._value[cpu, slot])
        if state == "PMEVTYPER":
            return int(self._evtype[cpu, slot])
        if state == "PMOVS" and self._pmovs_stale:
            self._refresh_pmovs()
        return self._ints[state][cpu]

    def _refresh_pmovs(self):
        packed = np.packbits(self._bits["PMOVS"], axis=1, bitorder="little")
        self._ints["PMOVS"] = [int.from_bytes(row, "little") for row in packed.tolist()]
        self._pmovs_stale = False

    def _store(self, cpu, state, slot, value):
        if state == "PMEVCNTR":
            self._value[cpu, slot] = value
            return
        if state == "PMEVTYPER":
            if int(self._evtype[cpu, slot]) != value:
                self._evtype[cpu, slot] = value
                self._compiled = None
            return
        if state == "PMOVS" and self._pmovs_stale:
            self._refresh_pmovs()
        old = self._ints[state][cpu]
        if old != value:
            self._store_int(cpu, state, old, value)

    def _store_int(self, cpu, state, old, value):
        """A bitmap or word changes from ``old`` to ``value``: the int, the array mirror, the program."""
        self._ints[state][cpu] = value
        if state in BITMAPS:
            row, diff = self._bits[state][cpu], old ^ value
            while diff:
                low = diff & -diff
                row[low.bit_length() - 1] = bool(value & low)
                diff ^= low
        else:
            self._words[state][cpu] = value
        if state in _PROGRAM_WORDS:
            self._compiled = None  # the program follows the registers it is compiled from

    def _fast_write(self, cpu, name, value):
        """``RegisterFile._fast_write`` with the load and the store written out (same result, same False cases)."""
        plan = self._write_plan(cpu, name, value)
        if plan is None:
            return False
        state, slot, _, kept, written, cm, keep = plan
        if state == "PMEVCNTR":
            values = self._value
            values[cpu, slot] = ((int(values[cpu, slot]) & kept) | (value & written)) & ~(value & cm) & keep
            return True
        if state == "PMEVTYPER":
            types = self._evtype
            old = int(types[cpu, slot])
            new = ((old & kept) | (value & written)) & ~(value & cm) & keep
            if new != old:
                types[cpu, slot] = new
                self._compiled = None
            return True
        if self._pmovs_stale and state == "PMOVS":
            self._refresh_pmovs()
        old = self._ints[state][cpu]
        new = ((old & kept) | (value & written)) & ~(value & cm) & keep
        if new != old:
            self._store_int(cpu, state, old, new)
        if state == "PMCR":
            self._pmcr_actions(cpu, value)
        return True

    def _fast_read(self, cpu, name):
        """``RegisterFile._fast_read`` with the load written out."""
        plan = self._read_plan(cpu, name)
        if plan is None:
            return None
        state, slot, readable = plan
        if state == "PMEVCNTR":
            return int(self._value[cpu, slot]) & readable
        if state == "PMEVTYPER":
            return int(self._evtype[cpu, slot]) & readable
        if self._pmovs_stale and state == "PMOVS":
            self._refresh_pmovs()
        return self._ints[state][cpu] & readable

    def _clear(self, cpu, slots):
        self._value[cpu, (np.uint64(slots) >> _SLOTS) & np.uint64(1) == 1] = 0
        if slots >> _CYC & 1:
            self._prescale[cpu] = 0

    def _arrays(self):
        b = self._bits
        return {"values": self._value, "evtype": self._evtype, "pmcnten": b["PMCNTEN"], "pmovs": b["PMOVS"],
                "pminten": b["PMINTEN"], "pmuacr": b["PMUACR"], "pmcr": self._words["PMCR"],
                "pmselr": self._words["PMSELR"], "pmuserenr": self._words["PMUSERENR"], "prescale": self._prescale}
