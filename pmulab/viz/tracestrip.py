"""The per-CPU PMUSERENR strip over time: a tick slider through a recorded ``Trace``.

Models: nothing itself; it reads the tick rows of a ``pmulab.sim.Trace`` (``current`` pid per
CPU, ``pmuserenr`` and the ``(cpus, 32)`` counter values) and, for the tick chosen, asks a
private one-CPU ``Cpu`` holding that PMUSERENR_EL0 value whether an EL0 ``mrs`` of each counter
register would complete (the rules of ``pmulab.hw.pmu``; no bit is restated here). The
events' owners come from the live ``ownership_strip``; the trace gives the history.
Omits: counters beyond ``counters`` per CPU (the cycle counter is always shown).
Pinned to: Arm ARM D24.5 via pmulab.hw.pmu; pmulab.sim.trace tick rows.
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from pmulab.drivers.arm_pmuv3 import CYCLE_COUNTER, count_register
from pmulab.hw.counters import CounterBank
from pmulab.hw.cpu import Cpu
from pmulab.hw.sysregs import PMUSERENR
from pmulab.viz.guard import CallbackGuard

__all__ = ["TraceStrip", "trace_strip"]

_CELL = "padding:2px 6px;border:1px solid #d0d5dd;text-align:center;"
_OPEN, _SHUT = "background:#fbd5d5;color:#7f1d1d;", "background:#f4f6fa;color:#66707f;"


class TraceStrip(widgets.VBox):
    """Slide through the ticks of ``trace``: per CPU, who ran, PMUSERENR_EL0, what EL0 could read."""

    def __init__(self, trace, counters: int = 4, title: str = "per CPU, tick by tick"):
        self.cols = trace.columns()
        if not len(self.cols["tick"]):
            raise ValueError("the trace has no tick rows yet: run the machine first")
        self.counters = [*range(counters), int(CYCLE_COUNTER)]
        self._cpu = Cpu(CounterBank(1, counters), 0)  # the view's own PE, only asked about access rules
        self.guard = CallbackGuard()
        last = len(self.cols["tick"]) - 1
        self.tick = widgets.IntSlider(value=last, min=0, max=last, description="tick row",
                                      style={"description_width": "initial"})
        self.html = widgets.HTML()
        self.tick.observe(self.guard.wrap(lambda change: self.refresh()), names="value")
        super().__init__([widgets.HTML(f"<b>{html.escape(title)}</b>"), self.tick, self.html, self.guard.out])
        self.add_class("pmulab-tracestrip")
        self.refresh()

    def readable(self, pmuserenr: int) -> list[bool]:
        """For each shown counter: would an EL0 read complete under this PMUSERENR_EL0 value?"""
        self._cpu.msr(PMUSERENR.name, int(pmuserenr), el=1)
        return [self._cpu.check(count_register(n), False, 0).permitted for n in self.counters]

    def refresh(self) -> None:
        """Redraw the strip for the tick row on the slider."""
        i = self.tick.value
        row, userenr, values = self.cols["current"][i], self.cols["pmuserenr"][i], self.cols["counters"][i]
        body = []
        for cpu, pid in enumerate(row):
            ok = self.readable(userenr[cpu])
            bits = " ".join(f"{k}={v}" for k, v in PMUSERENR.decode(int(userenr[cpu])).items())
            cells = "".join(f'<td class="pmulab-ctr" data-open="{int(o)}" style="{_CELL}{_OPEN if o else _SHUT}">'
                            f'<code>{int(values[cpu][n]):#x}</code></td>' for n, o in zip(self.counters, ok,
                                                                                           strict=True))
            body.append(f'<tr data-cpu="{cpu}"><td style="{_CELL}"><b>CPU {cpu}</b></td><td style="{_CELL}">'
                        f'{"idle" if pid is None else f"pid {pid}"}</td><td style="{_CELL}"><code>'
                        f'{int(userenr[cpu]):#x}</code> <small>{bits}</small></td>{cells}</tr>')
        head = "".join(f'<th style="{_CELL}background:#eef1f6">{h}</th>' for h in (
            "CPU", "running", "PMUSERENR_EL0", *("PMCCNTR" if n == CYCLE_COUNTER else f"PMEVCNTR{n}"
                                                for n in self.counters)))
        self.html.value = (f'<div class="pmulab-tracestrip-table" data-tick="{self.cols["tick"][i]}" style="font:12px '
                           f'var(--jp-ui-font-family,sans-serif)">tick {self.cols["tick"][i]} '
                           f'({self.cols["time"][i] / 1e6:.0f} ms); red = EL0 may read it'
                           f'<table style="border-collapse:collapse">{"<tr>" + head + "</tr>"}{"".join(body)}'
                           f'</table></div>')


def trace_strip(trace, counters: int = 4, title: str = "per CPU, tick by tick") -> TraceStrip:
    """Return a tick slider over ``trace`` showing each CPU's PMUSERENR_EL0 and EL0-readable counters."""
    return TraceStrip(trace, counters, title)
