"""Dirty-counter bookkeeping shared by the designs that clear only counters "used since last time".

Models: the ``dirty_mask`` bitmap the v7..v9 series added to ``struct pmu_hw_events`` ("counter
has been used for an event and has not been cleared"), set in ``armv8pmu_clear_event_idx`` when
a counter is released, and the two ways of turning it into a set of counters to zero before EL0
gets access: the v8 patch's XOR of the used mask into the dirty mask, and the AND-NOT that x86's
``perf_clear_dirty_counters`` performs (clear the bits of assigned counters first).
Omits: nothing else; the mask lives per CPU per PMU, keyed by that CPU's ``PmuHwEvents``.
Pinned to: v8 3/5 (17 May 2021), x86 ``perf_clear_dirty_counters`` (v5.14).
"""

from __future__ import annotations

__all__ = ["DirtyCounters", "XOR", "AND_NOT"]

#: dirty XOR used (the v8 patch): also selects in-use counters that were never dirty (spec §7 S7).
XOR = "xor"
#: ``dirty & ~used``: only released counters not in use again.
AND_NOT = "and-not"


class DirtyCounters:
    """Mixin for a ``Design``: ``dirty_mask`` per CPU, set on release, consumed by ``clear_dirty``."""

    #: How the counters to zero are computed from dirty and used (XOR or AND_NOT).
    dirty_op = AND_NOT

    def _dirty_masks(self) -> dict:
        masks = self.__dict__.get("_dirty")
        if masks is None:
            masks = self.__dict__["_dirty"] = {}
        return masks

    def dirty_mask(self, hw_events) -> int:
        """The ``dirty_mask`` of one CPU's ``pmu_hw_events``."""
        return self._dirty_masks().get(hw_events, 0)

    def release(self, cpu_pmu, hw_events, event) -> None:
        """Kernel: armv8pmu_clear_event_idx (v8): the freed bits become dirty as well."""
        before = hw_events.used_mask
        super().release(cpu_pmu, hw_events, event)
        if self._is_live(cpu_pmu, hw_events):
            masks = self._dirty_masks()
            masks[hw_events] = masks.get(hw_events, 0) | (before & ~hw_events.used_mask)

    def clear_dirty(self, cpu_pmu) -> None:
        """The clearing half of enable_user_access on this CPU: zero, then forget, the dirty set."""
        hw_events = cpu_pmu.this_hw_events()
        masks = self._dirty_masks()
        dirty = masks.get(hw_events, 0)
        if not dirty:
            return
        used = hw_events.used_mask
        victims = dirty ^ used if self.dirty_op == XOR else dirty & ~used
        self.clear_counters(cpu_pmu, [i for i in range(victims.bit_length()) if victims >> i & 1],
                            f"dirty ({self.dirty_op})")
        masks[hw_events] = 0  # bitmap_zero(dirty_mask)
