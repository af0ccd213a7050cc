"""Benchmark of trace mode: ``CounterBank.run`` over (steps x CPUs), its growth in steps and its memory.

Models: recording the counter values of every tick of a long run at once (design.md §2,
``run(occ_steps)``), compared with ``np.cumsum`` along the steps of an array of the same shape
as ``run``'s input (steps, cpus, 2, NUM_EVENTS): a running sum over the occurrences is the least
a trace of counter values must compute. A cumsum over the output shape (steps, cpus, 32) is
reported too, as the tighter floor.
Omits: one single ``run`` call at sizes above ``Sizes.trace_chunk`` steps: the input alone is
8 KiB per tick at 8 CPUs (8 GiB at 1e6 steps), so larger runs are fed in chunks of
``trace_chunk`` steps, the bank carrying its state from one call to the next (the values are
the same as one call would give; the cumsum comparison is chunked the same way).
Pinned to: issue 8: within 3x of cumsum, linear in steps (fitted exponent), peak memory at
1e6 x 8 (tracemalloc, which sees NumPy's allocations) and bytes per tick.
"""

from __future__ import annotations

import tracemalloc

import numpy as np

from pmulab.hw import events, sysregs
from pmulab.hw.counters import CounterBank

from .program import occurrences, program
from .sizes import Sizes
from .timing import Figure, Section, fit_exponent, medians

__all__ = ["bench_trace"]

_CUMSUM_MAX, _LINEAR = 3.0, (0.9, 1.1)


def _cumsum_with_carry(shape_like):
    """np.cumsum along steps, chunk after chunk, each chunk starting from the previous total."""
    carry = [np.zeros(shape_like.shape[1:], np.uint64)]

    def fn(a):
        out = np.cumsum(a, axis=0)
        out += carry[0]
        carry[0] = out[-1]
        return out

    return fn


def bench_trace(sizes: Sizes) -> Section:
    """Trace-mode time per size, ratios to cumsum, the fitted exponent and the memory figures.

    Up to ``trace_chunk`` steps: median of ``trace_repeat`` whole runs. Above: one pass of
    ``steps / trace_chunk`` chunk calls, each chunk of run and of cumsum timed in alternation; the
    figure is the median chunk time times the number of chunks (the chunks are the repetitions).
    That pass keeps the whole trace under tracemalloc: it gives the memory figures.
    """
    cpus, figs = sizes.trace_cpus, []
    bank = CounterBank(cpus, sizes.counters)
    program(bank)
    times, memory = [], []
    for steps in sizes.trace_steps:
        t_run, t_in, t_out, mem = _time_size(bank, sizes, steps)
        memory = mem or memory
        times.append(t_run)
        ratio = t_run / t_in
        at = f"@{steps:.0e}".replace("e+0", "e")
        figs += [
            Figure(f"run_s{at}", t_run, "s", f"CounterBank.run, {steps} steps x {cpus} CPUs"),
            Figure(f"run_ns_per_tick{at}", t_run / steps * 1e9, "ns/tick", "run time per step (all CPUs)"),
            Figure(f"cumsum_in_s{at}", t_in, "s", f"np.cumsum over ({steps}, {cpus}, 2, {events.NUM_EVENTS})"),
            Figure(f"over_cumsum{at}", ratio, "x", "run time / cumsum over run's input shape",
                   f"<= {_CUMSUM_MAX:g}x", ratio <= _CUMSUM_MAX),
            Figure(f"over_cumsum_out{at}", t_run / t_out, "x",
                   f"run time / cumsum over the output shape ({steps}, {cpus}, 32) (informative)"),
        ]
    k = fit_exponent(sizes.trace_steps, times)
    figs.append(Figure("steps_exponent", k, "exponent", "k in run time ~ steps**k (log-log least squares)",
                       f"{_LINEAR[0]}..{_LINEAR[1]}", _LINEAR[0] <= k <= _LINEAR[1]))
    notes = [f"sizes above {sizes.trace_chunk} steps run as chunks of {sizes.trace_chunk} steps (one pass; "
             "figure = median chunk time x chunks; the memory figures come from that pass)"]
    return Section("trace", "Trace mode: CounterBank.run over steps x CPUs", figures=tuple(figs + memory),
                   notes=tuple(notes))


def _time_size(bank, sizes: Sizes, steps: int):
    """(run, cumsum over input shape, cumsum over output shape) seconds at ``steps``, and memory figures."""
    cpus, big = sizes.trace_cpus, steps > sizes.trace_chunk
    occ = occurrences(cpus, sizes.trace_chunk if big else steps)
    out_like = np.ones((occ.shape[0], cpus, sysregs.NUM_SLOTS), np.uint64)
    kept: list = []
    cin, cout = _cumsum_with_carry(occ), _cumsum_with_carry(out_like)
    calls = -(-steps // occ.shape[0]) if big else 1
    if not big:
        return (*medians([lambda: bank.run(occ), lambda: cin(occ), lambda: cout(out_like)], sizes.trace_repeat,
                         [1, 1, 1]), [])
    peak = [0]

    def run():  # the peak is taken over run's calls only (the cumsum comparisons allocate their own outputs)
        tracemalloc.reset_peak()
        kept.append(bank.run(occ))
        peak[0] = max(peak[0], tracemalloc.get_traced_memory()[1])

    tracemalloc.start()
    try:
        times = medians([run, lambda: cin(occ), lambda: cout(out_like)], calls, [1, 1, 1])
        memory = _memory(peak[0], kept, steps, cpus, occ.nbytes)
    finally:
        tracemalloc.stop()
    return (*(t * calls for t in times), memory)


def _memory(peak: int, kept: list, steps: int, cpus: int, input_bytes: int) -> list[Figure]:
    """Memory figures of the chunked pass at the largest size (the whole trace kept, as a caller would)."""
    trace_bytes = sum(k.nbytes for k in kept)
    per_tick_in = cpus * 2 * events.NUM_EVENTS * 8
    return [
        Figure("peak_MiB@max", peak / 2**20, "MiB",
               f"peak memory allocated during trace mode at {steps} steps x {cpus} CPUs, trace kept"
               f" (tracemalloc; the reused chunk input of {input_bytes / 2**20:.0f} MiB excluded)"),
        Figure("trace_bytes_per_tick", trace_bytes / steps, "B/tick", "size of the returned trace per tick"),
        Figure("input_bytes_per_tick", per_tick_in, "B/tick", "size of the occurrence input per tick"),
        Figure("peak_bytes_per_tick", peak / steps, "B/tick", "peak memory / steps (trace + temporaries)"),
    ]
