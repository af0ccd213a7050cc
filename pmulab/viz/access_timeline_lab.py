"""The access timeline lab of notebook 06: S3/S4 on two designs side by side.

Models: nothing itself; the runs come from ``access_probe.probe_run``.
- ``AccessTimelineLab``: S3/S4 on two designs (v8 against v8-efc by default): per CPU,
  PMUSERENR_EL0.ER as the hardware holds it against what the design's own accounting says it
  should be, and the accounting counters (``nr_user``, ``sched_cb_usage``), at every narrated step.
Controls come from the scenario's ``Params`` metadata; marks are redrawn inside ``fig.hold_sync()``.
Omits: running anything the scenarios do not run.
Pinned to: ipywidgets 8, bqplot 0.13; spec §7 S3, S4.
"""

from __future__ import annotations

import html

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from pmulab.scenarios import SCENARIOS
from pmulab.scenarios.base import DESIGN_NAMES, Outcome, check_design
from pmulab.viz import style
from pmulab.viz.access_probe import Probe, mismatches, probe_run
from pmulab.viz.guard import CallbackGuard
from pmulab.viz.labkit import _CARD, _GREY, _RED, _TD, _controls

__all__ = ["AccessTimelineLab", "access_timeline_lab"]


class _DesignPanel(widgets.VBox):
    """One design's side: per-CPU ER (hardware) vs the accounting, and nr_user/sched_cb_usage."""

    def __init__(self, design: str, designs):
        self.design = widgets.Dropdown(options=list(designs), value=check_design(design), description="design")
        x, y = bq.LinearScale(), bq.LinearScale(min=-0.4, max=5.4)
        self.hw = bq.Lines(x=np.zeros(0), y=np.zeros((2, 0)), scales={"x": x, "y": y}, colors=["#1f77b4", "#9467bd"],
                           stroke_width=3, interpolation="step-after", display_legend=True,
                           labels=["CPU 0: PMUSERENR.ER (hardware)", "CPU 1: PMUSERENR.ER (hardware)"])
        self.acct = bq.Scatter(x=np.zeros(0), y=np.zeros(0), scales={"x": x, "y": y}, colors=[_GREY],
                               marker="circle", default_size=90, fill=False, stroke=_GREY, display_legend=True,
                               labels=["what the accounting says"])
        self.bad = bq.Scatter(x=np.zeros(0), y=np.zeros(0), scales={"x": x, "y": y}, colors=[_RED], marker="cross",
                              default_size=170, display_legend=True, labels=["hardware ≠ accounting"])
        self.fig = style.figure([self.hw, self.acct, self.bad],
                                [style.x_axis(x, "step", tick_format="d"),
                                 style.y_axis(y, "CPU 0: 0/1 · CPU 1: 2/3", tick_format="d", tick_values=[0, 1, 2, 3],
                                              label_offset="40px")],
                                "per CPU: access on (top) or off", height="300px")
        cx, cy = bq.LinearScale(), bq.LinearScale(min=0.0, max=4.0)
        self.counts = bq.Lines(x=np.zeros(0), y=np.zeros((2, 0)), scales={"x": cx, "y": cy},
                               colors=[style.COLOURS[1], style.COLOURS[6]], stroke_width=2, interpolation="step-after",
                               marker="circle", marker_size=25, display_legend=True,
                               labels=["nr_user", "sched_cb_usage"])
        self.fig_counts = style.figure([self.counts], [style.x_axis(cx, "step", tick_format="d"),
                                                       style.y_axis(cy, "count", tick_format="d", label_offset="40px")],
                                       "the accounting counters", height="200px")
        self.badges = widgets.HTML()
        super().__init__([self.design, self.badges, self.fig, self.fig_counts],
                         layout=widgets.Layout(width="50%"))

    def draw(self, outcome: Outcome, probes: list[Probe]) -> None:
        x = np.arange(len(probes), dtype=float)
        er = np.array([p.er for p in probes], dtype=float).T  # (cpus, steps)
        band = 2.0 * np.arange(er.shape[0])[:, None]
        ax, ay, bx, by = [], [], [], []
        for i, p in enumerate(probes):
            for c, want in enumerate(p.expected):
                if want is not None:
                    ax.append(float(i))
                    ay.append(2.0 * c + want)
            for c in p.mismatched:
                bx.append(float(i))
                by.append(2.0 * c + p.er[c])
        counts = np.array([[p.nr_user for p in probes], [p.sched_cb_usage for p in probes]], dtype=float)
        with self.fig.hold_sync():
            self.fig.axes[0].tick_values = x
            self.hw.x, self.hw.y = x, er + band
            self.acct.x, self.acct.y = np.array(ax), np.array(ay)
            self.bad.x, self.bad.y = np.array(bx), np.array(by)
        with self.fig_counts.hold_sync():
            top = float(max(2.0, counts.max()) + 2)
            self.fig_counts.axes[0].tick_values = x
            self.fig_counts.axes[1].tick_values = np.arange(int(top))
            self.counts.x, self.counts.y = x, counts
            self.fig_counts.axes[1].scale.max = top
        self.badges.value = _check_badges(outcome)


def _check_badges(o: Outcome) -> str:
    out = []
    for name, got in o.checks.items():
        want = o.expected.get(name)
        style = "background:#d5f2dc;color:#14532d" if got == want else "background:#fbd5d5;color:#7f1d1d"
        out.append(f"<span class='pmulab-badge' data-check='{html.escape(name)}' data-value='{int(bool(got))}' "
                   f"style='display:inline-block;padding:1px 7px;margin:2px;border-radius:9px;font-size:12px;"
                   f"{style}'>{'✓' if got else '✗'} {html.escape(name)}</span>")
    return f"<div class='pmulab-badges' data-design='{html.escape(o.design)}'>{''.join(out)}</div>"


class AccessTimelineLab(widgets.VBox):
    """S3 or S4 on two designs side by side, probed at every narrated step; the controls are shared."""

    def __init__(self, scenario: str = "S3", left: str = "v8", right: str = "v8-efc", designs=DESIGN_NAMES):
        self.guard = CallbackGuard()
        self.scenario = widgets.ToggleButtons(options=["S3", "S4"], value=scenario, description="scenario")
        self.left, self.right = _DesignPanel(left, designs), _DesignPanel(right, designs)
        self.params_box = widgets.VBox()
        self._build_controls()
        self.scenario.observe(self.guard.wrap(self._on_scenario), names="value")
        for w in (self.left.design, self.right.design):
            w.observe(self.guard.wrap(self._on_change), names="value")
        self.steps = widgets.HTML()
        super().__init__([self.scenario, self.params_box, self.guard.out,
                          widgets.HBox([self.left, self.right], layout=widgets.Layout(width="100%")), self.steps])
        self.add_class("pmulab-accesslab")
        self.refresh()

    def _build_controls(self) -> None:
        self.controls = _controls(SCENARIOS[self.scenario.value].params)
        for w in self.controls.values():
            w.observe(self.guard.wrap(self._on_change), names="value")
        self.params_box.children = tuple(self.controls.values())

    def _on_scenario(self, change) -> None:
        self._build_controls()
        self.refresh()

    def _on_change(self, change) -> None:
        self.refresh()

    @property
    def params(self) -> dict:
        return {n: w.value for n, w in self.controls.items()}

    def refresh(self) -> None:
        """Run the scenario on both designs with the shared controls; redraw both sides."""
        self.results = {}
        for side in (self.left, self.right):
            outcome, probes = probe_run(self.scenario.value, side.design.value, **self.params)
            side.draw(outcome, probes)
            self.results[side.design.value] = (outcome, probes)
        self.steps.value = self._table()

    def outcome(self, design: str) -> Outcome:
        return self.results[design][0]

    def probes(self, design: str) -> list[Probe]:
        return self.results[design][1]

    def mismatches(self, design: str) -> list[tuple[int, int]]:
        """``(step, cpu)`` where the hardware disagreed with ``design``'s accounting in the last run."""
        return mismatches(self.probes(design))

    def _table(self) -> str:
        designs = [self.left.design.value, self.right.design.value]
        rows = []
        for i, p in enumerate(self.probes(designs[0])):
            cells = [f"<td style='{_TD}'>{i}</td><td style='{_TD};text-align:left'>{html.escape(p.step)}</td>"]
            for d in designs:
                probes = self.probes(d)
                q = probes[i] if i < len(probes) else None
                if q is None:
                    cells.append(f"<td style='{_TD}'>-</td>")
                    continue
                txt = " · ".join(f"C{c} {q.running[c]} ER={q.er[c]}" + ("" if q.expected[c] is None else
                                                                       f" (acct {q.expected[c]})")
                                 for c in range(len(q.er)))
                colour = "background:#fbd5d5" if q.mismatched else ""
                cells.append(f"<td style='{_TD}{colour}' data-mismatch='{int(bool(q.mismatched))}'>{txt}; "
                             f"nr_user={q.nr_user} cb={q.sched_cb_usage}</td>")
            rows.append(f"<tr>{''.join(cells)}</tr>")
        head = "".join(f"<th style='{_TD}background:#eef1f6'>{html.escape(h)}</th>" for h in (
            "step", "after", *designs))
        return (f"<details class='pmulab-steps' style='{_CARD}'><summary>the steps, probe by probe (red: the "
                f"hardware disagrees with the accounting)</summary><table style='border-collapse:collapse;"
                f"font-size:12px'><tr>{head}</tr>{''.join(rows)}</table></details>")


def access_timeline_lab(scenario: str = "S3", left: str = "v8", right: str = "v8-efc") -> AccessTimelineLab:
    """Return the S3/S4 lab: two designs side by side, per-CPU PMUSERENR against the accounting."""
    return AccessTimelineLab(scenario, left, right)
