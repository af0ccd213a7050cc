"""Every PMUv3 system register of the model, declared once.

Models: the AArch64 PMUv3 registers an OS and EL0 code use (Arm ARM D24 "Performance
Monitors registers"): layout, access kind, reset value, the storage they view (SET/CLR
pairs share one), and the PMUSERENR_EL0 bits that open each one to EL0.
Omits: AArch32 views, external debug views, EL2/EL3 filtering (MDCR_EL2.HPMN, NSH/M bits are
declared but never change counting), PMMIR_EL1, PMUSERENR_EL0.IR/TID, the fixed instruction
counter of FEAT_PMUv3_ICNTR, and thresholding (PMUv3p8).
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

from pmulab.bits import Access, Field, Register, close_names

__all__ = [
    "NUM_SLOTS", "CYCLE_SLOT", "MAX_EVENT_COUNTERS", "PmuVersion", "SysReg", "SYSREGS", "lookup",
    "PMCR", "PMUSERENR", "PMEVTYPER", "PMCCFILTR", "PMUACR", "FILTER_FIELDS",
]

#: Array slots of the counter core = hardware bit positions: 0..30 event counters, 31 cycle.
NUM_SLOTS = 32
CYCLE_SLOT = 31
MAX_EVENT_COUNTERS = 31


class PmuVersion(enum.Enum):
    """Modelled ID_AA64DFR0_EL1.PMUVer values (Arm ARM D24.1)."""

    V3P4 = "v3p4"  # 32-bit event counters
    V3P5 = "v3p5"  # 64-bit event counters, PMCR_EL0.LP
    V3P9 = "v3p9"  # PMUSERENR_EL0.UEN + PMUACR_EL1 per-counter EL0 access

    @property
    def long_counters(self) -> bool:
        """FEAT_PMUv3p5: PMEVCNTR<n>_EL0 are 64 bits wide."""
        return self is not PmuVersion.V3P4

    @property
    def per_counter_el0(self) -> bool:
        """FEAT_PMUv3p9: PMUACR_EL1 selects which counters EL0 may access."""
        return self is PmuVersion.V3P9

    @classmethod
    def parse(cls, name) -> PmuVersion:
        if isinstance(name, cls):
            return name
        try:
            return cls(name)
        except ValueError:
            raise ValueError(f"unknown PMU version {name!r}; expected one of {[v.value for v in cls]}") from None


def _per_counter(access: Access, cycle: bool = True) -> tuple[Field, ...]:
    """Bit n for event counter n (P<n>), bit 31 for the cycle counter (C)."""
    bits = tuple(Field(f"P{n}", n, access=access) for n in range(MAX_EVENT_COUNTERS))
    return bits + ((Field("C", CYCLE_SLOT, access=access),) if cycle else ())


#: Event filter bits shared by PMEVTYPER<n>_EL0 and PMCCFILTR_EL0.
FILTER_FIELDS = (
    Field("P", 31, doc="1 = do not count at EL1"),
    Field("U", 30, doc="1 = do not count at EL0"),
    Field("NSK", 29, doc="Non-secure EL1 filter (with EL3 only)"),
    Field("NSU", 28, doc="Non-secure EL0 filter (with EL3 only)"),
    Field("NSH", 27, doc="1 = count at EL2"),
    Field("M", 26, doc="EL3 filter"),
)

PMCR = Register("PMCR_EL0", (
    Field("E", 0, doc="global enable of all counters"),
    Field("P", 1, access=Access.WO, doc="write 1: reset every event counter to 0"),
    Field("C", 2, access=Access.WO, doc="write 1: reset PMCCNTR_EL0 to 0"),
    Field("D", 3, doc="PMCCNTR_EL0 counts once every 64 cycles"),
    Field("X", 4, doc="export events to a trace unit"),
    Field("DP", 5, doc="disable PMCCNTR_EL0 where event counting is prohibited"),
    Field("LC", 6, doc="cycle counter overflows at bit 63 (1) or bit 31 (0)"),
    Field("LP", 7, doc="event counters overflow at bit 63 (1) or bit 31 (0); PMUv3p5"),
    Field("N", 11, 5, access=Access.RO, doc="number of implemented event counters"),
    Field("IDCODE", 16, 8, access=Access.RO, doc="implementer's identification code"),
    Field("IMP", 24, 8, access=Access.RO, reset=0x41, doc="implementer (0x41 = Arm)"),
), width=64, doc="Performance Monitors Control Register")

PMUSERENR = Register("PMUSERENR_EL0", (
    Field("EN", 0, doc="EL0 may access every EL0-accessible PMU register"),
    Field("SW", 1, doc="EL0 may write PMSWINC_EL0"),
    Field("CR", 2, doc="EL0 may read PMCCNTR_EL0"),
    Field("ER", 3, doc="EL0 may read event counters and read/write PMSELR_EL0"),
    Field("UEN", 4, doc="EL0 may access the counters PMUACR_EL1 selects (PMUv3p9)"),
), doc="Performance Monitors User Enable Register")

PMUACR = Register("PMUACR_EL1", _per_counter(Access.RW), doc="Performance Monitors User Access Control (PMUv3p9)")

PMEVTYPER = Register("PMEVTYPER_EL0", FILTER_FIELDS + (
    Field("evtCount", 0, 16, doc="event number (bits [15:10] from PMUv3p1)"),
), doc="Performance Monitors Event Type Register")

PMCCFILTR = Register("PMCCFILTR_EL0", FILTER_FIELDS, doc="Performance Monitors Cycle Count Filter")

_COUNT = (Field("COUNT", 0, 64),)


@dataclass(frozen=True)
class SysReg:
    """A named register instance: its layout, counter number and EL0 access rule.

    ``el0_read``/``el0_write`` list the PMUSERENR_EL0 bits any one of which permits the access
    at EL0 (Arm ARM D24: EN opens everything EL0 may touch; SW, CR and ER each open one
    register class). ``"always"`` means EL0 may always do it; an empty tuple means never.
    On PMUv3p9, UEN opens every EL0 register but PMCR_EL0; the counter's PMUACR_EL1 bit then
    decides whether the access is real or reads as zero / ignores writes (``pmulab.hw.pmu``).
    ``n`` is the event counter number of PMEVCNTR<n>/PMEVTYPER<n>, 31 for cycle-counter
    registers, None otherwise. ``min_version`` is the first PMU version that has it.
    """

    name: str
    layout: Register
    el0_read: tuple[str, ...] = ("EN",)
    el0_write: tuple[str, ...] = ("EN",)
    n: int | None = None
    min_version: PmuVersion = PmuVersion.V3P4
    indirect: bool = False  # PMXEV*: the counter is chosen by PMSELR_EL0.SEL

    @property
    def readable(self) -> bool:
        """False for write-only registers (an ``mrs`` of them is UNDEFINED)."""
        return bool(self.layout.readable_mask)

    @property
    def writable(self) -> bool:
        return not self.layout.read_only


def _pair(base: str, el: str, **kw) -> list[SysReg]:
    """A SET/CLR pair viewing one state: write 1 to set, write 1 to clear; both read the state."""
    return [
        SysReg(f"{base}SET_{el}", Register(f"{base}SET_{el}", _per_counter(Access.W1S), state=base), **kw),
        SysReg(f"{base}CLR_{el}", Register(f"{base}CLR_{el}", _per_counter(Access.W1C), state=base), **kw),
    ]


def _declare() -> dict[str, SysReg]:
    regs = [
        SysReg("PMCR_EL0", PMCR),
        *_pair("PMCNTEN", "EL0"),
        *_pair("PMOVS", "EL0"),
        *_pair("PMINTEN", "EL1", el0_read=(), el0_write=()),
        SysReg("PMSELR_EL0", Register("PMSELR_EL0", (Field("SEL", 0, 5),)),
               el0_read=("EN", "ER"), el0_write=("EN", "ER")),
        SysReg("PMSWINC_EL0", Register("PMSWINC_EL0", _per_counter(Access.WO, cycle=False)),
               el0_read=(), el0_write=("EN", "SW")),
        SysReg("PMUSERENR_EL0", PMUSERENR, el0_read=("always",), el0_write=()),
        SysReg("PMUACR_EL1", PMUACR, el0_read=(), el0_write=(), min_version=PmuVersion.V3P9),
        SysReg("PMCCNTR_EL0", Register("PMCCNTR_EL0", _COUNT), el0_read=("EN", "CR"), n=31),
        SysReg("PMCCFILTR_EL0", PMCCFILTR, n=31),
        SysReg("PMXEVCNTR_EL0", Register("PMXEVCNTR_EL0", _COUNT), el0_read=("EN", "ER"), indirect=True),
        SysReg("PMXEVTYPER_EL0", Register("PMXEVTYPER_EL0", PMEVTYPER.fields), indirect=True),
        SysReg("PMCEID0_EL0", Register("PMCEID0_EL0", (Field("ID", 0, 64, access=Access.RO),))),
        SysReg("PMCEID1_EL0", Register("PMCEID1_EL0", (Field("ID", 0, 64, access=Access.RO),))),
    ]
    for n in range(MAX_EVENT_COUNTERS):
        regs.append(SysReg(f"PMEVCNTR{n}_EL0", Register(f"PMEVCNTR{n}_EL0", _COUNT, state="PMEVCNTR"),
                           el0_read=("EN", "ER"), n=n))
        regs.append(SysReg(f"PMEVTYPER{n}_EL0", Register(f"PMEVTYPER{n}_EL0", PMEVTYPER.fields, state="PMEVTYPER"),
                           n=n))
    return {r.name: r for r in regs}


#: name -> SysReg, for every register of the model.
SYSREGS: dict[str, SysReg] = _declare()


def lookup(name: str) -> SysReg:
    """Return the declared register ``name`` (ValueError listing close names if unknown)."""
    if not isinstance(name, str):
        raise TypeError(f"register name must be a str, not {type(name).__name__}")
    try:
        return SYSREGS[name]
    except KeyError:
        raise ValueError(f"unknown PMU register {name!r}{close_names(name, SYSREGS)}") from None
