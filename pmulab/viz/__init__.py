"""Views of the pmulab model for Jupyter: the only package that imports ipywidgets, bqplot, traitlets or IPython.

Models: nothing. Every view builds its own small model (a ``CounterBank`` and ``Cpu``) from the
declarations in ``pmulab.hw`` and never writes to a model it is given.
Omits: views of the Linux layers (perf core, user page), which come with their notebooks.
Pinned to: ipywidgets 8, bqplot 0.13.

- ``register_view(name, value=None)``: bit-field diagram of any PMU register; ``.update(value)``.
- ``pmuserenr_table(version="v3p4")``: EN/SW/CR/ER toggles and the live EL0 access table.
- ``counter_timeline(events=..., rate=..., version=...)``: bqplot counters over a workload.
"""

from pmulab.viz.regview import RegisterView, register_view
from pmulab.viz.timeline import CounterTimeline, counter_timeline, demo_workload
from pmulab.viz.truthtable import PmuserenrTable, pmuserenr_table

__all__ = ["CounterTimeline", "PmuserenrTable", "RegisterView", "counter_timeline", "demo_workload",
           "pmuserenr_table", "register_view"]
