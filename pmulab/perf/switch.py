"""Context switches and multiplexing: what the scheduler and the timer tick call.

Models: the context switch (``__perf_event_task_sched_out`` -> ``perf_event_context_sched_out``
and ``__perf_event_task_sched_in`` -> ``perf_event_context_sched_in``): a task without a context
triggers nothing; otherwise, with the context's PMU disabled, ``pmu->sched_task(ctx, sched_in)``
is called iff ``pmu->sched_task && (cpuctx->sched_cb_usage || pmu->sched_cb_usage)`` (the v8 2/5
form), the task context is scheduled out, or in after the CPU flexible groups are popped when
the task has pinned groups; the per-CPU ``sched_cb_list`` path (``perf_pmu_sched_task``) for
CPUs with ``perf_sched_cb_inc`` users, which also runs for tasks without a context;
``perf_rotate_context`` (multiplexing) and the tick.
Omits: the clone-context swap optimisation, PERF_RECORD_SWITCH, cgroup switches, the mux
hrtimer itself (rotation runs at every tick when necessary: the default
``perf_event_mux_interval_ms`` is one jiffy), throttling/frequency adjustment at the tick.
Pinned to: Linux v5.17 kernel/events/core.c, including the heterogeneous "HACK" that points a
task context's ``pmu`` at the CPU context's (the first hardware PMU) at sched-in.
Heterogeneous consequence (checked against the v5.13..v6.1 ``perf_event_context_sched_in``):
the context-wide ``perf_pmu_disable/enable`` acts on the first PMU only, whose
``armpmu_enable`` returns at once on CPUs it does not serve; another cluster's PMU is
re-enabled (``start()``) only by ``event_sched_in``/``event_sched_out`` of its own events,
which bracket ``pmu->add/del`` with that event's PMU, or by its IRQ handler. A task whose
events all belong to cluster X, switched in on a cluster-Y CPU, therefore leaves Y's
PMUSERENR_EL0 as Y's last start() set it (spec §7 S12; tests/linux/test_linux_hetero.py).
"""

from __future__ import annotations

from pmulab.perf.api import PerfEvent
from pmulab.perf.context import EVENT_ALL, EVENT_FLEXIBLE, PerfCpuContext, PerfEventContext

__all__ = ["SwitchMixin"]


class SwitchMixin:
    """Context-switch and tick half of ``PerfCore`` (built on ``SchedMixin``)."""

    # ----------------------------------------------------------------- context switch
    def _sched_task_wanted(self, pmu, cpuctx: PerfCpuContext) -> bool:
        return getattr(pmu, "sched_task", None) is not None and bool(
            cpuctx.sched_cb_usage or getattr(pmu, "sched_cb_usage", 0))

    def _pmu_sched_task(self, cpuctx: PerfCpuContext, sched_in: bool) -> None:
        """Kernel: __perf_pmu_sched_task -- the per-CPU ``sched_cb_list`` callback."""
        pmu = cpuctx.ctx.pmu
        if getattr(pmu, "sched_task", None) is None:
            return
        self.perf_pmu_disable(pmu)
        pmu.sched_task(cpuctx.task_ctx, sched_in)
        self.perf_pmu_enable(pmu)

    def _check_on(self, cpu: int, what: str) -> PerfCpuContext:
        here = self.kernel.this_cpu()
        if here != cpu:
            raise ValueError(f"{what}(cpu={cpu}) must run on CPU {cpu}, but this_cpu() is {here}")
        return self._cpuctx[cpu]

    def sched_out(self, prev, cpu: int) -> None:
        """Kernel: __perf_event_task_sched_out + perf_event_context_sched_out (``prev`` leaves ``cpu``)."""
        cpuctx = self._check_on(cpu, "sched_out")
        if cpuctx.sched_cb_usage and cpuctx.task_ctx is None:
            self._pmu_sched_task(cpuctx, False)
        ctx = getattr(prev, "perf_ctx", None)
        if ctx is None or cpuctx.task_ctx is None:
            return
        pmu = ctx.pmu
        self.perf_pmu_disable(pmu)
        if self._sched_task_wanted(pmu, cpuctx):
            pmu.sched_task(ctx, False)
        self.task_ctx_sched_out(cpuctx, ctx, EVENT_ALL)
        self.perf_pmu_enable(pmu)

    def sched_in(self, task, cpu: int) -> None:
        """Kernel: __perf_event_task_sched_in + perf_event_context_sched_in (``task`` enters ``cpu``)."""
        cpuctx = self._check_on(cpu, "sched_in")
        ctx = getattr(task, "perf_ctx", None)
        if ctx is not None:
            pmu = ctx.pmu = cpuctx.ctx.pmu  # the heterogeneous HACK
            if cpuctx.task_ctx is ctx:
                if cpuctx.sched_cb_usage:
                    self._pmu_sched_task(cpuctx, True)
            elif ctx.nr_events:
                self.perf_pmu_disable(pmu)
                if ctx.pinned_groups:
                    self.ctx_sched_out(cpuctx.ctx, cpuctx, EVENT_FLEXIBLE)
                self.perf_event_sched_in(cpuctx, ctx)
                if self._sched_task_wanted(pmu, cpuctx):
                    pmu.sched_task(cpuctx.task_ctx, True)
                self.perf_pmu_enable(pmu)
        if cpuctx.sched_cb_usage and cpuctx.task_ctx is None:
            self._pmu_sched_task(cpuctx, True)

    # ----------------------------------------------------------------------- rotation
    @staticmethod
    def _event_to_rotate(ctx: PerfEventContext) -> PerfEvent | None:
        """Kernel: ctx_event_to_rotate -- first active flexible group, else the tree's first."""
        event = ctx.flexible_active[0] if ctx.flexible_active else None
        if event is None and ctx.flexible_groups:
            event = min(ctx.flexible_groups, key=lambda e: e.cpu)
        ctx.rotate_necessary = 0
        return event

    @staticmethod
    def _rotate(ctx: PerfEventContext, event: PerfEvent) -> None:
        """Kernel: rotate_ctx -- move the group to the end of the flexible order."""
        if ctx.rotate_disable or event not in ctx.flexible_groups:
            return
        ctx.flexible_groups.remove(event)
        ctx.flexible_groups.append(event)

    def perf_rotate_context(self, cpuctx: PerfCpuContext) -> bool:
        """Kernel: perf_rotate_context -- multiplexing: rotate the flexible groups of both contexts."""
        task_ctx = cpuctx.task_ctx
        cpu_rotate = cpuctx.ctx.rotate_necessary
        task_rotate = task_ctx.rotate_necessary if task_ctx is not None else 0
        if not (cpu_rotate or task_rotate):
            return False
        self.perf_pmu_disable(cpuctx.ctx.pmu)
        task_event = self._event_to_rotate(task_ctx) if task_rotate else None
        cpu_event = self._event_to_rotate(cpuctx.ctx) if cpu_rotate else None
        if task_event is not None or (task_ctx is not None and cpu_event is not None):
            self.ctx_sched_out(task_ctx, cpuctx, EVENT_FLEXIBLE)
        if cpu_event is not None:
            self.ctx_sched_out(cpuctx.ctx, cpuctx, EVENT_FLEXIBLE)
        if task_event is not None:
            self._rotate(task_ctx, task_event)
        if cpu_event is not None:
            self._rotate(cpuctx.ctx, cpu_event)
        self.perf_event_sched_in(cpuctx, task_ctx)
        self.perf_pmu_enable(cpuctx.ctx.pmu)
        return True

    def tick(self, cpu: int) -> None:
        """Kernel: perf_event_task_tick + perf_mux_hrtimer_handler -- pending disables, rotation."""
        cpuctx = self._check_on(cpu, "tick")
        self.irq_work_run(cpu)
        self.perf_rotate_context(cpuctx)
