"""The dirty counter lab of notebook 05: S7, the victim's counter zeroed under it.

Models: nothing itself; every number comes from ``run_scenario("S7", ...)`` (its trace and leak report).
- ``DirtyCounterLab``: the victim's (root's CPU-bound event R) hardware counter per tick and
  its count as ``read()`` reports it against the events that really happened, with the
  0x7FFFFFFF - r + s arithmetic of the spec's worked example.
Kernel: armv8pmu_enable_user_access (v8), armpmu_event_update.
Controls come from S7's ``Params`` metadata; marks are redrawn inside ``fig.hold_sync()``.
Omits: running anything the scenario does not run.
Pinned to: ipywidgets 8, bqplot 0.13; spec §7 S7.
"""

from __future__ import annotations

import dataclasses
import html

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from pmulab.drivers.arm_pmuv3 import count_register
from pmulab.scenarios import SCENARIOS, run_scenario
from pmulab.scenarios.base import DESIGN_NAMES, Outcome, check_design
from pmulab.viz import style
from pmulab.viz.guard import CallbackGuard
from pmulab.viz.labkit import _CARD, _GREEN, _RED, _TD, _controls

__all__ = ["DirtyCounterLab", "count_register_of", "dirty_counter_lab"]


class DirtyCounterLab(widgets.VBox):
    """S7 on one design: the victim R's hardware counter per tick, and its count as read() reports it."""

    VICTIM_CPU, VICTIM_COUNTER = 0, 0  # R sits at idx 1 = PMEVCNTR0_EL0 on CPU 0 in S7

    def __init__(self, design: str = "v8", designs=DESIGN_NAMES):
        self.scenario = SCENARIOS["S7"]
        self.guard = CallbackGuard()
        self.design = widgets.Dropdown(options=list(designs), value=check_design(design), description="design")
        self.controls = _controls(self.scenario.params)
        for w in (self.design, *self.controls.values()):
            w.observe(self.guard.wrap(self._on_change), names="value")
        self._build_figures()
        self.arith, self.clears = widgets.HTML(), widgets.HTML()
        controls = widgets.VBox([self.design, *self.controls.values()])
        figs = widgets.HBox([self.fig_hw, self.fig_count], layout=widgets.Layout(width="100%"))
        super().__init__([controls, self.guard.out, figs, self.arith, self.clears])
        self.add_class("pmulab-dirtylab")
        self.refresh()

    def _build_figures(self) -> None:
        x, y = bq.LinearScale(), bq.LinearScale(min=0.0)
        self._hw_y = y
        self.hw_line = bq.Lines(x=np.zeros(0), y=np.zeros(0), scales={"x": x, "y": y}, colors=[style.BLUE],
                                marker="circle", marker_size=40, stroke_width=2, display_legend=True,
                                labels=["PMEVCNTR0_EL0 (CPU 0)"])
        self.hw_clear = bq.Scatter(x=np.zeros(0), y=np.zeros(0), scales={"x": x, "y": y}, colors=[_RED],
                                   marker="cross", default_size=160, display_legend=True,
                                   labels=["zeroed while in use"])
        self.fig_hw = style.figure([self.hw_line, self.hw_clear],
                                   [style.x_axis(x, "tick"), style.y_axis(y, "raw value", tick_format=".3s")],
                                   "the hardware: R's counter per tick", width="50%", height="330px")
        cx, cy = bq.OrdinalScale(), bq.LogScale()
        self.true_line = bq.Lines(x=[], y=[], scales={"x": cx, "y": cy}, colors=[_GREEN], marker="circle",
                                  marker_size=50, stroke_width=3, line_style="dashed", display_legend=True,
                                  labels=["events that happened"])
        self.read_line = bq.Lines(x=[], y=[], scales={"x": cx, "y": cy}, colors=[_RED], marker="square",
                                  marker_size=50, stroke_width=2, display_legend=True,
                                  labels=["count read() reports"])
        self.fig_count = style.figure([self.true_line, self.read_line],
                                      [style.x_axis(cx, "root reads R"),
                                       style.y_axis(cy, "count (log scale)", tick_format=".2s")],
                                      "perf's view: R's count", width="50%", height="330px")

    @property
    def params(self):
        return self.scenario.params(**{n: w.value for n, w in self.controls.items()})

    def _on_change(self, change) -> None:
        self.refresh()

    def refresh(self) -> Outcome:
        """Run S7 with the controls; redraw both figures inside hold_sync; return the outcome."""
        o = run_scenario("S7", self.design.value, **dataclasses.asdict(self.params))
        cols = o.trace.columns()
        ticks = np.asarray(cols["tick"], dtype=float)
        raw = np.asarray(cols["counters"], dtype=np.float64)[:, self.VICTIM_CPU, self.VICTIM_COUNTER]
        hits = [d for d in o.leak.destroyed if d["cpu"] == self.VICTIM_CPU and 1 in d["live"]]
        cx = np.array([float(d["tick"]) for d in hits])
        r, s, after = o.obs["r"], o.obs["s"], o.obs["count_after"]
        labels = ["after T blocks (r)", "at the end"]
        with self.fig_hw.hold_sync():
            self.hw_line.x, self.hw_line.y = ticks, raw
            self.fig_hw.axes[0].tick_values = ticks
            self._hw_y.max = float(raw.max()) * 1.45 if len(raw) else None  # headroom: the legend sits on top
            self.hw_clear.x, self.hw_clear.y = cx, np.zeros(len(cx))
        with self.fig_count.hold_sync():
            self.true_line.x, self.true_line.y = labels, np.array([r, r + s], dtype=float)
            self.read_line.x, self.read_line.y = labels, np.array([r, after], dtype=float)
        self.outcome = o
        self.arith.value = self._arith(o)
        self.clears.value = self._clears(o)
        return o

    # --- numbers the notebook asserts -----------------------------------------------------------
    @property
    def r(self) -> int:
        """R's count read by root after T blocked."""
        return self.outcome.obs["r"]

    @property
    def s(self) -> int:
        """L1D refills on CPU 0 after T woke (refill_rate x after)."""
        return self.outcome.obs["s"]

    @property
    def jump(self) -> int:
        """How much R's count grew between root's two reads."""
        return self.outcome.obs["jump"]

    @property
    def xor_jump(self) -> int:
        """The worked example's prediction for a zeroed 32-bit counter: 0x7FFFFFFF - r + s."""
        return 0x7FFFFFFF - self.r + self.s

    @property
    def destroyed(self) -> list[dict]:
        """The counter_clear rows that hit a counter in use (from the leak analysis)."""
        return list(self.outcome.leak.destroyed)

    def _arith(self, o) -> str:
        r, s, jump = self.r, self.s, self.jump
        verdict = ("<b style='color:#7f1d1d'>R's count jumped by 0x7FFFFFFF &minus; r + s</b>" if jump == self.xor_jump
                   else "<b style='color:#14532d'>R's count grew by exactly s</b>" if jump == s
                   else "<b>neither</b>")
        return (f"<div class='pmulab-arith' data-design='{html.escape(o.design)}' data-jump='{jump}' "
                f"style='{_CARD}margin:6px 0'>design <code>{html.escape(o.design)}</code>: r = {r}, s = {s}; "
                f"root's two reads differ by <code>{jump}</code> = <code>{jump:#x}</code>. "
                f"0x7FFFFFFF &minus; {r} + {s} = <code>{self.xor_jump}</code>. {verdict}</div>")

    def _clears(self, o) -> str:
        rows = "".join(f"<tr><td style='{_TD}'>{rec['tick']}</td><td style='{_TD}'>CPU {rec['cpu']}</td>"
                       f"<td style='{_TD}'>{', '.join(count_register_of(i) for i in rec['idxs'])}</td>"
                       f"<td style='{_TD}{'background:#fbd5d5' if rec['live'] else ''}'>"
                       f"{', '.join(count_register_of(i) for i in rec['live']) or '-'}</td>"
                       f"<td style='{_TD}'>{html.escape(rec['why'])}</td></tr>"
                       for rec in o.trace.actions("counter_clear"))
        if not rows:
            return f"<div style='{_CARD}'>no counter was cleared before EL0 got access</div>"
        head = "".join(f"<th style='{_TD}background:#eef1f6'>{h}</th>" for h in (
            "tick", "CPU", "counters zeroed", "of them in use (destroyed)", "why"))
        return (f"<div class='pmulab-clears' style='{_CARD}'>counters the design zeroed before opening EL0 access"
                f"<table style='border-collapse:collapse'><tr>{head}</tr>{rows}</table></div>")


def count_register_of(idx: int) -> str:
    """The counter register of perf idx ``idx`` (0 = PMCCNTR_EL0, k = PMEVCNTR<k-1>_EL0)."""
    return count_register(31 if idx == 0 else idx - 1)


def dirty_counter_lab(design: str = "v8") -> DirtyCounterLab:
    """Return the S7 lab: design and S7 parameters -> the victim's counter and count, live."""
    return DirtyCounterLab(design)
