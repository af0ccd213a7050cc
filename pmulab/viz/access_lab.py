"""The sysctl / width lab of notebook 07: the switch, the PMU version and config1, live (S10, S11).

Models: nothing itself. ``access_run`` builds a fresh ``Machine`` and drives it through the
public API (``spawn``, ``perf_event_open``, ``mmap``, ``run``, ``sysctl``, ``mrs``).
- ``UserAccessLab``: sysctl ``kernel.perf_user_access``, PMU version, event, ``config1`` bits
  (``long`` = bit 0, ``rdpmc`` = bit 1), task- or CPU-bound, root holding the cycle counter, and a
  sysctl flip at a chosen tick -> per tick: what read() returns and what the documented
  self-monitoring loop returns (count, fallback to read(), SIGILL), the page's ``index`` and
  PMUSERENR_EL0 on the task's CPU. Kernel: __armv8_pmuv3_map_event, armv8pmu_get_event_idx,
  armv8pmu_user_event_idx, arch_perf_update_userpage, armv8pmu_proc_user_access_handler.
Omits: any outcome logic of its own beyond classifying a read (``selfread``).
Pinned to: ipywidgets 8, bqplot 0.13; Linux v5.17 / 6.1.
"""

from __future__ import annotations

from dataclasses import dataclass

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from pmulab import Machine
from pmulab.errors import PerfError
from pmulab.hw.events import ArmEvent
from pmulab.scenarios.common import busy, raw_attr
from pmulab.viz import style
from pmulab.viz.guard import CallbackGuard
from pmulab.viz.labkit import _BAD, _BOX, _GOOD, _NEUTRAL, _auto, _badge
from pmulab.viz.selfread import _ER, OUTCOMES, _kernel_count, _outcome_marks, _set_outcomes, read_outcome

__all__ = ["TickRead", "AccessRun", "access_run", "UserAccessLab", "user_access_lab"]


@dataclass(frozen=True)
class TickRead:
    """One tick on which the reading task was on its CPU: read() vs the documented loop."""

    tick: int
    kernel: int  # what read() returned
    outcome: str  # one of OUTCOMES
    user: int | None  # what the loop returned (None: fall back / trapped)
    index: int  # the page's index when the loop started
    pmuserenr: int  # PMUSERENR_EL0 of the task's CPU (EL1 view) before the loop


@dataclass
class AccessRun:
    """What ``access_run`` observed: the open's result, the page, and one TickRead per tick T ran."""

    opened: str  # "opened" or an errno name
    reads: list
    cap_user_rdpmc: int = 0
    pmc_width: int = 0
    index: int = 0
    flips: tuple = ()  # ticks at which the sysctl was written

    def outcomes(self) -> dict[str, int]:
        """How many reads ended in each outcome."""
        return {k: sum(r.outcome == k for r in self.reads) for k in OUTCOMES}

    def at(self, tick: int):
        """The read of ``tick`` (KeyError if T did not read then)."""
        found = [r for r in self.reads if r.tick == tick]
        if not found:
            raise KeyError(f"no read at tick {tick}; reads at {[r.tick for r in self.reads]}")
        return found[0]


def access_run(sysctl: int = 1, pmu: str = "v3p4", event: str = "INST_RETIRED", config1: int = 0x2,
               cpu_bound: bool = False, cycles_taken: bool = False, flip_at: int = 0, ticks: int = 24) -> AccessRun:
    """Run T (with U sharing CPU 0, timeslice 3 ticks) under the given switch, PMU and request.

    T opens ``event`` (raw PMUv3 number) with ``config1`` -- task-bound on itself, or, with
    ``cpu_bound``, root opens it CPU-bound on CPU 0. ``cycles_taken``: root's 32-bit CPU-bound
    CPU_CYCLES event already holds the cycle counter on CPU 0 (S11). ``flip_at`` > 0 writes the
    other sysctl value at that tick (S10 transitions). Each tick T is on CPU 0, T runs the
    documented read loop, then read().
    """
    m = Machine(cpus=2, counters=6, pmu=pmu, design="v5.17", perf_user_access=sysctl, seed=0)
    t = m.spawn("T", uid=1000, cpu=0, workload=busy())
    m.spawn("U", uid=1001, cpu=0, workload=busy())
    root = m.spawn("root", uid=0, cpu=1)
    if cycles_taken:
        root.perf_event_open(raw_attr(ArmEvent.CPU_CYCLES, exclude_kernel=0), pid=-1, cpu=0)
    opener, where = (root, {"pid": -1, "cpu": 0}) if cpu_bound else (t, {})
    try:
        fd = opener.perf_event_open(raw_attr(ArmEvent[event], config1), **where)
    except PerfError as exc:
        return AccessRun(exc.name, [])
    if cpu_bound:  # a CPU-bound event has no self-monitoring reader; show what read() sees
        reads = []
        for tick in range(1, ticks + 1):
            m.run(1)
            reads.append(TickRead(tick, _kernel_count(root, fd), "fallback", None, 0, 0))
        return AccessRun("opened", reads)
    page = t.mmap(fd)
    reads, flips = [], []
    for tick in range(1, ticks + 1):
        if tick == flip_at:
            m.sysctl("kernel.perf_user_access", 1 - m.sysctl("kernel.perf_user_access"))
            flips.append(tick)
        m.run(1)
        if m.sched.curr[0] is not t:
            continue
        index, enr = page.index, m.cpu(0).mrs("PMUSERENR_EL0")
        outcome, user, _ = read_outcome(t, page)
        reads.append(TickRead(tick, _kernel_count(t, fd), outcome, user, index, enr))
    return AccessRun("opened", reads, page.cap_user_rdpmc, page.pmc_width, page.index, tuple(flips))


class UserAccessLab(widgets.VBox):
    """Controls -> ``access_run`` -> a live plot of read() and the self-monitoring loop per tick."""

    def __init__(self, sysctl: int = 1, pmu: str = "v3p4", event: str = "INST_RETIRED", config1: int = 0x2,
                 ticks: int = 24):
        self.ticks = ticks
        self.guard = CallbackGuard()
        st = {"description_width": style.CONTROL_LABEL}
        self.sysctl = widgets.ToggleButtons(options=[("0 (default: off)", 0), ("1 (on)", 1)], value=sysctl,
                                            style={"button_width": "12em"})
        self.pmu = widgets.ToggleButtons(options=[("v3p4: 32-bit event counters", "v3p4"),
                                                  ("v3p5: 64-bit", "v3p5")], value=pmu,
                                       style={"button_width": "16em"})
        self.event = widgets.Dropdown(options=["INST_RETIRED", "CPU_CYCLES"], value=event, description="event",
                                      style={"description_width": "4em"}, layout=widgets.Layout(width="20em"))
        self.long = widgets.Checkbox(value=bool(config1 & 1), description="config1 bit 0: long (64-bit)",
                                     indent=False, layout=_auto())
        self.rdpmc = widgets.Checkbox(value=bool(config1 & 2), description="config1 bit 1: rdpmc (user access)",
                                      indent=False, layout=_auto())
        self.cpu_bound = widgets.Checkbox(value=False, description="CPU-bound (root opens it on CPU 0)",
                                          indent=False, layout=_auto())
        self.cycles_taken = widgets.Checkbox(value=False, description="root's event already holds the cycle counter",
                                             indent=False, layout=_auto())
        self.flip_at = widgets.IntSlider(value=0, min=0, max=ticks, description="flip the sysctl at tick (0: never)",
                                         style=st, layout=widgets.Layout(width=style.CONTROL_WIDTH))
        self._controls = (self.sysctl, self.pmu, self.event, self.long, self.rdpmc, self.cpu_bound,
                          self.cycles_taken, self.flip_at)
        self._build_figures()
        self.summary = widgets.HTML()
        for w in self._controls:
            w.observe(self.guard.wrap(self._on_change), names="value")
        controls = widgets.VBox([style.labelled("kernel.perf_user_access", self.sysctl),
                                 style.labelled("PMU", self.pmu), widgets.HBox([self.event, self.long, self.rdpmc]),
                                 widgets.HBox([self.cpu_bound, self.cycles_taken]), self.flip_at])
        super().__init__([controls, self.summary, self.fig, self.state_fig, self.guard.out])
        self.add_class("pmulab-access-lab")
        self.refresh()

    @property
    def config1(self) -> int:
        return int(self.long.value) | (int(self.rdpmc.value) << 1)

    def _build_figures(self) -> None:
        x, y = bq.LinearScale(min=0.0, max=float(self.ticks)), bq.LinearScale(min=0.0)
        self.kernel_line = bq.Lines(x=np.zeros(0), y=np.zeros(0), scales={"x": x, "y": y}, colors=[style.BLUE],
                                    labels=["read() syscall"], display_legend=True, stroke_width=2)
        self.marks = _outcome_marks(x, y)
        self.flip_rule = bq.Lines(x=np.zeros(0), y=np.zeros(0), scales={"x": x, "y": y}, colors=[style.COLOURS[3]],
                                  line_style="dashed", labels=["sysctl written"], display_legend=True)
        axes = [style.x_axis(x, "tick (T shares CPU 0 with U: 3-tick timeslices)"),
                style.y_axis(y, "count", tick_format=".3s")]
        self.fig = style.figure([self.kernel_line, self.flip_rule, *self.marks.values()], axes,
                                "T's count: read() vs the self-monitoring loop", height="340px")
        sx, sy = bq.LinearScale(min=0.0, max=float(self.ticks)), bq.LinearScale(min=0.0)
        self.state_lines = bq.Lines(x=np.zeros(0), y=np.zeros((2, 0)), scales={"x": sx, "y": sy},
                                    colors=[style.COLOURS[4], style.COLOURS[6]], interpolation="step-after",
                                    display_legend=True,
                                    labels=["page index", "PMUSERENR_EL0.ER x 10"], stroke_width=2,
                                    marker="circle", marker_size=16)
        self.state_fig = style.figure(
            [self.state_lines], [style.x_axis(sx, "tick"), style.y_axis(sy, "value", tick_format=None)],
            "what T's loop sees first: the page's index, and the hardware's EL0 permission", height="220px",
            legend="top-right")

    def _on_change(self, change) -> None:
        self.refresh()

    def refresh(self) -> AccessRun:
        """Re-run with the current controls and redraw both plots inside ``hold_sync``."""
        run = access_run(self.sysctl.value, self.pmu.value, self.event.value, self.config1, self.cpu_bound.value,
                         self.cycles_taken.value, self.flip_at.value, self.ticks)
        ticks = np.array([r.tick for r in run.reads], dtype=float)
        kernel = np.array([r.kernel for r in run.reads], dtype=float)
        top = float(kernel.max()) if len(kernel) else 1.0
        with self.fig.hold_sync(), self.state_fig.hold_sync():
            self.kernel_line.x, self.kernel_line.y = ticks, kernel
            _set_outcomes(self.marks, run.reads, lambda r: r.kernel)
            fx = np.array([[f, f] for f in run.flips], dtype=float)
            self.flip_rule.x = fx if len(fx) else np.zeros(0)
            self.flip_rule.y = np.array([[0.0, top]] * len(fx)) if len(fx) else np.zeros(0)
            self.state_lines.x = ticks
            self.state_lines.y = np.array([[r.index for r in run.reads],
                                           [10.0 * bool(r.pmuserenr & _ER) for r in run.reads]], dtype=float)
        self.run = run
        self.summary.value = self._summary(run)
        return run

    def _summary(self, run: AccessRun) -> str:
        attr = (f"attr.config = {self.event.value} (0x{int(ArmEvent[self.event.value]):02x}), "
                f"config1 = {self.config1:#x}")
        if run.opened != "opened":
            return (f'<div class="pmulab-access-summary" data-opened="{run.opened}" style="{_BOX}">'
                    f'{_badge("perf_event_open: " + run.opened, _BAD, opened=run.opened)} '
                    f"<code>{attr}</code>: the kernel refused the request, nothing to plot.</div>")
        counts = run.outcomes()
        parts = [_badge("perf_event_open: fd", _GOOD, opened="opened"),
                 _badge(f"cap_user_rdpmc={run.cap_user_rdpmc}", _NEUTRAL, cap=run.cap_user_rdpmc),
                 _badge(f"pmc_width={run.pmc_width}", _NEUTRAL, width=run.pmc_width),
                 _badge(f"index={run.index} (last)", _NEUTRAL, index=run.index)]
        parts += [_badge(f"{k}: {n}", _BAD if k == "SIGILL" and n else _NEUTRAL, outcome=k, n=n)
                  for k, n in counts.items()]
        return f'<div class="pmulab-access-summary" data-opened="opened" style="{_BOX}"><code>{attr}</code><br>' \
               f'{"".join(parts)}</div>'


def user_access_lab(sysctl: int = 1, pmu: str = "v3p4", event: str = "INST_RETIRED", config1: int = 0x2,
                    ticks: int = 24) -> UserAccessLab:
    """Return the sysctl / PMU version / config1 lab (S10, S11) with its live plots."""
    return UserAccessLab(sysctl, pmu, event, config1, ticks)
