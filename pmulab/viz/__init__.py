"""Views of the pmulab model for Jupyter: the only package that imports ipywidgets, bqplot, traitlets or IPython.

Models: nothing. A view reads a model it is given (never writes to it) or builds its own small
model (a ``CounterBank`` and ``Cpu``) from the declarations in ``pmulab.hw``.
Omits: computing scenario outcomes (pmulab.scenarios does that; the explorer only draws them).
Pinned to: ipywidgets 8, bqplot 0.13.

- ``register_view(name, value=None)``: bit-field diagram of any PMU register; ``.update(value)``.
- ``pmuserenr_table(version="v3p4")``: EN/SW/CR/ER toggles and the live EL0 access table.
- ``counter_timeline(events=..., rate=..., version=...)``: bqplot counters over a workload.
- ``ownership_strip(machine)``: per CPU, who runs, PMUSERENR_EL0, EL0-readable counters, whose event.
- ``page_panel(page)`` / ``compare_pages(left, right)``: the user page fields, live.
- ``leak_matrix(matrix, designs, kinds)``: design x leak-kind heat map.
- ``ScenarioExplorer(scenario)``: controls from the scenario's Params, a design menu, plot and check badges.
- ``trace_strip(trace)``: a tick slider through a recorded trace: per CPU, PMUSERENR_EL0 and readable counters.
- ``host_times(host)``: the host kernel's time_enabled per read against a busy-loop slider, beside the model.
"""

from pmulab.viz.explorer import ScenarioExplorer
from pmulab.viz.hosttimes import HostTimes, host_times
from pmulab.viz.leakmatrix import LeakMatrix, leak_matrix
from pmulab.viz.pagepanel import PageComparison, PagePanel, compare_pages, page_panel
from pmulab.viz.regview import RegisterView, register_view
from pmulab.viz.strip import OwnershipStrip, ownership, ownership_strip
from pmulab.viz.timeline import CounterTimeline, counter_timeline, demo_workload
from pmulab.viz.tracestrip import TraceStrip, trace_strip
from pmulab.viz.truthtable import PmuserenrTable, pmuserenr_table

__all__ = [
    "CounterTimeline", "HostTimes", "LeakMatrix", "OwnershipStrip", "PageComparison", "PagePanel", "PmuserenrTable",
    "RegisterView", "ScenarioExplorer", "compare_pages", "counter_timeline", "demo_workload", "host_times",
    "leak_matrix", "ownership", "ownership_strip", "page_panel", "pmuserenr_table", "register_view", "TraceStrip",
    "trace_strip",
]
