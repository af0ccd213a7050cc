"""Benchmark of the interleaving explorer: exhaust 2 CPUs x 3 tasks to depth 8, per design.

Models: nothing of the PMU; a student running ``pmulab.sim.explorer.explore`` to its end on the
configuration issue 6 names. Each design runs in a fresh Python process
(``explore_benchmark([design], ...)``), so that its peak memory is its own: the figure is the
process's resident high-water mark (``VmHWM`` of /proc/self/status, Linux ``mm->hiwater_rss``;
``ru_maxrss`` where /proc is missing), imports included, and the bench's own buffers (the trace
benchmark holds ~3 GiB) stay out of it. Figures per design: states, transitions, seconds and
states/s as ``ExploreResult`` reports them (the search alone, without start-up), and the peak.
Omits: parallel runs (one design at a time; the host has 2 cores); the start-up of each child
(~1 s of imports) is in the section's wall time but in no figure.
Pinned to: issue 6 (Performance): each design under 60 s and under 2 GiB.
"""

from __future__ import annotations

import json
import subprocess
import sys

from .sizes import Sizes
from .timing import Figure, Section, unavailable

__all__ = ["bench_explore", "explore_child"]

_TITLE = "Explorer: exhaust CPUs x tasks to a depth, per design"
_SECONDS_MAX = 60.0
_MIB_MAX = 2048.0
#: The child's program: one design's search, then its own peak RSS; prints one JSON object.
_CHILD = """
import json, resource, sys
from pmulab.sim.explorer import explore_benchmark
design, cpus, tasks, depth = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
(row,) = explore_benchmark([design], cpus=cpus, tasks=tasks, depth=depth)
try:
    with open("/proc/self/status") as f:
        hwm = [int(x.split()[1]) for x in f if x.startswith("VmHWM:")][0] / 1024
except (OSError, IndexError):
    hwm = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
row["peak_mib"] = hwm
print(json.dumps(row))
"""


def explore_child(design: str, cpus: int, tasks: int, depth: int, timeout: float = 600.0) -> dict:
    """Run one design's exhaustive search in a fresh interpreter; its row plus ``peak_mib``."""
    out = subprocess.run([sys.executable, "-c", _CHILD, design, str(cpus), str(tasks), str(depth)],
                         capture_output=True, text=True, timeout=timeout, check=False)
    if out.returncode != 0:
        last = (out.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"explorer child for {design!r} exited {out.returncode}: {last}")
    return json.loads(out.stdout.strip().splitlines()[-1])


def bench_explore(sizes: Sizes) -> Section:
    """Per design: states, transitions, seconds, states/s and peak memory of one exhaustive search."""
    cpus, tasks, depth = sizes.explore_cpus, sizes.explore_tasks, sizes.explore_depth
    try:
        from pmulab.drivers.user_access import DESIGNS
        designs = list(DESIGNS) if sizes.explore_designs is None else list(sizes.explore_designs)
        rows = [explore_child(d, cpus, tasks, depth) for d in designs]
    except Exception as exc:  # the explorer belongs to others: report, do not crash the whole bench
        return unavailable("explore", _TITLE, f"{type(exc).__name__}: {exc}")
    figs, notes = [], []
    for r in rows:
        d, mib = r["design"], float(r["peak_mib"])
        rate = float(r["states_per_second"])
        secs = r["states"] / rate if rate > 0 else float(r["seconds"])  # unrounded (the row rounds to 10 ms)
        size = f"{d}, {cpus} CPUs x {tasks} tasks, depth {depth}"
        figs += [
            Figure(f"states@{d}", r["states"], "states", f"distinct states reached, {size}"),
            Figure(f"transitions@{d}", r["transitions"], "ops", f"operations applied, {size}"),
            Figure(f"seconds@{d}", secs, "s", f"time of the whole search, {size}",
                   f"< {_SECONDS_MAX:g} s", secs < _SECONDS_MAX),
            Figure(f"states_per_s@{d}", r["states_per_second"], "states/s", f"states / seconds, {size}"),
            Figure(f"peak_MiB@{d}", mib, "MiB", f"peak RSS of the search's process (VmHWM, imports included), {d}",
                   f"< {_MIB_MAX:g} MiB", mib < _MIB_MAX),
        ]
        done = "exhausted" if r["complete"] else "NOT exhausted (max_states reached)"
        notes.append(f"{d}: {done}; invariants violated: {', '.join(r['violated']) or 'none'}")
    return Section("explore", _TITLE, figures=tuple(figs), notes=tuple(notes))
