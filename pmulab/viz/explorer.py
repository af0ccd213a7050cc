"""ScenarioExplorer: one scenario of the review, live: controls from its Params, a design menu, plot, badges.

Models: nothing itself. ``ScenarioExplorer("S1")`` (a name of ``pmulab.scenarios.SCENARIOS``) or
``ScenarioExplorer(scenario)`` (a ``pmulab.scenarios.base.Scenario``, whose parameters class is
``.params``; any object with a ``Params``/``params`` dataclass works when ``run=`` is given).
The controls come from the fields of the frozen parameters dataclass (``metadata``: ``label``,
``min``, ``max``, ``options``): ``options`` -> Dropdown, ``bool`` -> Checkbox, ``int`` ->
IntSlider, ``float`` -> FloatSlider, so a widget cannot produce a value outside the declared
range. On every change the explorer runs the scenario (``Scenario.outcome(design, **params)``,
or the injected ``run(name, design, **params)``) and draws the outcome's trace (per-CPU counter
values per tick from ``Trace.columns()``) inside ``fig.hold_sync()``, one badge per named check
(green when it matches the expected result), the per-CPU ownership strip of the machine as the
run left it (who runs, PMUSERENR_EL0, whose event each counter holds) and the story. A failing
run shows its traceback in the Output next to the controls, and the previous plot, badges and
strip stay.
Omits: computing outcomes (pmulab.scenarios does that; the explorer only draws them).
Pinned to: ipywidgets 8, bqplot 0.13 (style anchors §7: observe -> run -> hold_sync).
"""

from __future__ import annotations

import dataclasses
import html

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from pmulab.drivers.user_access import DESIGNS
from pmulab.hw.sysregs import PMUSERENR
from pmulab.scenarios import SCENARIOS, run_scenario
from pmulab.scenarios import scenario as lookup
from pmulab.scenarios.base import check_design
from pmulab.viz import style
from pmulab.viz.guard import CallbackGuard
from pmulab.viz.strip import OwnershipStrip

__all__ = ["ScenarioExplorer", "access_lanes", "control_for", "trace_lines", "params_class"]

COLOURS = list(style.COLOURS)
_BADGE, _GOOD, _BAD = style.BADGE, style.GOOD, style.BAD
CONTROL_LABEL, CONTROL_WIDTH = style.CONTROL_LABEL, style.CONTROL_WIDTH


def control_for(f: dataclasses.Field) -> widgets.Widget:
    """The widget for one Params field, from its type, default and metadata (None entries ignored)."""
    meta = {k: v for k, v in f.metadata.items() if v is not None}
    default = f.default
    kw = {"description": meta.get("label", f.name), "style": {"description_width": CONTROL_LABEL},
          "layout": widgets.Layout(width=CONTROL_WIDTH), "tooltip": meta.get("doc", "")}
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


def trace_lines(trace, limit: int = len(COLOURS), relative: bool = False) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(ticks, y (lines, ticks), labels)``: every counter that ever counted, per CPU (at most ``limit``).

    ``relative``: each line minus its first non-zero value, i.e. the events counted since the
    counter was first seen in use (Linux starts a counting event at 2**31, which would otherwise
    hide every difference; a cleared or wrapped counter shows as a drop).
    """
    cols = trace.columns() if trace is not None else None
    if not cols or not len(cols["tick"]):
        return np.zeros(0), np.zeros((0, 0)), []
    counters = np.asarray(cols["counters"], dtype=np.float64)  # (ticks, cpus, 32)
    used = [(c, s) for c in range(counters.shape[1]) for s in range(counters.shape[2]) if counters[:, c, s].any()]
    used = used[:limit]
    y = np.array([counters[:, c, s] for c, s in used]) if used else np.zeros((0, len(cols["tick"])))
    if relative and len(y):
        y = y - np.array([row[np.flatnonzero(row)[0]] for row in y])[:, None]
    labels = [f"CPU{c} {'PMCCNTR' if s == 31 else f'PMEVCNTR{s}'}" for c, s in used]
    return np.asarray(cols["tick"], dtype=np.float64), y, labels


def access_lanes(trace) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """``(ticks, open (cpus, ticks) of 0/1, labels)``: per CPU and tick, whether PMUSERENR_EL0 lets EL0
    read the event counters (``ER`` or ``EN`` set, decoded with ``sysregs.PMUSERENR``)."""
    cols = trace.columns() if trace is not None else None
    if not cols or not len(cols["tick"]):
        return np.zeros(0), np.zeros((0, 0)), []
    values = np.asarray(cols["pmuserenr"], dtype=np.uint64)  # (ticks, cpus)
    er, en = PMUSERENR["ER"].mask, PMUSERENR["EN"].mask
    open_ = ((values & np.uint64(er | en)) != 0).astype(np.float64).T
    return np.asarray(cols["tick"], dtype=np.float64), open_, [f"CPU{c}" for c in range(values.shape[1])]


def tick_marks(ticks: np.ndarray, most: int = 12) -> np.ndarray:
    """Whole-tick axis marks: every tick, or every k-th so that at most ``most`` are labelled."""
    step = max(1, int(np.ceil(len(ticks) / most)))
    return np.asarray(ticks[::step], dtype=np.float64)


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


def params_class(scenario) -> type:
    """The parameters dataclass of ``scenario``: ``.Params`` or (pmulab's ``Scenario``) ``.params``."""
    for attr in ("Params", "params"):
        cls = getattr(scenario, attr, None)
        if isinstance(cls, type) and dataclasses.is_dataclass(cls):
            return cls
    raise TypeError(f"{type(scenario).__name__} has no parameters dataclass (.Params or .params)")


def _runner_of(scenario):
    """``run(name, design, **params) -> Outcome``: the scenario's own ``outcome``, or else the registry's
    ``run_scenario`` for an object that names a registered scenario."""
    outcome = getattr(scenario, "outcome", None)
    if not callable(outcome):
        name = getattr(scenario, "name", None)
        if name not in SCENARIOS:
            raise TypeError(f"{type(scenario).__name__} has no outcome(design, **params) and names no registered "
                            "scenario; pass run=")
        return run_scenario

    def run(name, design, **params):
        return outcome(check_design(design), **params)
    return run


class ScenarioExplorer(widgets.VBox):
    """Explore one scenario: Params controls + design menu -> run -> plot, check badges and ownership strip.

    Parameters
    ----------
    scenario : str or Scenario
        A registered name ("S1".."S16") or a scenario object (``.params`` or ``.Params`` dataclass).
    design : str
        The design first shown (one of ``designs``).
    designs : sequence of str, optional
        The design menu (default: every built-in design, ``pmulab.drivers.user_access.DESIGNS``).
    run : callable, optional
        ``run(name, design, **params) -> outcome`` (default: the scenario's own ``outcome``).
    title : str, optional
        The plot title (default: "<name>: counters per CPU").
    """

    def __init__(self, scenario, *, design: str = "v5.17", designs=None, run=None, title: str | None = None):
        if isinstance(scenario, str):
            scenario = lookup(scenario)
        self.name = getattr(scenario, "name", type(scenario).__name__)
        self.scenario, self.Params = scenario, params_class(scenario)
        self._run = _runner_of(scenario) if run is None else run
        designs = list(DESIGNS) if designs is None else list(designs)
        if design not in designs:
            raise ValueError(f"design {design!r} is not in the menu {designs}")
        self.guard = CallbackGuard()
        self.controls = {f.name: control_for(f) for f in dataclasses.fields(self.Params)}
        self.design = widgets.Dropdown(options=designs, value=design, description="design",
                                       style={"description_width": CONTROL_LABEL}, layout=widgets.Layout(width="30em"))
        for w in (self.design, *self.controls.values()):
            w.observe(self.guard.wrap(self._on_change), names="value")
        self._build_figure(title or f"{self.name}: events counted per hardware counter")
        self.badges, self.story = widgets.HTML(), widgets.HTML()
        self.strip = OwnershipStrip(None, "after the run: per CPU, who runs, PMUSERENR_EL0, whose event is where",
                                    lazy=True)
        self.outcome = None
        head = widgets.HTML(f"<b>{html.escape(self.name)}</b> <span style='color:#66707f'>"
                            f"{html.escape(_first_line(scenario))}</span>")
        box = widgets.VBox([self.design, *self.controls.values()])
        super().__init__([head, box, self.guard.out, self.badges, self.fig, self.access_fig, self.strip,
                          self.story])
        self.add_class("pmulab-explorer")
        self.add_class(f"pmulab-explorer-{self.name}")
        self.refresh()

    @classmethod
    def registered(cls) -> list[str]:
        """The names ``ScenarioExplorer(name)`` accepts."""
        return list(SCENARIOS)

    def _build_figure(self, title: str) -> None:
        x, y = bq.LinearScale(), bq.LinearScale()
        self.lines = bq.Lines(x=np.zeros(0), y=np.zeros((0, 0)), scales={"x": x, "y": y}, colors=COLOURS,
                              display_legend=True, stroke_width=2)
        self.fig = style.figure([self.lines], [style.x_axis(x, "tick"), style.y_axis(y, "counted since first seen")],
                                title)
        self.x_axis = self.fig.axes[0]
        self.x_axis.tick_format = "d"
        rows, cols = bq.OrdinalScale(reverse=True), bq.OrdinalScale()  # CPU0 on top
        self.access = bq.GridHeatMap(row=["CPU0", "CPU1"], column=[0, 1], color=np.zeros((2, 2)),
                                     scales={"row": rows, "column": cols,
                                             "color": bq.ColorScale(min=0, max=1, colors=[style.CLOSED, style.OPEN])},
                                     stroke="white", opacity=1.0)
        self.access_fig = style.figure([self.access], [style.x_axis(cols, "tick"),
                                                       style.y_axis(rows, "", tick_format=None)],
                                       "EL0 may read event counters (PMUSERENR_EL0.ER): dark = open, pale = traps",
                                       height="150px", legend=None)

    @property
    def params(self):
        """The ``Params`` the controls describe now."""
        return self.Params(**{n: w.value for n, w in self.controls.items()})

    def _on_change(self, change) -> None:
        self.refresh()

    def refresh(self):
        """Run the scenario with the current controls; redraw plot and badges; return the outcome."""
        outcome = self._run(self.name, self.design.value, **dataclasses.asdict(self.params))
        ticks, y, labels = trace_lines(getattr(outcome, "trace", None), relative=True)
        if len(ticks) == 1:  # bqplot squeezes length-1 axes away: start the lines from zero one tick earlier
            ticks, y = np.concatenate([ticks - 1, ticks]), np.concatenate([np.zeros_like(y), y], axis=1)
        aticks, ay, alabels = access_lanes(getattr(outcome, "trace", None))
        machine = getattr(outcome, "machine", None)
        rows = None if machine is None else self.strip.read(machine)  # may fail: before anything is redrawn
        with self.fig.hold_sync():
            self.lines.x, self.lines.y = ticks, y
            self.lines.labels = labels
            self.x_axis.tick_values = tick_marks(ticks)
        if len(alabels) and len(aticks) > 1:  # a one-tick heat map would be squeezed to 1-D by bqplot
            with self.access_fig.hold_sync(), self.access.hold_trait_notifications():  # shapes validated together
                self.access.row, self.access.column = alabels, aticks.astype(int)
                self.access.color = ay
        self.badges.value = self._badges(outcome)
        self.strip.show(machine, rows)
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
