"""Views for notebooks 07 and 08: the switch, the widths, big.LITTLE, and what Linux merged.

Models: nothing itself. Every view builds fresh ``Machine`` objects and drives them through the
public API (``spawn``, ``perf_event_open``, ``mmap``, ``run``, ``migrate``, ``sysctl``, ``mrs``)
or calls ``pmulab.scenarios.run_scenario``/``matrix``; it never writes to a model it is given.

- ``UserAccessLab``: sysctl ``kernel.perf_user_access``, PMU version, event, ``config1`` bits
  (``long`` = bit 0, ``rdpmc`` = bit 1), task- or CPU-bound, root holding the cycle counter, and a
  sysctl flip at a chosen tick -> per tick: what read() returns and what the documented
  self-monitoring loop returns (count, fallback to read(), SIGILL), the page's ``index`` and
  PMUSERENR_EL0 on the task's CPU. Kernel: __armv8_pmuv3_map_event, armv8pmu_get_event_idx,
  armv8pmu_user_event_idx, arch_perf_update_userpage, armv8pmu_proc_user_access_handler.
- ``BigLittleLab``: a Cortex-A53 + Cortex-A72 machine; T opens one PMU by type (or a generic
  event), optionally pinned to its cluster, hops CPUs *inside* its read loop (after reading
  ``index``, before the ``mrs``). Kernel: armpmu_filter_match, armpmu_add, armpmu_enable.
- ``Walkthrough``: a scripted sequence (open, mmap, run, switch to U, back, close, a CPU-bound
  event) on any design, one step per slider position: ``nr_user``, PMUSERENR_EL0 per CPU, and the
  ownership strip. Kernel: list_add_event/list_del_event (nr_user), armv8pmu_start, armpmu_enable.
- ``DesignMatrix``: the 16 x 6 scenario x design grid (observed headline vs expected) as a
  bqplot GridHeatMap; clicking a cell (or the two menus) shows that run's checks and story.
- ``SeriesTimeline``: the series v1..v13 on a date axis and the five merged commits (spec §5.1-5.2).
Omits: any outcome logic of its own beyond classifying a read (the scenarios own the checks).
Pinned to: ipywidgets 8, bqplot 0.13 (GridHeatMap click-select, DateScale); Linux v5.17 / 6.1.
"""

from __future__ import annotations

import datetime as dt
import html
from dataclasses import dataclass

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from pmulab import Machine, PerfEventAttr, uapi
from pmulab.errors import IllegalInstruction, PerfError
from pmulab.hw.events import ArmEvent
from pmulab.hw.sysregs import PMUSERENR
from pmulab.scenarios import SCENARIOS, matrix
from pmulab.scenarios.base import DESIGN_NAMES
from pmulab.scenarios.common import busy, raw_attr
from pmulab.user import ReadLoop
from pmulab.viz import style
from pmulab.viz.guard import CallbackGuard
from pmulab.viz.strip import OwnershipStrip

__all__ = ["SERIES", "COMMITS", "TickRead", "AccessRun", "access_run", "UserAccessLab", "user_access_lab",
           "HopRead", "hop_run", "BigLittleLab", "big_little_lab", "WalkStep", "walkthrough_steps", "Walkthrough",
           "walkthrough", "walk_columns",
           "DesignMatrix", "design_matrix", "SeriesTimeline", "series_timeline", "read_outcome"]

#: Outcomes of one self-monitoring read, in legend order.
OUTCOMES = ("mrs", "fallback", "retried", "SIGILL")
OUTCOME_STYLE = {"mrs": ("#2ca02c", "circle", "mrs read = read()"),
                 "fallback": ("#7f7f7f", "square", "index 0: fall back to read()"),
                 "retried": ("#ff7f0e", "diamond", "lock changed after the mrs: retried"),
                 "SIGILL": ("#d62728", "cross", "mrs trapped: SIGILL")}
_ER = PMUSERENR["ER"].mask
_BADGE = "display:inline-block;padding:2px 8px;margin:2px;border-radius:10px;font-size:12px;"
_GOOD, _BAD, _NEUTRAL = ("background:#d5f2dc;color:#14532d;", "background:#fbd5d5;color:#7f1d1d;font-weight:bold;",
                         "background:#eef1f6;color:#1e293b;")
_BOX = "font:12px var(--jp-ui-font-family,sans-serif);margin:4px 0"

#: The series as posted (spec §5.1): (version, date, what changed).
SERIES = (
    ("v1", "2020-07-07", "first posting by Rob Herring (after Raphael Gault's v4 of 2019)"),
    ("v2", "2020-08-28", "rework after review"),
    ("v3", "2020-09-11", "rework after review"),
    ("v4", "2020-10-01", "undef-instruction hook dropped: user space must pin itself to one CPU type"),
    ("v5", "2021-01-14", "x86-like: per-mm count, IPI to the mm's CPUs"),
    ("v6", "2021-03-11", "config1:1 (rdpmc) opt-in introduced"),
    ("v7", "2021-04-20", "dirty-counter clearing, sched_task, lazy enable from the undef trap, sysfs rdpmc"),
    ("v8", "2021-05-17", "per-context nr_user, enable/disable in event_mapped/unmapped: the patch under review"),
    ("v9", "2021-08-06", "sysctl instead of sysfs; enable decided in armv8pmu_start()"),
    ("v10", "2021-09-14", "no more mmap-based control; dirty tracking dropped: clear all unused counters"),
    ("v11", "2021-10-19", "open fails if not task-bound, or 64-bit requested and unsupported"),
    ("v12", "2021-10-27", "-EOPNOTSUPP for missing 64-bit counters"),
    ("v13", "2021-12-08", "rebase on v5.16-rc1; applied 14 Dec 2021, landed in v5.17"),
)

#: Events of the review and the merge (spec §5.1-5.2): (label, date).
MILESTONES = (("Mark's review of v8", "2021-06-01"), ("Will applies v13", "2021-12-14"))

#: The merged commits (spec §5.2): (patch, commit, title).
COMMITS = (
    ("1/5", "369461ce8fb6", "x86: perf: Move RDPMC event flag to a common definition"),
    ("2/5", "82ff0c022d19", "perf: Add a counter for number of user access events in context"),
    ("3/5", "e2012600810c", "arm64: perf: Add userspace counter access disable switch"),
    ("4/5", "83a7a4d643d3", "arm64: perf: Enable PMU counter userspace access for perf event"),
    ("5/5", "aa1005d15d2a", "Documentation: arm64: Document PMU counters access from userspace"),
)


def _auto() -> widgets.Layout:
    """A fresh layout that lets a checkbox's description take the width it needs."""
    return widgets.Layout(width="auto")


def read_outcome(task, page) -> tuple[str, int | None, ReadLoop]:
    """Run the documented read loop for ``task`` -> (outcome, count or None, the loop).

    outcome: ``mrs`` (count from the counter), ``fallback`` (index 0 at the first try),
    ``retried`` (the lock changed after an ``mrs``: the value read was thrown away and the loop
    ran again, ending in a count or a fallback), ``SIGILL`` (the ``mrs`` trapped).
    """
    loop = ReadLoop(task, page, clock=None, scale=False)
    return _finish(loop)


def _finish(loop: ReadLoop) -> tuple[str, int | None, ReadLoop]:
    try:
        result = loop.run()
    except IllegalInstruction:
        return "SIGILL", None, loop
    if loop.retries:
        return "retried", result, loop
    return ("fallback" if result is None else "mrs"), result, loop


def _kernel_count(task, fd: int) -> int:
    attr = task.fds[fd].attr
    return uapi.parse_read(task.read(fd), attr.read_format).value


def _badge(text: str, style: str, **data) -> str:
    attrs = " ".join(f'data-{k}="{html.escape(str(v), quote=True)}"' for k, v in data.items())
    return f'<span class="pmulab-badge" {attrs} style="{_BADGE}{style}">{html.escape(text)}</span>'


def _outcome_marks(x_scale, y_scale) -> dict[str, bq.Scatter]:
    return {k: bq.Scatter(x=np.zeros(0), y=np.zeros(0), scales={"x": x_scale, "y": y_scale}, colors=[c],
                          marker=mk, default_size=70, display_legend=True, labels=[lab], stroke="white")
            for k, (c, mk, lab) in OUTCOME_STYLE.items()}


def _set_outcomes(marks: dict, reads, y_of) -> None:
    for kind, mark in marks.items():
        sel = [r for r in reads if r.outcome == kind]
        mark.x = np.array([r.tick for r in sel], dtype=float)
        mark.y = np.array([y_of(r) for r in sel], dtype=float)


# ------------------------------------------------------------------------------------------- 07: switch, widths
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


# ------------------------------------------------------------------------------------------- 07: big.LITTLE
CLUSTERS = (("cortex-a53", 2, 6), ("cortex-a72", 2, 6))


@dataclass(frozen=True)
class HopRead:
    """One read by T: on which CPU it started and ended, and what it got."""

    tick: int
    cpu_before: int
    cpu: int
    kernel: int
    outcome: str
    user: int | None
    hopped: bool  # T was migrated between reading index and its mrs


@dataclass
class HopRun(AccessRun):
    """What ``hop_run`` observed (``reads`` are HopRead)."""

    pmu_types: tuple = ()


def hop_run(pmu: str = "cortex-a53", pinned: bool = False, hop: int = 4, ticks: int = 24) -> HopRun:
    """T opens ``pmu`` ("cortex-a53"/"cortex-a72" by type, or "generic" PERF_TYPE_HARDWARE) with
    config1=0x2 and reads every tick; every ``hop`` ticks it is moved to the next CPU it may use
    (all four, or only its cluster when ``pinned``) between the loop's ``index`` and ``mrs`` steps.
    T is alone on the machine, so it is always on its CPU when it reads. The other cluster's PMU
    is idle: no ``start()`` runs there, its PMUSERENR_EL0 stays 0 (armpmu_enable: empty used_mask)."""
    m = Machine(clusters=list(CLUSTERS), design="v5.17", perf_user_access=1, seed=0)
    a53 = [c for c in range(m.ncpus) if m.pmu_of(c) is m.pmus[0]]
    a72 = [c for c in range(m.ncpus) if m.pmu_of(c) is m.pmus[1]]
    home = a72 if pmu == "cortex-a72" else a53
    allowed = home if pinned else a53 + a72
    t = m.spawn("T", uid=1000, cpu=home[0], workload=busy(), affinity=allowed)
    if pmu == "generic":
        attr = PerfEventAttr(type=uapi.PERF_TYPE_HARDWARE, config=uapi.PERF_COUNT_HW_INSTRUCTIONS, config1=0x2,
                             exclude_kernel=1, read_format=raw_attr(0).read_format)
    else:
        attr = raw_attr(ArmEvent.INST_RETIRED, 0x2, type=m.pmu_of(home[0]).type)
    types = tuple(p.type for p in m.pmus)
    try:
        fd = t.perf_event_open(attr)
    except PerfError as exc:
        return HopRun(exc.name, [], pmu_types=types)
    page = t.mmap(fd)
    reads = []
    for tick in range(1, ticks + 1):
        m.run(1)
        before = t.cpu
        loop = ReadLoop(t, page, clock=None, scale=False)
        hopped = hop > 0 and tick % hop == 0
        if hopped:
            while loop.next_step not in (None, "mrs"):
                loop.step()
            m.migrate(t, allowed[(allowed.index(before) + 1) % len(allowed)])
        outcome, user, _ = _finish(loop)
        reads.append(HopRead(tick, before, t.cpu, _kernel_count(t, fd), outcome, user, hopped))
    return HopRun("opened", reads, pmu_types=types)


class BigLittleLab(widgets.VBox):
    """Controls -> ``hop_run`` -> T's CPU per tick and what each read returned."""

    def __init__(self, pmu: str = "cortex-a53", pinned: bool = False, hop: int = 4, ticks: int = 24):
        self.ticks = ticks
        self.guard = CallbackGuard()
        st = {"description_width": style.CONTROL_LABEL}
        self.pmu = widgets.ToggleButtons(options=[("Cortex-A53 PMU by type", "cortex-a53"),
                                                  ("Cortex-A72 PMU by type", "cortex-a72"),
                                                  ("generic PERF_TYPE_HARDWARE", "generic")], value=pmu,
                                         style={"button_width": "14em"})
        self.pinned = widgets.Checkbox(value=pinned, description="pin T to that cluster (sched_setaffinity)",
                                       indent=False, layout=_auto())
        self.hop = widgets.IntSlider(value=hop, min=0, max=8, description="move T every n ticks (0: never)",
                                     style=st, layout=widgets.Layout(width=style.CONTROL_WIDTH))
        for w in (self.pmu, self.pinned, self.hop):
            w.observe(self.guard.wrap(self._on_change), names="value")
        self._build_figures()
        self.summary = widgets.HTML()
        controls = widgets.VBox([style.labelled("T opens", self.pmu), self.pinned, self.hop])
        super().__init__([controls, self.summary, self.cpu_fig, self.fig, self.guard.out])
        self.add_class("pmulab-biglittle")
        self.refresh()

    def _build_figures(self) -> None:
        x, y = bq.LinearScale(min=0.0, max=float(self.ticks)), bq.LinearScale(min=-0.5, max=6.0)
        self.cpu_marks = [bq.Scatter(x=np.zeros(0), y=np.zeros(0), scales={"x": x, "y": y}, colors=[c], marker=mk,
                                     default_size=90, display_legend=True, labels=[lab])
                          for c, mk, lab in (("#4c78a8", "square", "on a Cortex-A53 CPU"),
                                             ("#e45756", "square", "on a Cortex-A72 CPU"))]
        self.hop_marks = bq.Scatter(x=np.zeros(0), y=np.zeros(0), scales={"x": x, "y": y}, colors=["#111"],
                                    marker="triangle-down", default_size=60, display_legend=True,
                                    labels=["moved between index and mrs"])
        self.cpu_fig = style.figure(
            [*self.cpu_marks, self.hop_marks],
            [style.x_axis(x, "tick"), style.y_axis(y, "CPU", tick_format="d", tick_values=[0, 1, 2, 3],
                                                   label_offset="35px")],
            "where T's mrs ran", height="250px")
        cx, cy = bq.LinearScale(min=0.0, max=float(self.ticks)), bq.LinearScale(min=0.0)
        self.kernel_line = bq.Lines(x=np.zeros(0), y=np.zeros(0), scales={"x": cx, "y": cy}, colors=[style.BLUE],
                                    labels=["read() syscall"], display_legend=True, stroke_width=2)
        self.marks = _outcome_marks(cx, cy)
        self.fig = style.figure([self.kernel_line, *self.marks.values()],
                                [style.x_axis(cx, "tick"), style.y_axis(cy, "INST_RETIRED", tick_format=".3s")],
                                "T's count: read() vs the self-monitoring loop", height="300px")

    def _on_change(self, change) -> None:
        self.refresh()

    def refresh(self) -> HopRun:
        run = hop_run(self.pmu.value, self.pinned.value, self.hop.value, self.ticks)
        reads = run.reads
        big = [r for r in reads if r.cpu >= CLUSTERS[0][1]]
        little = [r for r in reads if r.cpu < CLUSTERS[0][1]]
        hops = [r for r in reads if r.hopped]
        with self.cpu_fig.hold_sync(), self.fig.hold_sync():
            for mark, sel in zip(self.cpu_marks, (little, big), strict=True):
                mark.x = np.array([r.tick for r in sel], dtype=float)
                mark.y = np.array([r.cpu for r in sel], dtype=float)
            self.hop_marks.x = np.array([r.tick for r in hops], dtype=float)
            self.hop_marks.y = np.array([r.cpu_before + 0.4 for r in hops], dtype=float)
            self.kernel_line.x = np.array([r.tick for r in reads], dtype=float)
            self.kernel_line.y = np.array([r.kernel for r in reads], dtype=float)
            _set_outcomes(self.marks, reads, lambda r: r.kernel)
        self.run = run
        counts = run.outcomes()
        badges = "".join(_badge(f"{k}: {n}", _BAD if k == "SIGILL" and n else _NEUTRAL, outcome=k, n=n)
                         for k, n in counts.items())
        head = (_badge("perf_event_open: fd", _GOOD, opened="opened") if run.opened == "opened"
                else _badge("perf_event_open: " + run.opened, _BAD, opened=run.opened))
        self.summary.value = (f'<div class="pmulab-hop-summary" style="{_BOX}">{head}{badges} '
                              f"<small>PMU types: A53 = {run.pmu_types[0]}, A72 = {run.pmu_types[1]}</small></div>")
        return run


def big_little_lab(pmu: str = "cortex-a53", pinned: bool = False, hop: int = 4, ticks: int = 24) -> BigLittleLab:
    """Return the big.LITTLE lab (S12): PMU by type, pinning, migrations inside the read loop."""
    return BigLittleLab(pmu, pinned, hop, ticks)


# ------------------------------------------------------------------------------------------- 08: walk-through
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


# ------------------------------------------------------------------------------------------- 08: design matrix
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


# ------------------------------------------------------------------------------------------- 08: timeline
class SeriesTimeline(widgets.VBox):
    """The series' versions on a date axis, the review and the merge marked, and the merged commits."""

    def __init__(self):
        dates = np.array([np.datetime64(d) for _, d, _ in SERIES], dtype="datetime64[ms]")
        x, y = bq.DateScale(), bq.LinearScale(min=0.0, max=float(len(SERIES) + 1))
        self.points = bq.Scatter(x=dates, y=np.arange(1, len(SERIES) + 1, dtype=float), scales={"x": x, "y": y},
                                 names=[v for v, _, _ in SERIES], display_names=True, colors=["#4c78a8"],
                                 default_size=60, tooltip=bq.Tooltip(fields=["name", "x"], formats=["", "%d %b %Y"],
                                                                     labels=["version", "posted"]))
        ms = np.array([np.datetime64(d) for _, d in MILESTONES], dtype="datetime64[ms]")
        self.rules = bq.Lines(x=np.array([[d, d] for d in ms]), y=np.array([[0.0, len(SERIES) + 1.0]] * len(ms)),
                              scales={"x": x, "y": y}, colors=[style.RED, style.GREEN], line_style="dashed",
                              labels=[lab for lab, _ in MILESTONES], display_legend=True)
        self.fig = style.figure([self.rules, self.points],
                                [style.x_axis(x, "posted", tick_format="%b %Y"),
                                 style.y_axis(y, "version", tick_format="d", tick_values=[1, 4, 8, 13])],
                                "arm64 user-space counter access: v1 to v13", fig_margin=dict(style.MARGIN, right=30))
        commits = "".join(f"<tr><td style='padding:1px 8px'>{p}</td><td style='padding:1px 8px'><code>{c}</code>"
                          f"</td><td style='padding:1px 8px'>{html.escape(t)}</td></tr>" for p, c, t in COMMITS)
        versions = "".join(f"<tr><td style='padding:1px 8px'><b>{v}</b></td><td style='padding:1px 8px'>"
                           f"{dt.date.fromisoformat(d):%d %b %Y}</td><td style='padding:1px 8px'>{html.escape(w)}"
                           f"</td></tr>" for v, d, w in SERIES)
        self.table = widgets.HTML(
            f'<div class="pmulab-commits" style="{_BOX}"><b>Merged</b> (Will Deacon, 14 Dec 2021, branch '
            f"for-next/perf-user-counter-access; in v5.17-rc1):<table>{commits}</table>"
            f"<details><summary>what each version changed</summary><table>{versions}</table></details></div>")
        self.versions = [v for v, _, _ in SERIES]
        super().__init__([self.fig, self.table])
        self.add_class("pmulab-timeline-series")


def series_timeline() -> SeriesTimeline:
    """Return the series timeline figure and the table of merged commits."""
    return SeriesTimeline()
