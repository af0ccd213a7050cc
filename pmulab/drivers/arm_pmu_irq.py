"""The arithmetic and the interrupt of the generic Arm PMU driver (split out of ``arm_pmu``).

Models: drivers/perf/arm_pmu.c ``armpmu_event_set_period`` and ``armpmu_event_update`` with their
exact 64-bit arithmetic (spec §2.6), and the PMUv3 overflow handler ``armv8pmu_handle_irq``
(spec §2.7: read-and-clear PMOVS, stop, update and re-arm each overflowed counter, report
elapsed periods to the core's ``perf_event_overflow``, start -- which re-decides PMUSERENR_EL0).
``ArmPmu`` inherits these as ``PeriodIrqMixin``; they use its ``ops`` (PmuV3), ``hw_events``,
``max_period``, ``update_userpage``, ``kernel`` and ``core``.
The overflow hook gets ``perf_sample_data_init(&data, 0, last_period)`` (arm64 sets no address)
and no regs (the core takes the interrupted context itself, as get_irq_regs() would); the
periods a tick's burst of counts ran past are reported one by one (``_overflow_backlog``).
Omits: NMI handling, IRQ stats, ``perf_sample_event_took``'s timing (the core charges a model cost).
Pinned to: Linux v5.17.
"""

from __future__ import annotations

from pmulab.perf.api import PerfEvent
from pmulab.perf.sampling import SampleData

__all__ = ["PeriodIrqMixin"]

_U64 = (1 << 64) - 1


def _s64(value: int) -> int:
    """Reinterpret a 64-bit pattern as a signed s64 (``local64_t`` period_left)."""
    value &= _U64
    return value - (1 << 64) if value >> 63 else value


class PeriodIrqMixin:
    """``armpmu_event_set_period`` / ``armpmu_event_update`` / ``armv8pmu_handle_irq`` of ``ArmPmu``."""

    # --- arithmetic ----------------------------------------------------------------------------
    def event_set_period(self, event: PerfEvent) -> bool:
        """Kernel: armpmu_event_set_period -- True when a period elapsed.

        ``left`` is clamped to half the counter width; ``prev_count`` becomes the full 64-bit
        ``-left`` and the counter ``-left`` masked to the event's width (so a 32-bit event
        with left 0x7FFFFFFF gets counter 0x80000001, prev_count 0xFFFFFFFF80000001).
        """
        hw = event.hw
        left, period = _s64(hw.period_left), _s64(hw.sample_period)
        max_period = self.max_period(event)
        elapsed = False
        if left <= -period:
            left = period
            hw.period_left, hw.last_period, elapsed = left, period, True
        if left <= 0:
            left += period
            hw.period_left, hw.last_period, elapsed = left, period, True
        left = min(left, max_period >> 1)
        hw.prev_count = -left & _U64
        self.ops.write_counter(event, -left & max_period)
        self.update_userpage(event)
        return elapsed

    def event_update(self, event: PerfEvent) -> int:
        """Kernel: armpmu_event_update -- count += (new - prev) & max_period; returns the raw value.

        ``prev_count`` takes the raw (unbiased, zero-extended) value read.
        """
        hw = event.hw
        prev = hw.prev_count
        new = self.ops.read_counter(event)
        hw.prev_count = new
        delta = (new - prev) & self.max_period(event)
        event.count = (event.count + delta) & _U64
        hw.period_left = _s64(hw.period_left - delta)
        return new

    # --- interrupt -----------------------------------------------------------------------------
    def handle_irq(self, cpu: int) -> bool:
        """Kernel: armv8pmu_handle_irq on ``cpu`` (must be this_cpu); False = IRQ_NONE.

        Reads and clears PMOVS, stops the PMU, and for each overflowed counter with an event:
        update, re-arm the period, and if a period elapsed call the core's
        ``perf_event_overflow(event, data, regs)`` (nonzero -> throttle: disable the event); then start().
        """
        if cpu != self.kernel.this_cpu():
            raise ValueError(f"handle_irq({cpu}) must run on CPU {cpu}, not on CPU {self.kernel.this_cpu()}")
        pmovs = self.ops.getreset_flags()
        if not pmovs:
            return False
        hw_events = self.hw_events[cpu]
        self.ops.stop()
        for idx in range(self.num_events):
            event = hw_events.events[idx]
            if event is None or not self.ops.has_overflowed(pmovs, idx):
                continue
            self.event_update(event)
            overflow = getattr(self.core, "perf_event_overflow", None)
            stop = self._overflow_backlog(event, overflow)
            if not self.event_set_period(event) and not stop:
                continue
            if stop or (overflow is not None and overflow(event, SampleData(0, event.hw.last_period), None)):
                self.ops.disable_event(event)
        self.ops.start()
        return True

    def _overflow_backlog(self, event: PerfEvent, overflow) -> bool:
        """The interrupts a sampling event would have raised earlier within this tick.

        The model delivers a tick's occurrences at once, so a counter may have run several
        periods past its overflow before this IRQ; real hardware would have interrupted after
        each. Every whole period beyond the one ``armpmu_event_set_period`` accounts is
        reported here, oldest first, each as ``perf_sample_data_init(&data, 0, period)`` +
        ``perf_event_overflow``; True when the core asked to stop (throttled, event_limit).
        """
        hw = event.hw
        period = _s64(hw.sample_period)
        if overflow is None or not event.attr.sample_period or period <= 0:
            return False
        while _s64(hw.period_left) <= -period:
            hw.period_left = _s64(hw.period_left + period)
            hw.last_period = period
            if overflow(event, SampleData(0, period), None):
                return True
        return False
