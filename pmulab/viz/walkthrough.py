"""The merged-design walk-through of notebook 08: nr_user against PMUSERENR_EL0, step by step.

Models: nothing itself. ``walkthrough_steps`` builds a fresh ``Machine`` and runs a scripted
sequence (open, mmap, run, switch to U, back, close, a CPU-bound event) on any design.
- ``Walkthrough``: one step per slider position: ``nr_user``, PMUSERENR_EL0 per CPU, what an EL0
  ``mrs`` of PMEVCNTR0_EL0 gets, and the ownership strip.
Kernel: list_add_event/list_del_event (nr_user), armv8pmu_start, armpmu_enable.
Omits: any check of its own (S13 in the scenarios owns it).
Pinned to: ipywidgets 8, bqplot 0.13; Linux v5.17.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from pmulab import Machine
from pmulab.hw.events import ArmEvent
from pmulab.scenarios.base import DESIGN_NAMES
from pmulab.scenarios.common import busy, raw_attr
from pmulab.viz import style
from pmulab.viz.guard import CallbackGuard
from pmulab.viz.labkit import _BOX
from pmulab.viz.selfread import _ER
from pmulab.viz.strip import OwnershipStrip

__all__ = ["WalkStep", "walkthrough_steps", "Walkthrough", "walkthrough", "walk_columns"]


@dataclass(frozen=True)
class WalkStep:
    """The machine after one step of the walk-through."""

    label: str
    detail: str
    current: str  # who runs on CPU 0
    nr_user: int  # user-access events the design counts for T's context
    pmuserenr: tuple  # per CPU
    el0_reads: str  # what an EL0 mrs of PMEVCNTR0_EL0 on CPU 0 gets now: a value or "trap"
    strip: str  # the ownership strip's HTML


def _nr_user(m, task) -> int:
    ctx = task.perf_ctx
    if ctx is None:
        return 0
    users = getattr(m.design, "users", None)  # v8 family counts mappings in the design
    return int(users(ctx)) if callable(users) else int(ctx.nr_user)


def walkthrough_steps(design: str = "v5.17") -> list[WalkStep]:
    """Run the scripted walk-through on ``design`` and return one WalkStep per step."""
    m = Machine(cpus=2, counters=4, design=design, pmu="v3p9" if design == "pmuv3p9" else "v3p4",
                perf_user_access=1, seed=0)
    t = m.spawn("T", uid=1000, cpu=0, workload=busy())
    u = m.spawn("U", uid=1001, cpu=0, workload=busy())
    root = m.spawn("root", uid=0, cpu=1)
    strip = OwnershipStrip(m)
    state = {}

    def open_e():
        state["fd"] = t.perf_event_open(raw_attr(ArmEvent.INST_RETIRED, 0x2))

    def close_e():
        t.munmap(state["fd"])
        t.close(state["fd"])

    script = (
        ("T runs on CPU 0; nothing is open", "U waits on the same CPU. No perf context, so PMUSERENR_EL0 is 0.",
         lambda: m.switch_to(0, t)),
        ("T opens E (config1 = 0x2)", "v5.17: the event joins T's context: list_add_event counts it in nr_user. "
         "v8 counts only mapped events.", open_e),
        ("T mmaps E", "v5.17: the mapping changes nothing. v8: event_mapped bumps nr_user and enables access on "
         "the caller's CPU.", lambda: t.mmap(state["fd"])),
        ("T runs 2 ticks", "Every PMU enable calls armv8pmu_start(): unused counters zeroed, then ER|CR because "
         "T's context has nr_user > 0.", lambda: m.run(2)),
        ("switch to U", "E is scheduled out; no counter is in use, so armpmu_enable() never calls start(): "
         "ER|CR stays (S13).", lambda: m.switch_to(0, u)),
        ("U runs 2 ticks", "U has no events at all, yet EL0 reads PMEVCNTR0 work: T's frozen count.",
         lambda: m.run(2)),
        ("back to T", "start() runs again for T: ER|CR, E counts on.", lambda: m.switch_to(0, t)),
        ("T closes E while running", "list_del_event drops nr_user; again no counter in use, no start(): "
         "ER|CR and E's last value stay.", close_e),
        ("root opens a CPU-wide event on CPU 0", "Now a counter is in use: start() runs, sees nr_user == 0 "
         "and writes PMUSERENR_EL0 = 0.", lambda: root.perf_event_open(
             raw_attr(ArmEvent.CPU_CYCLES, exclude_kernel=0), pid=-1, cpu=0)),
    )
    steps = []
    for label, detail, op in script:
        op()
        rows = strip.update()
        cpu0 = m.cpu(0)
        readable = cpu0.check("PMEVCNTR0_EL0", False, 0).permitted
        steps.append(WalkStep(label, detail, rows[0].name, _nr_user(m, t),
                              tuple(r.pmuserenr for r in rows),
                              f"{cpu0.mrs('PMEVCNTR0_EL0'):#x}" if readable else "trap", strip.html.value))
    return steps


def walk_columns(steps) -> dict[str, list]:
    """The walk-through as columns: ``nr_user``, ``pmuserenr0`` (CPU 0), ``el0_reads``, ``current``, ``label``."""
    return {"label": [s.label for s in steps], "current": [s.current for s in steps],
            "nr_user": [s.nr_user for s in steps], "pmuserenr0": [s.pmuserenr[0] for s in steps],
            "el0_reads": [s.el0_reads for s in steps]}


class Walkthrough(widgets.VBox):
    """A step slider through ``walkthrough_steps(design)``: nr_user and PMUSERENR plot, strip, text."""

    def __init__(self, design: str = "v5.17", designs=DESIGN_NAMES):
        self.guard = CallbackGuard()
        self.design = widgets.Dropdown(options=list(designs), value=design, description="design")
        self.step = widgets.IntSlider(value=1, min=1, max=9, description="step",
                                      layout=widgets.Layout(width="30em"))
        self.design.observe(self.guard.wrap(self._on_design), names="value")
        self.step.observe(self.guard.wrap(self._on_step), names="value")
        x, y = bq.OrdinalScale(), bq.LinearScale(min=-0.1, max=2.3)
        self.lines = bq.Lines(x=np.zeros(0), y=np.zeros((2, 0)), scales={"x": x, "y": y},
                              colors=[style.RED, style.BLUE], labels=["PMUSERENR_EL0.ER on CPU 0", "nr_user (T)"],
                              display_legend=True, stroke_width=3, marker="circle", marker_size=40)
        self.cursor = bq.Scatter(x=np.zeros(0), y=np.zeros(0), scales={"x": x, "y": y}, colors=["#111"],
                                 marker="triangle-down", default_size=160, labels=["this step"],
                                 display_legend=True)
        self.fig = style.figure([self.lines, self.cursor],
                                [style.x_axis(x, "step"),
                                 style.y_axis(y, "value", tick_format="d", tick_values=[0, 1])],
                                "accounting vs hardware, step by step", height="260px", legend="top-right")
        self.text, self.strip = widgets.HTML(), widgets.HTML()
        super().__init__([widgets.HBox([self.design, self.step]), self.fig, self.text, self.strip, self.guard.out])
        self.add_class("pmulab-walkthrough")
        self.refresh()

    def _on_design(self, change) -> None:
        self.refresh()

    def _on_step(self, change) -> None:
        self.show(self.step.value)

    def refresh(self) -> list[WalkStep]:
        self.steps = walkthrough_steps(self.design.value)
        n = len(self.steps)
        with self.fig.hold_sync():
            self.lines.x = np.arange(1, n + 1)
            self.lines.y = np.array([[float(bool(s.pmuserenr[0] & _ER)) for s in self.steps],
                                     [float(s.nr_user) for s in self.steps]])
        self.step.max = n
        self.show(self.step.value)
        return self.steps

    def show(self, k: int) -> WalkStep:
        s = self.steps[k - 1]
        with self.fig.hold_sync():
            self.cursor.x, self.cursor.y = np.array([k]), np.array([1.3])
        enr = " ".join(f"CPU{c}: <code>{v:#x}</code>" for c, v in enumerate(s.pmuserenr))
        self.text.value = (f'<div class="pmulab-walk-step" data-step="{k}" data-nr-user="{s.nr_user}" '
                           f'data-pmuserenr0="{s.pmuserenr[0]:#x}" data-el0="{html.escape(s.el0_reads)}" '
                           f'style="{_BOX}"><b>{k}. {html.escape(s.label)}</b> '
                           f"<span style='color:#475569'>({html.escape(self.design.value)})</span><br>"
                           f"{html.escape(s.detail)}<br>running on CPU 0: <b>{html.escape(s.current)}</b> · "
                           f"nr_user(T) = <b>{s.nr_user}</b> · PMUSERENR_EL0 {enr} · EL0 mrs PMEVCNTR0_EL0 on "
                           f"CPU 0: <b>{html.escape(s.el0_reads)}</b></div>")
        self.strip.value = s.strip
        return s


def walkthrough(design: str = "v5.17") -> Walkthrough:
    """Return the step-by-step walk-through of the merged design (any design can be chosen)."""
    return Walkthrough(design)
