"""v8 with Mark Rutland's fix: the mapping hooks act through ``event_function_call``.

Models: Mark's reply of 1 June 2021 (17:11) on v8 3/5: "treat this like changing other event
properties (e.g. the period, or enabling/disabling the event), with an event_function_call,
since that will do the right thing regardless". ``armv8pmu_event_mapped``/``_unmapped`` keep
v8's guard (EL0_RD_CNTR, ``mmap_count == 1``) but the accounting (``nr_user``,
``sched_cb_usage``) and the PMUSERENR_EL0 write run in ``event_function_call(event, ...)``:
on the CPU where the event's task is current (``task_function_call`` / ``remote_function``),
or, when the context is not active anywhere, locally under ``ctx->lock`` with no register
write (the next ``sched_task`` switch-in applies it). Dirty counters are cleared with an
AND-NOT (``dirty & ~used``, as x86's ``perf_clear_dirty_counters``) instead of v8's xor.
Everything else is v8 (``pmulab.drivers.user_access.v8``).
Omits: the new PMU callback Rob proposed for this on 21 July 2021 (the model calls the design
directly from ``event_function_call``'s function), ``ctx->mutex``.
Pinned to: v8 3/5 + Mark Rutland <20210601171159.GD3326@C02TD0UTHF1T.local>; core
``event_function_call`` of v5.17 (kernel/events/core.c).
"""

from __future__ import annotations

from pmulab.drivers.arm_pmuv3 import disable_user_access
from pmulab.drivers.user_access.dirty import AND_NOT
from pmulab.drivers.user_access.v8 import V8

__all__ = ["V8Efc"]


class V8Efc(V8):
    """v8 + event_function_call for mapped/unmapped + AND-NOT dirty clearing."""

    name = "v8-efc"
    dirty_op = AND_NOT

    def _account(self, event, delta: int) -> None:
        """Run the nr_user change where the event's context lives (Kernel: event_function_call)."""
        pmu = event.pmu

        def apply(ev, cpuctx, ctx, data):
            self.nr_user[ctx] = self.users(ctx) + delta
            edge = self.nr_user[ctx] == (1 if delta > 0 else 0)
            if not edge:
                return
            pmu.sched_cb_usage += delta
            if cpuctx is None:  # context inactive: bookkeeping only
                return
            if delta > 0:
                self.enable_user_access(pmu)
            else:
                disable_user_access(pmu.kernel)

        pmu.core.event_function_call(event, apply)

    def event_mapped(self, cpu_pmu, event, mm) -> None:
        """armv8pmu_event_mapped via event_function_call (Mark's proposal)."""
        if self._mapping_edge(event):
            self._account(event, +1)

    def event_unmapped(self, cpu_pmu, event, mm) -> None:
        """armv8pmu_event_unmapped via event_function_call (Mark's proposal)."""
        if self._mapping_edge(event):
            self._account(event, -1)
