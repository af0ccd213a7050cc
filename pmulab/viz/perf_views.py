"""Views of the perf core for notebook 02: refused system calls, a task's events, and multiplexing live.

Models: nothing itself.
- ``attempt(fn, *args, **kwargs)`` calls a system call and returns its result, or the
  ``PerfError`` as a ``Refusal`` (errno name, C library text, the check that refused) instead of
  raising, so a notebook can show and assert a refusal in a plain cell.
- ``event_table(task)`` reads (never writes) the perf core's state of a task's events: group
  leader, pinned, state (kernel/events/core.c ``enum perf_event_state``), hardware counter.
- ``MuxLab`` owns a one-CPU ``pmulab.sim.Machine`` in which task T opens N flexible events (or
  one group) on a PMU with C event counters, runs it tick by tick and reads every event with
  read() (read_format TOTAL_TIME_ENABLED|TOTAL_TIME_RUNNING) after each tick. The true counts
  come from a twin Machine with the same seed and enough counters for every event (the
  workload's occurrences depend only on the seed, not on perf). Multiplexing is the perf core's
  rotation (``perf_rotate_context``) at each tick; the scaled estimate is count x enabled / running.
Omits: CPU-wide events in the lab (T's task context only).
Pinned to: spec §3.3 (groups, multiplexing, times) and §3.9 (read formats) of kernel-model.md.
"""

from __future__ import annotations

import html

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from pmulab import uapi
from pmulab.errors import PerfError
from pmulab.hw.events import ArmEvent
from pmulab.perf.api import EventState
from pmulab.sim import Machine, Workload
from pmulab.viz import style
from pmulab.viz.guard import CallbackGuard

__all__ = ["LAB_EVENTS", "MuxLab", "Refusal", "attempt", "event_name", "event_table", "mux_lab"]

#: Events the multiplexing lab opens, in order (each needs an event counter, none the cycle counter).
LAB_EVENTS = ("INST_RETIRED", "BR_RETIRED", "L1D_CACHE", "MEM_ACCESS", "LD_RETIRED", "ST_RETIRED",
              "L2D_CACHE", "BR_MIS_PRED")
_LAB_RATES = {"INST_RETIRED": 8e6, "CPU_CYCLES": 1e7, "BR_RETIRED": 1.2e6, "L1D_CACHE": 3.2e6, "MEM_ACCESS": 3.6e6,
              "LD_RETIRED": 2.4e6, "ST_RETIRED": 1.2e6, "L2D_CACHE": 4e5, "BR_MIS_PRED": 4e4}
_TIMES = uapi.PERF_FORMAT_TOTAL_TIME_ENABLED | uapi.PERF_FORMAT_TOTAL_TIME_RUNNING
COLOURS = list(style.COLOURS)
_HW_NAMES = {v: k for k, v in vars(uapi).items() if k.startswith("PERF_COUNT_HW_") and isinstance(v, int)
             and k != "PERF_COUNT_HW_MAX"}


class Refusal:
    """A system call that failed: ``errno``, ``name`` ("EINVAL"), ``check`` and ``text`` (describe())."""

    def __init__(self, error: PerfError):
        self.error = error
        self.errno, self.name, self.check, self.text = error.errno, error.name, error.check, error.describe()

    def __repr__(self) -> str:
        return f"refused: {self.text}"

    def _repr_html_(self) -> str:
        return (f"<div class='pmulab-refusal' data-errno='{self.name}' style='font-size:13px'>"
                f"<b style='color:#b42318'>{self.name}</b> refused: {html.escape(self.text)}</div>")


def attempt(fn, *args, **kwargs):
    """``fn(*args, **kwargs)``; its result, or a ``Refusal`` if it raised ``PerfError`` (nothing changed then)."""
    try:
        return fn(*args, **kwargs)
    except PerfError as exc:
        return Refusal(exc)


def event_name(attr) -> str:
    """A readable name for an attr: the ArmEvent of a raw event, the PERF_COUNT_HW_* of a generic one."""
    if attr.type == uapi.PERF_TYPE_RAW:
        try:
            return ArmEvent(attr.config).name
        except ValueError:
            return f"raw {attr.config:#x}"
    if attr.type == uapi.PERF_TYPE_HARDWARE:
        return _HW_NAMES.get(attr.config, f"hw {attr.config}").removeprefix("PERF_COUNT_")
    return f"type {attr.type} config {attr.config:#x}"


def _counter(idx: int) -> str:
    if idx < 0:
        return "-"
    return "PMCCNTR" if idx == 0 else f"PMEVCNTR{idx - 1}"


def event_table(task) -> widgets.HTML:
    """An HTML table of ``task``'s perf fds: event, group leader, pinned, state and hardware counter now."""
    fds = task.fds
    by_event = {id(ev): fd for fd, ev in fds.items()}
    rows = ""
    for fd, ev in fds.items():
        state = EventState(ev.state).name
        colour = {"ACTIVE": "#d5f2dc", "ERROR": "#fde2e1", "INACTIVE": "#fff1c2"}.get(state, "#eceef2")
        leader = "itself" if ev.group_leader is ev else f"fd {by_event.get(id(ev.group_leader), '?')}"
        rows += (f"<tr data-fd='{fd}' data-state='{state}'><td>{fd}</td><td>{event_name(ev.attr)}</td>"
                 f"<td>{leader}</td><td>{'yes' if ev.attr.pinned else 'no'}</td>"
                 f"<td style='background:{colour}'>{state}</td><td>{_counter(ev.hw.idx)}</td></tr>")
    head = "".join(f"<th style='padding:0 8px'>{h}</th>" for h in
                   ("fd", "event", "group leader", "pinned", "state", "counter"))
    return widgets.HTML(f"<table class='pmulab-events' style='font-size:12px'><tr>{head}</tr>{rows}</table>")


def _workload(jitter: float) -> Workload:
    return Workload(el0=_LAB_RATES, jitter=jitter)


class MuxLab(widgets.VBox):
    """Multiplexing, live: N events on C counters, time_enabled vs time_running and scaled vs true counts.

    Parameters
    ----------
    events : number of events T opens (1..8, from ``LAB_EVENTS``).
    counters : PMU event counters (PMCR_EL0.N, 1..6).
    ticks : ticks run (4 ms each).
    group : open the events as one group (all-or-nothing) instead of N independent events.
    jitter : workload jitter (0..1); with 0 the scaled estimate is exact.
    """

    def __init__(self, events: int = 4, counters: int = 2, ticks: int = 60, group: bool = False,
                 jitter: float = 0.3, seed: int = 0):
        self.ticks, self.jitter, self.seed = ticks, jitter, seed
        self.guard = CallbackGuard()
        self.events = widgets.IntSlider(value=events, min=1, max=len(LAB_EVENTS), description="events")
        self.counters = widgets.IntSlider(value=counters, min=1, max=6, description="counters")
        self.group = widgets.Checkbox(value=group, description="open as one group", indent=False)
        self.shown = widgets.Dropdown(options=LAB_EVENTS[:events], value=LAB_EVENTS[0], description="plot counts of")
        self.tick = widgets.IntSlider(value=ticks, min=1, max=ticks, description="tick")
        self.play = widgets.Play(value=ticks, min=1, max=ticks, interval=80, description="play")
        widgets.jslink((self.play, "value"), (self.tick, "value"))
        for w in (self.events, self.counters, self.group):
            w.observe(self.guard.wrap(self._on_rebuild), names="value")
        for w in (self.shown, self.tick):
            w.observe(self.guard.wrap(self._on_view), names="value")
        self._build_figures()
        self.status = widgets.HTML()
        self.summary = widgets.HTML()
        controls = widgets.VBox([widgets.HBox([self.events, self.counters, self.group]),
                                 widgets.HBox([self.play, self.tick, self.shown])])
        figs = widgets.HBox([self.fig_times, self.fig_counts], layout=widgets.Layout(width="100%"))
        super().__init__([controls, self.status, figs, self.summary, self.guard.out])
        self.add_class("pmulab-muxlab")
        self.rebuild()

    # ----------------------------------------------------------------------------- the model
    def _machine(self, counters: int, names, group: bool):
        m = Machine(cpus=1, counters=counters, perf_user_access=1, seed=self.seed)
        t = m.spawn("T", uid=1000, cpu=0, workload=_workload(self.jitter))
        fds: list[int] = []
        for k, name in enumerate(names):
            fmt = _TIMES | (uapi.PERF_FORMAT_GROUP if group else 0)
            attr = uapi.PerfEventAttr(type=uapi.PERF_TYPE_RAW, config=int(ArmEvent[name]), exclude_kernel=1,
                                      read_format=fmt)
            fds.append(t.perf_event_open(attr, group_fd=fds[0] if group and k else -1))
        return m, t, fds

    def _run(self, m, t, fds) -> np.ndarray:
        """Run ``ticks`` ticks, read() every fd after each: array (ticks, n, 3) = value, enabled, running."""
        out = np.zeros((self.ticks, len(fds), 3), dtype=np.float64)
        group = len(fds) > 1 and t.fds[fds[1]].group_leader is t.fds[fds[0]]
        for i in range(self.ticks):
            m.run(1)
            if group:  # one read() of the leader returns every member (PERF_FORMAT_GROUP)
                r = uapi.parse_read(t.read(fds[0]), _TIMES | uapi.PERF_FORMAT_GROUP)
                out[i] = [(v.value, r.time_enabled, r.time_running) for v in r.values]
                continue
            for k, fd in enumerate(fds):
                r = uapi.parse_read(t.read(fd), _TIMES)
                out[i, k] = (r.value, r.time_enabled, r.time_running)
        return out

    def rebuild(self) -> None:
        """Rebuild both Machines from the controls, run them, and redraw."""
        names = LAB_EVENTS[: self.events.value]
        self.names = names
        self.refusal: Refusal | None = None
        self.machine = None
        opened = attempt(self._machine, self.counters.value, names, self.group.value)
        if isinstance(opened, Refusal):
            self.refusal = opened
            self.data = np.zeros((self.ticks, len(names), 3))
            self.true = np.zeros((self.ticks, len(names)))
        else:
            self.machine, self.task, self.fds = opened
            self.data = self._run(*opened)
            twin = self._machine(len(names), names, False)
            self.true = self._run(*twin)[:, :, 0]
        with self.shown.hold_trait_notifications():
            keep = self.shown.value if self.shown.value in names else names[0]
            self.shown.options = names
            self.shown.value = keep
        self.redraw()

    # --------------------------------------------------------------------------- derived values
    @property
    def value(self) -> np.ndarray:
        return self.data[:, :, 0]

    @property
    def enabled(self) -> np.ndarray:
        return self.data[:, :, 1]

    @property
    def running(self) -> np.ndarray:
        return self.data[:, :, 2]

    @property
    def scaled(self) -> np.ndarray:
        """count x enabled / running (0 while an event never ran), per tick and event."""
        run = self.running
        return np.where(run > 0, self.value * self.enabled / np.where(run > 0, run, 1), 0.0)

    def error_percent(self) -> np.ndarray:
        """Final |scaled - true| / true in percent, per event."""
        return np.abs(self.scaled[-1] - self.true[-1]) / np.maximum(self.true[-1], 1) * 100

    def final(self, name: str) -> dict:
        """Final raw value, times, scaled estimate and true count of event ``name``."""
        k = self.names.index(name)
        return {"value": int(self.value[-1, k]), "time_enabled": int(self.enabled[-1, k]),
                "time_running": int(self.running[-1, k]), "scaled": float(self.scaled[-1, k]),
                "true": int(self.true[-1, k]), "error_percent": float(self.error_percent()[k])}

    # ------------------------------------------------------------------------------- the view
    def _build_figures(self) -> None:
        self.tx, self.ty = bq.LinearScale(), bq.LinearScale(min=0.0)
        self.times = bq.Lines(x=np.arange(2.0), y=np.zeros((2, 2)), scales={"x": self.tx, "y": self.ty},
                              display_legend=True, stroke_width=2)
        self.fig_times = style.figure([self.times], [style.x_axis(self.tx, "tick"),
                                                     style.y_axis(self.ty, "ms", tick_format=".0f")],
                                      "time_enabled vs time_running (ms)", width="50%", height="340px")
        self.cx, self.cy = bq.LinearScale(), bq.LinearScale(min=0.0)
        self.counts = bq.Lines(x=np.arange(2.0), y=np.zeros((3, 2)), scales={"x": self.cx, "y": self.cy},
                               colors=[style.GREY, style.BLUE, style.BLUE], line_style="solid",
                               labels=["true count", "scaled estimate", "raw count"], display_legend=True,
                               stroke_width=2)
        self.fig_counts = style.figure([self.counts], [style.x_axis(self.cx, "tick"),
                                                       style.y_axis(self.cy, "count", tick_format=".2s")],
                                       "counts", width="50%", height="340px")

    def redraw(self) -> None:
        n = self.tick.value
        x = np.arange(1, n + 1, dtype=float)
        k = self.names.index(self.shown.value) if self.shown.value in self.names else 0
        times = np.vstack([self.enabled[:n, :1].T, self.running[:n].T]) / 1e6
        with self.fig_times.hold_sync():
            self.times.x = x
            self.times.y = times
            self.times.colors = ["#000000"] + COLOURS[: len(self.names)]
            self.times.labels = ["time_enabled"] + [f"running: {nm}" for nm in self.names]
        with self.fig_counts.hold_sync():
            self.counts.x = x
            self.counts.y = np.vstack([self.true[:n, k], self.scaled[:n, k], self.value[:n, k]])
            c = COLOURS[k % len(COLOURS)]
            self.counts.colors = ["#7f7f7f", c, c]
            self.counts.opacities = [1.0, 1.0, 0.45]
            self.fig_counts.title = f"{self.names[k]}: true vs scaled vs raw"
        self.status.value = self._status()
        self.summary.value = self._summary()

    def _status(self) -> str:
        n, c = self.events.value, self.counters.value
        if self.refusal is not None:
            return (f"<div class='pmulab-mux-status' data-refused='{self.refusal.name}' style='color:#b42318'>"
                    f"perf_event_open refused the group: {html.escape(self.refusal.text)}</div>")
        mux = "multiplexed" if (n > c and not self.group.value) else "all on the PMU"
        return (f"<div class='pmulab-mux-status' data-refused='' style='font-size:12px'>{n} events, {c} counters, "
                f"{'one group' if self.group.value else 'independent events'}: <b>{mux}</b></div>")

    def _summary(self) -> str:
        if self.refusal is not None:
            return ""
        rows = ""
        err = self.error_percent()
        for k, nm in enumerate(self.names):
            rows += (f"<tr><td>{nm}</td><td>{int(self.value[-1, k]):,}</td><td>{self.enabled[-1, k] / 1e6:.0f}</td>"
                     f"<td>{self.running[-1, k] / 1e6:.0f}</td><td>{self.scaled[-1, k]:,.0f}</td>"
                     f"<td>{int(self.true[-1, k]):,}</td><td>{err[k]:.2f} %</td></tr>")
        head = "".join(f"<th style='padding:0 8px'>{h}</th>" for h in
                       ("event", "raw count", "enabled ms", "running ms", "scaled", "true", "error"))
        return f"<table class='pmulab-mux-summary' style='font-size:12px'><tr>{head}</tr>{rows}</table>"

    # ---------------------------------------------------------------------------- callbacks
    def _on_rebuild(self, _change) -> None:
        self.rebuild()

    def _on_view(self, _change) -> None:
        self.redraw()


def mux_lab(events: int = 4, counters: int = 2, ticks: int = 60, group: bool = False, jitter: float = 0.3,
            seed: int = 0) -> MuxLab:
    """Return the live multiplexing widget (see ``MuxLab``)."""
    return MuxLab(events, counters, ticks, group, jitter, seed)
