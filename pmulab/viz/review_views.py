"""Views for the review notebooks 04-06: the leak matrix lab, the dirty-counter lab, the mmap-from-B timeline.

Models: nothing itself. Every number comes from ``pmulab.scenarios`` (``run_scenario`` outcomes,
their traces and leak reports) or is read from a scenario's Machine while the scenario runs:
- ``LeakMatrixLab``: Mark Rutland's point 1 ("This still leaks the values of CPU-bound events,
  or task-bound events owned by others, right?") as a design x leak-kind heat map over the
  scenarios ticked (value = share of those scenarios in which the design shows that kind); the
  kinds are ``pmulab.scenarios.leaks.LEAK_KINDS`` plus ``granted`` (EL0 access the reader never
  asked for: S15, S16);
- ``DirtyCounterLab``: S7, the victim's (root's CPU-bound event R) hardware counter per tick and
  its count as ``read()`` reports it against the events that really happened, with the
  0x7FFFFFFF - r + s arithmetic of the spec's worked example (Kernel: armv8pmu_enable_user_access
  v8, armpmu_event_update);
- ``AccessTimelineLab``: S3/S4 on two designs side by side (v8 against v8-efc by default): per
  CPU, PMUSERENR_EL0.ER as the hardware holds it against what the design's own accounting says
  it should be (``Design.expected_access``), and the accounting counters (``nr_user``,
  ``sched_cb_usage``), probed at every narrated step of the scenario (``probe_run``).
Controls come from the scenario's ``Params`` metadata (``explorer.control_for``); marks are
redrawn inside ``fig.hold_sync()``; callback errors are shown by ``CallbackGuard``.
Omits: running anything the scenarios do not run; the probes only read (EL1 ``mrs`` of
PMUSERENR_EL0, the design's bookkeeping), so a probed run leaves the same trace as a plain one.
Pinned to: ipywidgets 8, bqplot 0.13; spec §7 S1-S4, S7, S15, S16.
"""

from __future__ import annotations

import dataclasses
import html
from dataclasses import dataclass, field

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from pmulab.drivers.arm_pmuv3 import count_register
from pmulab.hw.sysregs import PMUSERENR
from pmulab.scenarios import SCENARIOS, run_scenario
from pmulab.scenarios import leaks as leak_analysis
from pmulab.scenarios.base import DESIGN_NAMES, Outcome, Run, check_design
from pmulab.viz import style
from pmulab.viz.explorer import control_for
from pmulab.viz.guard import CallbackGuard
from pmulab.viz.leakmatrix import LeakMatrix

__all__ = ["MATRIX_KINDS", "LeakMatrixLab", "DirtyCounterLab", "AccessTimelineLab", "Probe", "probe_run",
           "accounting", "mismatches", "leak_matrix_lab", "dirty_counter_lab",
           "access_timeline_lab"]

#: Heat-map columns: the leak kinds of the analysis, then access the reader did not ask for.
MATRIX_KINDS = (*leak_analysis.LEAK_KINDS, "granted")
_CARD = "font:13px var(--jp-ui-font-family,sans-serif);"
_TD = "padding:3px 8px;border:1px solid #d0d5dd;"
_RED, _GREEN, _GREY = style.RED, style.GREEN, style.GREY


def _kinds_of(outcome) -> set[str]:
    """The heat-map kinds an outcome shows: its leak kinds, plus ``granted`` if any read was granted."""
    kinds = set(outcome.leak.kinds)
    if any(r["kind"] == "granted" for r in outcome.leak.reads):
        kinds.add("granted")
    return kinds


def _controls(params_cls) -> dict[str, widgets.Widget]:
    return {f.name: control_for(f) for f in dataclasses.fields(params_cls)}


# ---------------------------------------------------------------------------------------- 04: leak matrix
class LeakMatrixLab(widgets.VBox):
    """Tick scenarios; the heat map shows, per design, in what share of them each kind of leak occurs."""

    def __init__(self, scenarios=("S1", "S2", "S15", "S16"), designs=DESIGN_NAMES,
                 title: str = "Mark's point 1: which design lets EL0 read what is not its own"):
        self.designs = [check_design(d) for d in designs]
        self.names = [SCENARIOS[s].name for s in scenarios]
        self.kinds = list(MATRIX_KINDS)
        self.guard = CallbackGuard()
        # every outcome once, for the default parameters (the heat map compares designs, not parameters)
        self.outcomes = {(s, d): run_scenario(s, d) for s in self.names for d in self.designs}
        self.boxes = {s: widgets.Checkbox(value=True, indent=False, description=f"{s}: {SCENARIOS[s].title}",
                                          layout=widgets.Layout(width="auto")) for s in self.names}
        for box in self.boxes.values():
            box.observe(self.guard.wrap(self._on_change), names="value")
        self.matrix = LeakMatrix(self.compute(), self.designs, self.kinds, title)
        self.matrix.fig.axes[0].label = ""  # the column names say it; the label would sit on the title
        self.note = widgets.HTML()
        super().__init__([widgets.HTML("<b>scenarios counted</b>"), *self.boxes.values(), self.guard.out,
                          self.matrix, self.note])
        self.add_class("pmulab-leaklab")
        self.refresh()

    @property
    def selected(self) -> list[str]:
        return [s for s, b in self.boxes.items() if b.value]

    def compute(self) -> np.ndarray:
        """(designs, kinds): share of the ticked scenarios in which the design shows the kind."""
        chosen = self.selected
        values = np.zeros((len(self.designs), len(self.kinds)))
        for i, d in enumerate(self.designs):
            for s in chosen:
                shown = _kinds_of(self.outcomes[(s, d)])
                values[i] += [k in shown for k in self.kinds]
        return values / max(len(chosen), 1)

    def _on_change(self, change) -> None:
        self.refresh()

    def refresh(self) -> np.ndarray:
        """Recompute and redraw (LeakMatrix.update redraws inside hold_sync)."""
        self.values = self.compute()
        self.matrix.update(self.values)
        self.note.value = self._table()
        return self.values

    def leaks(self, design: str) -> list[str]:
        """Kinds with a non-zero share for ``design`` (``granted`` included)."""
        return self.matrix.leaks(design)

    def shown_by(self, design: str, kind: str) -> list[str]:
        """The ticked scenarios in which ``design`` shows ``kind``."""
        return [s for s in self.selected if kind in _kinds_of(self.outcomes[(s, design)])]

    def _table(self) -> str:
        head = "".join(f"<th style='{_TD}background:#eef1f6'>{html.escape(d)}</th>" for d in self.designs)
        rows = []
        for s in self.selected:
            cells = []
            for d in self.designs:
                shown = sorted(_kinds_of(self.outcomes[(s, d)]))
                colour = "#fbd5d5" if set(shown) - {"granted"} else ("#fff1c2" if shown else "#d5f2dc")
                cells.append(f"<td style='{_TD}background:{colour}' data-scenario='{s}' data-design='{d}'>"
                             f"{html.escape(', '.join(shown) or 'nothing')}</td>")
            rows.append(f"<tr><td style='{_TD}'><b>{s}</b></td>{''.join(cells)}</tr>")
        return (f"<div class='pmulab-leaktable' style='{_CARD}'>what each run showed "
                f"(red: a leak, yellow: access not asked for)<table style='border-collapse:collapse'>"
                f"<tr><th style='{_TD}background:#eef1f6'>scenario</th>{head}</tr>{''.join(rows)}</table></div>")


def leak_matrix_lab(scenarios=("S1", "S2", "S15", "S16"), designs=DESIGN_NAMES) -> LeakMatrixLab:
    """Return the leak-matrix lab: scenario check boxes -> design x leak-kind heat map."""
    return LeakMatrixLab(scenarios, designs)


# ---------------------------------------------------------------------------------------- 05: dirty counters
class DirtyCounterLab(widgets.VBox):
    """S7 on one design: the victim R's hardware counter per tick, and its count as read() reports it."""

    VICTIM_CPU, VICTIM_COUNTER = 0, 0  # R sits at idx 1 = PMEVCNTR0_EL0 on CPU 0 in S7

    def __init__(self, design: str = "v8", designs=DESIGN_NAMES):
        self.scenario = SCENARIOS["S7"]
        self.guard = CallbackGuard()
        self.design = widgets.Dropdown(options=list(designs), value=check_design(design), description="design")
        self.controls = _controls(self.scenario.params)
        for w in (self.design, *self.controls.values()):
            w.observe(self.guard.wrap(self._on_change), names="value")
        self._build_figures()
        self.arith, self.clears = widgets.HTML(), widgets.HTML()
        controls = widgets.VBox([self.design, *self.controls.values()])
        figs = widgets.HBox([self.fig_hw, self.fig_count], layout=widgets.Layout(width="100%"))
        super().__init__([controls, self.guard.out, figs, self.arith, self.clears])
        self.add_class("pmulab-dirtylab")
        self.refresh()

    def _build_figures(self) -> None:
        x, y = bq.LinearScale(), bq.LinearScale(min=0.0)
        self._hw_y = y
        self.hw_line = bq.Lines(x=np.zeros(0), y=np.zeros(0), scales={"x": x, "y": y}, colors=[style.BLUE],
                                marker="circle", marker_size=40, stroke_width=2, display_legend=True,
                                labels=["PMEVCNTR0_EL0 (CPU 0)"])
        self.hw_clear = bq.Scatter(x=np.zeros(0), y=np.zeros(0), scales={"x": x, "y": y}, colors=[_RED],
                                   marker="cross", default_size=160, display_legend=True,
                                   labels=["zeroed while in use"])
        self.fig_hw = style.figure([self.hw_line, self.hw_clear],
                                   [style.x_axis(x, "tick"), style.y_axis(y, "raw value", tick_format=".3s")],
                                   "the hardware: R's counter per tick", width="50%", height="330px")
        cx, cy = bq.OrdinalScale(), bq.LogScale()
        self.true_line = bq.Lines(x=[], y=[], scales={"x": cx, "y": cy}, colors=[_GREEN], marker="circle",
                                  marker_size=50, stroke_width=3, line_style="dashed", display_legend=True,
                                  labels=["events that happened"])
        self.read_line = bq.Lines(x=[], y=[], scales={"x": cx, "y": cy}, colors=[_RED], marker="square",
                                  marker_size=50, stroke_width=2, display_legend=True,
                                  labels=["count read() reports"])
        self.fig_count = style.figure([self.true_line, self.read_line],
                                      [style.x_axis(cx, "root reads R"),
                                       style.y_axis(cy, "count (log scale)", tick_format=".2s")],
                                      "perf's view: R's count", width="50%", height="330px")

    @property
    def params(self):
        return self.scenario.params(**{n: w.value for n, w in self.controls.items()})

    def _on_change(self, change) -> None:
        self.refresh()

    def refresh(self) -> Outcome:
        """Run S7 with the controls; redraw both figures inside hold_sync; return the outcome."""
        o = run_scenario("S7", self.design.value, **dataclasses.asdict(self.params))
        cols = o.trace.columns()
        ticks = np.asarray(cols["tick"], dtype=float)
        raw = np.asarray(cols["counters"], dtype=np.float64)[:, self.VICTIM_CPU, self.VICTIM_COUNTER]
        hits = [d for d in o.leak.destroyed if d["cpu"] == self.VICTIM_CPU and 1 in d["live"]]
        cx = np.array([float(d["tick"]) for d in hits])
        r, s, after = o.obs["r"], o.obs["s"], o.obs["count_after"]
        labels = ["after T blocks (r)", "at the end"]
        with self.fig_hw.hold_sync():
            self.hw_line.x, self.hw_line.y = ticks, raw
            self.fig_hw.axes[0].tick_values = ticks
            self._hw_y.max = float(raw.max()) * 1.45 if len(raw) else None  # headroom: the legend sits on top
            self.hw_clear.x, self.hw_clear.y = cx, np.zeros(len(cx))
        with self.fig_count.hold_sync():
            self.true_line.x, self.true_line.y = labels, np.array([r, r + s], dtype=float)
            self.read_line.x, self.read_line.y = labels, np.array([r, after], dtype=float)
        self.outcome = o
        self.arith.value = self._arith(o)
        self.clears.value = self._clears(o)
        return o

    # --- numbers the notebook asserts -----------------------------------------------------------
    @property
    def r(self) -> int:
        """R's count read by root after T blocked."""
        return self.outcome.obs["r"]

    @property
    def s(self) -> int:
        """L1D refills on CPU 0 after T woke (refill_rate x after)."""
        return self.outcome.obs["s"]

    @property
    def jump(self) -> int:
        """How much R's count grew between root's two reads."""
        return self.outcome.obs["jump"]

    @property
    def xor_jump(self) -> int:
        """The worked example's prediction for a zeroed 32-bit counter: 0x7FFFFFFF - r + s."""
        return 0x7FFFFFFF - self.r + self.s

    @property
    def destroyed(self) -> list[dict]:
        """The counter_clear rows that hit a counter in use (from the leak analysis)."""
        return list(self.outcome.leak.destroyed)

    def _arith(self, o) -> str:
        r, s, jump = self.r, self.s, self.jump
        verdict = ("<b style='color:#7f1d1d'>R's count jumped by 0x7FFFFFFF &minus; r + s</b>" if jump == self.xor_jump
                   else "<b style='color:#14532d'>R's count grew by exactly s</b>" if jump == s
                   else "<b>neither</b>")
        return (f"<div class='pmulab-arith' data-design='{html.escape(o.design)}' data-jump='{jump}' "
                f"style='{_CARD}margin:6px 0'>design <code>{html.escape(o.design)}</code>: r = {r}, s = {s}; "
                f"root's two reads differ by <code>{jump}</code> = <code>{jump:#x}</code>. "
                f"0x7FFFFFFF &minus; {r} + {s} = <code>{self.xor_jump}</code>. {verdict}</div>")

    def _clears(self, o) -> str:
        rows = "".join(f"<tr><td style='{_TD}'>{rec['tick']}</td><td style='{_TD}'>CPU {rec['cpu']}</td>"
                       f"<td style='{_TD}'>{', '.join(count_register_of(i) for i in rec['idxs'])}</td>"
                       f"<td style='{_TD}{'background:#fbd5d5' if rec['live'] else ''}'>"
                       f"{', '.join(count_register_of(i) for i in rec['live']) or '-'}</td>"
                       f"<td style='{_TD}'>{html.escape(rec['why'])}</td></tr>"
                       for rec in o.trace.actions("counter_clear"))
        if not rows:
            return f"<div style='{_CARD}'>no counter was cleared before EL0 got access</div>"
        head = "".join(f"<th style='{_TD}background:#eef1f6'>{h}</th>" for h in (
            "tick", "CPU", "counters zeroed", "of them in use (destroyed)", "why"))
        return (f"<div class='pmulab-clears' style='{_CARD}'>counters the design zeroed before opening EL0 access"
                f"<table style='border-collapse:collapse'><tr>{head}</tr>{rows}</table></div>")


def count_register_of(idx: int) -> str:
    """The counter register of perf idx ``idx`` (0 = PMCCNTR_EL0, k = PMEVCNTR<k-1>_EL0)."""
    return count_register(31 if idx == 0 else idx - 1)


def dirty_counter_lab(design: str = "v8") -> DirtyCounterLab:
    """Return the S7 lab: design and S7 parameters -> the victim's counter and count, live."""
    return DirtyCounterLab(design)


# ---------------------------------------------------------------------------------------- 06: accounting
@dataclass(frozen=True)
class Probe:
    """The machine at one narrated step: per CPU who runs, PMUSERENR_EL0, what the accounting says."""

    step: str  # the scenario's last note before this probe
    running: tuple  # task name per CPU ("idle" when none)
    pmuserenr: tuple  # raw PMUSERENR_EL0 per CPU (EL1 read)
    er: tuple  # PMUSERENR_EL0.ER per CPU (0/1)
    expected: tuple  # Design.expected_access per CPU: 1, 0, or None (no promise / nothing running)
    nr_user: int  # the design's nr_user, summed over task contexts (or per-mm counts for the mm designs)
    sched_cb_usage: int  # pmu->sched_cb_usage plus every cpuctx->sched_cb_usage

    @property
    def mismatched(self) -> list[int]:
        """CPUs where the hardware disagrees with the design's accounting."""
        return [c for c, (e, w) in enumerate(zip(self.er, self.expected, strict=True)) if w is not None and e != w]


def mismatches(probes: list[Probe]) -> list[tuple[int, int]]:
    """``(probe number, cpu)`` wherever PMUSERENR_EL0.ER disagrees with the design's accounting."""
    return [(i, c) for i, p in enumerate(probes) for c in p.mismatched]


def accounting(machine) -> tuple[int, int]:
    """``(nr_user, sched_cb_usage)`` as the machine's design keeps them (read only).

    nr_user: v8/v8-efc count mapped user events per context in the design (``users(ctx)``, the v8
    ``atomic_t nr_user`` of the context); x86-mm/lazy-trap count per mm (``mm_users``); v5.17 and
    pmuv3p9 use the perf core's ``ctx->nr_user`` (list_add_event/list_del_event).
    """
    design = machine.design
    tasks = list(machine.tasks)
    if hasattr(design, "mm_users"):
        mms = {id(t.mm): t.mm for t in tasks}
        nr = sum(design.mm_users(mm) for mm in mms.values())
    else:
        ctxs = {id(t.perf_ctx): t.perf_ctx for t in tasks if t.perf_ctx is not None}
        users = getattr(design, "users", None)
        nr = sum(users(c) if users is not None else c.nr_user for c in ctxs.values())
    cb = sum(getattr(p, "sched_cb_usage", 0) for p in machine.pmus)
    cb += sum(machine.perf.cpu_ctx(c).sched_cb_usage for c in range(machine.ncpus))
    return int(nr), int(cb)


def _probe(machine, step: str) -> Probe:
    running, values, er, expected = [], [], [], []
    for cpu in range(machine.ncpus):
        task = machine.sched.current(cpu)
        value = machine.cpu(cpu).mrs(PMUSERENR.name)
        running.append("idle" if task is None else task.name)
        values.append(value)
        er.append(int(PMUSERENR.decode(value)["ER"]))
        want = None
        if task is not None:
            with machine.on_cpu(cpu):
                want = machine.design.expected_access(machine.pmu_of(cpu), cpu)
        expected.append(None if want is None else int(bool(want)))
    nr, cb = accounting(machine)
    return Probe(step, tuple(running), tuple(values), tuple(er), tuple(expected), nr, cb)


@dataclass
class _ProbedRun(Run):
    """A scenario Run that also probes the machine at every note and observation of the scenario."""

    probes: list = field(default_factory=list)
    step: str = "start"

    def take(self) -> None:
        """Probe now, unless nothing changed since the last probe of the same step."""
        probe = _probe(self.machine, self.step)
        if not self.probes or self.probes[-1] != probe:
            self.probes.append(probe)

    def note(self, text: str, cpu: int | None = None) -> None:
        self.take()
        self.step = text
        super().note(text, cpu)

    def observe(self, name: str, value):
        self.take()
        return super().observe(name, value)


def probe_run(name: str, design: str, **params) -> tuple[Outcome, list[Probe]]:
    """Run scenario ``name`` on ``design`` as ``run_scenario`` does, probing at each narrated step.

    Returns the Outcome (same checks, expectation and trace as ``run_scenario``) and the probes;
    the last probe is taken after the scenario's final step.
    """
    sc = SCENARIOS[name]
    base = sc.build(sc.params(**params), check_design(design))
    run = _ProbedRun(base.machine, base.design, base.params)
    run.note(f"{sc.name} on design {design}: {sc.title}")
    sc.steps(run)
    run.take()
    run.probes.pop(0)  # the probe before anything happened (the machine as built)
    outcome = Outcome(sc.name, design, run.params, sc.checks(run), dict(sc.expected[design]),
                      leak_analysis.analyse(run.machine.trace), run)
    return outcome, run.probes


class _DesignPanel(widgets.VBox):
    """One design's side: per-CPU ER (hardware) vs the accounting, and nr_user/sched_cb_usage."""

    def __init__(self, design: str, designs):
        self.design = widgets.Dropdown(options=list(designs), value=check_design(design), description="design")
        x, y = bq.LinearScale(), bq.LinearScale(min=-0.4, max=5.4)
        self.hw = bq.Lines(x=np.zeros(0), y=np.zeros((2, 0)), scales={"x": x, "y": y}, colors=["#1f77b4", "#9467bd"],
                           stroke_width=3, interpolation="step-after", display_legend=True,
                           labels=["CPU 0: PMUSERENR.ER (hardware)", "CPU 1: PMUSERENR.ER (hardware)"])
        self.acct = bq.Scatter(x=np.zeros(0), y=np.zeros(0), scales={"x": x, "y": y}, colors=[_GREY],
                               marker="circle", default_size=90, fill=False, stroke=_GREY, display_legend=True,
                               labels=["what the accounting says"])
        self.bad = bq.Scatter(x=np.zeros(0), y=np.zeros(0), scales={"x": x, "y": y}, colors=[_RED], marker="cross",
                              default_size=170, display_legend=True, labels=["hardware ≠ accounting"])
        self.fig = style.figure([self.hw, self.acct, self.bad],
                                [style.x_axis(x, "step", tick_format="d"),
                                 style.y_axis(y, "CPU 0: 0/1 · CPU 1: 2/3", tick_format="d", tick_values=[0, 1, 2, 3],
                                              label_offset="40px")],
                                "per CPU: access on (top) or off", height="300px")
        cx, cy = bq.LinearScale(), bq.LinearScale(min=0.0, max=4.0)
        self.counts = bq.Lines(x=np.zeros(0), y=np.zeros((2, 0)), scales={"x": cx, "y": cy},
                               colors=[style.COLOURS[1], style.COLOURS[6]], stroke_width=2, interpolation="step-after",
                               marker="circle", marker_size=25, display_legend=True,
                               labels=["nr_user", "sched_cb_usage"])
        self.fig_counts = style.figure([self.counts], [style.x_axis(cx, "step", tick_format="d"),
                                                       style.y_axis(cy, "count", tick_format="d", label_offset="40px")],
                                       "the accounting counters", height="200px")
        self.badges = widgets.HTML()
        super().__init__([self.design, self.badges, self.fig, self.fig_counts],
                         layout=widgets.Layout(width="50%"))

    def draw(self, outcome: Outcome, probes: list[Probe]) -> None:
        x = np.arange(len(probes), dtype=float)
        er = np.array([p.er for p in probes], dtype=float).T  # (cpus, steps)
        band = 2.0 * np.arange(er.shape[0])[:, None]
        ax, ay, bx, by = [], [], [], []
        for i, p in enumerate(probes):
            for c, want in enumerate(p.expected):
                if want is not None:
                    ax.append(float(i))
                    ay.append(2.0 * c + want)
            for c in p.mismatched:
                bx.append(float(i))
                by.append(2.0 * c + p.er[c])
        counts = np.array([[p.nr_user for p in probes], [p.sched_cb_usage for p in probes]], dtype=float)
        with self.fig.hold_sync():
            self.fig.axes[0].tick_values = x
            self.hw.x, self.hw.y = x, er + band
            self.acct.x, self.acct.y = np.array(ax), np.array(ay)
            self.bad.x, self.bad.y = np.array(bx), np.array(by)
        with self.fig_counts.hold_sync():
            top = float(max(2.0, counts.max()) + 2)
            self.fig_counts.axes[0].tick_values = x
            self.fig_counts.axes[1].tick_values = np.arange(int(top))
            self.counts.x, self.counts.y = x, counts
            self.fig_counts.axes[1].scale.max = top
        self.badges.value = _check_badges(outcome)


def _check_badges(o: Outcome) -> str:
    out = []
    for name, got in o.checks.items():
        want = o.expected.get(name)
        style = "background:#d5f2dc;color:#14532d" if got == want else "background:#fbd5d5;color:#7f1d1d"
        out.append(f"<span class='pmulab-badge' data-check='{html.escape(name)}' data-value='{int(bool(got))}' "
                   f"style='display:inline-block;padding:1px 7px;margin:2px;border-radius:9px;font-size:12px;"
                   f"{style}'>{'✓' if got else '✗'} {html.escape(name)}</span>")
    return f"<div class='pmulab-badges' data-design='{html.escape(o.design)}'>{''.join(out)}</div>"


class AccessTimelineLab(widgets.VBox):
    """S3 or S4 on two designs side by side, probed at every narrated step; the controls are shared."""

    def __init__(self, scenario: str = "S3", left: str = "v8", right: str = "v8-efc", designs=DESIGN_NAMES):
        self.guard = CallbackGuard()
        self.scenario = widgets.ToggleButtons(options=["S3", "S4"], value=scenario, description="scenario")
        self.left, self.right = _DesignPanel(left, designs), _DesignPanel(right, designs)
        self.params_box = widgets.VBox()
        self._build_controls()
        self.scenario.observe(self.guard.wrap(self._on_scenario), names="value")
        for w in (self.left.design, self.right.design):
            w.observe(self.guard.wrap(self._on_change), names="value")
        self.steps = widgets.HTML()
        super().__init__([self.scenario, self.params_box, self.guard.out,
                          widgets.HBox([self.left, self.right], layout=widgets.Layout(width="100%")), self.steps])
        self.add_class("pmulab-accesslab")
        self.refresh()

    def _build_controls(self) -> None:
        self.controls = _controls(SCENARIOS[self.scenario.value].params)
        for w in self.controls.values():
            w.observe(self.guard.wrap(self._on_change), names="value")
        self.params_box.children = tuple(self.controls.values())

    def _on_scenario(self, change) -> None:
        self._build_controls()
        self.refresh()

    def _on_change(self, change) -> None:
        self.refresh()

    @property
    def params(self) -> dict:
        return {n: w.value for n, w in self.controls.items()}

    def refresh(self) -> None:
        """Run the scenario on both designs with the shared controls; redraw both sides."""
        self.results = {}
        for side in (self.left, self.right):
            outcome, probes = probe_run(self.scenario.value, side.design.value, **self.params)
            side.draw(outcome, probes)
            self.results[side.design.value] = (outcome, probes)
        self.steps.value = self._table()

    def outcome(self, design: str) -> Outcome:
        return self.results[design][0]

    def probes(self, design: str) -> list[Probe]:
        return self.results[design][1]

    def mismatches(self, design: str) -> list[tuple[int, int]]:
        """``(step, cpu)`` where the hardware disagreed with ``design``'s accounting in the last run."""
        return mismatches(self.probes(design))

    def _table(self) -> str:
        designs = [self.left.design.value, self.right.design.value]
        rows = []
        for i, p in enumerate(self.probes(designs[0])):
            cells = [f"<td style='{_TD}'>{i}</td><td style='{_TD};text-align:left'>{html.escape(p.step)}</td>"]
            for d in designs:
                probes = self.probes(d)
                q = probes[i] if i < len(probes) else None
                if q is None:
                    cells.append(f"<td style='{_TD}'>-</td>")
                    continue
                txt = " · ".join(f"C{c} {q.running[c]} ER={q.er[c]}" + ("" if q.expected[c] is None else
                                                                       f" (acct {q.expected[c]})")
                                 for c in range(len(q.er)))
                colour = "background:#fbd5d5" if q.mismatched else ""
                cells.append(f"<td style='{_TD}{colour}' data-mismatch='{int(bool(q.mismatched))}'>{txt}; "
                             f"nr_user={q.nr_user} cb={q.sched_cb_usage}</td>")
            rows.append(f"<tr>{''.join(cells)}</tr>")
        head = "".join(f"<th style='{_TD}background:#eef1f6'>{html.escape(h)}</th>" for h in (
            "step", "after", *designs))
        return (f"<details class='pmulab-steps' style='{_CARD}'><summary>the steps, probe by probe (red: the "
                f"hardware disagrees with the accounting)</summary><table style='border-collapse:collapse;"
                f"font-size:12px'><tr>{head}</tr>{''.join(rows)}</table></details>")


def access_timeline_lab(scenario: str = "S3", left: str = "v8", right: str = "v8-efc") -> AccessTimelineLab:
    """Return the S3/S4 lab: two designs side by side, per-CPU PMUSERENR against the accounting."""
    return AccessTimelineLab(scenario, left, right)
