"""time_enabled over repeated reads, on the host kernel and in the model, against a busy-loop slider.

Models: nothing itself. Host side: an event of the kind ``host`` (a ``HostEvent``) got, opened
afresh on the refreshing thread (a per-thread event only counts its own thread), is read ``reads`` times, each
after ``busy_loop(length * 1000)`` of user work, with the model's read loop on its real page and
read(2) (``HostEvent.sample``); the plot shows how much ``time_enabled`` grew per read. Model
side: the view builds its OWN one-CPU ``Machine`` (a task counting instructions, mapped,
enabled), runs ``length // 20 + 1`` ticks (4 ms each) per read and reads the fd the same way.
When the host refuses perf_event_open only the model line is drawn and the reason is shown.
Omits: wall-clock assertions (host timings vary); counters on the host (software events only).
Pinned to: perf_event_open(2) read_format TOTAL_TIME_ENABLED; pmulab.sim.Machine.
"""

from __future__ import annotations

import html

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from pmulab import Machine, PerfEventAttr, Workload, uapi
from pmulab.user.host import READ_FORMAT, open_host_event
from pmulab.viz import style
from pmulab.viz.guard import CallbackGuard

__all__ = ["HostTimes", "host_times", "model_times"]


def model_times(reads: int, ticks: int, seed: int = 0) -> np.ndarray:
    """time_enabled (ns) from read(2) after each of ``reads`` runs of ``ticks`` ticks, on a private Machine."""
    m = Machine(cpus=1, counters=6, design="v5.17", perf_user_access=1, seed=seed)
    t = m.spawn("loop", cpu=0, workload=Workload(el0={"INST_RETIRED": 800, "CPU_CYCLES": 1000}))
    fd = t.perf_event_open(PerfEventAttr(type=uapi.PERF_TYPE_HARDWARE, config=uapi.PERF_COUNT_HW_INSTRUCTIONS,
                                         config1=0x2, exclude_kernel=1, exclude_hv=1, read_format=READ_FORMAT))
    t.mmap(fd)
    t.ioctl(fd, uapi.PERF_EVENT_IOC_ENABLE)
    out = []
    for _ in range(reads):
        m.run(ticks)
        out.append(uapi.parse_read(t.read(fd), READ_FORMAT).time_enabled)
    return np.array(out, dtype=np.float64)


class HostTimes(widgets.VBox):
    """A slider of busy-loop length and a plot of time_enabled growth per read (host and model)."""

    def __init__(self, host, reads: int = 12, length: int = 50):
        self.host, self.reads = host, reads
        self.guard = CallbackGuard()
        self.length = widgets.IntSlider(value=length, min=10, max=400, step=10, description="busy loop (k iter.)",
                                        style={"description_width": "initial"}, layout=widgets.Layout(width="28em"))
        x, y = bq.LinearScale(), bq.LinearScale(min=0.0)
        self.lines = bq.Lines(x=np.arange(reads, dtype=float), y=np.zeros((2, reads)), scales={"x": x, "y": y},
                              colors=list(style.COLOURS[:2]), labels=["host kernel", "model"], display_legend=True,
                              marker="circle", stroke_width=2)
        axes = [style.x_axis(x, "read #"), style.y_axis(y, "time_enabled growth (ms)", tick_format=None)]
        self.fig = style.figure([self.lines], axes, "time_enabled between consecutive reads")
        self.note = widgets.HTML()
        self.length.observe(self.guard.wrap(self._on_change), names="value")
        super().__init__([self.length, self.fig, self.note, self.guard.out])
        self.add_class("pmulab-hosttimes")
        self.refresh()

    def _on_change(self, change) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Sample the host (if it allowed the event) and the private model; redraw."""
        model = np.diff(model_times(self.reads + 1, self.length.value // 20 + 1)) / 1e6
        if self.host is not None and self.host.ok:
            # a per-thread event counts the thread that opened it: widget callbacks may run on another
            # thread than the cell that opened ``host``, so each refresh opens its own on this thread
            with open_host_event(((self.host.name, self.host.attr.type, self.host.attr.config),)) as ev:
                samples = ev.sample(self.reads + 1, self.length.value * 1000) if ev.ok else None
            if samples is None:
                raise RuntimeError(f"the host refused the event it allowed before: {ev.reason}")
            hostv = np.diff([float(s.time_enabled) for s in samples])[: self.reads] / 1e6
            y = np.vstack([hostv, model])
            labels = [f"host kernel ({self.host.name})", "model (ticks of 4 ms)"]
            note = f"host: {html.escape(self.host.reason)}; fallback: {html.escape(samples[-1].reason)}"
        else:
            y, labels = model[np.newaxis, :], ["model (ticks of 4 ms)"]
            note = "host: " + html.escape(self.host.reason if self.host is not None else "not asked")
        with self.fig.hold_sync():
            self.lines.y = y
            self.lines.labels = labels
            self.lines.colors = ["#1f77b4", "#ff7f0e"][-len(labels):]
        self.values = y
        self.note.value = f'<div class="pmulab-hostnote" style="font-size:12px;color:#4b5563">{note}</div>'


def host_times(host, reads: int = 12, length: int = 50) -> HostTimes:
    """Return the busy-loop slider + time_enabled plot for ``host`` (a HostEvent, refused or not)."""
    return HostTimes(host, reads, length)
