"""Putting events on and off the PMU: groups, contexts, context switches, multiplexing.

Models: ``perf_pmu_disable``/``perf_pmu_enable`` nesting per (PMU, CPU) with a disable count
(the PMU's ``pmu_disable``/``pmu_enable`` run only on the outermost pair); the default
transaction of a PMU with pmu_enable (start_txn = disable, commit/cancel = enable);
``event_sched_in``/``event_sched_out`` (pmu add/del), all-or-nothing ``group_sched_in``,
``ctx_sched_in``/``ctx_sched_out`` by event type, ``merge_sched_in`` (a pinned group that does
not fit goes to ERROR; a flexible one stays INACTIVE, sets ``rotate_necessary`` and stops
further flexible groups on that pass), ``perf_event_sched_in`` order (CPU pinned, task pinned,
CPU flexible, task flexible) and ``ctx_resched``. The context switch and rotation built on these
are in ``pmulab.perf.switch``.
Omits: cgroups, software-event group capabilities.
Pinned to: Linux v5.17 kernel/events/core.c (ctx-wide brackets use ``ctx->pmu``, event-level
ones ``event->pmu``, as the kernel does).
"""

from __future__ import annotations

import errno

from pmulab.perf.api import EF, EventState, PerfEvent
from pmulab.perf.context import (
    EVENT_ALL,
    EVENT_CPU,
    EVENT_FLEXIBLE,
    EVENT_PINNED,
    EVENT_TIME,
    PerfCpuContext,
    PerfEventContext,
    set_state,
    update_context_time,
)

__all__ = ["SchedMixin"]

_OFF, _INACTIVE, _ACTIVE = EventState.OFF, EventState.INACTIVE, EventState.ACTIVE
_EF_START, _EF_NONE = EF.START, EF(0)


class SchedMixin:
    """Scheduling half of ``PerfCore`` (expects ``kernel``, ``pmus``, ``_cpuctx``, ``_disable_count``)."""

    # ------------------------------------------------------------------ PMU disable nesting
    def _pmu_slot(self, pmu) -> int:
        for i, p in enumerate(self.pmus):
            if p is pmu:
                return i
        raise ValueError(f"{pmu!r} is not a PMU of this perf core")

    def _counts(self, pmu) -> list:
        """``pmu->pmu_disable_count`` (per CPU), found by identity (memoised: it runs on every add/del)."""
        memo = self._counts_memo
        entry = memo.get(id(pmu))
        if entry is None or entry[0] is not pmu:
            entry = memo[id(pmu)] = (pmu, self._disable_count[self._pmu_slot(pmu)])
        return entry[1]

    def perf_pmu_disable(self, pmu) -> None:
        """Kernel: perf_pmu_disable -- the outermost call on this CPU runs ``pmu.pmu_disable()``."""
        entry = self._counts_memo.get(id(pmu))
        counts = entry[1] if entry is not None and entry[0] is pmu else self._counts(pmu)
        cpu = self.kernel.this_cpu()
        n = counts[cpu] = counts[cpu] + 1
        if n == 1:
            pmu.pmu_disable()

    def perf_pmu_enable(self, pmu) -> None:
        """Kernel: perf_pmu_enable -- the matching outermost call runs ``pmu.pmu_enable()``."""
        entry = self._counts_memo.get(id(pmu))
        counts = entry[1] if entry is not None and entry[0] is pmu else self._counts(pmu)
        cpu = self.kernel.this_cpu()
        n = counts[cpu]
        if n <= 0:
            raise RuntimeError(f"perf_pmu_enable({pmu!r}) on CPU {cpu} without a matching disable")
        counts[cpu] = n - 1
        if n == 1:
            pmu.pmu_enable()

    def pmu_disable_count(self, pmu, cpu: int) -> int:
        """``*per_cpu_ptr(pmu->pmu_disable_count, cpu)``."""
        return self._disable_count[self._pmu_slot(pmu)][cpu]

    def perf_sched_cb_inc(self, pmu) -> None:
        """Kernel: perf_sched_cb_inc -- this CPU's context wants ``sched_task`` on every switch."""
        self._cpuctx[self.kernel.this_cpu()].sched_cb_usage += 1

    def perf_sched_cb_dec(self, pmu) -> None:
        """Kernel: perf_sched_cb_dec."""
        cpuctx = self._cpuctx[self.kernel.this_cpu()]
        if cpuctx.sched_cb_usage <= 0:
            raise RuntimeError("perf_sched_cb_dec without a matching perf_sched_cb_inc")
        cpuctx.sched_cb_usage -= 1

    # ------------------------------------------------------------------------ one event
    def _filter_match(self, event: PerfEvent) -> bool:
        """Kernel: event_filter_match -- right CPU, and every group member's PMU accepts it."""
        if event.cpu != -1 and event.cpu != self.kernel.this_cpu():
            return False
        if not event.pmu.filter_match(event):
            return False
        return all(e.pmu.filter_match(e) for e in event.siblings)

    def event_sched_in(self, event: PerfEvent, cpuctx: PerfCpuContext, ctx: PerfEventContext) -> int:
        """Kernel: event_sched_in -- ACTIVE, then ``pmu.add(PERF_EF_START)``; 0 or -EAGAIN."""
        if event.state <= _OFF:
            return 0
        kernel, pmu = self.kernel, event.pmu
        now = kernel.now()
        event.oncpu = kernel.this_cpu()
        set_state(event, _ACTIVE, now)
        self.perf_pmu_disable(pmu)
        ret = 0
        if pmu.add(event, _EF_START):
            set_state(event, _INACTIVE, now)
            event.oncpu = -1
            ret = -errno.EAGAIN
        else:
            cpuctx.active_oncpu += 1
            ctx.nr_active += 1
            if event.attr.exclusive:
                cpuctx.exclusive = 1
        self.perf_pmu_enable(pmu)
        return ret

    def event_sched_out(self, event: PerfEvent, cpuctx: PerfCpuContext, ctx: PerfEventContext) -> None:
        """Kernel: event_sched_out -- ``pmu.del_`` and back to INACTIVE (OFF if a disable is pending)."""
        if event.state != _ACTIVE:
            return
        for active in (ctx.pinned_active, ctx.flexible_active):
            if event in active:
                active.remove(event)
        pmu = event.pmu
        self.perf_pmu_disable(pmu)
        pmu.del_(event, _EF_NONE)
        event.oncpu = -1
        state = _INACTIVE
        if event.pending_disable:
            event.pending_disable = False
            state = _OFF
        set_state(event, state, self.kernel.now())
        cpuctx.active_oncpu -= 1
        ctx.nr_active -= 1
        if event.attr.exclusive:
            cpuctx.exclusive = 0
        self.perf_pmu_enable(pmu)

    # ------------------------------------------------------------------------- groups
    def group_sched_in(self, leader: PerfEvent, cpuctx: PerfCpuContext, ctx: PerfEventContext) -> int:
        """Kernel: group_sched_in -- all members or none, inside one PMU transaction."""
        if leader.state == EventState.OFF:
            return 0
        pmu = ctx.pmu
        self.perf_pmu_disable(pmu)  # start_txn(PERF_PMU_TXN_ADD)
        if self.event_sched_in(leader, cpuctx, ctx):
            self.perf_pmu_enable(pmu)  # cancel_txn
            return -errno.EAGAIN
        done = []
        for sib in leader.siblings:
            if self.event_sched_in(sib, cpuctx, ctx):
                for other in done:
                    self.event_sched_out(other, cpuctx, ctx)
                self.event_sched_out(leader, cpuctx, ctx)
                self.perf_pmu_enable(pmu)  # cancel_txn
                return -errno.EAGAIN
            done.append(sib)
        self.perf_pmu_enable(pmu)  # commit_txn
        return 0

    def group_sched_out(self, leader: PerfEvent, cpuctx: PerfCpuContext, ctx: PerfEventContext) -> None:
        """Kernel: group_sched_out."""
        self.perf_pmu_disable(ctx.pmu)
        self.event_sched_out(leader, cpuctx, ctx)
        for sib in leader.siblings:
            self.event_sched_out(sib, cpuctx, ctx)
        self.perf_pmu_enable(ctx.pmu)

    def _group_can_go_on(self, event: PerfEvent, cpuctx: PerfCpuContext, can_add_hw: bool) -> bool:
        """Kernel: group_can_go_on."""
        if cpuctx.exclusive:
            return False
        if event.attr.exclusive and event.ctx.active_list(bool(event.attr.pinned)):
            return False
        return can_add_hw

    def _groups_sched_in(self, ctx: PerfEventContext, cpuctx: PerfCpuContext, pinned: bool) -> None:
        """Kernel: ctx_pinned_sched_in / ctx_flexible_sched_in via visit_groups_merge + merge_sched_in."""
        cpu = self.kernel.this_cpu()
        can_add_hw = True
        for event in list(ctx.pinned_groups if pinned else ctx.flexible_groups):
            if (event.cpu != -1 and event.cpu != cpu) or event.state <= _OFF:
                continue
            if not self._filter_match(event):
                continue
            if self._group_can_go_on(event, cpuctx, can_add_hw):
                if not self.group_sched_in(event, cpuctx, ctx):
                    ctx.active_list(pinned).append(event)
            if event.state == EventState.INACTIVE:
                if event.attr.pinned:
                    set_state(event, EventState.ERROR, self.kernel.now())
                can_add_hw = False
                ctx.rotate_necessary = 1

    # ----------------------------------------------------------------------- contexts
    def ctx_sched_out(self, ctx: PerfEventContext, cpuctx: PerfCpuContext, event_type: int) -> None:
        """Kernel: ctx_sched_out -- clear ``event_type`` from is_active, stop the clock, del groups."""
        was = ctx.is_active
        if not ctx.nr_events:
            return
        ctx.is_active &= ~event_type
        if not ctx.is_active & EVENT_ALL:
            ctx.is_active = 0
        if ctx.task is not None and not ctx.is_active:
            cpuctx.task_ctx = None
        if was & EVENT_TIME:
            update_context_time(ctx, self.kernel.now())
        changed = was ^ ctx.is_active
        if not ctx.nr_active or not changed & EVENT_ALL:
            return
        self.perf_pmu_disable(ctx.pmu)
        if changed & EVENT_PINNED:
            for leader in list(ctx.pinned_active):
                self.group_sched_out(leader, cpuctx, ctx)
        if changed & EVENT_FLEXIBLE:
            for leader in list(ctx.flexible_active):
                self.group_sched_out(leader, cpuctx, ctx)
            ctx.rotate_necessary = 0
        self.perf_pmu_enable(ctx.pmu)

    def ctx_sched_in(self, ctx: PerfEventContext, cpuctx: PerfCpuContext, event_type: int) -> None:
        """Kernel: ctx_sched_in -- set is_active (a task context becomes ``cpuctx->task_ctx``),
        start the clock, add pinned then flexible groups."""
        was = ctx.is_active
        if not ctx.nr_events:
            return
        ctx.is_active |= event_type | EVENT_TIME
        if ctx.task is not None and not was:
            cpuctx.task_ctx = ctx
        changed = was ^ ctx.is_active
        if changed & EVENT_TIME:
            ctx.timestamp = self.kernel.now()
        if changed & EVENT_PINNED:
            self._groups_sched_in(ctx, cpuctx, pinned=True)
        if changed & EVENT_FLEXIBLE:
            self._groups_sched_in(ctx, cpuctx, pinned=False)

    def task_ctx_sched_out(self, cpuctx: PerfCpuContext, ctx: PerfEventContext, event_type: int) -> None:
        """Kernel: task_ctx_sched_out -- only the context scheduled in on this CPU."""
        if cpuctx.task_ctx is None or cpuctx.task_ctx is not ctx:
            return
        self.ctx_sched_out(ctx, cpuctx, event_type)

    def perf_event_sched_in(self, cpuctx: PerfCpuContext, ctx: PerfEventContext | None) -> None:
        """Kernel: perf_event_sched_in -- CPU pinned, task pinned, CPU flexible, task flexible."""
        self.ctx_sched_in(cpuctx.ctx, cpuctx, EVENT_PINNED)
        if ctx is not None:
            self.ctx_sched_in(ctx, cpuctx, EVENT_PINNED)
        self.ctx_sched_in(cpuctx.ctx, cpuctx, EVENT_FLEXIBLE)
        if ctx is not None:
            self.ctx_sched_in(ctx, cpuctx, EVENT_FLEXIBLE)

    def ctx_resched(self, cpuctx: PerfCpuContext, task_ctx: PerfEventContext | None, event_type: int) -> None:
        """Kernel: ctx_resched -- pop what must make room, then schedule everything back in order."""
        kinds = event_type & EVENT_ALL
        self.perf_pmu_disable(cpuctx.ctx.pmu)
        if task_ctx is not None:
            self.task_ctx_sched_out(cpuctx, task_ctx, event_type)
        if event_type & EVENT_CPU:
            self.ctx_sched_out(cpuctx.ctx, cpuctx, kinds)
        elif kinds & EVENT_PINNED:
            self.ctx_sched_out(cpuctx.ctx, cpuctx, EVENT_FLEXIBLE)
        self.perf_event_sched_in(cpuctx, task_ctx)
        self.perf_pmu_enable(cpuctx.ctx.pmu)
