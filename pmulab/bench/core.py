"""Benchmark of the counter core: ``CounterBank.count`` per step against its reference and a NumPy floor.

Models: one ``Machine`` tick's hardware phase (design.md §4 step 2) for every CPU at once, on the
register program of ``pmulab.bench.program`` (mixed events, U/P filters, CHAIN pairs, SW_INCR,
the cycle divider, counters just below the 32-bit overflow), compared with
(a) ``CounterBankRef.count`` on the same input (the scalar twin, the speed a plain Python model has);
(b) ``lower_bound_step``: the gather + add + compare any vectorised implementation must do
    (occurrences gathered by a precompiled index, masked by a precompiled counting mask, EL0 and
    EL1 summed, the 32-bit carry compared, the values added and cut to their width, the overflow
    flags or-ed).
Omits: the lower bound ignores CHAIN, the divider and 64-bit overflow (it is a floor, not a model).
Pinned to: issue 8 targets: >= 100x the reference at 64 CPUs; <= 3x the floor at 256 CPUs.
"""

from __future__ import annotations

import numpy as np

from pmulab.bits import mask
from pmulab.hw.counters import CounterBank
from pmulab.hw.counters_ref import CounterBankRef

from .program import lower_bound_program, occurrences, program
from .sizes import Sizes
from .timing import Figure, Section, medians

__all__ = ["bench_counter_core", "lower_bound_step", "cycling"]

_POOL = 16  # distinct occurrence steps cycled through by the timed calls
_SPEEDUP_AT, _SPEEDUP_MIN = 64, 100.0
_FLOOR_AT, _FLOOR_MAX = 256, 3.0
_CHECK_STEPS = 24


def lower_bound_step(bank):
    """A step function ``f(occ)`` doing only what a minimal vectorised counter core must do per step.

    It starts from the bank's state and keeps its own copies (``f.values``, ``f.pmovs``); the
    gather index and counting mask are compiled once from the registers.
    """
    index, counting = lower_bound_program(bank)
    cmask = counting.astype(np.uint64)
    value, pmovs = bank.values.copy(), bank.pmovs.copy()
    m32 = np.uint64(mask(32))
    width = np.full(value.shape[1], mask(64 if bank.long_counters else 32), np.uint64)
    width[-1] = mask(64)  # PMCCNTR_EL0 is 64 bits wide

    def step(occ):
        g = occ.reshape(-1).take(index)  # gather: (cpus, 2, 32)
        g *= cmask  # counts only where enabled and the filter allows the EL
        d = g[:, 0] + g[:, 1]  # EL0 + EL1
        pmovs.__ior__((value & m32) + d > m32)  # compare: 32-bit carry -> overflow flag
        value.__iadd__(d)  # add
        value.__iand__(width)  # stored width of each counter

    step.values, step.pmovs = value, pmovs
    return step


def cycling(fn, occ):
    """A no-argument callable calling ``fn(occ[i])`` for i = 0, 1, ... cycling through the steps."""
    state = [0]
    n = occ.shape[0]

    def call():
        fn(occ[state[0] % n])
        state[0] += 1

    return call


def _agree(cpus: int, counters: int) -> bool:
    """Do CounterBank and CounterBankRef end in the same state on the benchmark program?"""
    banks = [cls(cpus, counters) for cls in (CounterBank, CounterBankRef)]
    occ = occurrences(cpus, _CHECK_STEPS, seed=7)
    for b in banks:
        program(b)
        for s in range(_CHECK_STEPS):
            b.count(occ[s])
    a, r = (b.state_dict() for b in banks)
    return all(np.array_equal(a[k], r[k]) for k in a)


def bench_counter_core(sizes: Sizes) -> Section:
    """Per-step cost of CounterBank.count at each CPU count, and the two ratios."""
    figs: list[Figure] = []
    notes = []
    for cpus in sizes.counter_cpus:
        occ = occurrences(cpus, _POOL)
        bank, ref = CounterBank(cpus, sizes.counters), CounterBankRef(cpus, sizes.counters)
        program(bank)
        program(ref)
        floor = lower_bound_step(bank)
        t_bank, t_floor = medians([cycling(bank.count, occ), cycling(floor, occ)], sizes.count_repeat,
                                  [sizes.count_number] * 2)
        (t_ref,) = medians([cycling(ref.count, occ)], sizes.ref_repeat, [sizes.ref_calls(cpus)])
        speed, over = t_ref / t_bank, t_bank / t_floor
        at = f"@{cpus}cpu"
        figs += [
            Figure(f"count_us{at}", t_bank * 1e6, "us/step", f"CounterBank.count, one step, {cpus} CPUs x 32 slots"),
            Figure(f"ref_us{at}", t_ref * 1e6, "us/step", f"CounterBankRef.count on the same input, {cpus} CPUs"),
            Figure(f"floor_us{at}", t_floor * 1e6, "us/step", f"NumPy lower bound (gather+add+compare), {cpus} CPUs"),
            Figure(f"speedup_vs_ref{at}", speed, "x", "CounterBankRef time / CounterBank time",
                   *((f">= {_SPEEDUP_MIN:g}x", speed >= _SPEEDUP_MIN) if cpus == _SPEEDUP_AT else ())),
            Figure(f"over_floor{at}", over, "x", "CounterBank time / NumPy lower-bound time",
                   *((f"<= {_FLOOR_MAX:g}x", over <= _FLOOR_MAX) if cpus == _FLOOR_AT else ())),
        ]
    check = min(sizes.counter_cpus[-1], 8)
    agree = _agree(check, sizes.counters)
    notes.append(f"CounterBank and CounterBankRef {'agree' if agree else 'DISAGREE'} on the benchmark program "
                 f"({check} CPUs, {_CHECK_STEPS} steps: values, overflow flags, divider residue)")
    if not agree:
        raise AssertionError(notes[-1])
    return Section("counter_core", "Counter core: CounterBank.count per step", figures=tuple(figs), notes=tuple(notes))
