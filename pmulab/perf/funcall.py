"""Running a function where an event's context lives: on a task's CPU, or on a given CPU.

Models (spec §3.5): ``remote_function`` (in the IPI: -EAGAIN if the task is no longer on this
CPU, -ESRCH if it is not current here, else the function's result), ``task_function_call``
(IPI to ``task_cpu(p)``, retried while -EAGAIN: the guarantee is that the function runs on the
CPU where ``p`` is current, or not at all), ``cpu_function_call`` (one IPI),
``event_function_call`` (CPU context: IPI to ``event->cpu``; task context: task_function_call
of ``event_function``, and when that fails, under ``ctx->lock``: give up on TASK_TOMBSTONE,
retry if the context became active meanwhile, else run the function locally on the inactive
context with ``cpuctx = None``) and ``event_function`` (re-checks in the IPI that the target
task is current).
Races: between reading ``task_cpu`` and sending the IPI, and between a failed IPI and taking
``ctx->lock``, the real kernel can be preempted by a migration or a context switch. The model
runs these steps back to back, and offers ``PerfCore.race_hook(point, task, cpu)`` (default
None) that the machine or the explorer may set to move tasks at exactly those two points
(``point`` is "task_function_call", or "event_function_call" / "perf_install_in_context" for
the window after a failed IPI).
Omits: -ENXIO for offline CPUs, cond_resched between retries.
Pinned to: Linux v5.17 kernel/events/core.c (before the 2024 event_function_call rework).
"""

from __future__ import annotations

import errno
from collections.abc import Callable
from typing import Any

from pmulab.perf.api import PerfEvent
from pmulab.perf.context import TOMBSTONE

__all__ = ["FuncallMixin", "RETRY_LIMIT"]

#: Give up (RuntimeError) after this many retries: in the model a retry loop that never ends is
#: a race hook that keeps moving the task, not something the kernel would survive either.
RETRY_LIMIT = 1000


class FuncallMixin:
    """Cross-CPU helpers of ``PerfCore``."""

    race_hook: Callable[[str, Any, int], None] | None = None

    def _race(self, point: str, task: Any, cpu: int) -> None:
        if self.race_hook is not None:
            self.race_hook(point, task, cpu)

    def task_curr(self, task: Any) -> bool:
        """Kernel: task_curr -- ``task`` is running on its CPU right now."""
        cpu = self.kernel.task_cpu(task)
        return cpu is not None and self.kernel.current(cpu) is task

    def _remote_function(self, task: Any, func: Callable[[], int]) -> int:
        """Kernel: remote_function (runs inside the IPI)."""
        if task is not None:
            here = self.kernel.this_cpu()
            if self.kernel.task_cpu(task) != here:
                return -errno.EAGAIN
            if self.kernel.current(here) is not task:
                return -errno.ESRCH
        return func()

    def task_function_call(self, task: Any, func: Callable[[], int]) -> int:
        """Kernel: task_function_call -- run ``func`` on the CPU where ``task`` is current.

        Returns ``func()``'s value (0 on success), or -ESRCH when ``task`` was not running.
        """
        for _ in range(RETRY_LIMIT):
            cpu = self.kernel.task_cpu(task)
            if cpu is None:
                return -errno.ESRCH
            self._race("task_function_call", task, cpu)
            ret = self.kernel.smp_call(cpu, lambda: self._remote_function(task, func))
            if ret != -errno.EAGAIN:
                return ret
        raise RuntimeError(f"task_function_call: task {task!r} kept moving ({RETRY_LIMIT} retries)")

    def cpu_function_call(self, cpu: int, func: Callable[[], int]) -> int:
        """Kernel: cpu_function_call -- one synchronous IPI to ``cpu``."""
        return self.kernel.smp_call(cpu, lambda: self._remote_function(None, func))

    def _event_function(self, event: PerfEvent, func: Callable, data: Any) -> int:
        """Kernel: event_function -- the IPI side: still the right task? then ``func`` with the cpuctx."""
        ctx = event.ctx
        cpuctx = self._cpuctx[self.kernel.this_cpu()]
        if ctx.task is not None:
            if ctx.task is not self.kernel.current(self.kernel.this_cpu()):
                return -errno.ESRCH
        func(event, cpuctx, ctx, data)
        return 0

    def event_function_call(self, event: PerfEvent, func: Callable, data: Any = None) -> None:
        """Kernel: event_function_call -- apply ``func(event, cpuctx, ctx, data)`` where the
        event's context is live, or locally (``cpuctx`` None) while it is not."""
        ctx = event.ctx
        task = ctx.task
        if task is None:
            self.cpu_function_call(event.cpu, lambda: self._event_function(event, func, data))
            return
        if task is TOMBSTONE:
            return
        for _ in range(RETRY_LIMIT):
            if not self.task_function_call(task, lambda: self._event_function(event, func, data)):
                return
            self._race("event_function_call", task, self.kernel.task_cpu(task))
            task = ctx.task  # raw_spin_lock_irq(&ctx->lock)
            if task is TOMBSTONE:
                return
            if ctx.is_active:
                continue
            func(event, None, ctx, data)
            return
        raise RuntimeError(f"event_function_call: context of {event!r} stayed active elsewhere")
