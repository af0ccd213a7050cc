"""Hypothesis strategies for the counter core: PMU shapes, register programs, event streams.

Values are biased towards the places where the architecture has edges: counters just below
2**32 and 2**64 (so that wraps and overflow flags happen), CHAIN/SW_INCR/CPU_CYCLES event
numbers, filters, and PMCR_EL0 P/C/D/LC/LP.
"""

from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from pmulab.bits import mask
from pmulab.hw import events, sysregs
from pmulab.hw.events import ArmEvent

VERSIONS = [v.value for v in sysregs.PmuVersion]
#: Events a program and a stream both use often, so that counters really count.
HOT_EVENTS = [ArmEvent.SW_INCR, ArmEvent.INST_RETIRED, ArmEvent.CPU_CYCLES, ArmEvent.CHAIN, ArmEvent.L1D_CACHE, 0x3F]
EVEN_EVENTS = [ArmEvent.INST_RETIRED, ArmEvent.CPU_CYCLES, ArmEvent.SW_INCR]


@st.composite
def configs(draw):
    """(cpus, counters, version) of a small PMU."""
    return draw(st.integers(1, 3)), draw(st.sampled_from([0, 1, 2, 3, 4, 5, 6, 31])), draw(st.sampled_from(VERSIONS))


def counter_values():
    """A counter value, often within a few hundred of a 32-bit or 64-bit wrap."""
    near = st.integers(1, 400)
    return st.one_of(
        st.integers(0, 1000),
        near.map(lambda k: 2**32 - k),
        near.map(lambda k: 2**64 - k),
        near.map(lambda k: 2**33 - k),
        st.integers(0, mask(64)),
    )


def evtypes():
    """A PMEVTYPER<n>_EL0 value: a hot event number with random filter bits, or anything."""
    filt = st.sampled_from([0, sysregs.PMEVTYPER["U"].mask, sysregs.PMEVTYPER["P"].mask,
                            sysregs.PMEVTYPER["U"].mask | sysregs.PMEVTYPER["P"].mask])
    hot = st.tuples(st.sampled_from(HOT_EVENTS + [0x40, 0xFFFF]), filt).map(lambda t: int(t[0]) | t[1])
    return st.one_of(hot, hot, st.integers(0, mask(64)))


def pmcr_values():
    """PMCR_EL0 writes: mostly E set, with random P, C, D, X, DP, LC, LP (and sometimes RO fields)."""
    low = st.integers(0, 0xFF)
    return st.one_of(low.map(lambda v: v | 1), low, st.integers(0, mask(64)))


def bitmaps():
    return st.one_of(st.integers(0, mask(32)), st.just(mask(32)), st.integers(0, mask(64)))


def value_for(name: str):
    """A value strategy suited to register ``name``."""
    if "CNTR" in name:
        return counter_values()
    if "TYPER" in name or name == "PMCCFILTR_EL0":
        return evtypes()
    if name == "PMCR_EL0":
        return pmcr_values()
    if name == "PMSELR_EL0":
        return st.integers(0, 31)
    if name == "PMUSERENR_EL0":
        return st.integers(0, 0x7F)
    return bitmaps()


@st.composite
def writes(draw, cfg):
    """("write", cpu, name, value, el) on a register, mostly an implemented one."""
    cpus, counters, _ = cfg
    n = draw(st.integers(0, max(counters - 1, 0)))
    common = ["PMSWINC_EL0", f"PMEVCNTR{n}_EL0", f"PMEVTYPER{n}_EL0", "PMCNTENSET_EL0", "PMCR_EL0", "PMSWINC_EL0",
              "PMCCNTR_EL0", "PMCCFILTR_EL0", "PMINTENSET_EL1", "PMOVSCLR_EL0", "PMSELR_EL0", "PMXEVTYPER_EL0"]
    name = draw(st.one_of(st.sampled_from(common), st.sampled_from(sorted(sysregs.SYSREGS))))
    return "write", draw(st.integers(0, cpus - 1)), name, draw(value_for(name)), draw(st.sampled_from([1, 1, 0]))


def amounts():
    return st.one_of(st.integers(0, 5), st.integers(0, 500), st.integers(0, 2**31 - 1))


@st.composite
def occurrences(draw, cpus: int, steps: int | None = None):
    """A sparse uint64 occurrence array (cpus, 2, NUM_EVENTS), or (steps, cpus, 2, NUM_EVENTS)."""
    lead = (cpus,) if steps is None else (steps, cpus)
    occ = np.zeros(lead + (2, events.NUM_EVENTS), np.uint64)
    entries = st.tuples(*(st.integers(0, k - 1) for k in lead), st.integers(0, 1),
                        st.one_of(st.sampled_from(HOT_EVENTS), st.integers(0, events.NUM_EVENTS - 1)), amounts())
    for *where, amount in draw(st.lists(entries, max_size=10)):
        occ[tuple(int(w) for w in where)] = amount  # each < 2**31, so EL0 + EL1 < 2**32
    return occ


@st.composite
def programs(draw, cfg, max_ops: int = 25):
    """Register writes interleaved with counting steps and short runs."""
    cpus = cfg[0]
    op = st.one_of(
        writes(cfg), writes(cfg),
        occurrences(cpus).map(lambda o: ("count", o)),
        st.integers(1, 4).flatmap(lambda s: occurrences(cpus, s)).map(lambda o: ("run", o)),
    )
    return draw(st.lists(op, min_size=1, max_size=max_ops))


@st.composite
def setups(draw, cfg):
    """Writes that program every implemented counter near a wrap, enable them all and set PMCR_EL0.E."""
    cpus, counters, _ = cfg
    ops = []
    for cpu in range(cpus):
        for n in range(counters):
            hot = ArmEvent.CHAIN if n % 2 else draw(st.sampled_from(EVEN_EVENTS))
            typer = st.one_of(st.just(int(hot)), st.just(int(hot)), evtypes())
            ops.append(("write", cpu, f"PMEVTYPER{n}_EL0", draw(typer), 1))
            ops.append(("write", cpu, f"PMEVCNTR{n}_EL0", draw(counter_values()), 1))
        cfilt = st.sampled_from([0, 0, sysregs.PMEVTYPER["U"].mask, sysregs.PMEVTYPER["P"].mask])
        ops.append(("write", cpu, "PMCCFILTR_EL0", draw(st.one_of(cfilt, evtypes())), 1))
        ops.append(("write", cpu, "PMCCNTR_EL0", draw(counter_values()), 1))
        ops.append(("write", cpu, "PMCNTENSET_EL0", mask(32), 1))
        ops.append(("write", cpu, "PMINTENSET_EL1", draw(bitmaps()), 1))
        modes = st.sampled_from([sysregs.PMCR[f].mask for f in ("D", "D", "LC", "LP", "X", "DP")])
        ops.append(("write", cpu, "PMCR_EL0", sysregs.PMCR["E"].mask | sum(draw(st.sets(modes))), 1))
    return ops


@st.composite
def chain_setups(draw):
    """(cfg, ops, steps): CHAIN pairs whose even counters sit within 60 of a wrap, fed INST_RETIRED."""
    cpus, counters = draw(st.integers(1, 2)), draw(st.sampled_from([2, 3, 4, 6]))
    version = draw(st.sampled_from(VERSIONS))
    filt = st.sampled_from([0, 0, sysregs.PMEVTYPER["U"].mask, sysregs.PMEVTYPER["P"].mask])
    near = st.integers(1, 60)
    ops = []
    for cpu in range(cpus):
        for n in range(counters):
            event = ArmEvent.CHAIN if n % 2 else ArmEvent.INST_RETIRED
            start = draw(st.one_of(near.map(lambda k: 2**32 - k), near.map(lambda k: 2**64 - k), st.just(2**32 - 1)))
            ops += [("write", cpu, f"PMEVTYPER{n}_EL0", int(event) | draw(filt), 1),
                    ("write", cpu, f"PMEVCNTR{n}_EL0", start, 1)]
        pmcr = sysregs.PMCR["E"].mask | draw(st.sampled_from([0, sysregs.PMCR["LP"].mask]))
        ops += [("write", cpu, "PMCNTENSET_EL0", draw(st.sampled_from([mask(32), mask(32), 0b1011])), 1),
                ("write", cpu, "PMCR_EL0", pmcr, 1)]
    steps = np.zeros((draw(st.integers(1, 5)), cpus, 2, events.NUM_EVENTS), np.uint64)
    amounts_ = st.lists(st.integers(0, 40), min_size=steps.size // events.NUM_EVENTS,
                        max_size=steps.size // events.NUM_EVENTS)
    steps[..., ArmEvent.INST_RETIRED] = np.array(draw(amounts_), np.uint64).reshape(steps.shape[:3])
    return (cpus, counters, version), ops, steps
