"""Throttling and frequency mode: interrupt accounting, throttle/unthrottle, period adjustment.

Models (kernel/events/core.c):
- ``__perf_event_account_interrupt`` (the throttling half): interrupts per event per tick,
  against ``max_samples_per_tick`` = ceil(kernel.perf_event_max_sample_rate / HZ); the interrupt
  past it sets ``hw.interrupts = MAX_INTERRUPTS``, counts a throttled event on this CPU and logs
  PERF_RECORD_THROTTLE (``perf_log_throttle``);
- ``perf_sample_event_took`` (called per PMU interrupt by ``armpmu_dispatch_irq``): a running
  average of the handler's time (decay 1/128) above ``perf_cpu_time_max_percent`` of the sample
  period lowers ``kernel.perf_event_max_sample_rate`` (``update_perf_cpu_limits``); 0 or 100
  percent disables it;
- ``perf_event_task_tick`` -> ``perf_adjust_freq_unthr_context``: every tick, on each CPU,
  throttled events are restarted (PERF_RECORD_UNTHROTTLE, ``pmu->start(event, 0)``) and
  frequency-mode events get a new period from the count of the tick (``perf_adjust_period``:
  ``perf_calculate_period`` = count x 10^9 / (tick ns x sample_freq), moved 1/8 of the way, and
  ``period_left`` reset when more than 8 periods ahead).
Omits: the per-interrupt period re-estimate inside ``__perf_event_account_interrupt`` (every
interrupt of a model tick has the same timestamp, so only the tick's estimate runs).
Pinned to: Linux v5.17 kernel/events/core.c; HZ = 250.
"""

from __future__ import annotations

from dataclasses import dataclass

from pmulab import uapi
from pmulab.perf.api import EF, EventState, PerfEvent
from pmulab.perf.read import primary_event_id

__all__ = ["HZ", "TICK_NSEC", "MAX_INTERRUPTS", "NR_ACCUMULATED_SAMPLES", "ThrottleMixin",
           "max_samples_per_tick", "perf_calculate_period"]

#: CONFIG_HZ of the modelled kernel (equal to pmulab.sim.kernel.HZ; checked by the tests).
HZ = 250
TICK_NSEC = 1_000_000_000 // HZ
#: hw.interrupts of a throttled event (the kernel's ~0U).
MAX_INTERRUPTS = (1 << 32) - 1
#: Decay of perf_sample_event_took's running average.
NR_ACCUMULATED_SAMPLES = 128
_MASK64 = (1 << 64) - 1


def max_samples_per_tick(rate: int) -> int:
    """``max_samples_per_tick`` = DIV_ROUND_UP(perf_event_max_sample_rate, HZ)."""
    return -(-rate // HZ)


def perf_calculate_period(count: int, nsec: int, freq: int) -> int:
    """Kernel: perf_calculate_period -- the period that gives ``freq`` samples a second when
    ``count`` events took ``nsec`` ns (exact integer arithmetic here)."""
    divisor = nsec * freq
    return count * 1_000_000_000 // divisor if divisor else count


def _div_trunc(a: int, b: int) -> int:
    """C's s64 division (truncates toward zero)."""
    q = abs(a) // b
    return q if a >= 0 else -q


@dataclass
class _CpuSampling:
    """Per-CPU state: ``perf_throttled_seq``, ``perf_throttled_count``, ``running_sample_length``."""

    seq: int = 0
    throttled: int = 0
    running_len: int = 0



class ThrottleMixin:
    """Interrupt accounting, throttling and frequency mode of ``PerfCore`` (part of SamplingMixin)."""

    def perf_log_throttle(self, event: PerfEvent, enable: bool, cpu: int) -> None:
        """Kernel: perf_log_throttle -- PERF_RECORD_THROTTLE (0) or UNTHROTTLE (1)."""
        rtype = uapi.PerfRecord.UNTHROTTLE if enable else uapi.PerfRecord.THROTTLE
        self._side_band(event, rtype, cpu, self.kernel.current(cpu), time=self.kernel.now(),
                        id=primary_event_id(event), stream_id=event.id)

    def _account_interrupt(self, event: PerfEvent, cpu: int) -> int:
        """Kernel: __perf_event_account_interrupt (the throttling half)."""
        hw, state = event.hw, self._smp[cpu]
        if hw.interrupts_seq != state.seq:
            hw.interrupts_seq = state.seq
            hw.interrupts = 1
            return 0
        hw.interrupts += 1
        if hw.interrupts > max_samples_per_tick(self.kernel.sysctl("kernel.perf_event_max_sample_rate")):
            state.throttled += 1
            hw.interrupts = MAX_INTERRUPTS
            self.perf_log_throttle(event, False, cpu)
            return 1
        return 0

    def perf_sample_event_took(self, cpu: int, sample_len_ns: int) -> None:
        """Kernel: perf_sample_event_took -- lower the max sample rate when handlers run too long."""
        rate = self.kernel.sysctl("kernel.perf_event_max_sample_rate")
        percent = self._sysctl("kernel.perf_cpu_time_max_percent")
        if self._allowed is None or self._allowed[:2] != (rate, percent):  # update_perf_cpu_limits
            allowed = 0 if percent in (0, 100) else max(1, (1_000_000_000 // rate) * percent // 100)
            self._allowed = (rate, percent, allowed)
        max_len = self._allowed[2]
        if not max_len:
            return
        state = self._smp[cpu]
        state.running_len += sample_len_ns - state.running_len // NR_ACCUMULATED_SAMPLES
        avg = state.running_len // NR_ACCUMULATED_SAMPLES
        if avg <= max_len:
            return
        avg += avg // 4
        most = (TICK_NSEC // 100) * percent
        most = most // avg if avg < most else 1
        new_rate = most * HZ
        self.kernel.sysctl("kernel.perf_event_max_sample_rate", new_rate)
        self.kernel.record("perf_sample_rate_lowered", cpu=cpu, avg_ns=avg, rate=new_rate)
        self._allowed = (new_rate, percent, avg)

    # ------------------------------------------------------------------------- tick
    def tick(self, cpu: int) -> None:
        """Kernel: perf_event_task_tick (throttle sequence, unthrottle, frequency) before rotation."""
        here = self.kernel.this_cpu()
        if here != cpu:
            raise ValueError(f"tick(cpu={cpu}) must run on CPU {cpu}, but this_cpu() is {here}")
        state = self._smp[cpu]
        state.seq += 1
        throttled, state.throttled = state.throttled, 0
        cpuctx = self.cpu_ctx(cpu)
        for ctx in (cpuctx.ctx, cpuctx.task_ctx):
            if ctx is not None and ctx.is_active:
                self.perf_adjust_freq_unthr_context(ctx, cpu, bool(throttled))
        super().tick(cpu)

    def perf_adjust_freq_unthr_context(self, ctx, cpu: int, unthrottle: bool) -> None:
        """Kernel: perf_adjust_freq_unthr_context."""
        events = [e for e in ctx.event_list if e.state == EventState.ACTIVE and e.oncpu == cpu]
        if not unthrottle and not any(e.attr.freq for e in events):
            return
        self.perf_pmu_disable(ctx.pmu)
        for event in events:
            if not event.pmu.filter_match(event):
                continue
            hw = event.hw
            self.perf_pmu_disable(event.pmu)
            if hw.interrupts == MAX_INTERRUPTS:
                hw.interrupts = 0
                self.perf_log_throttle(event, True, cpu)
                event.pmu.start(event, EF(0))
            if event.attr.freq and event.attr.sample_freq:
                event.pmu.stop(event, EF.UPDATE)
                now = event.count
                delta = (now - hw.freq_count_stamp) & _MASK64
                hw.freq_count_stamp = now
                if delta:
                    self.perf_adjust_period(event, TICK_NSEC, delta, False)
                event.pmu.start(event, EF.RELOAD if delta else EF(0))
            self.perf_pmu_enable(event.pmu)
        self.perf_pmu_enable(ctx.pmu)

    def perf_adjust_period(self, event: PerfEvent, nsec: int, count: int, disable: bool) -> None:
        """Kernel: perf_adjust_period -- move the period 1/8 of the way to the estimate."""
        hw = event.hw
        period = perf_calculate_period(count, nsec, event.attr.sample_freq)
        delta = _div_trunc(period - hw.sample_period + 7, 8)
        sample_period = hw.sample_period + delta or 1
        hw.sample_period = sample_period
        left = hw.period_left - (1 << 64) if hw.period_left >> 63 else hw.period_left
        if left > 8 * sample_period:
            if disable:
                event.pmu.stop(event, EF.UPDATE)
            hw.period_left = 0
            if disable:
                event.pmu.start(event, EF.RELOAD)
