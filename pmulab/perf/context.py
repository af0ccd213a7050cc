"""Event contexts: the per-CPU and per-task lists of events, their clocks and their accounting.

Models: ``struct perf_event_context`` (event list, pinned/flexible group lists and their active
lists, ``nr_events``/``nr_active``/``nr_user``, ``is_active`` with EVENT_PINNED/EVENT_FLEXIBLE/
EVENT_TIME, ``time``/``timestamp``, ``rotate_necessary``) and ``struct perf_cpu_context``
(``ctx`` for CPU-bound events, ``task_ctx`` = the task context scheduled in on that CPU,
``sched_cb_usage``, ``exclusive``, ``active_oncpu``); event time accounting
(``time_enabled`` accrues while the event is enabled and its context's clock runs,
``time_running`` while it is ACTIVE); ``list_add_event``/``list_del_event`` with the v5.17
``nr_user`` count of events carrying PERF_EVENT_FLAG_USER_READ_CNT (commit 82ff0c022d19);
``perf_group_attach``/``perf_group_detach``.
Omits: the per-CPU rb-tree (groups are a list in insertion/rotation order, the tree's
``group_index`` order), cgroup time, clone contexts (``parent_ctx``), locks and refcounts.
Pinned to: Linux v5.17 kernel/events/core.c (one hardware context shared by all hw PMUs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pmulab.perf.api import EventState, PerfEvent

__all__ = [
    "EVENT_FLEXIBLE", "EVENT_PINNED", "EVENT_TIME", "EVENT_CPU", "EVENT_ALL", "TOMBSTONE",
    "PerfEventContext", "PerfCpuContext", "ctx_time", "update_context_time", "event_times",
    "update_event_time", "set_state", "list_add_event", "list_del_event", "group_attach",
    "group_detach", "event_type_of", "effective_state",
]

#: ``enum event_type_t`` bits (also the bits of ``ctx->is_active``).
EVENT_FLEXIBLE = 0x1
EVENT_PINNED = 0x2
EVENT_TIME = 0x4
EVENT_CPU = 0x8
EVENT_ALL = EVENT_FLEXIBLE | EVENT_PINNED
_OFF, _INACTIVE, _ACTIVE = EventState.OFF, EventState.INACTIVE, EventState.ACTIVE


class _Tombstone:
    """``TASK_TOMBSTONE``: ``ctx->task`` of a context whose task has exited."""

    def __repr__(self) -> str:
        return "TASK_TOMBSTONE"


TOMBSTONE = _Tombstone()


@dataclass(eq=False)
class PerfEventContext:
    """``struct perf_event_context``. ``task`` is None for a CPU context, TOMBSTONE after exit."""

    pmu: Any
    task: Any = None
    cpu: int = -1  # CPU of a per-CPU context (-1 for task contexts)
    event_list: list = field(default_factory=list)
    pinned_groups: list = field(default_factory=list)
    flexible_groups: list = field(default_factory=list)
    pinned_active: list = field(default_factory=list)
    flexible_active: list = field(default_factory=list)
    nr_events: int = 0
    nr_active: int = 0
    nr_user: int = 0
    nr_stat: int = 0
    is_active: int = 0
    time: int = 0
    timestamp: int = 0
    rotate_necessary: int = 0
    rotate_disable: int = 0
    generation: int = 0

    def __repr__(self) -> str:
        who = f"cpu{self.cpu}" if self.task is None else f"task {getattr(self.task, 'pid', self.task)}"
        return (f"<PerfEventContext {who} nr_events={self.nr_events} nr_active={self.nr_active} "
                f"nr_user={self.nr_user} is_active={self.is_active:#x}>")

    def groups(self, pinned: bool) -> list:
        return self.pinned_groups if pinned else self.flexible_groups

    def active_list(self, pinned: bool) -> list:
        return self.pinned_active if pinned else self.flexible_active


@dataclass(eq=False)
class PerfCpuContext:
    """``struct perf_cpu_context`` of one CPU (shared by every hardware PMU)."""

    cpu: int
    ctx: PerfEventContext
    task_ctx: PerfEventContext | None = None
    sched_cb_usage: int = 0
    exclusive: int = 0
    active_oncpu: int = 0

    def __repr__(self) -> str:
        return f"<PerfCpuContext cpu{self.cpu} task_ctx={self.task_ctx!r}>"


# ------------------------------------------------------------------------------- time
def update_context_time(ctx: PerfEventContext, now: int) -> None:
    """Kernel: update_context_time -- fold ``now - timestamp`` into ``ctx.time``."""
    ctx.time += now - ctx.timestamp
    ctx.timestamp = now


def ctx_time(ctx: PerfEventContext | None, now: int) -> int:
    """Kernel: perf_event_time -- the context clock, brought up to ``now`` while it runs
    (the kernel's callers update it first; here every reader does)."""
    if ctx is None:
        return 0
    if ctx.is_active & EVENT_TIME:
        update_context_time(ctx, now)
    return ctx.time


def effective_state(event: PerfEvent) -> EventState:
    """Kernel: __perf_effective_state -- a sibling of a disabled leader counts as the leader."""
    leader = event.group_leader
    if leader is not None and leader is not event and event.state >= EventState.INACTIVE \
            and leader.state <= EventState.OFF:
        return leader.state
    return event.state


def event_times(event: PerfEvent, now_ctx: int) -> tuple[int, int]:
    """Kernel: __perf_update_times -- (enabled, running) as of context time ``now_ctx``."""
    delta = now_ctx - event.tstamp
    state = effective_state(event)
    enabled, running = event.total_time_enabled, event.total_time_running
    if state >= EventState.INACTIVE:
        enabled += delta
    if state >= EventState.ACTIVE:
        running += delta
    return enabled, running


def update_event_time(event: PerfEvent, now: int) -> None:
    """Kernel: perf_event_update_time -- fold the time since ``tstamp`` into the totals.

    ``ctx_time`` + ``event_times`` written out in one body (it runs on every state change).
    """
    ctx = event.ctx
    if ctx is None:
        t = 0
    else:
        if ctx.is_active & EVENT_TIME:
            ctx.time += now - ctx.timestamp
            ctx.timestamp = now
        t = ctx.time
    delta = t - event.tstamp
    state = event.state
    leader = event.group_leader
    if leader is not None and leader is not event and state >= _INACTIVE and leader.state <= _OFF:
        state = leader.state
    if state >= _INACTIVE:
        event.total_time_enabled += delta
        if state >= _ACTIVE:
            event.total_time_running += delta
    event.tstamp = t


def set_state(event: PerfEvent, state: EventState, now: int) -> None:
    """Kernel: perf_event_set_state -- account time in the old state, then switch."""
    old = event.state
    if old == state:
        return
    update_event_time(event, now)
    if (old < 0) != (state < 0) and event.group_leader is event:
        for sib in event.siblings:  # perf_event_update_sibling_time
            update_event_time(sib, now)
    event.state = state


def event_type_of(event: PerfEvent) -> int:
    """Kernel: get_event_type -- pinned or flexible (by the leader), EVENT_CPU for CPU contexts."""
    leader = event.group_leader or event
    kind = EVENT_PINNED if leader.attr.pinned else EVENT_FLEXIBLE
    if event.ctx is not None and event.ctx.task is None:
        kind |= EVENT_CPU
    return kind


# ---------------------------------------------------------------------------- lists
def list_add_event(event: PerfEvent, ctx: PerfEventContext, now: int) -> None:
    """Kernel: list_add_event -- link into the context; v5.17 counts user-readable events in nr_user."""
    event.ctx = ctx
    event.tstamp = ctx_time(ctx, now)
    if event.is_group_leader:
        ctx.groups(bool(event.attr.pinned)).append(event)
    ctx.event_list.append(event)
    ctx.nr_events += 1
    if event.has_user_read:
        ctx.nr_user += 1
    if event.attr.inherit_stat:
        ctx.nr_stat += 1
    ctx.generation += 1


def list_del_event(event: PerfEvent, ctx: PerfEventContext, now: int) -> None:
    """Kernel: list_del_event -- unlink; nr_user drops for user-readable events; state -> OFF."""
    if event not in ctx.event_list:
        return
    ctx.nr_events -= 1
    if event.has_user_read:
        ctx.nr_user -= 1
    if event.attr.inherit_stat:
        ctx.nr_stat -= 1
    ctx.event_list.remove(event)
    for groups in (ctx.pinned_groups, ctx.flexible_groups):
        if event in groups:
            groups.remove(event)
    if event.state > EventState.OFF:
        set_state(event, EventState.OFF, now)
    ctx.generation += 1


def group_attach(event: PerfEvent) -> None:
    """Kernel: perf_group_attach -- a new sibling joins its leader's sibling list."""
    leader = event.group_leader
    if leader is event or leader is None or event in leader.siblings:
        return
    leader.siblings.append(event)


def group_detach(event: PerfEvent) -> None:
    """Kernel: perf_group_detach -- leave the group; a leader's siblings become singleton groups
    (flexible, since only a leader can be pinned), active ones joining the active list."""
    leader = event.group_leader
    if leader is not event:
        if leader is not None and event in leader.siblings:
            leader.siblings.remove(event)
        return
    ctx = event.ctx
    linked = ctx is not None and (event in ctx.pinned_groups or event in ctx.flexible_groups)
    for sib in list(event.siblings):
        sib.group_leader = sib
        if linked:
            ctx.groups(bool(sib.attr.pinned)).append(sib)
            if sib.state == EventState.ACTIVE:
                ctx.active_list(bool(sib.attr.pinned)).append(sib)
    event.siblings.clear()
