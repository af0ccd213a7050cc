"""One processing element's view of its PMU: the ``mrs``/``msr`` front end.

Models: a PE executing ``MRS <Xt>, <reg>`` / ``MSR <reg>, <Xt>`` on a PMU system register at
EL0 or EL1. EL1 accesses go straight to the counter bank; EL0 accesses first pass the access
rules of ``pmulab.hw.pmu`` (PMUSERENR_EL0, and PMUACR_EL1 on PMUv3p9 -- Arm ARM D24.5). A
trapped or UNDEFINED access raises ``IllegalInstruction`` (Linux delivers SIGILL: ``el0_sys``
-> ``do_sysinstr`` -> ``do_undefinstr``) and changes nothing. Permitted EL0 accesses may read
as zero, have their write ignored, or act on a subset of bits, exactly as the Arm ARM says.
Indirect PMXEVCNTR_EL0/PMXEVTYPER_EL0 are checked against the counter PMSELR_EL0.SEL selects.
Omits: EL2/EL3, exception syndromes (ESR_EL1), timing; the register state itself lives in the
bank (``CounterBank``), so a ``Cpu`` holds nothing but its index.
Pinned to: Arm ARM DDI 0487 D24.5 (accessibility pseudocode of each PMU register).
"""

from __future__ import annotations

from pmulab.errors import IllegalInstruction
from pmulab.hw import pmu, sysregs
from pmulab.hw.sysregs import PMUSERENR, PmuVersion

__all__ = ["Cpu"]


class Cpu:
    """PE number ``index`` of ``bank`` (a ``CounterBank`` or anything with its ``read``/``write``).

    Parameters
    ----------
    bank:
        Provides ``read(cpu, name) -> int``, ``write(cpu, name, value)`` (raw EL1 access),
        ``version`` (a ``PmuVersion``) and ``counters`` (PMCR_EL0.N).
    index:
        The CPU number inside the bank.
    """

    __slots__ = ("bank", "index", "_fast_read", "_fast_write")

    def __init__(self, bank, index: int):
        if not isinstance(index, int) or isinstance(index, bool):
            raise TypeError(f"cpu index must be an int, not {type(index).__name__}")
        ncpus = getattr(bank, "cpus", None)
        if index < 0 or (ncpus is not None and index >= ncpus):
            raise ValueError(f"cpu index {index} out of range 0..{(ncpus or 1) - 1}")
        self.bank = bank
        self.index = index
        # EL1 fast path: a RegisterFile decodes a direct register once (its EL1 rules are exactly
        # pmu.decide's UNDEFINED checks, which depend only on the PMU version and PMCR_EL0.N).
        self._fast_read = getattr(bank, "_fast_read", None)
        self._fast_write = getattr(bank, "_fast_write", None)

    def __repr__(self) -> str:
        return f"Cpu({self.index}, {self.version.value})"

    # --- what the PE is -------------------------------------------------------------------
    @property
    def version(self) -> PmuVersion:
        """The PMU version (ID_AA64DFR0_EL1.PMUVer) of this PE."""
        return PmuVersion.parse(getattr(self.bank, "version", PmuVersion.V3P4))

    @property
    def counters(self) -> int:
        """Number of implemented event counters (PMCR_EL0.N)."""
        return int(getattr(self.bank, "counters", sysregs.MAX_EVENT_COUNTERS))

    # --- the instructions -------------------------------------------------------------------
    def mrs(self, name: str, el: int = 1) -> int:
        """``MRS Xt, <name>`` at exception level ``el`` (0 or 1); returns the value read.

        Raises ``IllegalInstruction`` if the access is trapped or UNDEFINED.
        """
        if el.__class__ is int and el == 1 and self._fast_read is not None:
            value = self._fast_read(self.index, name)
            if value is not None:
                return value
        reg = sysregs.lookup(name)
        d = self.decide(reg, False, _check_el(el))
        if d.outcome is pmu.Outcome.RAZ:
            return 0
        value = self.bank.read(self.index, reg.name)
        if d.outcome is pmu.Outcome.MASKED:
            value &= d.mask
        return value

    def msr(self, name: str, value: int, el: int = 1) -> None:
        """``MSR <name>, Xt`` at exception level ``el`` (0 or 1).

        Raises ``IllegalInstruction`` if the access is trapped or UNDEFINED; then nothing changes.
        """
        fast = self._fast_write
        if el.__class__ is int and el == 1 and fast is not None and fast(self.index, name, value):
            return
        reg = sysregs.lookup(name)
        el = _check_el(el)
        reg.layout.check(value)
        d = self.decide(reg, True, el)
        if d.outcome is pmu.Outcome.WI:
            return
        if d.outcome is pmu.Outcome.MASKED:
            value &= d.mask
        if el == 0:  # PMSWINC_EL0's SW_INCR event is filtered by the EL it is raised at
            self.bank.write(self.index, reg.name, value, el=0)
        else:
            self.bank.write(self.index, reg.name, value)

    def decide(self, reg: sysregs.SysReg | str, write: bool, el: int) -> pmu.Decision:
        """Evaluate the access rules for ``reg`` in this PE's current state; raise on a fault.

        Reads PMUSERENR_EL0, PMUACR_EL1 (PMUv3p9) and PMSELR_EL0 (indirect registers) through
        the bank's EL1 view; never writes.
        """
        if isinstance(reg, str):
            reg = sysregs.lookup(reg)
        d = self.check(reg, write, el)
        if d.outcome.faults:
            raise IllegalInstruction(reg.name, write, el, d.allowed_by, why=d.why)
        return d

    def check(self, reg: sysregs.SysReg | str, write: bool, el: int) -> pmu.Decision:
        """Like ``decide`` but returns the Decision even for a fault (for views)."""
        if isinstance(reg, str):
            reg = sysregs.lookup(reg)
        el = _check_el(el)
        version = self.version
        sel = 0
        if reg.indirect:
            sel = sysregs.SYSREGS["PMSELR_EL0"].layout["SEL"].get(self.bank.read(self.index, "PMSELR_EL0"))
        pmuserenr = pmuacr = 0
        if el == 0:
            pmuserenr = self.bank.read(self.index, "PMUSERENR_EL0")
            if version.per_counter_el0:
                pmuacr = self.bank.read(self.index, "PMUACR_EL1")
        return pmu.decide(reg, write, el, pmuserenr, pmuacr, version, counters=self.counters, sel=sel)

    # --- views --------------------------------------------------------------------------------
    def pmuserenr_fields(self) -> dict[str, int]:
        """PMUSERENR_EL0 decoded (``{EN, SW, CR, ER, UEN}``; UEN is 0 before PMUv3p9)."""
        fields = pmu.pmuserenr_fields(self.bank.read(self.index, PMUSERENR.name), self.version)
        return {k: fields[k] for k in ("EN", "SW", "CR", "ER", "UEN")}


def _check_el(el) -> int:
    if not isinstance(el, int) or isinstance(el, bool) or el not in (0, 1):
        raise ValueError(f"el must be 0 (user) or 1 (kernel), not {el!r}")
    return el
