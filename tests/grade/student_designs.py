"""Student designs for the grade tests: the notebook's reference answers and broken designs.

Module level on purpose: the explorer snapshots designs with pickle, which finds classes by name.
"""

from __future__ import annotations

from pmulab.drivers.arm_pmuv3 import disable_user_access
from pmulab.drivers.user_access import V8, V517


class FixedDirty(V8):
    """Exercise (a): v8 with the dirty counters cleared as dirty AND NOT used."""

    def clear_dirty(self, cpu_pmu):
        hw_events = cpu_pmu.this_hw_events()
        dirty = self.dirty_mask(hw_events)
        if not dirty:
            return
        victims = dirty & ~hw_events.used_mask
        self.clear_counters(cpu_pmu, [i for i in range(victims.bit_length()) if victims >> i & 1], "dirty (and-not)")
        self._dirty_masks()[hw_events] = 0


class SafeMmap(V8):
    """Exercise (b): v8 whose mapping hooks act where the event's context runs (event_function_call)."""

    def _account(self, event, delta):
        pmu = event.pmu

        def apply(ev, cpuctx, ctx, data):
            self.nr_user[ctx] = self.users(ctx) + delta
            if self.nr_user[ctx] != (1 if delta > 0 else 0):
                return
            pmu.sched_cb_usage += delta
            if cpuctx is None:
                return
            if delta > 0:
                self.enable_user_access(pmu)
            else:
                disable_user_access(pmu.kernel)

        pmu.core.event_function_call(event, apply)

    def event_mapped(self, cpu_pmu, event, mm):
        if self._mapping_edge(event):
            self._account(event, +1)

    def event_unmapped(self, cpu_pmu, event, mm):
        if self._mapping_edge(event):
            self._account(event, -1)


def _foreign(cpu_pmu):
    """perf idxs in use on this CPU whose event is not in the current task's context."""
    hw_events = cpu_pmu.this_hw_events()
    ctx = cpu_pmu.task_ctx(cpu_pmu.kernel.this_cpu())
    return [i for i in range(cpu_pmu.num_events)
            if hw_events.is_used(i) and hw_events.events[i] is not None and hw_events.events[i].ctx is not ctx]


class ClearForeign(V517):
    """Exercise (c), attempt 1: zero every counter that is not the current task's before granting."""

    def enable_user_access(self, cpu_pmu):
        self.clear_counters(cpu_pmu, _foreign(cpu_pmu), "not the current task's")
        super().enable_user_access(cpu_pmu)


class DenyForeign(V517):
    """Exercise (c), attempt 2: no EL0 access at all while a counter of someone else is in use."""

    def start(self, cpu_pmu):
        if _foreign(cpu_pmu):
            disable_user_access(cpu_pmu.kernel)
        else:
            super().start(cpu_pmu)


class NoStale(V517):
    """Exercise (d): v5.17, plus PMUSERENR_EL0 = 0 whenever the PMU is stopped."""

    def stop(self, cpu_pmu):
        disable_user_access(cpu_pmu.kernel)


class Raises(V517):
    def start(self, cpu_pmu):
        raise KeyError("nr_user")


class WrongType(V517):
    def user_event_idx(self, cpu_pmu, event):
        return str(super().user_event_idx(cpu_pmu, event))


class Loops(V517):
    def start(self, cpu_pmu):
        n = 0
        while True:
            try:
                n += 1
            except Exception:  # noqa: BLE001 - a student swallowing everything must still be stopped
                pass


class Recurses(V517):
    def stop(self, cpu_pmu):
        self.stop(cpu_pmu)


class BadInit(V517):
    def __init__(self):
        raise RuntimeError("forgot super().__init__ arguments")
