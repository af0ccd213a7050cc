"""The self-monitoring read loop, one step at a time, with the kernel interrupting it between steps.

Models: nothing itself. ``ReadLoopLab`` owns a small ``pmulab.sim.Machine`` (Linux v5.17 model,
``kernel.perf_user_access=1``) in which task T opened a 32-bit INST_RETIRED event with
``config1=0x2`` and ``exclude_kernel=1`` and mmapped it; a ``pmulab.user.ReadLoop`` reads it.
Between two steps of the loop the student injects what the kernel may do to T (spec §7):

- ``"tick"``: one timer tick with T still running; the page is not republished (S6 variant);
- ``"preemption"``: task C (its own events, no user access) runs on T's CPU for two ticks and T
  is switched back in: ``armpmu_del``/``armpmu_add`` republish the page (S6);
- ``"migration"``: T moves to CPU 1, where a CPU-bound event of root already holds counter 0, so
  T's event lands on another counter: the index changes (S5);
- ``"overflow"``: ticks until T's counter wraps and the PMU IRQ (``armv8pmu_handle_irq`` ->
  ``armpmu_event_set_period``) republishes the page (S8);
- ``"IOC_RESET"``: T calls ``ioctl(PERF_EVENT_IOC_RESET)``; the page is republished with an
  offset computed against a zero-extended ``prev_count`` (S14);
- ``"rotation"``: (needs ``extra_events``) ticks until multiplexing takes T's event off the
  PMU, so ``index`` is 0 and the loop must fall back to read() (S9).

The view draws the page's ``lock`` and ``index`` and the loop's ``seq`` after every step (bqplot)
and an HTML panel with the page fields, the lock parity, the loop's registers and its history.
Only this view's own Machine is driven; nothing outside it is touched.
Omits: a reader on another CPU (odd locks): a self-monitoring reader never sees one.
Pinned to: pmulab.user.read_self (libperf perf_mmap__read_self, uapi read protocol), spec §4, §7 S5/S6/S8/S9/S14.
"""

from __future__ import annotations

import html

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from pmulab import uapi
from pmulab.hw.events import ArmEvent
from pmulab.sim import Machine, Workload
from pmulab.user import ReadLoop
from pmulab.viz import style
from pmulab.viz.guard import CallbackGuard

__all__ = ["INJECTIONS", "ReadLoopLab", "readloop_lab", "signed64"]

INJECTIONS = ("tick", "preemption", "migration", "overflow", "IOC_RESET", "rotation")
_MASK64 = (1 << 64) - 1
_READERS = (("documented (sign-extend)", "documented"), ("zero-extend (later libperf)", "zero-extend"))
_PAGE_FIELDS = ("lock", "index", "offset", "pmc_width", "time_enabled", "time_running", "cap_user_rdpmc")
_MAX_TICKS = 2000  # bound for "run until" injections (an overflow needs about 270 ticks)


def signed64(value: int | None) -> int | None:
    """``value`` (mod 2^64) as a signed 64-bit integer, as ``printf("%lld")`` would show it."""
    if value is None:
        return None
    value &= _MASK64
    return value - (1 << 64) if value >> 63 else value


def _raw(name: str, **kw) -> uapi.PerfEventAttr:
    return uapi.PerfEventAttr(type=uapi.PERF_TYPE_RAW, config=int(ArmEvent[name]), exclude_kernel=1, **kw)


class ReadLoopLab(widgets.VBox):
    """Step / Inject / Finish / Reset over a ReadLoop on the lab's own Machine (module docstring).

    Parameters
    ----------
    variant : "documented" (sign extension) or "zero-extend".
    rate : instructions T retires per tick (4 ms); 8e6 is 2 GHz at IPC 1.
    extra_events : more flexible events T opens (no user access) so its event is multiplexed.
    warmup : ticks run before the loop starts.
    """

    def __init__(self, variant: str = "documented", rate: int = 8_000_000, extra_events: int = 0,
                 warmup: int = 2, seed: int = 0):
        self.rate, self.extra_events, self.warmup, self.seed = rate, extra_events, warmup, seed
        self.guard = CallbackGuard()
        self.reader = widgets.ToggleButtons(options=_READERS, value=variant, style={"button_width": "16em"})
        self.what = widgets.Dropdown(options=INJECTIONS, value="preemption", description="inject")
        self.step_button = widgets.Button(description="Step", button_style="primary", icon="step-forward")
        self.inject_button = widgets.Button(description="Inject now", button_style="warning", icon="bolt")
        self.finish_button = widgets.Button(description="Finish loop", icon="fast-forward")
        self.reset_button = widgets.Button(description="Reset", icon="refresh")
        for b, fn in ((self.step_button, self._on_step), (self.inject_button, self._on_inject),
                      (self.finish_button, self._on_finish), (self.reset_button, self._on_reset)):
            b.on_click(self.guard.wrap(fn))
        self.reader.observe(self.guard.wrap(self._on_reset), names="value")
        self._build_figure()
        self.panel = widgets.HTML()
        self.panel.add_class("pmulab-readloop-panel")
        controls = widgets.VBox([style.labelled("reader", self.reader, width="5em"),
                                 widgets.HBox([self.step_button, self.finish_button, self.reset_button]),
                                 widgets.HBox([self.what, self.inject_button])])
        super().__init__([controls, self.fig, self.panel, self.guard.out])
        self.add_class("pmulab-readloop")
        self.reset()

    # ------------------------------------------------------------------------------- the model
    def _build_machine(self) -> None:
        m = Machine(cpus=2, counters=4, perf_user_access=1, seed=self.seed, timeslice=1_000_000)
        wl = Workload(el0={"INST_RETIRED": self.rate, "CPU_CYCLES": self.rate * 5 // 4,
                           "BR_RETIRED": self.rate // 8, "L1D_CACHE": self.rate * 3 // 8, "MEM_ACCESS": self.rate // 2})
        self.T = m.spawn("T", uid=1000, cpu=0, workload=wl, affinity={0, 1})
        self.C = m.spawn("C", uid=1001, cpu=0, workload=wl, affinity={0})
        self.root = m.spawn("root", uid=0, cpu=1, workload=None, affinity={1})
        for name in ("BR_RETIRED", "L1D_CACHE"):
            self.C.perf_event_open(_raw(name))
        self.root.perf_event_open(_raw("BR_RETIRED", pinned=1), pid=-1, cpu=1)  # a CPU-wide count on CPU 1
        self.fd = self.T.perf_event_open(uapi.PerfEventAttr(
            type=uapi.PERF_TYPE_HARDWARE, config=uapi.PERF_COUNT_HW_INSTRUCTIONS, config1=0x2, exclude_kernel=1,
            read_format=uapi.PERF_FORMAT_TOTAL_TIME_ENABLED | uapi.PERF_FORMAT_TOTAL_TIME_RUNNING))
        names = ("BR_RETIRED", "L1D_CACHE", "MEM_ACCESS", "L1D_CACHE_REFILL", "BR_MIS_PRED", "L2D_CACHE")
        for k in range(self.extra_events):
            self.T.perf_event_open(_raw(names[k % len(names)]))
        self.page = self.T.mmap(self.fd)
        m.switch_to(0, self.T)
        m.run(self.warmup)
        self.machine = m

    def reset(self) -> None:
        """A fresh Machine and a fresh loop (nothing stepped yet)."""
        self._build_machine()
        self.loop = ReadLoop(self.T, self.page, variant=self.reader.value)
        self.events: list[dict] = []  # one per Step or injection: what the plot and the log show
        self.truth: int | None = None
        self._record("start", None)
        self.redraw()

    def _record(self, kind: str, detail) -> None:
        self.events.append({"kind": kind, "detail": detail, "lock": self.page.lock, "index": self.page.index,
                            "seq": self.loop._pass.get("seq"), "cpu": self.T.cpu})

    def step(self):
        """Perform the loop's next step; returns its ``Step``. After the last step, ``truth`` holds read()."""
        entry = self.loop.step()
        self._record("step", entry)
        if self.loop.done:
            self.truth = self.read_value()
        self.redraw()
        return entry

    def finish(self) -> int | None:
        """Step until the loop is done; returns its result (None: fall back to read())."""
        while not self.loop.done:
            self.step()
        return self.loop.result

    def inject(self, kind: str) -> str:
        """Let the kernel do ``kind`` (one of ``INJECTIONS``) to T now; returns what happened."""
        if kind not in INJECTIONS:
            raise ValueError(f"unknown injection {kind!r}; choose one of {INJECTIONS}")
        m, T = self.machine, self.T
        lock0 = self.page.lock
        if kind == "tick":
            m.run(1)
            what = "one timer tick, T kept running"
        elif kind == "preemption":
            m.switch_to(T.cpu, self.C if T.cpu == 0 else self.root)
            m.run(2)
            m.switch_to(T.cpu, T)
            what = f"T preempted on CPU {T.cpu} for 2 ticks, then switched back in"
        elif kind == "migration":
            dest = 1 - T.cpu
            m.migrate(T, dest)
            m.switch_to(dest, T)
            what = f"T migrated to CPU {dest}"
        elif kind == "overflow":
            irqs = len(m.trace.actions("irq", cpu=T.cpu))
            ticks = self._run_until(lambda: len(m.trace.actions("irq", cpu=T.cpu)) > irqs)
            what = f"{ticks} ticks until T's counter wrapped and the PMU interrupt was taken"
        elif kind == "IOC_RESET":
            T.ioctl(self.fd, uapi.PERF_EVENT_IOC_RESET)
            what = "T called ioctl(fd, PERF_EVENT_IOC_RESET)"
        else:
            if not self.extra_events:
                raise ValueError("rotation needs extra_events > 0 (more events than counters)")
            start = self.page.index != 0
            ticks = self._run_until(lambda: (self.page.index != 0) != start)
            what = f"{ticks} ticks of multiplexing; index is now {self.page.index}"
        what += f"; lock {lock0} -> {self.page.lock}"
        self._record("inject", f"{kind}: {what}")
        self.redraw()
        return what

    def _run_until(self, cond) -> int:
        for k in range(1, _MAX_TICKS + 1):
            self.machine.run(1)
            if cond():
                return k
        raise RuntimeError(f"nothing happened in {_MAX_TICKS} ticks")

    def read_value(self) -> int:
        """What read(fd) gives now (a system call by T): the count, scaled by enabled/running as the loop does."""
        r = self.read()
        return r.scaled()

    def read(self) -> uapi.ReadResult:
        """read(fd) by T, parsed (value, time_enabled, time_running, scaled())."""
        fmt = uapi.PERF_FORMAT_TOTAL_TIME_ENABLED | uapi.PERF_FORMAT_TOTAL_TIME_RUNNING
        return uapi.parse_read(self.T.read(self.fd), fmt)

    @property
    def error(self) -> int | None:
        """Signed difference result - read() once the loop has a result, else None."""
        if self.loop.result is None or self.truth is None:
            return None
        return signed64(self.loop.result - self.truth)

    def series(self) -> dict[str, np.ndarray]:
        """Per recorded event: page lock, page index and the loop's seq (NaN before the first lock step)."""
        seq = [np.nan if e["seq"] is None else float(e["seq"]) for e in self.events]
        return {"lock": np.array([e["lock"] for e in self.events], dtype=float),
                "index": np.array([e["index"] for e in self.events], dtype=float),
                "seq": np.array(seq, dtype=float)}

    # ------------------------------------------------------------------------------- the view
    def _build_figure(self) -> None:
        self.xs, self.ys = bq.LinearScale(), bq.LinearScale(min=0.0, max=8.0)
        sc = {"x": self.xs, "y": self.ys}
        self.lock_line, self.index_line, self.seq_line = (
            bq.Lines(x=np.arange(2.0), y=np.zeros(2), scales=sc, colors=[colour], labels=[label], marker="circle",
                     marker_size=24, display_legend=True, stroke_width=2, line_style=dash)
            for colour, label, dash in ((style.COLOURS[0], "page lock", "solid"),
                                        (style.COLOURS[1], "page index", "solid"),
                                        (style.COLOURS[2], "loop seq (lock read at step 'lock')", "dashed")))
        self.injected = bq.Scatter(x=[], y=[], marker="cross", colors=[style.RED], default_size=120,
                                   scales=sc, display_legend=True, labels=["injection"])
        axes = [style.x_axis(self.xs, "loop step / injection", tick_format="d"),
                style.y_axis(self.ys, "value", tick_format="d")]
        self.fig = style.figure([self.lock_line, self.index_line, self.seq_line, self.injected], axes,
                                "user page lock / index while T reads", height="300px")

    def redraw(self) -> None:
        s = self.series()
        x = np.arange(len(self.events), dtype=float)
        inj = [i for i, e in enumerate(self.events) if e["kind"] == "inject"]
        has_seq = ~np.isnan(s["seq"])
        top = max(s["lock"].max(), s["index"].max())
        with self.fig.hold_sync():
            self.xs.min, self.xs.max = 0.0, float(max(len(self.events) - 1, 6))
            self.ys.max = float(max(8.0, top + 2.0))
            self.lock_line.x, self.lock_line.y = x, s["lock"]
            self.index_line.x, self.index_line.y = x, s["index"]
            self.seq_line.x, self.seq_line.y = x[has_seq], s["seq"][has_seq]
            self.injected.x = np.array(inj, dtype=float)
            self.injected.y = s["lock"][inj] if inj else np.array([], dtype=float)
        self.step_button.disabled = self.finish_button.disabled = self.loop.done
        self.panel.value = self._render()

    def _render(self) -> str:
        p, loop = self.page, self.loop
        lock = p.lock
        parity = "even: no update in progress" if lock % 2 == 0 else "ODD: the kernel is writing"
        rows = ""
        for f in _PAGE_FIELDS:
            v = getattr(p, f)
            shown = f"{v & _MASK64:#x} ({signed64(v):,})" if f == "offset" else f"{v:,}"
            note = parity if f == "lock" else ""
            if f == "index":
                note = "0: no counter, fall back to read()" if not v else f"mrs counter {v - 1} on CPU {self.T.cpu}"
            rows += (f"<tr data-field='{f}'><td><code>{f}</code></td><td style='text-align:right'>"
                     f"<code>{shown}</code></td><td style='color:#66707f'>{note}</td></tr>")
        state = ", ".join(f"{k}={html.escape(str(v))}" for k, v in loop._pass.items() if k in ("seq", "idx", "count"))
        log = "".join(self._log_line(i, e) for i, e in enumerate(self.events))
        if loop.done:
            status = (f"<b>fall back to read()</b>: {html.escape(loop.reason)}" if loop.fallback else
                      f"result <b class='pmulab-result'>{loop.result:,}</b> (signed {signed64(loop.result):,}); "
                      f"read() says <b>{self.truth:,}</b>; error <b class='pmulab-error'>{self.error:,}</b>")
        else:
            status = f"next step: <b>{loop.next_step}</b>"
        return (f"<div class='pmulab-readloop-state' data-lock='{lock}' data-parity='{lock % 2}' "
                f"data-index='{p.index}' data-retries='{loop.retries}' data-done='{int(loop.done)}' "
                f"data-steps='{len(loop.history)}' style='font:12px var(--jp-ui-font-family,sans-serif);"
                f"display:flex;gap:24px'><div><b>user page of T's event</b><table>{rows}</table>"
                f"<div>T runs on CPU {self.T.cpu}; reader: {loop.variant}; retries: {loop.retries}</div>"
                f"<div>loop state: {state or '-'}</div><div>{status}</div></div>"
                f"<div style='max-height:22em;overflow:auto'><b>history</b><ol start='0'>{log}</ol></div></div>")

    @staticmethod
    def _log_line(i: int, e: dict) -> str:
        if e["kind"] == "start":
            return f"<li>start: lock={e['lock']} index={e['index']}</li>"
        if e["kind"] == "inject":
            return f"<li style='color:#d62728'>INJECT {html.escape(e['detail'])}</li>"
        st = e["detail"]
        vals = ", ".join(f"{k}={v}" for k, v in st.values.items() if k not in ("cap_user_rdpmc",))
        style = " style='font-weight:bold'" if "retry" in st.values or "result" in st.values else ""
        return f"<li{style}><code>{st.name}</code> {html.escape(vals)}</li>"

    # ---------------------------------------------------------------------------- callbacks
    def _on_step(self, _button) -> None:
        self.step()

    def _on_inject(self, _button) -> None:
        self.inject(self.what.value)

    def _on_finish(self, _button) -> None:
        self.finish()

    def _on_reset(self, _change) -> None:
        self.reset()


def readloop_lab(variant: str = "documented", rate: int = 8_000_000, extra_events: int = 0, warmup: int = 2,
                 seed: int = 0) -> ReadLoopLab:
    """Return the step-through read-loop widget (see ``ReadLoopLab``)."""
    return ReadLoopLab(variant, rate, extra_events, warmup, seed)

