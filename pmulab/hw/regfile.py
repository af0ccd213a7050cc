"""The EL1 register interface shared by the counter core and its scalar reference twin.

Models: how an EL1 ``MRS``/``MSR`` of each PMUv3 register reaches the counter state (Arm ARM
D24 "Performance Monitors registers"): which storage a register views (SET/CLR pairs share one,
PMXEVCNTR_EL0/PMXEVTYPER_EL0 reach counter PMSELR_EL0.SEL), RAZ/WI bits of unimplemented counters,
RES0 bits of features the modelled PMU version lacks (PMCR_EL0.LP before PMUv3p5,
PMUSERENR_EL0.UEN before PMUv3p9), the 32-bit width of event counters before PMUv3p5, the
write-only actions (PMCR_EL0.P/C, PMSWINC_EL0) and the UNDEFINED accesses (an ``MRS`` of a
write-only register, an ``MSR`` of a read-only one, PMUACR_EL1 before PMUv3p9, a counter at or
beyond PMCR_EL0.N). Subclasses own the storage and the counting; this class owns the decoding.
Omits: EL0 access rules (``pmulab.hw.cpu``), EL2/EL3 views, FEAT_FGT.
Pinned to: Arm ARM DDI 0487 (PMUv3p4, PMUv3p5, PMUv3p9 register pages).

CONSTRAINED UNPREDICTABLE choices (documented so that tests and notebooks can rely on them):

- PMEVCNTR<n>_EL0 / PMEVTYPER<n>_EL0 with n >= PMCR_EL0.N, and PMXEV* with PMSELR_EL0.SEL
  selecting such a counter: UNDEFINED (``IllegalInstruction``, el=1), the behaviour the Arm ARM
  mandates when FEAT_FGT is implemented and one of the permitted ones otherwise.
- PMXEVCNTR_EL0 with PMSELR_EL0.SEL = 31: UNDEFINED (PMXEVTYPER_EL0 with SEL = 31 is PMCCFILTR_EL0).
"""

from __future__ import annotations

import abc
import copy
import operator

import numpy as np

from pmulab.bits import Register, mask
from pmulab.errors import IllegalInstruction
from pmulab.hw import events, sysregs

__all__ = ["RegisterFile", "check_bound", "check_occurrences", "pmceid"]

_VERSIONS = list(sysregs.PmuVersion)
_SEL = sysregs.SYSREGS["PMSELR_EL0"].layout["SEL"]
_SWINC = sysregs.SYSREGS["PMSWINC_EL0"].layout
_PMCR_P, _PMCR_C = sysregs.PMCR["P"].mask, sysregs.PMCR["C"].mask
#: Storage viewed by the registers whose declaration does not name a shared state.
_STATE = {
    "PMCR_EL0": "PMCR", "PMSELR_EL0": "PMSELR", "PMUSERENR_EL0": "PMUSERENR", "PMUACR_EL1": "PMUACR",
    "PMCCNTR_EL0": "PMEVCNTR", "PMXEVCNTR_EL0": "PMEVCNTR", "PMCCFILTR_EL0": "PMEVTYPER",
    "PMXEVTYPER_EL0": "PMEVTYPER",
}
#: Per-counter bitmap states: bits of unimplemented counters are RAZ/WI.
BITMAPS = ("PMCNTEN", "PMOVS", "PMINTEN", "PMUACR")
#: Per-CPU words (everything else is per counter slot).
WORDS = ("PMCR", "PMSELR", "PMUSERENR")


def pmceid(index: int) -> int:
    """PMCEID<index>_EL0: bit i of the low half set iff common event 32*index + i is implemented.

    Arm ARM D24 PMCEID0/1_EL0; the high halves (extended events 0x4000+, PMUv3p1) read as 0.
    """
    return sum(1 << (e - 32 * index) for e in events.ArmEvent if 32 * index <= e < 32 * index + 32)


def check_occurrences(occ, lead: tuple[int, ...], what: str, bound: bool = True) -> np.ndarray:
    """Validate an occurrence array of shape ``lead + (2, NUM_EVENTS)``, dtype uint64.

    Precondition of the counter core: for every CPU and event, EL0 + EL1 occurrences in one step
    are below 2**32, so that no counter can overflow twice in a step (ValueError otherwise;
    ``bound=False`` leaves that check to the caller, ``check_bound``).
    """
    shape = lead + (2, events.NUM_EVENTS)
    if not isinstance(occ, np.ndarray) or occ.dtype != np.uint64 or occ.shape != shape:
        got = f"{occ.dtype} array of shape {occ.shape}" if isinstance(occ, np.ndarray) else type(occ).__name__
        raise ValueError(f"{what}: expected a uint64 array of shape {shape} ({' x '.join(_axes(lead))}"
                         f" x EL0/EL1 x event), got {got}")
    return check_bound(occ, what) if bound else occ


def check_bound(occ: np.ndarray, what: str) -> np.ndarray:
    """The precondition alone: EL0 + EL1 occurrences (last two axes) of one event in one step < 2**32."""
    top = int(occ.max()) if occ.size else 0
    if top >> 31 and (top >> 32 or int((occ[..., 0, :] + occ[..., 1, :]).max()) >> 32):  # below 2**31: no sum
        raise ValueError(f"{what}: EL0 + EL1 occurrences of one event in one step must be < 2**32")
    return occ


def _axes(lead):
    return ("steps", "cpus")[2 - len(lead):]


class RegisterFile(abc.ABC):
    """Raw (EL1) ``read``/``write`` of every register in ``sysregs.SYSREGS`` for ``cpus`` PEs.

    Parameters
    ----------
    cpus:
        Number of PEs.
    counters:
        PMCR_EL0.N, the number of implemented event counters (0..31).
    long_counters:
        FEAT_PMUv3p5 64-bit event counters (ignored when ``version`` is given).
    version:
        A ``sysregs.PmuVersion`` or its string; it decides ``long_counters`` (v3p5+) and whether
        PMUACR_EL1 and PMUSERENR_EL0.UEN exist (v3p9). Default: v3p5 if ``long_counters`` else v3p4.

    Attributes
    ----------
    cpus, counters, version, long_counters, implemented (int bitmap: event counters 0..N-1 and bit 31).
    """

    def __init__(self, cpus: int, counters: int, long_counters: bool = False, *, version=None):
        for name, v, hi in (("cpus", cpus, None), ("counters", counters, sysregs.MAX_EVENT_COUNTERS)):
            if isinstance(v, bool) or not isinstance(v, int):
                raise TypeError(f"{name} must be an int, not {type(v).__name__}")
            if v < (1 if hi is None else 0) or (hi is not None and v > hi):
                raise ValueError(f"{name}={v} out of range" + (f" 0..{hi} (PMCR_EL0.N)" if hi else " (>= 1)"))
        if not isinstance(long_counters, bool):
            raise TypeError(f"long_counters must be a bool, not {type(long_counters).__name__}")
        if version is None:
            version = sysregs.PmuVersion.V3P5 if long_counters else sysregs.PmuVersion.V3P4
        version = sysregs.PmuVersion.parse(version)
        if long_counters and not version.long_counters:
            raise ValueError(f"long_counters=True needs PMUv3p5 or later, not {version.value}")
        self.cpus, self.counters, self.version = cpus, counters, version
        self.long_counters = version.long_counters
        self.implemented = mask(counters) | 1 << sysregs.CYCLE_SLOT
        self.event_counters = mask(counters)
        self.pmcr_reset = sysregs.PMCR["N"].put(sysregs.PMCR.reset, counters)
        self._plans: tuple[dict, dict] = ({}, {})  # [write][name] -> decoded EL1 access (None: decode each time)

    # --- decoded accesses (the fast path of read/write) -----------------------------------------
    def _plan(self, name, write: bool):
        """The decoding of a direct EL1 access, computed once per (register, direction); None: decode each time.

        Only registers whose decoding never depends on state (not PMXEV*, not PMSWINC_EL0/PMCEID*)
        and which are defined on this PMU get a plan: (state, slot, max value, and for a write the
        bits kept (not RW), the bits written (RW or W1S), the W1C bits and the RAZ/WI cut; for a read
        the readable mask).
        """
        plans = self._plans[write]
        plan = plans.get(name, False)
        if plan is not False:
            return plan
        plan = None
        reg = sysregs.SYSREGS.get(name) if isinstance(name, str) else None
        if reg is not None and not reg.indirect and name != "PMSWINC_EL0" and not name.startswith("PMCEID"):
            try:
                layout, state, slot = self._resolve(0, name, write)
            except IllegalInstruction:
                layout = None
            if layout is not None:
                wm = layout.writable_mask
                plan = ((state, slot, mask(layout.width), ~wm, wm | layout.set_mask, layout.clear_mask,
                         self._keep(state, slot)) if write else (state, slot, layout.readable_mask))
        plans[name] = plan
        return plan

    def _write_plan(self, cpu, name, value):
        """The plan of an EL1 write when it applies (planned register, cpu and value ints in range), else None."""
        if name.__class__ is not str:
            return None
        plan = self._plans[1].get(name, False)
        if plan is False:
            plan = self._plan(name, True)
        if (plan is None or value.__class__ is not int or cpu.__class__ is not int or not 0 <= cpu < self.cpus
                or not 0 <= value <= plan[2]):
            return None
        return plan

    def _read_plan(self, cpu, name):
        """The plan of an EL1 read when it applies (planned register, cpu an int in range), else None."""
        if name.__class__ is not str:
            return None
        plan = self._plans[0].get(name, False)
        if plan is False:
            plan = self._plan(name, False)
        if plan is None or cpu.__class__ is not int or not 0 <= cpu < self.cpus:
            return None
        return plan

    def _fast_write(self, cpu: int, name: str, value: int) -> bool:
        """``write(cpu, name, value)`` at EL1 when it is a planned register, cpu and value ints in range.

        Returns False (nothing done) otherwise: the caller takes the checked path.
        """
        plan = self._write_plan(cpu, name, value)
        if plan is None:
            return False
        state, slot, _, kept, written, cm, keep = plan
        old = self._load(cpu, state, slot)  # RW bits take the value, W1S set, W1C clear (Register.apply_write)
        self._store(cpu, state, slot, ((old & kept) | (value & written)) & ~(value & cm) & keep)
        if state == "PMCR":
            self._pmcr_actions(cpu, value)
        return True

    def _fast_read(self, cpu: int, name: str) -> int | None:
        """``read(cpu, name)`` when it is a planned register and cpu an int in range; None otherwise."""
        plan = self._read_plan(cpu, name)
        if plan is None:
            return None
        return self._load(cpu, plan[0], plan[1]) & plan[2]

    # --- storage and actions (subclasses) ------------------------------------------------------
    @abc.abstractmethod
    def _load(self, cpu: int, state: str, slot: int | None) -> int:
        """Stored value of ``state`` (a WORDS or BITMAPS name, or PMEVCNTR/PMEVTYPER at ``slot``)."""

    @abc.abstractmethod
    def _store(self, cpu: int, state: str, slot: int | None, value: int) -> None: ...

    @abc.abstractmethod
    def _clear(self, cpu: int, slots: int) -> None:
        """PMCR_EL0.P/C: zero the counters whose bits are set in ``slots`` (C also restarts the divider)."""

    @abc.abstractmethod
    def _software_increment(self, cpu: int, slots: int, el: int) -> None:
        """PMSWINC_EL0 write of ``slots`` (already limited to implemented event counters) at ``el``."""

    @abc.abstractmethod
    def _arrays(self) -> dict[str, np.ndarray]:
        """The state as arrays (keys of ``state_dict``)."""

    # --- the register interface ----------------------------------------------------------------
    def read(self, cpu: int, name: str) -> int:
        """EL1 ``MRS <name>`` on ``cpu``: the stored state, write-only bits reading as zero."""
        value = self._fast_read(cpu, name)
        if value is not None:
            return value
        cpu = self._check_cpu(cpu)
        layout, state, slot = self._resolve(cpu, name, write=False)
        if state.startswith("PMCEID"):
            return pmceid(int(name[6]))
        return self._load(cpu, state, slot) & layout.readable_mask

    def write(self, cpu: int, name: str, value: int, *, el: int = 1) -> None:
        """EL1 ``MSR <name>, value`` on ``cpu``.

        ``el`` is the exception level the write executes at; only PMSWINC_EL0 depends on it (the
        SW_INCR event it raises is filtered by PMEVTYPER<n>_EL0.U/P like any event). Nothing
        changes when an error is raised.
        """
        if el.__class__ is int and el == 1 and self._fast_write(cpu, name, value):
            return
        cpu = self._check_cpu(cpu)
        if isinstance(el, bool) or el not in (0, 1):
            raise ValueError(f"el must be 0 or 1, not {el!r}")
        layout, state, slot = self._resolve(cpu, name, write=True)
        try:
            if isinstance(value, bool):
                raise TypeError
            value = operator.index(value)  # also NumPy integers
        except TypeError:
            raise TypeError(f"{name}: value must be an int, not {type(value).__name__}") from None
        layout.check(value)
        if name == "PMSWINC_EL0":
            self._software_increment(cpu, value & _SWINC.action_mask & self.event_counters, el)
            return
        new = layout.apply_write(self._load(cpu, state, slot), value) & self._keep(state, slot)
        self._store(cpu, state, slot, new)
        if state == "PMCR":
            self._pmcr_actions(cpu, value)

    def _pmcr_actions(self, cpu: int, value: int) -> None:
        """PMCR_EL0.P zeroes the event counters, PMCR_EL0.C the cycle counter (and its divider)."""
        if value & _PMCR_P:
            self._clear(cpu, self.event_counters)
        if value & _PMCR_C:
            self._clear(cpu, 1 << sysregs.CYCLE_SLOT)

    def _keep(self, state: str, slot: int | None) -> int:
        """Bits a write may store: RAZ/WI bits of unimplemented counters and absent features are cut."""
        if state in BITMAPS:
            return self.implemented
        if state == "PMCR" and not self.long_counters:
            return ~sysregs.PMCR["LP"].mask
        if state == "PMUSERENR" and not self.version.per_counter_el0:
            return ~sysregs.PMUSERENR["UEN"].mask
        if state == "PMEVCNTR" and slot != sysregs.CYCLE_SLOT and not self.long_counters:
            return mask(32)
        return mask(64)

    def _resolve(self, cpu: int, name: str, write: bool) -> tuple[Register, str, int | None]:
        """(effective layout, state, counter slot) of an EL1 access, or IllegalInstruction if UNDEFINED."""
        reg = sysregs.lookup(name)

        def undefined(why):
            return IllegalInstruction(name, write, 1, (), why=f"UNDEFINED: {why}")

        if _VERSIONS.index(self.version) < _VERSIONS.index(reg.min_version):
            raise undefined(f"{name} needs PMU {reg.min_version.value}, this PMU is {self.version.value}")
        if write and not reg.writable:
            raise undefined("read-only register")
        if not write and not reg.readable:
            raise undefined("write-only register")
        layout, slot = reg.layout, reg.n
        if reg.indirect:
            slot = _SEL.get(self._load(cpu, "PMSELR", None))
            if slot == sysregs.CYCLE_SLOT:
                if name == "PMXEVCNTR_EL0":
                    raise undefined("PMSELR_EL0.SEL=31 selects no event counter for PMXEVCNTR_EL0")
                layout = sysregs.PMCCFILTR
        if slot is not None and slot != sysregs.CYCLE_SLOT and slot >= self.counters:
            raise undefined(f"event counter {slot} is not implemented (PMCR_EL0.N={self.counters})")
        return layout, _STATE.get(reg.name, reg.layout.state), slot

    def _check_cpu(self, cpu) -> int:
        if isinstance(cpu, bool) or not isinstance(cpu, (int, np.integer)):
            raise TypeError(f"cpu must be an int, not {type(cpu).__name__}")
        if not 0 <= cpu < self.cpus:
            raise ValueError(f"cpu {cpu} out of range 0..{self.cpus - 1}")
        return int(cpu)

    # --- views -----------------------------------------------------------------------------------
    def _view(self, key: str) -> np.ndarray:
        v = self._arrays()[key].view()
        v.flags.writeable = False
        return v

    values = property(lambda self: self._view("values"), doc="PMEVCNTR<n>_EL0 / PMCCNTR_EL0, (cpus, 32) uint64.")
    evtype = property(lambda self: self._view("evtype"), doc="PMEVTYPER<n>_EL0 / PMCCFILTR_EL0, (cpus, 32) uint64.")
    pmcnten = property(lambda self: self._view("pmcnten"), doc="PMCNTENSET_EL0 bits, (cpus, 32) bool.")
    pmovs = property(lambda self: self._view("pmovs"), doc="PMOVSSET_EL0 overflow flags, (cpus, 32) bool.")
    pminten = property(lambda self: self._view("pminten"), doc="PMINTENSET_EL1 bits, (cpus, 32) bool.")
    pmuacr = property(lambda self: self._view("pmuacr"), doc="PMUACR_EL1 bits (PMUv3p9), (cpus, 32) bool.")
    pmcr = property(lambda self: self._view("pmcr"), doc="PMCR_EL0 as stored, (cpus,) uint64.")
    pmselr = property(lambda self: self._view("pmselr"), doc="PMSELR_EL0, (cpus,) uint64.")
    pmuserenr = property(lambda self: self._view("pmuserenr"), doc="PMUSERENR_EL0, (cpus,) uint64.")

    @property
    def irq(self) -> np.ndarray:
        """Per-CPU PMU interrupt request: some counter has both its PMOVS and PMINTEN bit (Arm ARM D24)."""
        a = self._arrays()
        return (a["pmovs"] & a["pminten"]).any(axis=1)

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every state array (``prescale`` is the PMCR_EL0.D divide-by-64 residue per CPU)."""
        return {k: v.copy() for k, v in self._arrays().items()}

    def copy(self):
        """An independent bank in the same state."""
        return copy.deepcopy(self)

    def __repr__(self) -> str:
        return f"{type(self).__name__}(cpus={self.cpus}, counters={self.counters}, version={self.version.value!r})"
