"""EL0 access rules of the PMU system registers: PMUSERENR_EL0, and PMUACR_EL1 on PMUv3p9.

Models: what an ``mrs``/``msr`` of a PMU register does when executed at EL0 or EL1, as the
accessibility pseudocode of the Arm ARM gives it (DDI 0487, D24.5 "Performance Monitors
registers", the ``MRS``/``MSR`` pseudocode of each register, and the field descriptions of
PMUSERENR_EL0 and PMUACR_EL1). Every rule is driven by the declarations in
``pmulab.hw.sysregs`` (``el0_read``/``el0_write``, ``n``, ``indirect``, ``min_version``, the
layout's access kinds and P<n>/C fields); nothing here restates a register name or bit.

The outcomes an access can have (``Outcome``):

- UNDEFINED at every EL: the register is newer than the PE's PMU (PMUACR_EL1 before PMUv3p9),
  ``mrs`` of a write-only register (PMSWINC_EL0), ``msr`` of a read-only one (PMCEID<n>_EL0),
  or a counter number the PE does not implement (PMEVCNTR<n>/PMEVTYPER<n> with n >= PMCR_EL0.N,
  PMXEV* with PMSELR_EL0.SEL >= N; PMXEVCNTR with SEL = 31). For the counter-number cases the
  Arm ARM is UNDEFINED with FEAT_FGT and CONSTRAINED UNPREDICTABLE without; the model picks
  UNDEFINED.
- UNDEFINED at EL0 only: the EL1 registers (PMINTENSET/CLR_EL1, PMUACR_EL1) and ``msr`` of
  PMUSERENR_EL0 (the pseudocode says UNDEFINED, not "trapped").
- TRAP: the EL0 access is not enabled by PMUSERENR_EL0; it is taken to EL1 with EC 0x18.
  Before PMUv3p9 an access is enabled when any one of the SysReg's ``el0_read``/``el0_write``
  bits is set: EN opens everything EL0 may touch; ER opens reads of PMEVCNTR<n>/PMXEVCNTR and
  reads and writes of PMSELR; CR opens reads of PMCCNTR; SW opens writes of PMSWINC.
  On PMUv3p9 UEN also enables every one of these registers except PMCR_EL0, and UEN=1 *traps*
  PMCR_EL0 at EL0 even with EN=1 ("EL0 accesses to PMCR_EL0 and PMCR are trapped").
- With UEN=1 (PMUv3p9) an enabled access is never trapped for want of a PMUACR_EL1 bit; instead
  (EN is then ignored by the PE):
  * counter n's registers (PMEVCNTR<n>, PMEVTYPER<n>, PMXEV* with SEL=n; PMCCNTR, PMCCFILTR,
    PMXEVTYPER with SEL=31 for the cycle counter, bit C) are RAZ/WI when PMUACR_EL1.P<n>/C is 0;
  * when the bit is 1 they read normally, and writes are ignored if ER (event counters) or CR
    (cycle counter) is 1 -- so ER/CR turn into "read-only" controls under UEN;
  * PMCNTENSET/CLR and PMOVSSET/CLR ("associated controls") are masked bit by bit the same way;
  * PMSWINC_EL0 bits whose PMUACR_EL1.P<m> is 0 are ignored unless SW is 1.
  Linux's PMUv3p9 support (drivers/perf/arm_pmuv3.c, ``armv8pmu_enable_user_access``, Rob
  Herring, Oct 2024) sets ER|CR|UEN and PMUACR_EL1 = the task's counters: "When UEN is set,
  the CR/ER bits control EL0 write access and must be set to disable write access."
- ALLOW / RAZ / WI / MASKED: the access happens (possibly reading zero, ignoring the write, or
  acting only on ``mask``).

EL1 accesses are always permitted apart from the UNDEFINED cases above.

Omits: EL2/EL3 traps (MDCR_EL2.TPM/TPMCR, MDCR_EL3.TPM, HCR_EL2.TGE routing, fine-grained
traps), MDCR_EL2.HPMN partitioning, PMUSERENR_EL0.TID/IR, the instruction counter and PMZR_EL0,
AArch32 views.
Pinned to: Arm ARM DDI 0487 D24.5 (the 2024-25 issues that include FEAT_PMUv3p9).
"""

from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass

from pmulab.hw import sysregs
from pmulab.hw.sysregs import CYCLE_SLOT, PMUACR, PMUSERENR, PmuVersion, SysReg

__all__ = [
    "Outcome", "Decision", "TruthRow", "decide", "el0_permits", "allowed_by", "register_class",
    "counter_of", "truth_table", "pmuserenr_fields", "version_at_least", "ALWAYS",
]

#: Marker in ``el0_read``/``el0_write`` meaning "EL0 may always do this".
ALWAYS = "always"

_VERSION_ORDER = tuple(PmuVersion)  # declaration order is architectural order
_EVENT_BITS = sum(f.mask for f in PMUACR.fields if f.name != "C")
_CYCLE_BIT = PMUACR["C"].mask


def version_at_least(version, minimum) -> bool:
    """True if PMU ``version`` implements everything of ``minimum`` (ID_AA64DFR0_EL1.PMUVer order)."""
    return _VERSION_ORDER.index(PmuVersion.parse(version)) >= _VERSION_ORDER.index(PmuVersion.parse(minimum))


class Outcome(enum.Enum):
    """What an ``mrs``/``msr`` does."""

    ALLOW = "allow"  # as at EL1
    RAZ = "RAZ"  # read returns zero (UEN=1, counter not in PMUACR_EL1)
    WI = "WI"  # write ignored (UEN=1 with the PMUACR_EL1 bit clear, or with ER/CR set)
    MASKED = "masked"  # reads/writes act only on ``Decision.mask`` (bitmap controls under UEN)
    TRAP = "trap"  # exception to EL1, EC 0x18 (Linux: SIGILL)
    UNDEFINED = "UNDEFINED"  # Undefined Instruction exception (Linux: SIGILL)

    @property
    def faults(self) -> bool:
        """True if the instruction does not complete (the task gets SIGILL)."""
        return self in (Outcome.TRAP, Outcome.UNDEFINED)


@dataclass(frozen=True)
class Decision:
    """The result of one access check.

    ``allowed_by`` lists the PMUSERENR_EL0 bits any one of which enables the access at EL0
    (empty when nothing can: UNDEFINED). ``mask`` is the set of bits that take effect for
    MASKED (None otherwise). ``why`` is a sentence a student can read.
    """

    outcome: Outcome
    allowed_by: tuple[str, ...] = ()
    why: str = ""
    mask: int | None = None

    @property
    def permitted(self) -> bool:
        return not self.outcome.faults


def pmuserenr_fields(value: int, version=PmuVersion.V3P9) -> dict[str, int]:
    """Decode PMUSERENR_EL0 into ``{EN, SW, CR, ER, UEN}``; UEN reads as 0 before PMUv3p9 (RES0)."""
    fields = PMUSERENR.decode(value)
    if not PmuVersion.parse(version).per_counter_el0:
        fields["UEN"] = 0
    return fields


def _is_bitmap(reg: SysReg) -> bool:
    """A per-counter bitmap (PMCNTEN*, PMOVS*, PMINTEN*, PMSWINC): fields are P<n> and C only."""
    return bool(reg.layout.fields) and all(
        f.name == "C" or (f.name[0] == "P" and f.name[1:].isdigit()) for f in reg.layout.fields
    ) and reg.n is None and not reg.indirect


def _is_count(reg: SysReg) -> bool:
    """A counter value register (PMEVCNTR<n>, PMCCNTR, PMXEVCNTR), as opposed to a type/filter register."""
    return len(reg.layout.fields) == 1 and reg.layout.fields[0].name == "COUNT"


def counter_of(reg: SysReg, sel: int = 0) -> int | None:
    """Hardware counter number an access to ``reg`` concerns (31 = cycle), or None.

    Indirect PMXEV* registers use PMSELR_EL0.SEL (Arm ARM: PMXEVCNTR_EL0 / PMXEVTYPER_EL0).
    """
    if reg.indirect:
        return sel
    return reg.n


def allowed_by(reg: SysReg, write: bool, version=PmuVersion.V3P4) -> tuple[str, ...]:
    """PMUSERENR_EL0 bits any one of which enables ``reg`` at EL0 (before PMUACR_EL1 masking).

    From the SysReg declaration; on PMUv3p9 UEN is added to every enabled register except
    PMCR_EL0, which UEN traps (Arm ARM PMUSERENR_EL0.UEN).
    """
    bits = reg.el0_write if write else reg.el0_read
    if ALWAYS in bits or not bits:
        return tuple(bits)
    if PmuVersion.parse(version).per_counter_el0 and not _uen_traps(reg):
        bits = tuple(bits) + ("UEN",)
    return tuple(bits)


def _uen_traps(reg: SysReg) -> bool:
    """PMCR_EL0 is the one EL0-enabled register that UEN=1 traps (its pseudocode: EN==0 || UEN==1)."""
    return reg.layout is sysregs.PMCR


def register_class(reg: SysReg) -> str:
    """Name of the register family: ``PMEVCNTR<n>_EL0`` for PMEVCNTR7_EL0, else the name itself."""
    if reg.n is not None and reg.n != CYCLE_SLOT:
        return reg.name.replace(f"{reg.n}_", "<n>_", 1)
    return reg.name


def _undefined_anywhere(reg: SysReg, write: bool, version, counters: int, sel: int) -> str:
    """Reason the access is UNDEFINED at every EL, or ''."""
    version = PmuVersion.parse(version)
    if not version_at_least(version, reg.min_version):
        return f"{reg.name} does not exist before PMU{reg.min_version.value} (this PE is PMU{version.value})"
    if write and not reg.writable:
        return f"{reg.name} is read-only: there is no msr encoding for it"
    if not write and not reg.readable:
        return f"{reg.name} is write-only: there is no mrs encoding for it"
    n = counter_of(reg, sel)
    if n is None:
        return ""
    src = f"PMSELR_EL0.SEL={sel}" if reg.indirect else f"counter {n}"
    if n == CYCLE_SLOT:
        if reg.indirect and _is_count(reg):
            return f"{reg.name} with PMSELR_EL0.SEL=31 is UNDEFINED (use PMCCNTR_EL0 for the cycle counter)"
        return ""
    if n >= counters:
        return f"{src} is not implemented: PMCR_EL0.N={counters}"
    return ""


def _sentence(bits: tuple[str, ...]) -> str:
    return "PMUSERENR_EL0." + " or .".join(bits)


def _describe(pmuserenr: int, version) -> str:
    f = pmuserenr_fields(pmuserenr, version)
    names = ("EN", "SW", "CR", "ER", "UEN") if PmuVersion.parse(version).per_counter_el0 else ("EN", "SW", "CR", "ER")
    return f"PMUSERENR_EL0={pmuserenr:#x} ({' '.join(f'{k}={f[k]}' for k in names)})"


def decide(reg: SysReg | str, write: bool, el: int, pmuserenr: int = 0, pmuacr: int = 0,
           version=PmuVersion.V3P4, *, counters: int = sysregs.MAX_EVENT_COUNTERS, sel: int = 0) -> Decision:
    """Decide what ``mrs`` (``write=False``) or ``msr`` (``write=True``) of ``reg`` does at ``el``.

    ``pmuserenr``/``pmuacr`` are the current PMUSERENR_EL0 and PMUACR_EL1 values (PMUACR_EL1 is
    ignored before PMUv3p9 or when UEN=0); ``counters`` is PMCR_EL0.N; ``sel`` is PMSELR_EL0.SEL
    (used by the indirect PMXEV* registers). Pure: reads nothing, changes nothing.
    """
    if isinstance(reg, str):
        reg = sysregs.lookup(reg)
    if not isinstance(el, int) or isinstance(el, bool) or el not in (0, 1):
        raise ValueError(f"el must be 0 or 1, not {el!r}")
    version = PmuVersion.parse(version)
    undef = _undefined_anywhere(reg, write, version, counters, sel)
    if undef:
        return Decision(Outcome.UNDEFINED, (), f"UNDEFINED: {undef}")
    if el == 1:
        return Decision(Outcome.ALLOW, (), "EL1 access")
    bits = allowed_by(reg, write, version)
    if not bits:
        kind = "an EL1 register" if reg.name.endswith("_EL1") else ("read-only at EL0" if write else "not readable")
        return Decision(Outcome.UNDEFINED, (), f"UNDEFINED at EL0: {reg.name} is {kind}")
    if ALWAYS in bits:
        return Decision(Outcome.ALLOW, bits, f"EL0 may always {'write' if write else 'read'} {reg.name}")
    fields = pmuserenr_fields(pmuserenr, version)
    uen = bool(fields["UEN"])
    if uen and _uen_traps(reg):
        return Decision(Outcome.TRAP, tuple(b for b in bits if b != "UEN"),
                        f"PMUSERENR_EL0.UEN=1 traps {reg.name} at EL0 even with EN=1; "
                        f"needs PMUSERENR_EL0.EN with UEN=0; {_describe(pmuserenr, version)}")
    if not any(fields[b] for b in bits):
        return Decision(Outcome.TRAP, bits, f"needs {_sentence(bits)}; {_describe(pmuserenr, version)}")
    if not uen:
        return Decision(Outcome.ALLOW, bits, f"enabled by {_sentence(tuple(b for b in bits if fields[b]))}")
    return _uen_decision(reg, write, bits, fields, pmuacr, sel)


def _uen_decision(reg: SysReg, write: bool, bits, fields, pmuacr: int, sel: int) -> Decision:
    """PMUv3p9, UEN=1: the PMUACR_EL1 bit and ER/CR/SW decide RAZ/WI/read-only (see module doc)."""
    n = counter_of(reg, sel)
    if n is not None:
        acr = PMUACR["C" if n == CYCLE_SLOT else f"P{n}"]
        ro_bit = "CR" if n == CYCLE_SLOT else "ER"
        if not acr.get(pmuacr):
            return Decision(Outcome.WI if write else Outcome.RAZ, bits,
                            f"UEN=1 and PMUACR_EL1.{acr.name}=0: {'write ignored' if write else 'reads as zero'}")
        if write and fields[ro_bit]:
            return Decision(Outcome.WI, bits, f"UEN=1 with PMUSERENR_EL0.{ro_bit}=1 makes {reg.name} read-only at EL0")
        return Decision(Outcome.ALLOW, bits, f"UEN=1 and PMUACR_EL1.{acr.name}=1")
    if _is_bitmap(reg):
        readable = pmuacr & (_EVENT_BITS | _CYCLE_BIT)
        if not write:
            mask = readable
        elif reg.layout.action_mask:  # PMSWINC_EL0: SW=1 ignores PMUACR_EL1
            mask = reg.layout.action_mask if fields["SW"] else (readable & reg.layout.action_mask)
        else:
            mask = readable & ~(_EVENT_BITS if fields["ER"] else 0) & ~(_CYCLE_BIT if fields["CR"] else 0)
        return Decision(Outcome.MASKED, bits, f"UEN=1: only counters selected by PMUACR_EL1={pmuacr:#x} "
                        f"{'are affected' if write else 'read back'} (mask {mask:#x})", mask)
    return Decision(Outcome.ALLOW, bits, "enabled by PMUSERENR_EL0.UEN")


def el0_permits(reg: SysReg | str, write: bool, pmuserenr: int, pmuacr: int = 0, version=PmuVersion.V3P4,
                **kw) -> bool:
    """True if the EL0 access completes (not trapped, not UNDEFINED); it may still be RAZ/WI."""
    return decide(reg, write, 0, pmuserenr, pmuacr, version, **kw).permitted


@dataclass(frozen=True)
class TruthRow:
    """One row of the EL0 truth table: PMUSERENR_EL0 bits, the representative counter's PMUACR_EL1
    bit (None before PMUv3p9), register family, operation, outcome and the enabling bits."""

    EN: int
    SW: int
    CR: int
    ER: int
    UEN: int | None
    acr: int | None
    register: str
    write: bool
    outcome: Outcome
    allowed_by: tuple[str, ...]


def _class_representatives() -> list[SysReg]:
    seen: dict[str, SysReg] = {}
    for reg in sysregs.SYSREGS.values():
        seen.setdefault(register_class(reg), reg)
    return list(seen.values())


def truth_table(version=PmuVersion.V3P4) -> list[TruthRow]:
    """Every EN/SW/CR/ER (and UEN on PMUv3p9) combination x register family x read/write.

    On PMUv3p9 each combination is given with the representative counter's PMUACR_EL1 bit 0 and 1
    (for the bitmap registers, PMUACR_EL1 all-zero or all-ones).
    """
    version = PmuVersion.parse(version)
    names = ["EN", "SW", "CR", "ER"] + (["UEN"] if version.per_counter_el0 else [])
    acrs = (0, 1) if version.per_counter_el0 else (None,)
    rows = []
    for combo in itertools.product((0, 1), repeat=len(names)):
        f = dict(zip(names, combo, strict=True))
        value = PMUSERENR.encode(**f)
        for acr in acrs:
            for reg in _class_representatives():
                for write in (False, True):
                    d = decide(reg, write, 0, value, -1 & PMUACR.valid_mask if acr else 0, version)
                    rows.append(TruthRow(f["EN"], f["SW"], f["CR"], f["ER"], f.get("UEN"), acr,
                                         register_class(reg), write, d.outcome, d.allowed_by))
    return rows
