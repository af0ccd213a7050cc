"""Views of the pmulab model for Jupyter: the only package that imports ipywidgets, bqplot, traitlets or IPython.

Models: nothing. A view reads a model it is given (never writes to it) or builds its own small
model (a ``CounterBank`` and ``Cpu``, or a scenario's ``Machine``) from the declarations in ``pmulab.hw``.
Omits: computing scenario outcomes (pmulab.scenarios does that; the views only draw them).
Pinned to: ipywidgets 8, bqplot 0.13. Every figure takes its size, margins and palette from ``style``.

The main views (each a widget; the lower-case function builds it):

Scenarios (any notebook)
- ``ScenarioExplorer("S1")`` / ``ScenarioExplorer(scenario)``: one scenario of the review (S1..S16) live:
  controls from its Params, a design menu, the counters per CPU, EL0 access per CPU, check badges,
  the ownership strip as the run left it, and the story.
- ``leak_matrix(matrix, designs, kinds)`` (``LeakMatrix``): design x leak-kind heat map of given data;
  ``leak_matrix_lab(scenarios)`` (``LeakMatrixLab``): the same, computed from the scenarios ticked (04).

Hardware (01)
- ``register_view(name, value=None)``: bit-field diagram of any PMU register; ``.update(value)``.
- ``pmuserenr_table(version="v3p4")``: EN/SW/CR/ER toggles and the live EL0 access table.
- ``counter_timeline(events=..., rate=..., version=...)``: bqplot counters over a workload.

perf and the user page (02, 03, 10, 12)
- ``mux_lab(events, counters, ticks)`` (``MuxLab``): multiplexing, time_enabled/time_running, scaled estimates.
- ``readloop_lab()`` (``ReadLoopLab``): the seqlock read loop one step at a time, with injected events.
- ``page_panel(page)`` / ``compare_pages(left, right)``: the user page fields, live.
- ``host_times(host)``: the host kernel's time_enabled per read against a busy-loop slider, beside the model.
- ``ring_lab()`` (``RingLab``): samples into the ring buffer, a consumer, LOST records.

Who may read what (00, 04-06)
- ``ownership_strip(machine)``: per CPU, who runs, PMUSERENR_EL0, EL0-readable counters, whose event.
- ``trace_strip(trace)``: a tick slider through a recorded trace: per CPU, PMUSERENR_EL0 and readable counters.
- ``dirty_counter_lab(design)`` (``DirtyCounterLab``): S7, v8's xor clearing against and-not and clear-all.
- ``access_timeline_lab(scenario)`` (``AccessTimelineLab``): S3/S4 on two designs side by side, per CPU.

Real Linux (11)
- ``oracle_view(...)`` (``OracleView``): the model against recordings of real arm64 Linux.

The views of notebooks 07-09 and 13 live in ``merged_views``, ``explore_view`` and ``studio_view``.
"""

from pmulab.viz import style
from pmulab.viz.explorer import ScenarioExplorer
from pmulab.viz.hosttimes import HostTimes, host_times
from pmulab.viz.leakmatrix import LeakMatrix, leak_matrix
from pmulab.viz.oracle_view import OracleView, oracle_view
from pmulab.viz.pagepanel import PageComparison, PagePanel, compare_pages, page_panel
from pmulab.viz.perf_views import MuxLab, mux_lab
from pmulab.viz.readloop_view import ReadLoopLab, readloop_lab
from pmulab.viz.regview import RegisterView, register_view
from pmulab.viz.review_views import (
    AccessTimelineLab,
    DirtyCounterLab,
    LeakMatrixLab,
    access_timeline_lab,
    dirty_counter_lab,
    leak_matrix_lab,
)
from pmulab.viz.ring_view import RingLab, ring_lab
from pmulab.viz.strip import OwnershipStrip, ownership, ownership_strip
from pmulab.viz.timeline import CounterTimeline, counter_timeline, demo_workload
from pmulab.viz.tracestrip import TraceStrip, trace_strip
from pmulab.viz.truthtable import PmuserenrTable, pmuserenr_table

__all__ = [
    "AccessTimelineLab", "CounterTimeline", "DirtyCounterLab", "HostTimes", "LeakMatrix", "LeakMatrixLab", "MuxLab",
    "OracleView", "OwnershipStrip", "PageComparison", "PagePanel", "PmuserenrTable", "ReadLoopLab", "RegisterView",
    "RingLab", "ScenarioExplorer", "TraceStrip", "access_timeline_lab", "compare_pages", "counter_timeline",
    "demo_workload", "dirty_counter_lab", "host_times", "leak_matrix", "leak_matrix_lab", "mux_lab", "oracle_view",
    "ownership", "ownership_strip", "page_panel", "pmuserenr_table", "readloop_lab", "register_view", "ring_lab",
    "style", "trace_strip",
]
