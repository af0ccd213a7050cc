"""The benchmarks of ``pmulab bench``, in the order they run, and the function that runs them.

Models: nothing of the PMU; the list of measurements issue 8 asks for. Adding a benchmark is
one entry in ``BENCHMARKS``: a name and a function ``Sizes -> Section``.
Omits: parallel runs (the host has 2 cores and other work; benchmarks run one at a time).
Pinned to: issue 8 (and the Performance sections of issues 6 and 11: ``explore``, ``sampling``).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

from .core import bench_counter_core
from .explore import bench_explore
from .machine import bench_machine
from .report import document
from .sampling import bench_sampling
from .sizes import FULL, QUICK, Sizes
from .timing import Section
from .trace import bench_trace
from .widgets import bench_widgets

__all__ = ["BENCHMARKS", "run"]

#: (name, benchmark) in running order; a tuple, so nothing can change it at run time.
BENCHMARKS: tuple[tuple[str, Callable[[Sizes], Section]], ...] = (
    ("counter_core", bench_counter_core),
    ("trace", bench_trace),
    ("machine", bench_machine),
    ("widgets", bench_widgets),
    ("sampling", bench_sampling),
    ("explore", bench_explore),
)


def run(quick: bool = False, only: Sequence[str] | None = None, log: Callable[[str], None] | None = None) -> dict:
    """Run the benchmarks (all, or those named in ``only``) and return the report document."""
    names = [n for n, _ in BENCHMARKS]
    unknown = sorted(set(only or ()) - set(names))
    if unknown:
        raise ValueError(f"unknown benchmark(s) {unknown}; choose from {names}")
    sizes = QUICK if quick else FULL
    t0 = time.perf_counter()
    sections = []
    for name, fn in BENCHMARKS:
        if only and name not in only:
            continue
        t = time.perf_counter()
        sections.append(fn(sizes))
        if log:
            log(f"{name}: {sections[-1].status} ({time.perf_counter() - t:.1f} s)")
    return document(sections, quick, time.perf_counter() - t0)
