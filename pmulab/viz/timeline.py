"""A live bqplot of PMU counters over a workload, with the controls a student would turn.

Models: nothing itself. The view owns a one-CPU ``CounterBank``; on every control change it
programs that bank at EL1 through ``Cpu.msr`` (PMCR_EL0.E/LC/LP, PMEVTYPER<n>_EL0 evtCount and
the U/P filters, PMCCFILTR_EL0, PMCNTENSET_EL0, PMINTENSET_EL1), feeds it the occurrences of a
``pmulab.sim.workload.Workload`` with ``CounterBank.run``, and draws one line per counter plus
an overflow marker wherever a counter wrapped. Marks are updated inside ``fig.hold_sync()``.
Omits: sampling and the kernel's IRQ handler (the counters just wrap; PMOVS and the IRQ line
are shown as the hardware leaves them).
Pinned to: Arm ARM D24 (counting, filtering, overflow, CHAIN) as modelled by pmulab.hw.counters.
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from pmulab.hw import sysregs
from pmulab.hw.counters import CounterBank
from pmulab.hw.cpu import Cpu
from pmulab.hw.events import ArmEvent
from pmulab.hw.sysregs import CYCLE_SLOT, PMCCFILTR, PMCR, PMEVTYPER, PmuVersion
from pmulab.sim.workload import Workload, occurrences
from pmulab.viz import style
from pmulab.viz.guard import CallbackGuard
from pmulab.viz.regview import RegisterView

__all__ = ["CounterTimeline", "counter_timeline", "demo_workload"]

COLOURS = list(style.COLOURS[:7])
CYCLE_COLOUR = style.GREY
_ENABLE = sysregs.lookup("PMCNTENSET_EL0").layout


def demo_workload(rate: float) -> Workload:
    """A plain integer loop retiring ``rate`` instructions per step, 80 % at EL0 and 20 % at EL1."""
    mix = {"INST_RETIRED": 1.0, "CPU_CYCLES": 1.25, "MEM_ACCESS": 0.45, "L1D_CACHE": 0.4, "L1D_CACHE_REFILL": 0.02,
           "BR_RETIRED": 0.15, "BR_MIS_PRED": 0.005, "EXC_TAKEN": 1e-6}
    return Workload(el0={k: 0.8 * rate * v for k, v in mix.items()},
                    el1={k: 0.2 * rate * v for k, v in mix.items()}, jitter=0.2)


class CounterTimeline(widgets.VBox):
    """Counters of one CPU over ``steps`` steps of a workload, redrawn live as the controls move."""

    def __init__(self, events=("INST_RETIRED", "CHAIN", "L1D_CACHE", "BR_MIS_PRED"), steps: int = 120,
                 rate: int = 40, version="v3p4", seed: int = 0):
        self.steps, self.seed = steps, seed
        self.guard = CallbackGuard()
        names = [e.name for e in ArmEvent]
        self.events = [widgets.Dropdown(options=names, value=ArmEvent[e].name if isinstance(e, str) else e.name,
                                        description=f"counter {n}", layout=widgets.Layout(width="19em"))
                       for n, e in enumerate(events)]
        self.exclude_el0 = widgets.Checkbox(value=False, description=f"exclude EL0 ({PMEVTYPER['U'].name})",
                                            indent=False)
        self.exclude_el1 = widgets.Checkbox(value=False, description=f"exclude EL1 ({PMEVTYPER['P'].name})",
                                            indent=False)
        self.width = widgets.ToggleButtons(options=[(f"{v.value}: {64 if v.long_counters else 32}-bit", v.value)
                                                    for v in (PmuVersion.V3P4, PmuVersion.V3P5)],
                                           value=PmuVersion.parse(version).value, description="PMU")
        self.rate = widgets.IntSlider(value=rate, min=1, max=100, description="M inst/step",
                                      style={"description_width": "initial"})
        self._build_figure()
        self.pmovs = RegisterView(sysregs.lookup("PMOVSSET_EL0"), title="PMOVSSET_EL0 after the run")
        self.summary = widgets.HTML()
        for w in (*self.events, self.exclude_el0, self.exclude_el1, self.width, self.rate):
            w.observe(self.guard.wrap(self._on_change), names="value")
        controls = widgets.VBox([widgets.HBox(self.events[:2]), widgets.HBox(self.events[2:]),
                                 widgets.HBox([self.exclude_el0, self.exclude_el1]), self.width, self.rate])
        super().__init__([controls, self.fig, self.summary, self.pmovs, self.guard.out])
        self.add_class("pmulab-timeline")
        self.refresh()

    def _build_figure(self) -> None:
        self.x_scale, self.y_scale = bq.LinearScale(), bq.LinearScale(min=0.0)
        n = len(self.events) + 1
        self.lines = bq.Lines(x=np.arange(self.steps), y=np.zeros((n, self.steps)), scales={"x": self.x_scale,
                              "y": self.y_scale}, colors=COLOURS[: n - 1] + [CYCLE_COLOUR], display_legend=True,
                              stroke_width=2)
        self.overflows = bq.Scatter(x=[], y=[], marker="triangle-down", colors=[style.RED], default_size=60,
                                    scales={"x": self.x_scale, "y": self.y_scale}, display_legend=True,
                                    labels=["overflow (PMOVS set)"])
        axes = [style.x_axis(self.x_scale, "step"),
                style.y_axis(self.y_scale, "counter value", tick_format=".3s", label_offset="60px")]
        self.fig = style.figure([self.lines, self.overflows], axes, "PMU counters of CPU 0", height="360px",
                                fig_margin=dict(style.MARGIN, left=80))

    # --- model side -----------------------------------------------------------------------------
    def _program(self) -> None:
        """Program the view's own CPU at EL1 (as a kernel driver would) from the controls."""
        version = PmuVersion.parse(self.width.value)
        self.bank = CounterBank(1, len(self.events), version=version)
        self.cpu = cpu = Cpu(self.bank, 0)
        filt = {"U": int(self.exclude_el0.value), "P": int(self.exclude_el1.value)}
        for n, dd in enumerate(self.events):
            cpu.msr(f"PMEVTYPER{n}_EL0", PMEVTYPER.encode(evtCount=int(ArmEvent[dd.value]), **filt))
        cpu.msr(PMCCFILTR.name, PMCCFILTR.encode(**filt))
        used = _ENABLE.encode(C=1, **{f"P{n}": 1 for n in range(len(self.events))})
        cpu.msr("PMCNTENSET_EL0", used)
        cpu.msr("PMINTENSET_EL1", used)
        cpu.msr(PMCR.name, PMCR.encode(E=1, LC=1, LP=int(version.long_counters)))

    def run(self) -> np.ndarray:
        """Program a fresh bank, run the workload; return uint64 values ``(steps, 32)`` (slot 31 = PMCCNTR)."""
        self._program()
        wl, rng = demo_workload(self.rate.value * 1e6), np.random.default_rng(self.seed)
        occ = np.stack([occurrences([wl], rng) for _ in range(self.steps)])
        return np.asarray(self.bank.run(occ))[:, 0, :]

    def slots(self) -> list[int]:
        """Counter slots drawn, in line order: the event counters, then the cycle counter (31)."""
        return list(range(len(self.events))) + [CYCLE_SLOT]

    def overflow_steps(self, slot: int) -> np.ndarray:
        """Steps at which counter ``slot`` wrapped (its value went down) in the last run."""
        v = self.values[:, slot]
        return np.nonzero(v[1:] < v[:-1])[0] + 1

    def read(self, name: str) -> int:
        """Read a register of the view's CPU at EL1 after the last run (e.g. ``"PMOVSSET_EL0"``)."""
        return self.cpu.mrs(name)

    # --- view side ------------------------------------------------------------------------------
    def _on_change(self, change) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Re-run the model with the current controls and redraw every mark."""
        self.values = self.run()
        slots = self.slots()
        y = self.values[:, slots].T.astype(np.float64)
        ox = [s for slot in slots for s in self.overflow_steps(slot)]
        oy = [float(self.values[s - 1, slot]) for slot in slots for s in self.overflow_steps(slot)]
        labels = [f"{n}: {dd.value}" for n, dd in enumerate(self.events)] + ["PMCCNTR (CPU_CYCLES)"]
        with self.fig.hold_sync():
            self.lines.y = y
            self.lines.labels = labels
            self.overflows.x, self.overflows.y = np.array(ox, dtype=float), np.array(oy, dtype=float)
        self.pmovs.update(self.read("PMOVSSET_EL0"))
        self.summary.value = self._summary(labels)

    def _summary(self, labels: list[str]) -> str:
        cells = "".join(f"<td style='padding:0 10px'><b>{lab}</b><br><code>{int(self.values[-1, s]):#x}</code><br>"
                        f"{len(self.overflow_steps(s))} overflow(s)</td>" for lab, s in zip(labels, self.slots(),
                                                                                            strict=True))
        irq = "asserted" if self._irq() else "low"
        return (f"<div style='font-size:12px'><table><tr>{cells}</tr></table>PMU interrupt line: "
                f"<b class='pmulab-irq'>{irq}</b> (PMOVS &amp; PMINTEN non-zero)</div>")

    def _irq(self) -> bool:
        return bool(np.asarray(self.bank.irq).reshape(-1)[0])


def counter_timeline(events=("INST_RETIRED", "CHAIN", "L1D_CACHE", "BR_MIS_PRED"), steps: int = 120,
                     rate: int = 40, version="v3p4", seed: int = 0) -> CounterTimeline:
    """Return a live counter plot: one Dropdown per event counter, EL filters, 32/64-bit, a rate slider.

    ``events`` programs counters 0..len-1 (names of ``ArmEvent``); ``rate`` is millions of
    instructions per step of the demo workload; ``version`` "v3p4" (32-bit event counters) or
    "v3p5" (64-bit). Deterministic for a given ``seed``.
    """
    return CounterTimeline(events, steps, rate, version, seed)
