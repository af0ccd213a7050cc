"""The design studio's grade panel: a button, the card's safety matrix and cost bars, live.

Models: nothing; it draws ``pmulab.studio.grade`` cards. ``StudioView(design, baseline)``
shows a "grade" button; a click grades the design (the latest definition of its class: a
re-run notebook cell is picked up by module and name) and redraws
- a ``bqplot.GridHeatMap`` safety matrix: rows = the baseline and the design, columns =
  S1..S16, 0 = safe, 1 = leaks or unsafe, 0.5 = a hook failed;
- ``bqplot.Bars`` of the cost figures (grouped: baseline, design);
- an HTML summary: failed scenarios with "who read whose count", broken hooks, invariants,
  the explorer's shortest counterexample.
Omits: editing code (the notebook cell is the editor).
Pinned to: bqplot 0.13 (GridHeatMap, Bars with type="grouped"), ipywidgets 8.
"""

from __future__ import annotations

import html
import sys
from typing import Any

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from pmulab.studio import Card, grade
from pmulab.viz.guard import CallbackGuard

__all__ = ["StudioView", "studio_view", "COST_KEYS", "safety_row"]

#: Cost figures drawn as bars (keys of ``Card.cost``).
COST_KEYS = ("ipis", "pmuserenr_writes_per_switch", "counter_clears_per_switch", "mmap_work", "munmap_work",
             "remote_mmap_work", "el0_traps")
_LABELS = ("IPIs", "PMUSERENR/switch", "clears/switch", "mmap", "munmap", "mmap from B", "EL0 traps")
COLOURS = ["#e8f5e9", "#f59e0b", "#dc2626"]


def safety_row(card: Card | None, names) -> list[float]:
    """0 safe, 0.5 broken hook, 1 leaks/unsafe; nan where not graded yet."""
    if card is None:
        return [np.nan] * len(names)
    out = []
    for n in names:
        s = card.scenarios.get(n)
        out.append(np.nan if s is None else 0.0 if s.ok else 0.5 if s.failure else 1.0)
    return out


def _latest(design: Any) -> Any:
    """The class currently bound to the design's module and name (a re-run cell redefines it)."""
    if isinstance(design, type):
        mod = sys.modules.get(design.__module__)
        newer = getattr(mod, design.__qualname__, None) if mod is not None else None
        if isinstance(newer, type):
            return newer
    return design


def _cost(card: Card | None) -> list[float]:
    if card is None or not card.cost:
        return [0.0] * len(COST_KEYS)
    return [float(card.cost.get(k) or 0) for k in COST_KEYS]


def _top(*cards: Card | None) -> float:
    """The cost axis' upper end: the largest bar plus a margin (explicit: an empty domain draws nothing)."""
    return max([1.0, *(v for c in cards for v in _cost(c))]) * 1.4


class StudioView(widgets.VBox):
    """Grade button + safety matrix + cost bars + summary for one design against a baseline."""

    def __init__(self, design: Any, baseline: str = "v5.17", explorer: dict | None = None, **grade_kw: Any):
        from pmulab.scenarios import SCENARIOS

        self.design, self.explorer, self.grade_kw = design, explorer, grade_kw
        self.names = list(SCENARIOS)
        self.baseline_name = baseline
        self.baseline = grade(baseline, explorer=None, **grade_kw)
        self.card: Card | None = None
        self.guard = CallbackGuard()
        label = getattr(design, "__name__", str(design))
        self.rows = [f"{baseline} (baseline)", label]
        rs, cs = bq.OrdinalScale(reverse=True), bq.OrdinalScale()
        self.grid = bq.GridHeatMap(row=self.rows, column=self.names, color=self._matrix(),
                                   scales={"row": rs, "column": cs, "color": bq.ColorScale(min=0, max=1,
                                                                                           colors=COLOURS)},
                                   stroke="white", null_color="#f3f4f6",
                                   tooltip=bq.Tooltip(fields=["row", "column", "color"],
                                                      labels=["design", "scenario", "1 = not safe"]))
        self.safety_fig = bq.Figure(marks=[self.grid], title="Safety: green = safe, red = leaks / unsafe, "
                                                             "amber = broken hook",
                                    axes=[bq.Axis(scale=cs, side="top"), bq.Axis(scale=rs, side="left")],
                                    fig_margin={"top": 70, "bottom": 10, "left": 150, "right": 10},
                                    animation_duration=0, layout=widgets.Layout(width="100%", height="190px"))
        xs, ys = bq.OrdinalScale(), bq.LinearScale(min=0.0, max=_top(self.baseline, None))
        self.bars = bq.Bars(x=list(_LABELS), y=[_cost(self.baseline), _cost(None)], type="grouped",
                            colors=["#9ca3af", "#2563eb"], labels=self.rows, display_legend=True,
                            scales={"x": xs, "y": ys})
        self.cost_fig = bq.Figure(marks=[self.bars], title="Cost on the standard workload",
                                  axes=[bq.Axis(scale=xs), bq.Axis(scale=ys, orientation="vertical")],
                                  legend_location="top-right", animation_duration=0,
                                  fig_margin={"top": 50, "bottom": 40, "left": 50, "right": 10},
                                  layout=widgets.Layout(width="100%", height="260px"))
        self.button = widgets.Button(description=f"grade {label}", button_style="primary", icon="check")
        self.button.add_class("pmulab-grade")
        self.button.on_click(self.guard.wrap(lambda _b: self.grade()))
        self.status = widgets.HTML(f"<i>press grade to grade {html.escape(label)}</i>")
        self.summary = widgets.HTML()
        super().__init__([widgets.HBox([self.button, self.status]), self.safety_fig, self.cost_fig, self.summary,
                          self.guard.out])
        self.add_class("pmulab-studio")

    def _matrix(self) -> np.ndarray:
        return np.array([safety_row(self.baseline, self.names), safety_row(getattr(self, "card", None), self.names)])

    def grade(self, design: Any = None) -> Card:
        """Grade ``design`` (default: the latest definition of the view's design) and show its card."""
        target = _latest(self.design) if design is None else design
        self.status.value = "<i>grading ...</i>"
        kw = dict(self.grade_kw)
        if self.explorer is not None:
            kw["explorer"] = self.explorer
        card = grade(target, **kw)
        self.show(card)
        return card

    def show(self, card: Card) -> None:
        """Draw ``card`` (the bottom row of the matrix, the blue bars, the summary)."""
        self.card = card
        self.rows[1] = card.design
        with self.safety_fig.hold_sync():
            self.grid.row = list(self.rows)
            self.grid.color = self._matrix()
        with self.cost_fig.hold_sync():
            self.bars.labels = list(self.rows)
            self.bars.y = [_cost(self.baseline), _cost(card)]
            self.bars.scales["y"].max = _top(self.baseline, card)
        self.status.value = (f"<b>{html.escape(card.design)}</b>: safe in {len(card.safe)}/{len(card.scenarios)} "
                             f"scenarios ({card.seconds:.1f} s)")
        self.summary.value = "<pre style='white-space: pre-wrap'>" + html.escape(card.summary()) + "</pre>"


def studio_view(design: Any, baseline: str = "v5.17", explorer: dict | None = None, **grade_kw: Any) -> StudioView:
    """A grade panel for ``design`` (a Design subclass or name) against ``baseline``."""
    return StudioView(design, baseline, explorer, **grade_kw)
