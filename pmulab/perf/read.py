"""read() on a perf event: bring the count up to date, then lay it out as read_format says.

Models: ``perf_event_read`` (an ACTIVE event is updated by an IPI to the CPU it runs on:
``__perf_event_read`` re-checks the context is still the one scheduled there, updates times
and calls ``pmu.read``, for the whole group when asked; an INACTIVE event only gets its times
updated), ``perf_event_count`` (count + child_count), ``__perf_event_read_value`` (children
still alive are read and added), ``perf_read_one`` / ``perf_read_group`` and the kernel's
layouts via ``uapi.pack_read``; read() of an event in ERROR state returns 0 bytes (EOF).
A user buffer smaller than ``read_size`` gets -ENOSPC (checked after the ERROR-state EOF, as
``__perf_read`` does); otherwise exactly ``read_size`` bytes are returned.
Omits: PERF_FORMAT_LOST counts other than ``lost_samples``.
Pinned to: Linux v5.17 kernel/events/core.c; PERF_FORMAT_LOST as in v6.0.
"""

from __future__ import annotations

import errno

from pmulab import uapi
from pmulab.errors import PerfError
from pmulab.perf.api import EventState, PerfEvent
from pmulab.perf.context import EVENT_TIME, update_context_time, update_event_time

__all__ = ["ReadMixin", "perf_event_count", "primary_event_id"]

_MASK64 = (1 << 64) - 1


def perf_event_count(event: PerfEvent) -> int:
    """Kernel: perf_event_count -- the event's count plus what exited children folded in."""
    return (event.count + event.child_count) & _MASK64


def primary_event_id(event: PerfEvent) -> int:
    """Kernel: primary_event_id -- an inherited event reports its parent's id."""
    return event.parent.id if event.parent is not None else event.id


class ReadMixin:
    """read() half of ``PerfCore``."""

    def _read_here(self, event: PerfEvent, group: bool) -> int:
        """Kernel: __perf_event_read (inside the IPI on ``event.oncpu``)."""
        ctx = event.ctx
        cpuctx = self._cpuctx[self.kernel.this_cpu()]
        if ctx.task is not None and cpuctx.task_ctx is not ctx:
            return 0
        now = self.kernel.now()
        if ctx.is_active & EVENT_TIME:
            update_context_time(ctx, now)
        update_event_time(event, now)
        if group:
            for sib in event.siblings:
                update_event_time(sib, now)
        if event.state != EventState.ACTIVE:
            return 0
        event.pmu.read(event)
        if group:
            for sib in event.siblings:
                if sib.state == EventState.ACTIVE:
                    sib.pmu.read(sib)
        return 0

    def perf_event_read(self, event: PerfEvent, group: bool = False) -> None:
        """Kernel: perf_event_read -- update ``count`` and the times to now."""
        if event.state == EventState.ACTIVE:
            self.kernel.smp_call(event.oncpu, lambda: self._read_here(event, group))
        elif event.state == EventState.INACTIVE and event.ctx is not None:
            now = self.kernel.now()
            if event.ctx.is_active & EVENT_TIME:
                update_context_time(event.ctx, now)
            update_event_time(event, now)
            if group:
                for sib in event.siblings:
                    update_event_time(sib, now)

    def read_value(self, event: PerfEvent) -> tuple[int, int, int]:
        """Kernel: __perf_event_read_value -- (count, enabled, running) incl. live children."""
        self.perf_event_read(event)
        total = perf_event_count(event)
        enabled = event.total_time_enabled + event.child_total_time_enabled
        running = event.total_time_running + event.child_total_time_running
        for child in list(event.children):
            self.perf_event_read(child)
            total += perf_event_count(child)
            enabled += child.total_time_enabled
            running += child.total_time_running
        return total & _MASK64, enabled, running

    def _group_add(self, leader: PerfEvent, fmt: int, acc: dict) -> None:
        """Kernel: __perf_read_group_add -- add one (parent or child) group's values."""
        self.perf_event_read(leader, group=True)
        acc["enabled"] += leader.total_time_enabled + leader.child_total_time_enabled
        acc["running"] += leader.total_time_running + leader.child_total_time_running
        for i, member in enumerate((leader, *leader.siblings)):
            acc["values"][i] += perf_event_count(member)
            acc["ids"][i] = primary_event_id(member)
            acc["lost"][i] += getattr(member, "lost_samples", 0)

    def read(self, caller, event: PerfEvent, count: int | None = None) -> bytes:
        """Kernel: perf_read -> __perf_read -- the bytes read(fd) returns (b"" for an event in
        ERROR state); ``count`` is the user buffer size (None: large enough), -ENOSPC below
        ``event->read_size``."""
        if event.state == EventState.ERROR:
            return b""
        fmt = event.attr.read_format
        if count is not None:
            nr = 1 + len(event.group_leader.siblings) if fmt & uapi.PERF_FORMAT_GROUP else 1
            need = uapi.read_size(fmt, nr)
            if count < need:
                raise PerfError(errno.ENOSPC, f"read() buffer of {count} bytes is smaller than the event's "
                                              f"read_size {need} (__perf_read)")
        if fmt & uapi.PERF_FORMAT_GROUP:
            leader = event.group_leader
            n = 1 + len(leader.siblings)
            acc = {"enabled": 0, "running": 0, "values": [0] * n, "ids": [0] * n, "lost": [0] * n}
            self._group_add(leader, fmt, acc)
            for child in list(leader.children):
                self._group_add(child, fmt, acc)
            values = [uapi.ReadValue(v & _MASK64, i, lost)
                      for v, i, lost in zip(acc["values"], acc["ids"], acc["lost"], strict=True)]
            return uapi.pack_read(fmt, values, acc["enabled"], acc["running"])
        value, enabled, running = self.read_value(event)
        one = uapi.ReadValue(value, primary_event_id(event), event.lost_samples)
        return uapi.pack_read(fmt, [one], enabled, running)
