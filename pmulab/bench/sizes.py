"""The sizes and repetition counts of a bench run: ``FULL`` (the issue's sizes) and ``QUICK`` (smoke test).

Models: nothing of the PMU; the knobs of the measuring apparatus, frozen so that no run can
change another's.
Omits: per-host tuning (the same sizes run everywhere; the table records the host).
Pinned to: issue 8 (CPUs {1, 8, 64, 256} x 32 slots; trace steps {1e3, 1e5, 1e6} at 8 CPUs;
Machine at 8 CPUs, 16 tasks, 48 events).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["Sizes", "FULL", "QUICK"]


@dataclass(frozen=True)
class Sizes:
    """What a bench run measures and how often.

    counter_cpus: CPU counts of the per-step counter benchmark (32 slots each: N=31 + PMCCNTR).
    count_repeat, count_number: blocks and calls per block for CounterBank.count and the lower bound.
    ref_number: calls per block of CounterBankRef.count by CPU count (fewer at large sizes).
    trace_cpus, trace_steps: trace-mode shape; steps above ``trace_chunk`` are fed to
        ``CounterBank.run`` in chunks of ``trace_chunk`` steps (state carries over between calls).
    trace_repeat: repetitions of each trace size up to ``trace_chunk`` (above: the chunks repeat).
    machine_*: the Machine loop (CPUs, tasks, events, ticks per timing) and its scaling sweeps.
    widget_repeat: timed control changes per explorer.
    explore_*: the explorer's exhaustive search (designs, None = all; CPUs, tasks, depth).
    sampling_*: the sampling machines (CPUs, ticks per timed block, blocks); parse_*: records per
        stream (one SAMPLE layout; mixed) and timed parses.
    """

    counter_cpus: tuple[int, ...] = (1, 8, 64, 256)
    counters: int = 31
    count_repeat: int = 15
    count_number: int = 40
    ref_number: tuple[tuple[int, int], ...] = ((1, 20), (8, 4), (64, 1), (256, 1))
    ref_repeat: int = 5
    trace_cpus: int = 8
    trace_steps: tuple[int, ...] = (1_000, 100_000, 1_000_000)
    trace_chunk: int = 100_000
    trace_repeat: int = 3
    machine_cpus: int = 8
    machine_tasks: int = 16
    machine_events: int = 48
    machine_ticks: int = 50
    machine_repeat: int = 3
    machine_cpu_sweep: tuple[int, ...] = (2, 4, 8, 16)
    machine_event_sweep: tuple[int, ...] = (12, 24, 48, 96)
    widget_repeat: int = 5
    explore_designs: tuple[str, ...] | None = None
    explore_cpus: int = 2
    explore_tasks: int = 3
    explore_depth: int = 8
    sampling_cpus: int = 8
    sampling_ticks: int = 40
    sampling_repeat: int = 5
    parse_samples: int = 400_000
    parse_mixed: int = 100_000
    parse_repeat: int = 5

    def ref_calls(self, cpus: int) -> int:
        """Calls per timed block of the scalar reference at ``cpus`` CPUs."""
        return dict(self.ref_number).get(cpus, 1)


FULL = Sizes()
QUICK = Sizes(counter_cpus=(1, 4), counters=8, count_repeat=3, count_number=2, ref_number=((1, 2), (4, 1)),
              ref_repeat=3, trace_cpus=2, trace_steps=(10, 100, 400), trace_chunk=200, trace_repeat=3,
              machine_cpus=2, machine_tasks=3, machine_events=4, machine_ticks=3, machine_repeat=3,
              machine_cpu_sweep=(1, 2), machine_event_sweep=(2, 4), widget_repeat=3,
              explore_designs=("v5.17",), explore_depth=2, sampling_cpus=2, sampling_ticks=3, sampling_repeat=3,
              parse_samples=300, parse_mixed=200, parse_repeat=3)
