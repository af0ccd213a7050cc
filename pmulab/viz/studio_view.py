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
from pmulab.viz import style
from pmulab.viz.guard import CallbackGuard

__all__ = ["StudioView", "studio_view", "COST_KEYS", "safety_row", "card_html", "card_view"]

#: Cost figures drawn as bars (keys of ``Card.cost``).
COST_KEYS = ("ipis", "pmuserenr_writes_per_switch", "counter_clears_per_switch", "mmap_work", "munmap_work",
             "remote_mmap_work", "el0_traps")
_LABELS = ("IPIs", "PMUSERENR/switch", "clears/switch", "mmap", "munmap", "mmap from B", "EL0 traps")
COLOURS = ["#e8f5e9", "#f59e0b", style.RED]
#: Readable names of the cost keys in the card's table.
_COST_NAMES = {"switches": "context switches", "ipis": "IPIs", "pmuserenr_writes_per_switch":
               "PMUSERENR_EL0 writes per switch", "counter_clears_per_switch": "counter clears per switch",
               "mmap_work": "work in mmap()", "munmap_work": "work in munmap()",
               "remote_mmap_work": "work in mmap() from another task", "el0_traps": "EL0 traps",
               "el0_trap_work": "work in the EL0 trap", "self_reads": "self-monitoring reads",
               "self_reads_ok": "self-monitoring reads that worked"}
_CELL = "padding:1px 8px;text-align:left;vertical-align:top"


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


def card_html(card: Card) -> str:
    """The card as a readable panel: verdict, why each scenario failed, invariants, the explorer's
    counterexample as numbered steps, and the cost as a table (the same facts as ``Card.summary()``)."""
    esc = html.escape
    parts = [f'<div class="pmulab-card" data-design="{esc(card.design)}" style="font-size:12px;line-height:1.5">',
             style.badge(f"{esc(card.design)}: safe in {len(card.safe)}/{len(card.scenarios)} scenarios",
                         not card.failed, failed=len(card.failed))]
    rows = []
    for name, s in card.scenarios.items():
        if s.ok:
            continue
        why = list(s.leak) + [f"{v} is wrong" for v in s.violations]
        if s.failure:
            why.append(f"hook {s.failure['hook']}: {s.failure['message']}")
        rows.append(f"<tr><td style='{_CELL}'><b>{esc(name)}</b></td><td style='{_CELL}'>{esc(s.status)}</td>"
                    f"<td style='{_CELL}'>{'<br>'.join(esc(w) for w in why[:3])}</td></tr>")
    if rows:
        parts.append(f"<table class='pmulab-card-failed'><tr><th style='{_CELL}'>scenario</th>"
                     f"<th style='{_CELL}'>result</th><th style='{_CELL}'>why</th></tr>{''.join(rows)}</table>")
    for f in card.failures[:1]:
        where = ", ".join(dict.fromkeys(x["scenario"] for x in card.failures))
        hook = style.badge(f"broken hook {esc(f['hook'])}", False)
        parts.append(f"<div>{hook} "
                     f"{esc(f['kind'])}: {esc(f['message'])} (in {esc(where)})</div>")
    parts.append("<div><b>invariants</b> " + "".join(style.badge(esc(k), bool(v), invariant=k)
                                                    for k, v in card.invariants.items()) + "</div>")
    if card.counterexample:
        steps = "".join(f"<li>{esc(x.get('text', str(x)))}</li>" for x in card.counterexample)
        parts.append(f"<div><b>explorer's shortest counterexample</b> "
                     f"({esc(str(card.explorer.get('invariant')))}):<ol style='margin:2px 0'>{steps}</ol></div>")
    elif card.explorer.get("verdict") is None:
        parts.append(f"<div><b>explorer</b>: no verdict ({esc(str(card.explorer.get('reason')))})</div>")
    cost = "".join(f"<tr><td style='{_CELL}'>{esc(_COST_NAMES.get(k, k))}</td><td style='{_CELL}'>{v:g}</td></tr>"
                   for k, v in card.cost.items() if isinstance(v, (int, float)))
    if cost:
        parts.append(f"<details><summary><b>cost</b> on the standard workload</summary><table>{cost}</table>"
                     "</details>")
    if card.self_read_rate is not None:
        parts.append(f"<div>self-monitoring reads that worked: <b>{card.self_read_rate:.0%}</b></div>")
    return "".join(parts) + "</div>"


def card_view(card: Card) -> widgets.HTML:
    """A card on its own (``card_html`` in a widget), for a notebook that graded without a ``StudioView``."""
    out = widgets.HTML(card_html(card))
    out.add_class("pmulab-card-view")
    return out


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
        self.safety_fig = style.figure([self.grid], [style.x_axis(cs, "", side="top"),
                                                     style.y_axis(rs, "", tick_format=None)],
                                       "Safety: green = safe, red = leaks / unsafe, amber = broken hook",
                                       height="200px", legend=None,
                                       fig_margin=dict(style.MARGIN, top=80, bottom=10, left=150))
        xs, ys = bq.OrdinalScale(), bq.LinearScale(min=0.0, max=_top(self.baseline, None))
        self.bars = bq.Bars(x=list(_LABELS), y=[_cost(self.baseline), _cost(None)], type="grouped",
                            colors=[style.GREY, style.BLUE], labels=self.rows, display_legend=True,
                            scales={"x": xs, "y": ys})
        self.cost_fig = style.figure([self.bars], [style.x_axis(xs, "cost per run of the standard workload"),
                                                   style.y_axis(ys, "count", tick_format=".2~f")],
                                     "Cost on the standard workload", height="280px", legend="top-right")
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
        self.summary.value = card_html(card)


def studio_view(design: Any, baseline: str = "v5.17", explorer: dict | None = None, **grade_kw: Any) -> StudioView:
    """A grade panel for ``design`` (a Design subclass or name) against ``baseline``."""
    return StudioView(design, baseline, explorer, **grade_kw)
