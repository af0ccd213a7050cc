"""An event's and a task's life: close, inherit at fork, exec, exit, overflow.

Models: ``perf_remove_from_context`` (locally when the context is inactive, else
``event_function_call(__perf_remove_from_context)``: sched out, detach from the group --
siblings of a removed leader become singletons --, ``list_del_event`` (nr_user--), and the
last event of a live context deactivates it: ``cpuctx->task_ctx = NULL``),
``perf_event_release_kernel`` (close of the last reference: remove, DEAD, then every
inherited child removed from its own context), ``perf_event_init_task`` / ``inherit_event``
(fork: each inherit=1 group of the parent's context, pinned first, is cloned into a new child
context through ``perf_event_alloc`` with the original parent's PMU -- so the driver's
``event_init`` runs again and sets PERF_EVENT_FLAG_USER_READ_CNT -- state INACTIVE or OFF as
the original's), ``perf_event_exit_task`` (owner links dropped; the context scheduled out,
detached from the task and marked TASK_TOMBSTONE; child events fold count and times into
their parent -- ``sync_child_event`` -- and are freed; the task's own events go to EXIT),
``perf_event_exec`` (enable_on_exec, remove_on_exec), and ``perf_event_overflow`` as far as
REFRESH needs it (``event_limit`` reaching 0 disables the event via pending work).
Omits: sampling records and throttling (another module), clone-context bookkeeping,
CLONE_THREAD/inherit_thread distinctions (every fork is a process fork), sigtrap.
Pinned to: Linux v5.17 kernel/events/core.c.
"""

from __future__ import annotations

from typing import Any

from pmulab.errors import PerfError
from pmulab.perf.api import EventState, PerfEvent
from pmulab.perf.context import (
    EVENT_ALL,
    EVENT_TIME,
    TOMBSTONE,
    PerfEventContext,
    event_type_of,
    group_detach,
    list_del_event,
    set_state,
    update_context_time,
)
from pmulab.perf.read import perf_event_count

__all__ = ["LifecycleMixin"]

_DETACH_GROUP = 0x1
_DETACH_CHILD = 0x2


class LifecycleMixin:
    """close/fork/exec/exit half of ``PerfCore``."""

    # -------------------------------------------------------------------- removal
    def _remove_fn(self, event: PerfEvent, cpuctx, ctx: PerfEventContext, flags: int) -> None:
        """Kernel: __perf_remove_from_context."""
        now = self.kernel.now()
        if ctx.is_active & EVENT_TIME:
            update_context_time(ctx, now)
        if cpuctx is not None:
            self.event_sched_out(event, cpuctx, ctx)
        if flags & _DETACH_GROUP:
            group_detach(event)
        if flags & _DETACH_CHILD:
            self._child_detach(event)
        list_del_event(event, ctx, now)
        if not ctx.nr_events and ctx.is_active:
            ctx.is_active = 0
            ctx.rotate_necessary = 0
            if ctx.task is not None and cpuctx is not None:
                cpuctx.task_ctx = None

    def perf_remove_from_context(self, event: PerfEvent, flags: int = _DETACH_GROUP) -> None:
        """Kernel: perf_remove_from_context."""
        ctx = event.ctx
        if ctx is None:
            return
        if not ctx.is_active:
            self._remove_fn(event, None, ctx, flags)
            return
        self.event_function_call(event, self._remove_fn, flags)

    def close(self, event: PerfEvent) -> None:
        """Kernel: perf_release -> perf_event_release_kernel (the last fd/mapping reference is gone)."""
        if event.state == EventState.DEAD:
            return
        self.perf_remove_from_context(event, _DETACH_GROUP)
        event.state = EventState.DEAD
        for child in list(event.children):
            self.perf_remove_from_context(child, _DETACH_GROUP)
            event.children.remove(child)
            child.state = EventState.DEAD
        self._events = [e for e in self._events if e is not event]

    # ------------------------------------------------------------------------ fork
    def _child_detach(self, child: PerfEvent) -> None:
        """Kernel: perf_child_detach -> sync_child_event: fold count and times into the parent."""
        parent = child.parent
        if parent is None:
            return
        parent.child_count += perf_event_count(child)
        parent.child_total_time_enabled += child.total_time_enabled
        parent.child_total_time_running += child.total_time_running
        if child in parent.children:
            parent.children.remove(child)

    def _inherit_event(self, parent_event: PerfEvent, child_task: Any, leader: PerfEvent | None,
                       child_ctx: PerfEventContext) -> PerfEvent:
        """Kernel: inherit_event -- allocate the child's copy (not yet linked anywhere)."""
        origin = parent_event.parent or parent_event
        child = self.perf_event_alloc(origin.attr.copy(), origin.cpu, child_task, leader, None, parent=origin)
        if leader is not None:
            leader.siblings.append(child)  # perf_group_attach happens as each child is added
        child.state = EventState.INACTIVE if origin.state >= EventState.INACTIVE else EventState.OFF
        if origin.attr.freq:
            child.hw.sample_period = origin.hw.sample_period
            child.hw.last_period = child.hw.period_left = origin.hw.sample_period
        return child

    def fork(self, parent: Any, child: Any) -> None:
        """Kernel: perf_event_init_task (in the parent's context): inherit the inherit=1 groups.

        All-or-nothing: if a PMU refuses a child event the error propagates (the fork fails)
        and nothing is attached to the child.
        """
        parent_ctx = getattr(parent, "perf_ctx", None)
        child.perf_ctx = None
        if parent_ctx is None or parent_ctx.task is TOMBSTONE:
            return
        child_ctx = None
        made: list[tuple[PerfEvent, PerfEvent]] = []  # (child event, original)
        for groups in (parent_ctx.pinned_groups, parent_ctx.flexible_groups):
            for leader in list(groups):
                if not leader.attr.inherit or leader.state == EventState.DEAD:
                    continue
                if child_ctx is None:
                    child_ctx = PerfEventContext(pmu=parent_ctx.pmu, task=child)
                new_leader = self._inherit_event(leader, child, None, child_ctx)
                made.append((new_leader, new_leader.parent))
                for sib in leader.siblings:
                    new_sib = self._inherit_event(sib, child, new_leader, child_ctx)
                    made.append((new_sib, new_sib.parent))
        if child_ctx is None:
            return
        child.perf_ctx = child_ctx
        for event, origin in made:
            self._next_id += 1
            event.id = self._next_id
            self.add_event_to_ctx(event, child_ctx)
            origin.children.append(event)

    # ------------------------------------------------------------------------ exit
    def _exit_event(self, event: PerfEvent, ctx: PerfEventContext) -> None:
        """Kernel: perf_event_exit_event."""
        parent = event.parent
        self.perf_remove_from_context(event, _DETACH_CHILD if parent is not None else 0)
        if event.state > EventState.EXIT:
            set_state(event, EventState.EXIT, self.kernel.now())
        if parent is not None:
            event.state = EventState.DEAD  # free_event(child)

    def exit(self, task: Any) -> None:
        """Kernel: perf_event_exit_task -- run as the exiting task on its CPU, after its mappings
        and files are gone (do_exit: exit_mm, exit_files, then this)."""
        for event in self._events:
            if event.owner is task:
                event.owner = None
        self._exited.append(task)
        ctx = getattr(task, "perf_ctx", None)
        if ctx is None:
            return
        for cpuctx in self._cpuctx:
            if cpuctx.task_ctx is ctx:
                if cpuctx.cpu != self.kernel.this_cpu():
                    raise ValueError(f"exit of task {getattr(task, 'pid', task)}: its context is active on "
                                     f"CPU {cpuctx.cpu}, but this_cpu() is {self.kernel.this_cpu()}")
                self.task_ctx_sched_out(cpuctx, ctx, EVENT_ALL)
        task.perf_ctx = None
        ctx.task = TOMBSTONE
        for event in list(ctx.event_list):
            self._exit_event(event, ctx)

    # ------------------------------------------------------------------------ exec
    def exec(self, task: Any) -> None:
        """Kernel: perf_event_exec -- enable_on_exec events start, remove_on_exec events go."""
        ctx = getattr(task, "perf_ctx", None)
        if ctx is None or not ctx.nr_events:
            return
        cpuctx = self._cpuctx[self.kernel.this_cpu()]
        now = self.kernel.now()
        if ctx.is_active & EVENT_TIME:
            update_context_time(ctx, now)
        enabled, kinds = False, 0
        for event in list(ctx.event_list):
            kinds |= event_type_of(event)
            if not event.attr.enable_on_exec:
                continue
            event.attr.enable_on_exec = 0
            if event.state >= EventState.INACTIVE:
                continue
            set_state(event, EventState.INACTIVE, now)
            enabled = True
        if enabled and cpuctx.task_ctx is ctx:
            self.ctx_resched(cpuctx, ctx, kinds)
        for event in list(ctx.event_list):
            if event.attr.remove_on_exec:
                event.owner = None
                self._exit_event(event, ctx)

    # -------------------------------------------------------------------- overflow
    def perf_event_overflow(self, event: PerfEvent, data: Any = None, regs: Any = None) -> int:
        """Kernel: __perf_event_overflow, the REFRESH part: 1 when ``event_limit`` runs out
        (the event is then disabled from pending work: ``perf_event_disable_inatomic``)."""
        event.hw.interrupts += 1
        if event.event_limit:
            event.event_limit -= 1
            if event.event_limit == 0:
                event.pending_disable = True
                self._pending.append(event)
                return 1
        return 0

    def irq_work_run(self, cpu: int) -> None:
        """Kernel: perf_pending_event -> perf_event_disable_local for events whose limit ran out."""
        keep = []
        for event in self._pending:
            if event.oncpu not in (-1, cpu):
                keep.append(event)
                continue
            if event.pending_disable:
                event.pending_disable = False
                try:
                    self._disable(event)
                except PerfError:  # pragma: no cover - disable never fails
                    pass
        self._pending = keep
