"""ioctl() on a perf event: enable, disable, reset, refresh, period, id.

Models: ``_perf_ioctl`` (unknown request -> -ENOTTY; ENABLE/DISABLE/RESET apply to the event
and its inherited children, or with PERF_IOC_FLAG_GROUP to every member of its group and
their children: ``perf_event_for_each``/``perf_event_for_each_child``),
``_perf_event_enable`` (ERROR -> OFF first; then ``event_function_call(__perf_event_enable)``:
INACTIVE, and if the context is live and the group can run, ``ctx_resched``),
``_perf_event_disable`` (``event_function_call(__perf_event_disable)``: group or event sched
out, then OFF), ``_perf_event_reset`` (``perf_event_read``, count = 0,
``perf_event_update_userpage``), ``_perf_event_refresh`` (sampling, non-inherited events only:
``event_limit += n`` then enable), ``_perf_event_period`` (``event_function_call``: stop with
update, ``period_left = 0``, start -> the driver re-arms and republishes the user page), and
PERF_EVENT_IOC_ID (the primary id).
PERF_EVENT_IOC_SET_OUTPUT is handled in pmulab.perf.sampling (perf_event_set_output).
Omits: SET_BPF, PAUSE_OUTPUT, QUERY_BPF, MODIFY_ATTRIBUTES (NotModelledError);
SET_FILTER answers -EINVAL as for any hardware event.
Pinned to: Linux v5.17 kernel/events/core.c.
"""

from __future__ import annotations

import errno
from typing import Any

from pmulab import uapi
from pmulab.errors import NotModelledError, PerfError
from pmulab.perf.api import EF, EventState, PerfEvent
from pmulab.perf.context import EVENT_TIME, event_type_of, set_state, update_context_time
from pmulab.perf.read import primary_event_id

__all__ = ["IoctlMixin"]

_NOT_MODELLED = {
    uapi.PERF_EVENT_IOC_SET_BPF, uapi.PERF_EVENT_IOC_PAUSE_OUTPUT,
    uapi.PERF_EVENT_IOC_QUERY_BPF, uapi.PERF_EVENT_IOC_MODIFY_ATTRIBUTES,
}


def _is_sampling(event: PerfEvent) -> bool:
    """Kernel: is_sampling_event -- ``attr.sample_period != 0`` (the sample_freq union)."""
    return event.attr.sample_period != 0


class IoctlMixin:
    """ioctl() half of ``PerfCore``."""

    def ioctl(self, caller: Any, event: PerfEvent, request: int, arg: Any = 0) -> int:
        """Kernel: perf_ioctl / _perf_ioctl. Returns 0, or the id for PERF_EVENT_IOC_ID."""
        if request == uapi.PERF_EVENT_IOC_REFRESH:
            return self._refresh(event, arg)
        if request == uapi.PERF_EVENT_IOC_PERIOD:
            return self._period(event, arg)
        if request == uapi.PERF_EVENT_IOC_ID:
            return primary_event_id(event)
        if request == uapi.PERF_EVENT_IOC_SET_FILTER:
            raise PerfError(errno.EINVAL, "PERF_EVENT_IOC_SET_FILTER: hardware events take no filter")
        if request in _NOT_MODELLED:
            raise NotModelledError(f"{uapi.PERF_EVENT_IOC_NAMES[request]} is not modelled")
        funcs = {
            uapi.PERF_EVENT_IOC_ENABLE: self._enable,
            uapi.PERF_EVENT_IOC_DISABLE: self._disable,
            uapi.PERF_EVENT_IOC_RESET: self._reset,
        }
        func = funcs.get(request)
        if func is None:
            raise PerfError(errno.ENOTTY, f"ioctl request {request:#x} is not a perf event ioctl")
        flags = arg if isinstance(arg, int) else 0
        if flags & uapi.PERF_IOC_FLAG_GROUP:
            leader = event.group_leader
            for member in (leader, *leader.siblings):
                self._for_each_child(member, func)
        else:
            self._for_each_child(event, func)
        return 0

    @staticmethod
    def _for_each_child(event: PerfEvent, func) -> None:
        """Kernel: perf_event_for_each_child."""
        func(event)
        for child in list(event.children):
            func(child)

    # ------------------------------------------------------------------ enable/disable
    def perf_event_enable(self, event: PerfEvent) -> None:
        """Public wrapper of ``_perf_event_enable`` (for the machine and tests)."""
        self._enable(event)

    def perf_event_disable(self, event: PerfEvent) -> None:
        """Public wrapper of ``_perf_event_disable``."""
        self._disable(event)

    def _enable(self, event: PerfEvent) -> None:
        """Kernel: _perf_event_enable."""
        if event.ctx is None or event.state >= EventState.INACTIVE or event.state < EventState.ERROR:
            return
        if event.state == EventState.ERROR:
            event.state = EventState.OFF
        self.event_function_call(event, self._enable_fn)

    def _enable_fn(self, event: PerfEvent, cpuctx, ctx, data=None) -> None:
        """Kernel: __perf_event_enable."""
        if event.state >= EventState.INACTIVE or event.state < EventState.ERROR:
            return
        now = self.kernel.now()
        if ctx.is_active & EVENT_TIME:
            update_context_time(ctx, now)
        set_state(event, EventState.INACTIVE, now)
        if not ctx.is_active or cpuctx is None:
            return
        if not self._filter_match(event):
            return
        leader = event.group_leader
        if leader is not event and leader.state != EventState.ACTIVE:
            return
        self.ctx_resched(cpuctx, cpuctx.task_ctx, event_type_of(event))

    def _disable(self, event: PerfEvent) -> None:
        """Kernel: _perf_event_disable."""
        if event.ctx is None or event.state <= EventState.OFF:
            return
        self.event_function_call(event, self._disable_fn)

    def _disable_fn(self, event: PerfEvent, cpuctx, ctx, data=None) -> None:
        """Kernel: __perf_event_disable."""
        if event.state < EventState.INACTIVE:
            return
        now = self.kernel.now()
        if ctx.is_active & EVENT_TIME:
            update_context_time(ctx, now)
        if cpuctx is not None:
            if event.is_group_leader:
                self.group_sched_out(event, cpuctx, ctx)
            else:
                self.event_sched_out(event, cpuctx, ctx)
        set_state(event, EventState.OFF, now)

    # ------------------------------------------------------------------- reset/refresh
    def _reset(self, event: PerfEvent) -> None:
        """Kernel: _perf_event_reset -- read from hardware, zero the count, republish the page."""
        self.perf_event_read(event)
        event.count = 0
        self.update_userpage(event)

    def _refresh(self, event: PerfEvent, refresh: Any) -> int:
        """Kernel: _perf_event_refresh."""
        if isinstance(refresh, bool) or not isinstance(refresh, int):
            raise TypeError(f"PERF_EVENT_IOC_REFRESH takes an int, not {type(refresh).__name__}")
        if event.attr.inherit or not _is_sampling(event):
            raise PerfError(errno.EINVAL, "PERF_EVENT_IOC_REFRESH needs a sampling, non-inherited event")
        event.event_limit += refresh
        self._enable(event)
        return 0

    # ------------------------------------------------------------------------- period
    def _period(self, event: PerfEvent, value: Any) -> int:
        """Kernel: _perf_event_period (``value`` is the u64 the argument points to)."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"PERF_EVENT_IOC_PERIOD takes the new period as an int, not {type(value).__name__}")
        if not _is_sampling(event):
            raise PerfError(errno.EINVAL, "PERF_EVENT_IOC_PERIOD on a counting (non-sampling) event")
        if not value:
            raise PerfError(errno.EINVAL, "PERF_EVENT_IOC_PERIOD with a zero period")
        if event.attr.freq:
            rate = self.kernel.sysctl("kernel.perf_event_max_sample_rate")
            if value > rate:
                raise PerfError(errno.EINVAL, f"frequency {value} > kernel.perf_event_max_sample_rate {rate}")
        elif not 0 < value < (1 << 63):
            raise PerfError(errno.EINVAL, f"period {value:#x} is not below 2^63")
        self.event_function_call(event, self._period_fn, value)
        return 0

    def _period_fn(self, event: PerfEvent, cpuctx, ctx, value: int) -> None:
        """Kernel: __perf_event_period."""
        if event.attr.freq:
            event.attr.sample_freq = value
        else:
            event.attr.sample_period = value
            event.hw.sample_period = value
        active = event.state == EventState.ACTIVE
        if active:
            self.perf_pmu_disable(ctx.pmu)
            event.pmu.stop(event, EF.UPDATE)
        event.hw.period_left = 0
        if active:
            event.pmu.start(event, EF.RELOAD)
            self.perf_pmu_enable(ctx.pmu)
