"""Model vs real kernel, side by side, for a scenario picked from a Dropdown (notebook 11).

Models: nothing; a view of ``pmulab.oracle.view`` data (recorded truths, so it works on Binder).
The bqplot figure shows every EL0 read of PMUSERENR_EL0 in the chosen scenario: the real
kernel's value (bars) and the model's (dots) at each step; 0xC is ER|CR.
Omits: live boots (use ``pmulab oracle --live``).
Pinned to: ipywidgets 8, bqplot 0.13.
"""

from __future__ import annotations

import html

import bqplot as bq
import ipywidgets as widgets

from pmulab.oracle import view
from pmulab.viz import style
from pmulab.viz.guard import CallbackGuard

__all__ = ["OracleView", "oracle_view"]


class OracleView:
    """``.dropdown`` (scenario), ``.table`` (HTML), ``.figure`` (bqplot), ``.widget`` (all of it)."""

    def __init__(self, scenario: str = "S13"):
        names = view.recorded_names()
        if scenario not in names:
            raise ValueError(f"no recorded truth for {scenario!r} (recorded: {', '.join(names)})")
        self.guard = CallbackGuard()
        self.dropdown = widgets.Dropdown(options=names, value=scenario, description="scenario")
        self.header = widgets.HTML()
        self.table = widgets.HTML()
        xs, ys = bq.OrdinalScale(), bq.LinearScale(min=0, max=15)
        self.kernel_bars = bq.Bars(x=[], y=[], scales={"x": xs, "y": ys}, colors=["#4c78a8"], labels=["kernel"],
                                   display_legend=True)
        self.model_dots = bq.Scatter(x=[], y=[], scales={"x": xs, "y": ys}, colors=["#f58518"], labels=["model"],
                                     display_legend=True, default_size=80)
        self.figure = style.figure([self.kernel_bars, self.model_dots],
                                   [style.x_axis(xs, "step (task)"),
                                    style.y_axis(ys, "PMUSERENR_EL0 read at EL0", tick_format="#x",
                                                 tick_values=[0, 4, 8, 12])], "", height="300px", legend="top-right")
        self.dropdown.observe(self.guard.wrap(self._on_change), names="value")
        self.widget = widgets.VBox([self.dropdown, self.guard.out, self.header, self.figure, self.table])
        self.widget.add_class("pmulab-oracle")
        self.select(scenario)

    @property
    def scenario(self) -> str:
        return self.dropdown.value

    def _on_change(self, change) -> None:
        self._draw(change["new"])

    def select(self, name: str) -> None:
        """Show ``name`` (same as choosing it in the Dropdown)."""
        if self.dropdown.value != name:
            self.dropdown.value = name  # the observer redraws
        else:
            self._draw(name)

    def _draw(self, name: str) -> None:
        s = view.summary(name)
        series = view.pmuserenr_series(name)
        labels = [f"{st} ({t})" for st, t in zip(series["step"], series["task"], strict=True)]
        with self.figure.hold_sync():
            self.kernel_bars.x, self.kernel_bars.y = labels, series["kernel"]
            self.model_dots.x, self.model_dots.y = labels, series["model"]
            self.figure.title = f"{name}: PMUSERENR_EL0 as EL0 reads it (0xc = ER|CR)"
        self.header.value = (f"<span class='pmulab-oracle-head' data-scenario='{html.escape(name)}' "
                             f"data-agree='{int(s['agree'] == s['cells'])}'>"
                             f"<b>{html.escape(name)}</b>: {html.escape(s['doc'].removeprefix(name + ': '))}"
                             f"<br><small>Linux {s['kernel']}, "
                             f"{html.escape(s['qemu'] or '')}, -cpu {s['qemu_cpu']}: {s['agree']}/{s['cells']} "
                             f"compared cells agree</small></span>")
        td = "<td style='padding:1px 8px;border-bottom:1px solid #e3e7ee'>"
        body = "".join(
            f"<tr>{td}{r['step']}</td>{td}{r['task']}</td>{td}{r['op']}</td>{td}{html.escape(r['what'])}</td>"
            f"{td}{html.escape(r['model'])}</td>{td}{html.escape(r['kernel'])}</td>"
            f"{td}{'=' if r['agree'] else '<b style=color:#d62728>X</b>'}</td></tr>" for r in view.rows(name))
        self.table.value = ("<table class='pmulab-oracle-table' style='border-collapse:collapse;font-size:12px'>"
                            "<tr><th>step</th><th>task</th><th>op</th>"
                            f"<th>what</th><th>model</th><th>real kernel</th><th></th></tr>{body}</table>")


def oracle_view(scenario: str = "S13") -> OracleView:
    """The side-by-side view, starting on ``scenario``."""
    return OracleView(scenario)
