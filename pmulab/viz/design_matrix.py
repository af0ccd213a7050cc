"""The design matrix view of notebook 08: every scenario on every design, clickable.

Models: nothing itself; the runs come from ``pmulab.scenarios.matrix``.
- ``DesignMatrix``: the scenario x design grid (observed headline vs expected) as a bqplot
  GridHeatMap; clicking a cell (or the two menus) shows that run's checks and story.
Omits: any outcome logic of its own (the scenarios own the checks).
Pinned to: ipywidgets 8, bqplot 0.13 (GridHeatMap click-select).
"""

from __future__ import annotations

import html

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from pmulab.scenarios import SCENARIOS, matrix
from pmulab.scenarios.base import DESIGN_NAMES
from pmulab.viz import style
from pmulab.viz.guard import CallbackGuard
from pmulab.viz.labkit import _BAD, _BADGE, _BOX, _GOOD, _badge

__all__ = ["DesignMatrix", "design_matrix"]


class DesignMatrix(widgets.VBox):
    """The scenario x design grid as a heat map; a clicked cell (or the menus) shows that run's story.

    Cell colour: the headline check observed "no" (0) or "yes" (1), as expected; 2 = NOT as
    expected. ``outcomes[s][d]`` is the Outcome behind each cell.
    """

    def __init__(self, designs=DESIGN_NAMES, scenarios=None, outcomes=None):
        self.guard = CallbackGuard()
        self.designs = list(designs)
        self.scenarios = list(SCENARIOS) if scenarios is None else list(scenarios)
        self.outcomes = outcomes if outcomes is not None else matrix(self.designs, self.scenarios)
        self.rows = [f"{s} {SCENARIOS[s].headline}" for s in self.scenarios]
        self.values = np.array([[self.code(s, d) for d in self.designs] for s in self.scenarios], dtype=float)
        rs, cs = bq.OrdinalScale(reverse=True), bq.OrdinalScale()
        colours = bq.ColorScale(min=0.0, max=2.0, colors=["#dcfce7", "#fdba74", "#dc2626"])
        self.grid = bq.GridHeatMap(row=self.rows, column=self.designs, color=self.values,
                                   scales={"row": rs, "column": cs, "color": colours}, stroke="white",
                                   interactions={"click": "select"},
                                   selected_style={"stroke": "#111", "stroke-width": "3px"},
                                   tooltip=bq.Tooltip(fields=["row", "column"], labels=["scenario", "design"]))
        self.fig = style.figure([self.grid], [style.x_axis(cs, "design", side="top"),
                                              style.y_axis(rs, "scenario and its headline check", tick_format=None,
                                                           label_offset="270px")],
                                "", height="640px", legend=None, fig_margin=dict(style.MARGIN, top=60, bottom=10,
                                                                                  left=290))
        self.scenario = widgets.Dropdown(options=self.scenarios, value=self.scenarios[0], description="scenario")
        self.design = widgets.Dropdown(options=self.designs, value=self.designs[-2] if len(self.designs) > 1
                                       else self.designs[0], description="design")
        self.story = widgets.HTML()
        self.grid.observe(self.guard.wrap(self._on_select), names="selected")
        self.grid.on_element_click(self.guard.wrap(self._on_click))
        for w in (self.scenario, self.design):
            w.observe(self.guard.wrap(self._on_menu), names="value")
        n_ok, total = self.n_ok, self.total
        key = "".join(f'<span style="{_BADGE}background:{c}">{t}</span>' for c, t in (
            ("#dcfce7", "headline: no (as expected)"), ("#fdba74", "headline: yes (as expected)"),
            ("#dc2626;color:white", "NOT as expected")))
        self.head = widgets.HTML(f'<div class="pmulab-matrix-head" data-ok="{n_ok}" data-total="{total}" '
                                 f'style="{_BOX}"><b>{n_ok} of {total}</b> runs behave as the spec expects. {key}'
                                 f"<br>Click a cell, or use the menus, to see that run step by step.</div>")
        super().__init__([self.head, self.fig, widgets.HBox([self.scenario, self.design]), self.story,
                          self.guard.out])
        self.add_class("pmulab-matrix")
        self.select(self.scenario.value, self.design.value)

    @property
    def n_ok(self) -> int:
        """Runs whose every check has its expected value."""
        return sum(o.ok for row in self.outcomes.values() for o in row.values())

    @property
    def total(self) -> int:
        return len(self.scenarios) * len(self.designs)

    def headline(self, s: str, d: str) -> bool:
        """The observed headline check of scenario ``s`` on design ``d``."""
        return bool(self.outcomes[s][d].checks[SCENARIOS[s].headline])

    def code(self, s: str, d: str) -> int:
        o = self.outcomes[s][d]
        return 2 if not o.ok else int(bool(o.checks[SCENARIOS[s].headline]))

    def _on_select(self, change) -> None:
        sel = change["new"]
        if sel is None or len(sel) == 0:
            return
        r, c = (int(v) for v in np.asarray(sel).reshape(-1, 2)[-1])
        self.select(self.scenarios[r], self.designs[c])

    def _on_click(self, mark, content) -> None:
        """bqplot's element-click message: ``content["data"]`` (or ``content``) names rowNum/columnNum."""
        data = content.get("data", content) if isinstance(content, dict) else {}
        if not isinstance(data, dict) or "rowNum" not in data:
            data = content
        self.select(self.scenarios[int(data["rowNum"])], self.designs[int(data["columnNum"])])

    def _on_menu(self, change) -> None:
        self.select(self.scenario.value, self.design.value)

    def select(self, scenario: str, design: str):
        """Show the run of ``scenario`` on ``design`` (menus, selected cell and story follow)."""
        r, c = self.scenarios.index(scenario), self.designs.index(design)
        with self.fig.hold_sync():
            self.grid.selected = np.array([[r, c]])
        self.scenario.value, self.design.value = scenario, design
        o = self.outcomes[scenario][design]
        self.story.value = self._story(o)
        self.current = o
        return o

    def _story(self, o) -> str:
        sc = SCENARIOS[o.scenario]
        rows = "".join(
            f"<tr><td style='padding:1px 8px'><code>{html.escape(k)}</code></td><td style='padding:1px 8px'>{v}</td>"
            f"<td style='padding:1px 8px'>{o.expected.get(k)}</td><td>{'✓' if o.expected.get(k) == v else '✗'}</td>"
            f"</tr>" for k, v in o.checks.items())
        verdict = _badge("as expected" if o.ok else "NOT as expected", _GOOD if o.ok else _BAD, ok=int(o.ok))
        leak = _badge(f"leaked reads: {len(o.leak.reads)}", _BAD if o.leak.reads else _GOOD, leaks=len(o.leak.reads))
        return (f'<div class="pmulab-matrix-story" data-scenario="{o.scenario}" data-design="{o.design}" '
                f'style="{_BOX}"><b>{o.scenario} on {html.escape(o.design)}</b>: {html.escape(sc.title)} '
                f"<span style='color:#475569'>({html.escape(sc.concern)})</span><br>{verdict}{leak}"
                f"<table style='margin:4px 0'><tr><th>check</th><th>observed</th><th>expected</th><th></th></tr>"
                f"{rows}</table><pre style='font-size:11px;max-height:18em;overflow:auto;background:#f8fafc;"
                f"padding:6px'>{html.escape(chr(10).join(o.story))}</pre></div>")


def design_matrix(designs=DESIGN_NAMES, scenarios=None) -> DesignMatrix:
    """Run every scenario on every design (about a second) and return the clickable matrix."""
    return DesignMatrix(designs, scenarios)
