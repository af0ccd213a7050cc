"""Views for notebook 12: the ring buffer filling and draining, throttling, frequency mode, a converging profile.

Models: nothing itself. Each function builds its OWN Machine (one task running the demo code
profile, ``pmulab.sim.profile.demo_profile``, one sampling event on INST_RETIRED with a
1 + 2^n page mapping) and reads it through ``pmulab.user`` only (RingReader, report): the data
are what a profiler would see. ``ring_run``/``throttle_run``/``freq_run``/``profile_run`` return
plain arrays for assert cells; ``RingLab`` is the live widget (sliders for period, data pages and
consumer speed; head, tail and fill drawn tick by tick, LOST records marked).
Omits: writing to a model it is given (views never mutate a model).
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from pmulab import Machine, PerfEventAttr, Workload, uapi
from pmulab.sim.profile import demo_profile
from pmulab.uapi import PerfRecord
from pmulab.user import RingReader, report
from pmulab.viz import style as vstyle
from pmulab.viz.guard import CallbackGuard

__all__ = ["RingLab", "ring_lab", "ring_run", "throttle_run", "freq_run", "profile_run", "lines_plot",
           "profile_plot"]

_ST = (uapi.PERF_SAMPLE_IP | uapi.PERF_SAMPLE_TID | uapi.PERF_SAMPLE_TIME | uapi.PERF_SAMPLE_CPU
       | uapi.PERF_SAMPLE_PERIOD | uapi.PERF_SAMPLE_ID)
RATE = 400_000  # user-mode INST_RETIRED per tick of the demo task


def _machine(period: int, pages: int, seed: int = 0, freq: int = 0, skid: int = 0):
    m = Machine(cpus=1, seed=seed)
    t = m.spawn("demo", cpu=0, workload=Workload(el0={"INST_RETIRED": RATE, "CPU_CYCLES": RATE * 3 // 2},
                                                 el1={"INST_RETIRED": RATE // 10}, profile=demo_profile(skid)))
    attr = PerfEventAttr(type=uapi.PERF_TYPE_HARDWARE, config=uapi.PERF_COUNT_HW_INSTRUCTIONS, exclude_kernel=1,
                         sample_type=_ST, sample_id_all=1)
    if freq:
        attr.freq, attr.sample_freq = 1, freq
    else:
        attr.sample_period = period
    fd = t.perf_event_open(attr, pid=0, cpu=-1)
    page = t.mmap(fd, pages=1 + pages)
    return m, t, attr, fd, page, RingReader(t, page, attr)


def ring_run(period: int = 20_000, pages: int = 1, consume_every: int = 4, ticks: int = 40, seed: int = 0) -> dict:
    """Tick by tick: ``head``, ``tail``, ``fill`` (bytes), cumulative ``lost`` (from LOST records
    read), ``samples`` read, ``dropped`` (the kernel's own count) and ``data_size``."""
    m, t, attr, fd, page, reader = _machine(period, pages, seed)
    out = {k: [] for k in ("tick", "head", "tail", "fill", "lost", "samples")}
    lost = samples = 0
    for tick in range(1, ticks + 1):
        m.run(1)
        if tick % consume_every == 0:
            for r in reader.read():
                samples += r.type == PerfRecord.SAMPLE
                lost += r.lost if r.type == PerfRecord.LOST else 0
        head, tail = int(page.data_head), int(page.data_tail)
        for k, v in zip(out, (tick, head, tail, head - tail, lost, samples), strict=True):
            out[k].append(v)
    res = {k: np.array(v, dtype=np.int64) for k, v in out.items()}
    res["dropped"] = t.fds[fd].rb.dropped
    res["data_size"] = int(page.data_size)
    return res


def throttle_run(period: int = 2_000, max_rate: int = 25_000, ticks: int = 6) -> dict:
    """Record types in order, the tick of each, and samples per tick with the max rate lowered."""
    m, t, attr, fd, page, reader = _machine(period, 64)
    m.sysctl("kernel.perf_event_max_sample_rate", max_rate)
    kinds, at = [], []
    for tick in range(ticks):
        m.run(1)
        recs = reader.read()
        kinds += [int(r.type) for r in recs]
        at += [tick] * len(recs)
    kinds_a, at_a = np.array(kinds), np.array(at)
    per_tick = np.array([np.sum((at_a == k) & (kinds_a == PerfRecord.SAMPLE)) for k in range(ticks)])
    return {"types": kinds_a, "tick": at_a, "samples_per_tick": per_tick,
            "max_per_tick": -(-max_rate // 250)}


def freq_run(freq: int = 1_000, ticks: int = 100) -> dict:
    """Frequency mode: samples per tick and the event's period after each tick."""
    m, t, attr, fd, page, reader = _machine(0, 128, freq=freq)
    n, periods = [], []
    for _ in range(ticks):
        m.run(1)
        n.append(sum(r.type == PerfRecord.SAMPLE for r in reader.read()))
        periods.append(t.fds[fd].hw.sample_period)
    return {"samples_per_tick": np.array(n), "period": np.array(periods), "target_per_tick": freq / 250,
            "ideal_period": RATE * 250 // freq}


def profile_run(period: int = 50_000, checkpoints=(10, 40, 160, 640), seed: int = 0) -> dict:
    """Sampled share of each function after n samples (n in ``checkpoints``), its binomial
    standard error, and the true share."""
    profile = demo_profile()
    truth = profile.true_profile("INST_RETIRED", kernel=False)
    names = list(truth)
    m, t, attr, fd, page, reader = _machine(period, 256, seed)
    samples: list = []
    shares, errors = [], []
    for n in checkpoints:
        while len(samples) < n:
            m.run(1)
            samples += [r for r in reader.read() if r.type == PerfRecord.SAMPLE]
        rep = report(samples[:n], profile.symbols())
        p = np.array([rep[name].samples / n if name in rep.overheads() else 0.0 for name in names])
        shares.append(p)
        errors.append(np.sqrt(p * (1 - p) / n))
    return {"names": names, "n": np.array(checkpoints), "share": np.array(shares), "stderr": np.array(errors),
            "truth": np.array([truth[k] for k in names])}


def lines_plot(x, ys, labels, title: str, ylabel: str, xlabel: str = "tick") -> bq.Figure:
    """A plain bqplot line chart (one line per row of ``ys``)."""
    sx, sy = bq.LinearScale(), bq.LinearScale()
    lines = bq.Lines(x=np.asarray(x, float), y=np.atleast_2d(np.asarray(ys, float)), scales={"x": sx, "y": sy},
                     labels=list(labels), display_legend=True, colors=list(vstyle.COLOURS))
    return vstyle.figure([lines], [vstyle.x_axis(sx, xlabel), vstyle.y_axis(sy, ylabel)], title, height="300px")


def profile_plot(res: dict) -> bq.Figure:
    """Sampled share (with +/- 2 standard errors) per function at each checkpoint, and the truth."""
    sx, sy = bq.OrdinalScale(), bq.LinearScale(min=0.0, max=0.6)
    names = res["names"]
    marks = [bq.Lines(x=names, y=res["truth"], scales={"x": sx, "y": sy}, colors=["black"], line_style="dashed",
                      labels=["true share"], display_legend=True)]
    palette = ["#9ecae1", "#6baed6", "#3182bd", "#08519c", "#08306b"]
    for i, n in enumerate(res["n"]):
        c = palette[i % len(palette)]
        lo, hi = res["share"][i] - 2 * res["stderr"][i], res["share"][i] + 2 * res["stderr"][i]
        marks.append(bq.Scatter(x=names, y=res["share"][i], scales={"x": sx, "y": sy}, colors=[c],
                                labels=[f"{n} samples"], display_legend=True))
        marks.append(bq.Lines(x=[names, names], y=[lo, hi], scales={"x": sx, "y": sy}, colors=[c]))
    axes = [vstyle.x_axis(sx, "function"), vstyle.y_axis(sy, "share of samples", tick_format=".0%")]
    return vstyle.figure(marks, axes, "sampled profile vs the true profile (error bars: 2 standard errors)",
                         legend="top-right")


class RingLab(widgets.VBox):
    """Live ring buffer: sliders (period, data pages, consumer speed), Run, and head/tail/fill per tick."""

    def __init__(self, period: int = 20_000, pages: int = 1, consume_every: int = 4, ticks: int = 40):
        self.guard = CallbackGuard()
        style = {"description_width": "initial"}
        self.period = widgets.IntSlider(value=period, min=2_000, max=100_000, step=1_000, description="period",
                                        style=style)
        self.pages = widgets.Dropdown(options=[1, 2, 4, 8, 16], value=pages, description="data pages", style=style)
        self.speed = widgets.IntSlider(value=consume_every, min=1, max=20, description="consume every (ticks)",
                                       style=style)
        self.ticks = ticks
        self.run_button = widgets.Button(description="Run", button_style="primary")
        sx, sy = bq.LinearScale(), bq.LinearScale(min=0.0)
        self.lines = bq.Lines(x=np.zeros(1), y=np.zeros((3, 1)), scales={"x": sx, "y": sy},
                              labels=["fill (head - tail)", "data_size", "cumulative LOST"], display_legend=True,
                              colors=[vstyle.BLUE, vstyle.GREY, vstyle.RED])
        self.fig = vstyle.figure([self.lines], [vstyle.x_axis(sx, "tick"), vstyle.y_axis(sy, "bytes / records")],
                                 "the ring buffer while samples arrive")
        self.state = widgets.HTML()
        self.result: dict = {}
        self.run_button.on_click(self.guard.wrap(lambda _: self.run()))
        super().__init__([widgets.HBox([self.period, self.pages]), widgets.HBox([self.speed, self.run_button]),
                          self.fig, self.state, self.guard.out])
        self.add_class("pmulab-ringlab")
        self.run()

    def run(self) -> dict:
        """Run a fresh machine with the sliders' values and redraw it tick by tick."""
        res = ring_run(self.period.value, self.pages.value, self.speed.value, self.ticks)
        for k in range(1, len(res["tick"]) + 1, max(1, len(res["tick"]) // 8)):
            self._draw(res, k)
        self._draw(res, len(res["tick"]))
        self.result = res
        return res

    def _draw(self, res: dict, k: int) -> None:
        x = res["tick"][:k].astype(float)
        with self.lines.hold_sync():
            self.lines.x = x
            self.lines.y = np.vstack([res["fill"][:k], np.full(k, res["data_size"]), res["lost"][:k]]).astype(float)
        attrs = {"ticks": k, "lost": int(res["lost"][k - 1]), "dropped": res["dropped"],
                 "samples": int(res["samples"][k - 1]), "fill": int(res["fill"][k - 1])}
        data = " ".join(f'data-{n}="{v}"' for n, v in attrs.items())
        lost = attrs["dropped"] > 0
        text = (f"after {attrs['ticks']} ticks: <b>{attrs['samples']}</b> samples read, "
                f"<b>{attrs['dropped']}</b> dropped (reported in LOST records: {attrs['lost']}), "
                f"{attrs['fill']} bytes still unread")
        self.state.value = (f'<div class="pmulab-ring-state" {data} style="{vstyle.BADGE}'
                            f'{vstyle.BAD if lost else vstyle.GOOD}">{text}</div>')


def ring_lab(**kw) -> RingLab:
    """The live ring-buffer widget (see RingLab)."""
    return RingLab(**kw)
