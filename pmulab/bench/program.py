"""The register program and event streams the counter benchmarks run.

Models: what a busy Linux perf session asks of every PE's PMUv3, written through the EL1
register interface (Arm ARM D24 register pages): PMCR_EL0.E set, some PEs with the 64-bit cycle
counter (LC) and some dividing it by 64 (D); every implemented counter enabled and interrupting
(PMCNTENSET_EL0, PMINTENSET_EL1) but one; a mix of common events with EL0/EL1 filters
(PMEVTYPER<n>_EL0.U/P, PMCCFILTR_EL0.P); CHAIN (0x1E) pairs, as the arm_pmuv3 driver programs
a 64-bit event on a 32-bit PMU (Kernel: armv8pmu_write_evtype with ARMV8_PMU_EVTYPE_CHAIN); a
SW_INCR counter; counters preset just below 2**32 so overflows and CHAIN carries happen in the
first steps. Occurrences are per-CPU workload rates with a seeded jitter.
Omits: register writes between steps (the program is fixed during a benchmark, as it is
between two perf reprogrammings).
Pinned to: Arm ARM DDI 0487 (PMUv3p4 register layouts); Linux v5.17 arm_pmuv3 chaining.
"""

from __future__ import annotations

import numpy as np

from pmulab.hw import events, sysregs
from pmulab.hw.events import ArmEvent

__all__ = ["MIX", "program", "occurrences", "lower_bound_program"]

#: Events a perf session typically spreads over the counters (perf stat -d style).
MIX = (ArmEvent.INST_RETIRED, ArmEvent.CPU_CYCLES, ArmEvent.L1D_CACHE, ArmEvent.L1D_CACHE_REFILL,
       ArmEvent.BR_RETIRED, ArmEvent.BR_MIS_PRED_RETIRED, ArmEvent.LD_RETIRED, ArmEvent.ST_RETIRED,
       ArmEvent.L2D_CACHE, ArmEvent.L2D_CACHE_REFILL, ArmEvent.STALL_FRONTEND, ArmEvent.STALL_BACKEND,
       ArmEvent.MEM_ACCESS, ArmEvent.INST_SPEC, ArmEvent.BUS_ACCESS, ArmEvent.EXC_TAKEN)
_U, _P = sysregs.PMEVTYPER["U"], sysregs.PMEVTYPER["P"]
_PMCR = sysregs.PMCR


def program(bank, seed: int = 0) -> None:
    """Write the benchmark's register program into ``bank`` (a CounterBank or CounterBankRef).

    Per CPU c: PMCR_EL0 = E (+ LC when c % 2, + D when c % 4 == 2); counters 0..N-1 and the cycle
    counter enabled and interrupting except counter N-1 on odd CPUs; every fourth even/odd pair
    is a CHAIN pair (even counter: a MIX event; odd: CHAIN); counter 4 counts SW_INCR; the others
    count MIX events with U or P set one time in four; counters preset in [2**32 - 2**16, 2**32).
    """
    rng = np.random.default_rng(seed)
    n = bank.counters
    for cpu in range(bank.cpus):
        pmcr = _PMCR["E"].mask | (_PMCR["LC"].mask if cpu % 2 else 0) | (_PMCR["D"].mask if cpu % 4 == 2 else 0)
        bank.write(cpu, "PMCR_EL0", pmcr)
        enabled = bank.implemented & ~(1 << (n - 1) if cpu % 2 and n else 0)
        bank.write(cpu, "PMCNTENSET_EL0", enabled)
        bank.write(cpu, "PMINTENSET_EL1", bank.implemented)
        bank.write(cpu, "PMCCFILTR_EL0", _P.mask if cpu % 3 == 0 else 0)
        for k in range(n):
            if k % 2 and (k // 2) % 4 == 0:
                evt = ArmEvent.CHAIN
            elif k == 4:
                evt = ArmEvent.SW_INCR
            else:
                evt = MIX[int(rng.integers(len(MIX)))]
            filt = int(rng.choice([0, 0, _U.mask, _P.mask]))
            bank.write(cpu, f"PMEVTYPER{k}_EL0", int(evt) | filt)
            bank.write(cpu, f"PMEVCNTR{k}_EL0", (1 << 32) - int(rng.integers(1, 1 << 16)))


def occurrences(cpus: int, steps: int, seed: int = 0, distinct: int = 64) -> np.ndarray:
    """Occurrences ``(steps, cpus, 2, NUM_EVENTS)`` uint64: per-CPU rates (up to ~4000 a step) with jitter.

    Every MIX event occurs at both ELs (EL1 about a tenth of EL0); events outside MIX never occur.
    ``distinct`` jittered steps are drawn and repeated in turn (cheap to build at 1e5 steps).
    """
    rng = np.random.default_rng(seed + 1)
    rate = np.zeros((cpus, 2, events.NUM_EVENTS))
    mix = np.array([int(e) for e in MIX])
    rate[:, 0, mix] = rng.uniform(100, 4000, (cpus, len(mix)))
    rate[:, 1, mix] = rate[:, 0, mix] * rng.uniform(0.05, 0.15, (cpus, len(mix)))
    pool = (rate[None] * rng.uniform(0.8, 1.2, (distinct, cpus, 1, 1))).astype(np.uint64)
    return pool[np.arange(steps) % distinct]


def lower_bound_program(bank) -> tuple[np.ndarray, np.ndarray]:
    """The compiled program a minimal implementation would keep: (flat gather index, count mask).

    ``index`` (cpus, 2, 32) intp indexes the flattened occurrence array ``(cpus * 2 * NUM_EVENTS)``;
    ``counting`` (cpus, 2, 32) bool says which (counter, EL) counts. Derived from the bank's
    registers once, as a declare/build/run core compiles register writes (style anchors §6).
    """
    a = bank.state_dict()
    evt = (a["evtype"] & np.uint64(sysregs.PMEVTYPER["evtCount"].mask)).astype(np.intp)
    evt[:, sysregs.CYCLE_SLOT] = int(ArmEvent.CPU_CYCLES)
    plain = (evt < events.NUM_EVENTS) & (evt != ArmEvent.SW_INCR) & (evt != ArmEvent.CHAIN)
    en = ((a["pmcr"] & np.uint64(_PMCR["E"].mask)) != 0)[:, None] & a["pmcnten"] & plain
    allow = np.stack([(a["evtype"] & np.uint64(_U.mask)) == 0, (a["evtype"] & np.uint64(_P.mask)) == 0], axis=1)
    cpus = bank.cpus
    base = (np.arange(cpus)[:, None, None] * 2 + np.arange(2)[None, :, None]) * events.NUM_EVENTS
    index = base + np.where(plain, evt, 0)[:, None, :]
    return index.astype(np.intp), en[:, None, :] & allow
