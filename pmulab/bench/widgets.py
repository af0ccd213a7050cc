"""Benchmark of the scenario explorers: time from a control change to updated plot data (Python side).

Models: a student moving one control of ``pmulab.viz.explorer.ScenarioExplorer`` at its default
parameters, for every scenario registered in ``pmulab.scenarios.SCENARIOS``. Each explorer is
built once (its first run is not timed); then a control's ``value`` is set, which runs the
explorer's observer synchronously (ipywidgets ``observe`` -> ``refresh``: the scenario runs and
the marks are assigned inside ``fig.hold_sync()``), so the time until ``value = ...`` returns is
the time until the plot data is updated. Two controls per explorer, each toggled between its
default and a neighbour (so every change is a real one and every other change is back at the
default): the scenario's first parameter (``change_ms@S``: an IntSlider one step, a Dropdown
to its next option, a Checkbox flipped, a FloatSlider 1/10 of its range; scenarios without
parameters, or whose explorer fails at both neighbours, use the design menu here too; the
failure is noted) and the design menu (``design_ms@S``: v5.17 <-> v8).
After every change the explorer must hold a new outcome, else the benchmark fails.
Omits: rendering and widget-comm latency in the browser (the browser tests cover those).
Pinned to: issue 8 item 5: <= 50 ms median per explorer at default parameters.
"""

from __future__ import annotations

import statistics
import time

from .sizes import Sizes
from .timing import Figure, Section, unavailable

__all__ = ["bench_widgets", "toggle_values", "time_changes"]

_TARGET_MS = 50.0
_TITLE = "Widgets: scenario explorer control change -> plot data"
_DESIGNS = ("v5.17", "v8")


def toggle_values(w) -> list[tuple]:
    """Candidate ``(default, neighbour)`` pairs for an ipywidgets control, best first: two valid
    values one small step apart (a slider: one step up, else down)."""
    v = w.value
    options = getattr(w, "options", None)
    if options is not None:  # Dropdown: options may be labels or (label, value) pairs
        values = [o[1] if isinstance(o, tuple) else o for o in options]
        return [(v, x) for x in values[values.index(v) + 1:] + values[:values.index(v)]]
    if isinstance(v, bool):
        return [(v, not v)]
    lo, hi = w.min, w.max
    step = 1 if isinstance(v, int) else (hi - lo) / 10
    return [(v, x) for x in (v + step, v - step) if lo <= x <= hi]


def time_changes(explorer, w, values: tuple, repeat: int) -> tuple[float, int]:
    """Median seconds of ``w.value = x`` alternating over ``values`` (``repeat`` changes), and how
    many of them changed the plot's data arrays. Raises RuntimeError when a change produced no new outcome."""
    times, changed = [], 0
    clock = time.perf_counter
    for i in range(repeat):
        before = explorer.outcome
        x0, y0 = explorer.lines.x, explorer.lines.y
        t0 = clock()
        w.value = values[(i + 1) % len(values)]
        times.append(clock() - t0)
        if explorer.outcome is before:
            raise RuntimeError(f"{explorer.name}: setting {w.description} to {w.value!r} did not refresh the explorer")
        changed += explorer.lines.x is not x0 or explorer.lines.y is not y0
    return statistics.median(times), changed


def bench_widgets(sizes: Sizes) -> Section:
    """Median milliseconds from a control change to updated plot data, per scenario explorer."""
    try:
        from pmulab.scenarios import SCENARIOS
        from pmulab.viz.explorer import ScenarioExplorer
    except ImportError as exc:
        return unavailable("widgets", _TITLE, f"{type(exc).__name__}: {exc}")
    figs, builds, unchanged, failed = [], [], [], []
    for name in SCENARIOS:
        for label in ("change_ms", "design_ms"):
            ex = None
            probe = ScenarioExplorer(name, design=_DESIGNS[0])
            first = next(iter(probe.controls.values()), None)
            use_first = label == "change_ms" and first is not None
            cands = [(first.description, v) for v in toggle_values(first)] if use_first else []
            for desc, values in [*cands, ("design", _DESIGNS)]:  # the design menu is the last resort
                if ex is None:  # a fresh explorer: a failed change may leave marks half updated
                    t0 = time.perf_counter()
                    ex = ScenarioExplorer(name, design=_DESIGNS[0])
                    builds.append(time.perf_counter() - t0)
                w = ex.design if desc == "design" else next(c for c in ex.controls.values() if c.description == desc)
                try:
                    t, changed = time_changes(ex, w, values, sizes.widget_repeat)
                    break
                except RuntimeError:  # the explorer fails at that value (its guard shows why): try the next
                    failed.append(f"{name} {desc}={values[1]!r}: {ex.guard.last_error or '?'}")
                    ex = None
            else:
                raise RuntimeError(f"{name}: no control change next to the default runs")
            what = "design menu" if desc == "design" else f"control {desc!r}"
            ms = t * 1e3
            figs.append(Figure(f"{label}@{name}", ms, "ms", f"{name}: {what} {values[0]!r} <-> {values[1]!r}",
                               f"<= {_TARGET_MS:g} ms", ms <= _TARGET_MS))
            if not changed:
                unchanged.append(f"{name} {what}")
    build_ms = statistics.median(builds) * 1e3
    notes = [f"{len(builds)} explorers built in {sum(builds):.2f} s (median {build_ms:.0f} ms each, first run "
             f"included; not timed above)"]
    if unchanged:
        notes.append("changes that re-ran the scenario but left the same plot data arrays: " + ", ".join(unchanged))
    notes += [f"explorer fails at a value next to the default (guard error; next candidate timed): {f}" for f in failed]
    return Section("widgets", _TITLE, figures=tuple(figs), notes=tuple(notes))
