"""Benchmark of the scenario explorers: time from a control change to updated plot data (Python side).

Models: a student moving one control of a scenario explorer at its default parameters; what is
timed is the Python work until the plot's data arrays hold the new trace (no browser round trip).
The explorers are found through one hook, so they plug in without touching this package:
``pmulab.viz.explorer.EXPLORERS`` (module and name in ``HOOK``) maps an explorer name to a
zero-argument factory; the object it returns has ``bench_change()``, which makes one
representative control change and returns once the plot data is updated.
Omits: rendering and widget-comm latency in the browser (the browser tests cover those).
Pinned to: issue 8: <= 50 ms median per explorer at default parameters.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Mapping

from .sizes import Sizes
from .timing import Figure, Section, medians, unavailable

__all__ = ["HOOK", "explorers", "bench_widgets"]

#: Where the explorer registry lives: (module, attribute).
HOOK = ("pmulab.viz.explorer", "EXPLORERS")
_TARGET_MS = 50.0
_TITLE = "Widgets: scenario explorer control change -> plot data"


def explorers(hook: tuple[str, str] = HOOK) -> Mapping[str, Callable[[], object]]:
    """The registered explorer factories, or an empty mapping while none exist."""
    module, name = hook
    try:
        mod = importlib.import_module(module)
    except ModuleNotFoundError as exc:
        if exc.name and module.startswith(exc.name):
            return {}
        raise
    return dict(getattr(mod, name, {}))


def bench_widgets(sizes: Sizes, hook: tuple[str, str] = HOOK) -> Section:
    """Median milliseconds of ``bench_change()`` per explorer."""
    found = explorers(hook)
    if not found:
        return unavailable("widgets", _TITLE, "no explorers yet",
                           notes=(f"register factories in {hook[0]}.{hook[1]} (objects with bench_change())",))
    figs = []
    for name, factory in sorted(found.items()):
        ex = factory()
        ex.bench_change()  # first change builds caches and figures
        (t,) = medians([ex.bench_change], sizes.widget_repeat, [1])
        ms = t * 1e3
        figs.append(Figure(f"change_ms@{name}", ms, "ms", f"control change -> plot data, explorer {name}",
                           f"<= {_TARGET_MS:g} ms", ms <= _TARGET_MS))
    return Section("widgets", _TITLE, figures=tuple(figs))
