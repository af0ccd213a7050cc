"""PerfCore: kernel/events/core.c for one machine, assembled from its parts.

Models: the perf core's state -- one hardware ``perf_cpu_context`` per CPU (its ``ctx`` holds the
CPU-bound events of every hardware PMU, its ``pmu`` is the first hardware PMU registered, as
when heterogeneous arm_pmus share ``perf_hw_context``), per-task contexts created with the
first event (``task.perf_ctx``), the event id counter, ``pmu_disable_count`` per PMU and CPU --
and its entry points, each in its own module: ``open`` (perf_event_open), ``ioctl``, ``read``,
``mmap`` (mmap/munmap/update_userpage), ``lifecycle`` (close/fork/exec/exit/overflow),
``sched`` (context switch, tick, rotation), ``funcall`` (task/cpu/event_function_call),
``sampling`` (perf_event_overflow, throttling, frequency mode, ring buffer, side-band records).
Omits: software, tracepoint and uncore PMUs; see each module.
Pinned to: Linux v5.17.
"""

from __future__ import annotations

from typing import Any

from pmulab.perf.api import PerfEvent
from pmulab.perf.context import PerfCpuContext, PerfEventContext
from pmulab.perf.funcall import FuncallMixin
from pmulab.perf.ioctl import IoctlMixin
from pmulab.perf.lifecycle import LifecycleMixin
from pmulab.perf.mmap import MmapMixin
from pmulab.perf.open import OpenMixin
from pmulab.perf.read import ReadMixin
from pmulab.perf.sampling import SamplingMixin
from pmulab.perf.sched import SchedMixin
from pmulab.perf.switch import SwitchMixin

__all__ = ["PerfCore"]


class PerfCore(SamplingMixin, OpenMixin, IoctlMixin, ReadMixin, MmapMixin, LifecycleMixin, SwitchMixin, SchedMixin,
                FuncallMixin):
    """The perf core of one machine.

    Parameters
    ----------
    kernel : pmulab.perf.api.Kernel
        this_cpu/current/task_cpu/smp_call/now/sysctl/find_task/capable provider.
    pmus : list of pmulab.perf.api.Pmu
        The hardware PMUs in registration order. A PMU with a ``bind(core)`` method is bound.

    Every entry point runs as kernel code on ``kernel.this_cpu()``: syscalls on the caller's
    CPU with the caller current there; ``sched_out``/``sched_in``/``tick`` on the CPU named.
    """

    def __init__(self, kernel: Any, pmus: list):
        if not pmus:
            raise ValueError("PerfCore needs at least one PMU")
        self.kernel = kernel
        self.pmus = list(pmus)
        self._cpuctx = [PerfCpuContext(cpu, PerfEventContext(pmu=self.pmus[0], cpu=cpu))
                        for cpu in range(kernel.ncpus)]
        self._disable_count = [[0] * kernel.ncpus for _ in self.pmus]
        self._counts_memo: dict = {}  # id(pmu) -> (pmu, its _disable_count row)
        self._next_id = 0
        self._events: list[PerfEvent] = []  # open (not yet released) parent events
        self._exited: list = []  # tasks past perf_event_exit_task
        self._buffers: dict[int, tuple] = {}  # event id -> (data pages, bytearray, writable)
        self._pending: list[PerfEvent] = []  # events with a pending disable (irq_work)
        self.race_hook = None
        self._init_sampling()
        for pmu in self.pmus:
            bind = getattr(pmu, "bind", None)
            if callable(bind):
                bind(self)

    def __repr__(self) -> str:
        return f"PerfCore(cpus={len(self._cpuctx)}, pmus={[p.name for p in self.pmus]}, events={len(self._events)})"

    def cpu_ctx(self, cpu: int) -> PerfCpuContext:
        """``per_cpu_ptr(pmu->pmu_cpu_context, cpu)``: ``.ctx`` (CPU-bound events), ``.task_ctx``."""
        return self._cpuctx[cpu]

    def task_ctx(self, task: Any) -> PerfEventContext | None:
        """``task->perf_event_ctxp[perf_hw_context]``."""
        return getattr(task, "perf_ctx", None)

    @property
    def events(self) -> list[PerfEvent]:
        """Open events (those created by perf_event_open and not yet released), oldest first."""
        return list(self._events)
