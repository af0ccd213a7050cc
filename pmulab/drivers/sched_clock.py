"""The arm64 sched_clock as published in the user page: the generic timer counter CNTVCT_EL0.

Models: the ``clock_read_data`` that kernel/time/sched_clock.c keeps when the architected
timer (drivers/clocksource/arm_arch_timer.c) is the sched_clock source, i.e. what arm64
``arch_perf_update_userpage`` copies into ``time_mult``/``time_shift``/``time_zero``/
``time_cycles``/``time_mask``.
Chosen, not computed: the counter runs at 62.5 MHz (QEMU ``virt``'s CNTFRQ_EL0), so one tick
is exactly 16 ns; ``shift`` 24 and ``mult`` 16 << 24 make ``(cyc * mult) >> shift`` exact;
the counter is 56 bits wide (the width the arch timer registers with sched_clock) and started
at 0 at boot, with a single epoch (0 ns, 0 cycles) because the model never wraps it.
So user space must read ``CNTVCT_EL0 = now_ns // 16`` for the time formulas to agree.
Omits: epoch updates (``update_sched_clock``), suspend, clocks_calc_mult_shift.
Pinned to: Linux v5.17.
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["ArchTimerClock", "NSEC_PER_SEC"]

NSEC_PER_SEC = 1_000_000_000


@dataclass(frozen=True)
class ArchTimerClock:
    """sched_clock driven by the architected timer: frequency, conversion and wrap mask."""

    freq_hz: int = 62_500_000
    shift: int = 24
    bits: int = 56
    epoch_ns: int = 0
    epoch_cyc: int = 0

    def __post_init__(self):
        if (NSEC_PER_SEC << self.shift) % self.freq_hz:
            raise ValueError(f"{self.freq_hz} Hz has no exact mult at shift {self.shift}")

    @property
    def mult(self) -> int:
        """ns per cycle, scaled by 2**shift (clock_read_data.mult)."""
        return (NSEC_PER_SEC << self.shift) // self.freq_hz

    @property
    def mask(self) -> int:
        """sched_clock_mask: the counter's valid bits."""
        return (1 << self.bits) - 1

    def cycles_to_ns(self, cycles: int) -> int:
        """cyc_to_ns / mul_u64_u32_shr: ``(cycles * mult) >> shift``."""
        return (cycles * self.mult) >> self.shift

    def counter_at(self, now_ns: int) -> int:
        """CNTVCT_EL0 at ``now_ns`` nanoseconds since boot."""
        return (now_ns * self.freq_hz // NSEC_PER_SEC) & self.mask
