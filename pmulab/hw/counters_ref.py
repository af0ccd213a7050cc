"""The scalar reference twin of the counter core: one counter at a time, plain Python ints.

Models: the same Arm ARM D24 counting rules as ``pmulab.hw.counters.CounterBank``, written to be
read as the specification: for each PE, the EL0 occurrences of a step and then its EL1 ones; for
each implemented counter in turn, "does it count here?", "by how much?", "did bits [31:0] (or
[63:0]) wrap?", and, if the counter is even and its odd partner counts CHAIN, one more on the
partner. It is slow on purpose and is the oracle of the differential tests.
Omits: what ``CounterBank`` omits (see its module docstring).
Pinned to: Arm ARM DDI 0487 (PMUv3p5 counter widths, PMUv3p9 PMUACR_EL1).
"""

from __future__ import annotations

import numpy as np

from pmulab.bits import mask
from pmulab.hw import events, sysregs
from pmulab.hw.events import ArmEvent
from pmulab.hw.regfile import BITMAPS, RegisterFile, check_occurrences

__all__ = ["CounterBankRef"]

CYCLE = sysregs.CYCLE_SLOT
PMCR, PMEVTYPER = sysregs.PMCR, sysregs.PMEVTYPER


class CounterBankRef(RegisterFile):
    """PMUv3 counters of ``cpus`` PEs held as Python ints; same interface as ``CounterBank``."""

    def __init__(self, cpus: int, counters: int, long_counters: bool = False, *, version=None):
        super().__init__(cpus, counters, long_counters, version=version)
        n = sysregs.NUM_SLOTS
        self._cnt = [[0] * n for _ in range(cpus)]  # PMEVCNTR<n>_EL0, slot 31 PMCCNTR_EL0
        self._type = [[0] * n for _ in range(cpus)]  # PMEVTYPER<n>_EL0, slot 31 PMCCFILTR_EL0
        self._reg = [dict.fromkeys(BITMAPS + ("PMSELR", "PMUSERENR"), 0) | {"PMCR": self.pmcr_reset}
                     for _ in range(cpus)]
        self._residue = [0] * cpus  # cycles counted towards the next PMCR_EL0.D tick

    # --- storage ---------------------------------------------------------------------------------
    def _load(self, cpu, state, slot):
        if state == "PMEVCNTR":
            return self._cnt[cpu][slot]
        if state == "PMEVTYPER":
            return self._type[cpu][slot]
        return self._reg[cpu][state]

    def _store(self, cpu, state, slot, value):
        if state == "PMEVCNTR":
            self._cnt[cpu][slot] = value
        elif state == "PMEVTYPER":
            self._type[cpu][slot] = value
        else:
            self._reg[cpu][state] = value

    def _clear(self, cpu, slots):
        for n in range(sysregs.NUM_SLOTS):
            if slots >> n & 1:
                self._cnt[cpu][n] = 0
        if slots >> CYCLE & 1:
            self._residue[cpu] = 0

    def _arrays(self):
        def bits(state):
            return np.array([[bool(r[state] >> n & 1) for n in range(sysregs.NUM_SLOTS)] for r in self._reg])

        def words(state):
            return np.array([r[state] for r in self._reg], np.uint64)

        return {"values": np.array(self._cnt, np.uint64), "evtype": np.array(self._type, np.uint64),
                "pmcnten": bits("PMCNTEN"), "pmovs": bits("PMOVS"), "pminten": bits("PMINTEN"),
                "pmuacr": bits("PMUACR"), "pmcr": words("PMCR"), "pmselr": words("PMSELR"),
                "pmuserenr": words("PMUSERENR"), "prescale": np.array(self._residue, np.uint64)}

    # --- the rules, one counter at a time ----------------------------------------------------------
    def _event(self, cpu, n):
        """The event counter n counts: PMEVTYPER<n>_EL0.evtCount; PMCCNTR_EL0 always counts CPU_CYCLES."""
        return ArmEvent.CPU_CYCLES if n == CYCLE else PMEVTYPER["evtCount"].get(self._type[cpu][n])

    def _counts(self, cpu, n, el):
        """PMCR_EL0.E, PMCNTENSET_EL0 bit n, and the filter: U=1 excludes EL0, P=1 excludes EL1."""
        pmcr, ty = self._reg[cpu]["PMCR"], self._type[cpu][n]
        enabled = PMCR["E"].get(pmcr) and self._reg[cpu]["PMCNTEN"] >> n & 1
        excluded = PMEVTYPER["U" if el == 0 else "P"].get(ty)
        return bool(enabled) and not excluded

    def _overflows_at_bit63(self, cpu, n):
        """PMCCNTR_EL0: PMCR_EL0.LC; event counters: PMCR_EL0.LP (RES0, hence 0, before PMUv3p5)."""
        return bool(PMCR["LC" if n == CYCLE else "LP"].get(self._reg[cpu]["PMCR"]))

    def _increment(self, cpu, n, amount, el):
        """Add ``amount`` to counter n; set its overflow flag on a wrap; carry into a CHAIN partner."""
        old = self._cnt[cpu][n]
        if self._overflows_at_bit63(cpu, n):
            overflow = old + amount > mask(64)
        else:
            overflow = (old & mask(32)) + amount > mask(32)
        width = 64 if n == CYCLE or self.long_counters else 32
        self._cnt[cpu][n] = (old + amount) & mask(width)
        if overflow:
            self._reg[cpu]["PMOVS"] |= 1 << n
            partner = n + 1
            if n % 2 == 0 and partner < self.counters and self._event(cpu, partner) == ArmEvent.CHAIN \
                    and self._counts(cpu, partner, el):
                self._increment(cpu, partner, 1, el)

    def _divide(self, cpu, cycles):
        """PMCR_EL0.D=1 (and LC=0): PMCCNTR_EL0 advances once every 64 counted cycles."""
        pmcr = self._reg[cpu]["PMCR"]
        if not PMCR["D"].get(pmcr) or PMCR["LC"].get(pmcr):
            return cycles
        total = self._residue[cpu] + cycles
        self._residue[cpu] = total % 64
        return total // 64

    def count(self, occ: np.ndarray) -> None:
        """One step: ``occ`` (cpus, 2, NUM_EVENTS) uint64 occurrences at EL0 and EL1."""
        occ = check_occurrences(occ, (self.cpus,), "count").tolist()
        for cpu in range(self.cpus):
            for el in (0, 1):
                for n in range(sysregs.NUM_SLOTS):
                    if not self.implemented >> n & 1 or not self._counts(cpu, n, el):
                        continue
                    evt = self._event(cpu, n)
                    if evt in (ArmEvent.SW_INCR, ArmEvent.CHAIN) or evt >= events.NUM_EVENTS:
                        continue
                    amount = occ[cpu][el][evt]
                    if n == CYCLE:
                        amount = self._divide(cpu, amount)
                    self._increment(cpu, n, amount, el)

    def run(self, occ_steps: np.ndarray) -> np.ndarray:
        """``count`` once per step; returns the counter values after each step, (steps, cpus, 32)."""
        steps = occ_steps.shape[0] if isinstance(occ_steps, np.ndarray) and occ_steps.ndim else 0
        occ_steps = check_occurrences(occ_steps, (steps, self.cpus), "run")
        out = np.zeros((steps, self.cpus, sysregs.NUM_SLOTS), np.uint64)
        for s in range(steps):
            self.count(occ_steps[s])
            out[s] = self._cnt
        return out

    def _software_increment(self, cpu, slots, el):
        """PMSWINC_EL0: +1 on each selected counter that counts at ``el`` and is programmed with SW_INCR."""
        for n in range(sysregs.NUM_SLOTS):
            if slots >> n & 1 and self._event(cpu, n) == ArmEvent.SW_INCR and self._counts(cpu, n, el):
                self._increment(cpu, n, 1, el)
