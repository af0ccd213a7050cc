"""ExploreView: run the interleaving explorer from widgets and replay a counterexample on bqplot.

Models: nothing itself; it calls ``pmulab.sim.explore.explore`` with the chosen design, machine
size, depth and invariants, shows the search's progress in an ``IntProgress`` (one step per
BFS level, the state count in its description), a summary, and, for the counterexample chosen
in a dropdown, ``Counterexample.timeline()`` on three bqplot panels sharing the step axis:
PMUSERENR_EL0 per CPU, the counters per CPU (as a fraction of 2^32, so an armed 32-bit counter
sits at 0.5 and a destroyed one drops to 0), and each mapped page's ``index`` and ``lock``.
The step at which the invariant first fails is marked on every panel.
Omits: running the search in the background (a small search takes seconds; the kernel is busy).
Pinned to: ipywidgets 8, bqplot 0.13; figures from ``pmulab.viz.style``.
"""

from __future__ import annotations

import html

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from pmulab.viz import style
from pmulab.viz.explorer import tick_marks
from pmulab.viz.guard import CallbackGuard

__all__ = ["ExploreView", "explore_view", "summary_html", "story_html"]

COLOURS = list(style.COLOURS)
_TWO32 = float(1 << 32)


def _panel(title: str, ylabel: str, ymax: float | None = None) -> tuple:
    x = bq.LinearScale(min=0.0)
    y = bq.LinearScale(min=0.0, max=ymax) if ymax is not None else bq.LinearScale(min=0.0)
    ax = [style.x_axis(x, "operation", tick_format="d"), style.y_axis(y, ylabel, tick_format=None)]
    lines = bq.Lines(x=[0.0], y=[0.0], scales={"x": x, "y": y}, display_legend=True, labels=[""],
                     interpolation="step-after", colors=COLOURS)
    bad = bq.Scatter(x=[], y=[], scales={"x": x, "y": y}, colors=[style.RED], marker="cross",
                     default_size=120)
    fig = style.figure([lines, bad], ax, title, height="230px")
    return fig, lines, bad


def summary_html(result) -> str:
    """The search's summary as a panel: machine and search size, then one badge per invariant (red: violated)."""
    lines = result.summary().split("\n")
    head = [ln for ln in lines[:2] if ln]
    verdicts = [ln.strip().split(": ", 1) for ln in lines[2:] if ln.startswith("  ") and ": " in ln]
    badges = "".join(style.badge(html.escape(f"{name}: {v.lower()}"), not v.startswith("VIOLATED"), invariant=name)
                     for name, v in verdicts)
    return (f"<div class='pmulab-explore-summary' style='font-size:12px'>{'<br>'.join(html.escape(h) for h in head)}"
            f"<div>{badges}</div></div>")


def story_html(name: str, story: str) -> str:
    """A counterexample's story as a panel: the machine, the operations as a numbered list, the violation."""
    lines = [ln for ln in story.split("\n") if ln]
    steps = [ln.split(". ", 1)[1] for ln in lines if ln[:1].isdigit() and ". " in ln]
    other = [ln for ln in lines if not (ln[:1].isdigit() and ". " in ln)]
    machine = [ln for ln in other if not ln.startswith("=>")]
    verdict = [ln[2:].strip() for ln in other if ln.startswith("=>")]
    return (f"<div class='pmulab-explore-story' data-invariant='{html.escape(name)}' style='font-size:12px'>"
            f"<div style='color:#66707f'>{'<br>'.join(html.escape(m) for m in machine)}</div>"
            f"<ol style='margin:2px 0'>{''.join(f'<li><code>{html.escape(s)}</code></li>' for s in steps)}</ol>"
            + "".join(f"<div style='{style.BADGE}{style.BAD}'>{html.escape(v)}</div>" for v in verdict) + "</div>")


class ExploreView(widgets.VBox):
    """Controls, progress, summary and the counterexample timeline (see the module docstring)."""

    def __init__(self, design: str = "v8", cpus: int = 2, tasks: int = 3, depth: int = 3, max_events: int = 2,
                 invariants: tuple | None = None):
        from pmulab.drivers.user_access import DESIGNS
        from pmulab.sim.invariants import INVARIANTS

        self.result = None
        self.data = None
        self._guard = CallbackGuard()
        self.design = widgets.Dropdown(options=list(DESIGNS), value=design, description="design")
        self.cpus = widgets.IntSlider(value=cpus, min=1, max=3, description="CPUs")
        self.tasks = widgets.IntSlider(value=tasks, min=1, max=4, description="tasks")
        self.depth = widgets.IntSlider(value=depth, min=1, max=8, description="depth")
        self.max_events = widgets.IntSlider(value=max_events, min=1, max=2, description="events")
        self.invariants = widgets.SelectMultiple(options=list(INVARIANTS),
                                                 value=tuple(invariants or INVARIANTS), description="invariants",
                                                 rows=len(INVARIANTS))
        self.button = widgets.Button(description="explore", button_style="primary", icon="search")
        self.progress = widgets.IntProgress(value=0, min=0, max=depth, description="level 0")
        self.summary = widgets.HTML()
        self.choice = widgets.Dropdown(options=[], description="replay")
        self.choice.add_class("pmulab-explore-replay")
        self.story = widgets.HTML()
        self.fig_access, self.lines_access, self.bad_access = _panel("PMUSERENR_EL0 per CPU", "value", 31.0)
        self.fig_counters, self.lines_counters, self.bad_counters = _panel("counters (fraction of 2^32)", "x 2^32",
                                                                           1.0)
        self.fig_pages, self.lines_pages, self.bad_pages = _panel("user page index and lock", "value")
        self.button.on_click(self._guard.wrap(self._on_button))
        self.choice.observe(self._guard.wrap(self._on_choice), names="value")
        controls = widgets.HBox([widgets.VBox([self.design, self.cpus, self.tasks, self.depth, self.max_events]),
                                 widgets.VBox([self.invariants, self.button, self.progress])])
        super().__init__([controls, self.summary, self.choice, self.story, self.fig_access, self.fig_counters,
                          self.fig_pages, self._guard.out])
        self.add_class("pmulab-explore")

    # ------------------------------------------------------------------ actions
    def _progress(self, states: int, transitions: int, level: int) -> None:
        self.progress.value = min(level, self.progress.max)
        self.progress.description = f"{states} states"

    def run(self):
        """Run the search with the widgets' values; fill the summary and the replay menu."""
        from pmulab.sim.explorer import explore

        self.progress.max = self.depth.value
        self.progress.value = 0
        self.result = explore(self.design.value, cpus=self.cpus.value, tasks=self.tasks.value,
                              depth=self.depth.value, max_events=self.max_events.value,
                              invariants=tuple(self.invariants.value), progress=self._progress)
        self.progress.value = self.progress.max
        self.summary.value = summary_html(self.result)
        cxs = self.result.counterexamples
        options = sorted(cxs, key=lambda n: (len(cxs[n].ops), n))
        self.choice.options = options
        if options:
            self.choice.value = options[0]
        self.show(options[0] if options else None)
        return self.result

    def _on_button(self, _button) -> None:
        self.run()

    def _on_choice(self, change) -> None:
        if change["new"] is not None and self.result is not None:
            self.show(change["new"])

    @property
    def errors(self) -> list:
        """Exceptions raised in the widget callbacks (shown in the view)."""
        return self._guard.errors

    def show(self, name: str | None) -> None:
        """Replay the counterexample of invariant ``name`` on the three panels."""
        if name is None:
            self.data = None
            self.story.value = "<p>no violation within this depth</p>"
            return
        cx = self.result.counterexamples[name]
        self.data = d = cx.timeline()
        self.story.value = story_html(name, cx.story())
        n = len(d["labels"])
        xs = list(range(n))
        first = d["violated"].index(True) if True in d["violated"] else n - 1
        with self.fig_access.hold_sync(), self.fig_counters.hold_sync(), self.fig_pages.hold_sync():
            for fig in (self.fig_access, self.fig_counters, self.fig_pages):
                fig.axes[0].tick_values = tick_marks(np.arange(n, dtype=float))  # whole operations only
            acc = [[float(v) for v in vals] for vals in d["pmuserenr"].values()]
            self.lines_access.x, self.lines_access.y = xs, acc
            self.lines_access.labels = [f"CPU {c}" for c in d["pmuserenr"]]
            self.bad_access.x, self.bad_access.y = [first], [acc[0][first] if acc else 0.0]
            keys = [k for k, v in d["counters"].items() if any(v)] or list(d["counters"])[:1]
            cnt = [[v / _TWO32 for v in d["counters"][k]] for k in keys]
            self.lines_counters.x, self.lines_counters.y = xs, cnt
            self.lines_counters.labels = [f"CPU {c} {'PMCCNTR' if s == 31 else f'PMEVCNTR{s}'}" for c, s in keys]
            self.bad_counters.x, self.bad_counters.y = [first], [cnt[0][first] if cnt else 0.0]
            pages, labels = [], []
            for ev, rows in d["pages"].items():
                for f in ("index", "lock"):
                    pages.append([float(v) if v is not None else 0.0 for v in rows[f]])
                    labels.append(f"{ev} {f}")
            if not pages:
                pages, labels = [[0.0] * n], ["(no mapping)"]
            self.lines_pages.x, self.lines_pages.y, self.lines_pages.labels = xs, pages, labels
            self.bad_pages.x, self.bad_pages.y = [first], [pages[0][first]]


def explore_view(design: str = "v8", cpus: int = 2, tasks: int = 3, depth: int = 3, max_events: int = 2,
                 invariants: tuple | None = None) -> ExploreView:
    """An ``ExploreView`` with these defaults (call ``.run()`` or press the button)."""
    return ExploreView(design, cpus, tasks, depth, max_events, invariants)
