"""ScenarioExplorer: controls built from a scenario's Params, a design menu, a live plot and check badges.

Models: nothing itself. The controls come from the fields of the scenario's frozen ``Params``
dataclass (``metadata``: ``label``, ``min``, ``max``, ``options``): ``options`` -> Dropdown,
``bool`` -> Checkbox, ``int`` -> IntSlider, ``float`` -> FloatSlider, so a widget cannot produce
a value outside the declared range. On every change the explorer calls
``run_scenario(name, design, **params)`` and draws the outcome's trace (per-CPU counter values
per tick from ``Trace.columns()``) inside ``fig.hold_sync()``, with one badge per named check
(green when it matches the expected result). A failing run shows its traceback in the Output
next to the controls, and the previous plot and badges stay.
Omits: running anything itself (``run`` is injected; default ``pmulab.scenarios.run_scenario``).
Pinned to: ipywidgets 8, bqplot 0.13 (style anchors §7: observe -> run -> hold_sync).
"""

from __future__ import annotations

import dataclasses
import html

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from pmulab.viz.guard import CallbackGuard

__all__ = ["ScenarioExplorer", "control_for", "trace_lines"]

COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
_BADGE = "display:inline-block;padding:2px 8px;margin:2px;border-radius:10px;font-size:12px;"
_GOOD, _BAD = "background:#d5f2dc;color:#14532d;", "background:#fbd5d5;color:#7f1d1d;font-weight:bold;"


def control_for(f: dataclasses.Field) -> widgets.Widget:
    """The widget for one Params field, from its type, default and metadata (None entries ignored)."""
    meta = {k: v for k, v in f.metadata.items() if v is not None}
    default = f.default
    kw = {"description": meta.get("label", f.name), "style": {"description_width": "initial"},
          "tooltip": meta.get("doc", "")}
    if "options" in meta:
        return widgets.Dropdown(options=list(meta["options"]), value=default, **kw)
    if isinstance(default, bool):
        return widgets.Checkbox(value=default, indent=False, **kw)
    if isinstance(default, int):
        return widgets.IntSlider(value=default, min=meta.get("min", 0), max=meta.get("max", max(10, 2 * default)),
                                 **kw)
    if isinstance(default, float):
        return widgets.FloatSlider(value=default, min=meta.get("min", 0.0), max=meta.get("max", 1.0), **kw)
    raise TypeError(f"Params field {f.name!r}: no control for {type(default).__name__} without 'options'")


def trace_lines(trace, limit: int = len(COLOURS)) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(ticks, y (lines, ticks), labels)``: every counter that ever counted, per CPU (at most ``limit``)."""
    cols = trace.columns() if trace is not None else None
    if not cols or not len(cols["tick"]):
        return np.zeros(0), np.zeros((0, 0)), []
    counters = np.asarray(cols["counters"], dtype=np.float64)  # (ticks, cpus, 32)
    used = [(c, s) for c in range(counters.shape[1]) for s in range(counters.shape[2]) if counters[:, c, s].any()]
    used = used[:limit]
    y = np.array([counters[:, c, s] for c, s in used]) if used else np.zeros((0, len(cols["tick"])))
    labels = [f"CPU{c} {'PMCCNTR' if s == 31 else f'PMEVCNTR{s}'}" for c, s in used]
    return np.asarray(cols["tick"], dtype=np.float64), y, labels


def _first_line(scenario) -> str:
    doc = (getattr(scenario, "title", None) or getattr(scenario, "__doc__", None) or "").strip()
    return doc.splitlines()[0] if doc else ""


def _leak_text(leak) -> str:
    if not leak:
        return "no leak"
    kinds = getattr(leak, "kinds", None)
    if kinds is not None:
        return "leaks: " + html.escape(", ".join(sorted(kinds)))
    return "leaks" if leak is True else f"leaks: {html.escape(str(leak))}"


def _truth(value) -> bool | None:
    if isinstance(value, bool) or value is None:
        return value
    for attr in ("ok", "passed", "value"):
        if hasattr(value, attr):
            return bool(getattr(value, attr))
    return bool(value)


class ScenarioExplorer(widgets.VBox):
    """Explore one scenario: Params controls + design menu -> ``run`` -> plot and check badges."""

    def __init__(self, scenario, *, design: str = "v5.17", designs=None, run=None, title: str | None = None):
        if isinstance(scenario, str):
            from pmulab.scenarios import SCENARIOS  # noqa: PLC0415 -- lands after the views
            self.name, scenario = scenario, SCENARIOS[scenario]
        else:
            self.name = getattr(scenario, "name", type(scenario).__name__)
        if run is None:
            from pmulab.scenarios import run_scenario as run  # noqa: PLC0415
        self.scenario, self._run = scenario, run
        if designs is None:
            from pmulab.drivers.user_access import DESIGNS  # noqa: PLC0415
            designs = list(DESIGNS)
        self.guard = CallbackGuard()
        self.controls = {f.name: control_for(f) for f in dataclasses.fields(scenario.Params)}
        self.design = widgets.Dropdown(options=list(designs), value=design, description="design")
        for w in (self.design, *self.controls.values()):
            w.observe(self.guard.wrap(self._on_change), names="value")
        self._build_figure(title or f"{self.name}: counters per CPU")
        self.badges, self.story = widgets.HTML(), widgets.HTML()
        self.outcome = None
        head = widgets.HTML(f"<b>{html.escape(self.name)}</b> <span style='color:#66707f'>"
                            f"{html.escape(_first_line(scenario))}</span>")
        box = widgets.VBox([self.design, *self.controls.values()])
        super().__init__([head, box, self.guard.out, self.badges, self.fig, self.story])
        self.add_class("pmulab-explorer")
        self.refresh()

    def _build_figure(self, title: str) -> None:
        x, y = bq.LinearScale(), bq.LinearScale(min=0.0)
        self.lines = bq.Lines(x=np.zeros(0), y=np.zeros((0, 0)), scales={"x": x, "y": y}, colors=COLOURS,
                              display_legend=True, stroke_width=2)
        axes = [bq.Axis(scale=x, label="tick"), bq.Axis(scale=y, side="left", label="counter value",
                                                        tick_format=".3s", label_offset="55px")]
        self.fig = bq.Figure(marks=[self.lines], axes=axes, title=title, animation_duration=0,
                             legend_location="top-left", layout=widgets.Layout(width="100%", height="320px"),
                             fig_margin={"top": 40, "bottom": 40, "left": 70, "right": 20})

    @property
    def params(self):
        """The ``Params`` the controls describe now."""
        return self.scenario.Params(**{n: w.value for n, w in self.controls.items()})

    def _on_change(self, change) -> None:
        self.refresh()

    def refresh(self):
        """Run the scenario with the current controls; redraw plot and badges; return the outcome."""
        outcome = self._run(self.name, self.design.value, **dataclasses.asdict(self.params))
        ticks, y, labels = trace_lines(getattr(outcome, "trace", None))
        with self.fig.hold_sync():
            self.lines.x, self.lines.y = ticks, y
            self.lines.labels = labels
        self.badges.value = self._badges(outcome)
        lines = list(getattr(outcome, "story", None) or [])
        self.story.value = ("" if not lines else '<details class="pmulab-story"><summary>what happened, step by step'
                            '</summary><pre style="font-size:11px;max-height:14em;overflow:auto">'
                            + html.escape("\n".join(lines)) + "</pre></details>")
        self.outcome = outcome
        return outcome

    def _badges(self, outcome) -> str:
        checks = dict(getattr(outcome, "checks", {}) or {})
        expected = getattr(outcome, "expected", None)
        expected = dict(expected) if isinstance(expected, dict) else {}
        out = []
        for name, value in checks.items():
            got, want = _truth(value), _truth(expected.get(name)) if name in expected else None
            good = got if want is None else got == want
            tip = f"{name}: {got}" + ("" if want is None else f" (expected {want})")
            out.append(f'<span class="pmulab-badge" data-check="{html.escape(name)}" data-good="{int(bool(good))}" '
                       f'title="{html.escape(tip, quote=True)}" style="{_BADGE}{_GOOD if good else _BAD}">'
                       f'{"✓" if got else "✗"} {html.escape(name)}</span>')
        ok, leak = getattr(outcome, "ok", None), getattr(outcome, "leak", None)
        summary = (f'<span class="pmulab-verdict" data-ok="{int(bool(ok))}" style="{_BADGE}'
                   f'{_GOOD if ok else _BAD}">{"as expected" if ok else "NOT as expected"}</span>')
        if leak is not None:
            summary += (f'<span class="pmulab-leak" data-leak="{int(bool(leak))}" style="{_BADGE}'
                        f'{_BAD if leak else _GOOD}">{_leak_text(leak)}</span>')
        design = html.escape(self.design.value)
        return f'<div class="pmulab-badges" data-design="{design}">{summary} {"".join(out)}</div>'
