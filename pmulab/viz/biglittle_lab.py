"""The big.LITTLE hop lab of notebook 07: a read loop that migrates between clusters (S12).

Models: nothing itself. ``hop_run`` builds a Cortex-A53 + Cortex-A72 ``Machine``; T opens one
PMU by type (or a generic event), optionally pinned to its cluster, and hops CPUs *inside* its
read loop (after reading ``index``, before the ``mrs``) via ``migrate``.
- ``BigLittleLab``: controls -> ``hop_run`` -> T's CPU per tick and what each read returned.
Kernel: armpmu_filter_match, armpmu_add, armpmu_enable.
Omits: any outcome logic of its own beyond classifying a read (``selfread``).
Pinned to: ipywidgets 8, bqplot 0.13; Linux v5.17 / 6.1.
"""

from __future__ import annotations

from dataclasses import dataclass

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from pmulab import Machine, PerfEventAttr, uapi
from pmulab.errors import PerfError
from pmulab.hw.events import ArmEvent
from pmulab.scenarios.common import busy, raw_attr
from pmulab.user import ReadLoop
from pmulab.viz import style
from pmulab.viz.access_lab import AccessRun
from pmulab.viz.guard import CallbackGuard
from pmulab.viz.labkit import _BAD, _BOX, _GOOD, _NEUTRAL, _auto, _badge
from pmulab.viz.selfread import _finish, _kernel_count, _outcome_marks, _set_outcomes

__all__ = ["CLUSTERS", "HopRead", "HopRun", "hop_run", "BigLittleLab", "big_little_lab"]


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
