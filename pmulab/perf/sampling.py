"""Sampling: the overflow handler and the SAMPLE record it writes.

Models (kernel/events/core.c unless noted):
- ``__perf_event_overflow``: counting (non-sampling) events return 0 at once; otherwise
  ``__perf_event_account_interrupt`` (``throttle``: the sample is still written when it
  throttles, the driver then disables the counter), ``event_limit`` (PERF_EVENT_IOC_REFRESH: at
  zero the event is disabled from pending work), then the overflow handler
  ``perf_event_output_forward``/``_backward``: ``perf_prepare_sample`` + ``perf_output_sample``
  in the layout of ``uapi.pack_sample`` (IDENTIFIER, IP, TID, TIME, ADDR, ID, STREAM_ID, CPU,
  PERIOD, READ -- ``perf_output_read_one`` or ``perf_output_read_group`` --, CALLCHAIN),
  ``misc`` = the interrupted mode (PERF_RECORD_MISC_USER/KERNEL), and the ``wakeup_events``
  count of ``perf_output_sample``; then ``perf_sample_event_took`` with the model's handler time
  ``PerfCore.sample_cost_ns`` per interrupt (there is no real time).
``SamplingMixin`` assembles the sampling half of ``PerfCore`` from this module, ``throttle``
(interrupt accounting, throttle/unthrottle, frequency mode), ``output_buffer`` (record output,
mmap of the ring buffer, SET_OUTPUT, poll) and ``sideband`` (COMM/FORK/EXIT/SWITCH records);
the names of those modules' public API are re-exported here.
Omits: signals (``pending_kill``/fasync, sigtrap), registers (REGS_*), RAW and BRANCH_STACK.
Pinned to: Linux v5.17 kernel/events/core.c; HZ = 250.
"""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from pmulab import uapi
from pmulab.perf.api import EventState, PerfEvent
from pmulab.perf.output_buffer import OutputBufferMixin, _ids
from pmulab.perf.read import perf_event_count, primary_event_id
from pmulab.perf.sideband import SideBandMixin
from pmulab.perf.throttle import (
    HZ,
    MAX_INTERRUPTS,
    NR_ACCUMULATED_SAMPLES,
    TICK_NSEC,
    ThrottleMixin,
    _CpuSampling,
    max_samples_per_tick,
    perf_calculate_period,
)
from pmulab.uapi.records import pack_sample

__all__ = ["HZ", "TICK_NSEC", "MAX_INTERRUPTS", "NR_ACCUMULATED_SAMPLES", "SampleData", "SampleRegs",
           "SamplingMixin", "max_samples_per_tick", "perf_calculate_period"]


class SampleData(NamedTuple):
    """``struct perf_sample_data`` as ``perf_sample_data_init(&data, addr, period)`` fills it."""

    addr: int = 0
    period: int = 0


class SampleRegs(NamedTuple):
    """What the model takes from the interrupted ``pt_regs``: the PC, user or kernel mode, and
    the call chain ``perf_callchain`` would unwind (context markers included)."""

    ip: int = 0
    user: bool = True
    callchain: tuple = ()


#: Defaults of the sysctls this module reads (kernel/events/core.c), for kernels that lack them.
_SYSCTL_DEFAULTS = (("kernel.perf_cpu_time_max_percent", 25), ("kernel.perf_event_mlock_kb", 516))



class SamplingMixin(SideBandMixin, ThrottleMixin, OutputBufferMixin):
    """Sampling half of ``PerfCore``; listed first among its bases so its hooks wrap the others."""

    def _init_sampling(self) -> None:
        self._smp = [_CpuSampling() for _ in range(self.kernel.ncpus)]
        self.sample_cost_ns = 1000  # the model's handler time per PMU interrupt
        self._allowed = None  # (rate, percent, perf_sample_allowed_ns) last derived
        self._locked_vm: dict[int, int] = {}  # uid -> pages (user->locked_vm)
        self._pinned_vm: dict[Any, int] = {}  # mm id -> pages (mm->pinned_vm)
        self._sample_rng = np.random.default_rng([int(getattr(self.kernel, "seed", 0)), 0x5A])
        self._switch_prev: list = [None] * self.kernel.ncpus

    def _sysctl(self, name: str) -> int:
        try:
            return self.kernel.sysctl(name)
        except (KeyError, ValueError):
            return dict(_SYSCTL_DEFAULTS)[name]

    # --------------------------------------------------------------------- overflow
    def perf_event_overflow(self, event: PerfEvent, data: Any = None, regs: Any = None) -> int:
        """Kernel: perf_event_overflow -> __perf_event_overflow(event, throttle=1, data, regs).

        Returns 1 when the driver must disable the counter (throttled, or ``event_limit`` ran out).
        """
        if not event.attr.sample_period:  # is_sampling_event
            return 0
        cpu = self.kernel.this_cpu()
        ret = self._account_interrupt(event, cpu)
        if event.event_limit:
            event.event_limit -= 1
            if event.event_limit == 0:
                ret = 1
                event.pending_disable = True  # perf_event_disable_inatomic
                self._pending.append(event)
        if data is None:
            data = SampleData(0, event.hw.last_period)
        elif isinstance(data, dict):
            data = SampleData(data.get("addr", 0), data.get("period", event.hw.last_period))
        if regs is None:
            regs = self.perf_irq_regs(event, cpu)
        self.perf_event_output(event, data, regs, cpu)
        self.perf_sample_event_took(cpu, self.sample_cost_ns)
        return ret

    def perf_irq_regs(self, event: PerfEvent, cpu: int) -> SampleRegs:
        """get_irq_regs(): where the interrupted task was, drawn from its workload's code profile
        (``pmulab.sim.profile``) with the core's seeded generator; PC 0 without a profile."""
        task = self.kernel.current(cpu)
        profile = getattr(getattr(task, "workload", None), "profile", None)
        attr = event.attr
        if profile is None:
            return SampleRegs(0, not attr.exclude_user, ())
        return profile.sample_regs(self._sample_rng, event.hw.config_base,
                                   user=not attr.exclude_user, kernel=not attr.exclude_kernel)

    def perf_event_output(self, event: PerfEvent, data: SampleData, regs: SampleRegs, cpu: int) -> bool:
        """Kernel: perf_event_output_forward/backward -- prepare, write one SAMPLE; count the drop."""
        attr = event.attr
        task = self.kernel.current(cpu)
        tgid, tid = _ids(task)
        fields: dict[str, Any] = {
            "id": primary_event_id(event), "ip": regs.ip, "pid": tgid, "tid": tid, "time": self.kernel.now(),
            "addr": data.addr, "stream_id": event.id, "cpu": cpu, "res": 0, "period": data.period,
        }
        if attr.sample_type & uapi.PERF_SAMPLE_READ:
            fields["read"] = self.perf_output_read(event)
        if attr.sample_type & uapi.PERF_SAMPLE_CALLCHAIN:
            fields["callchain"] = regs.callchain
        misc = uapi.PERF_RECORD_MISC_USER if regs.user else uapi.PERF_RECORD_MISC_KERNEL
        record = pack_sample(attr, misc=misc, **fields)
        rb = self.output_rb(event)
        if rb is None:
            return False
        if not self._emit(event, record, cpu, task):
            event.lost_samples += 1
            return False
        if not attr.watermark:
            rb.count_sample(attr.wakeup_events)
        return True

    def perf_output_read(self, event: PerfEvent) -> bytes:
        """Kernel: perf_output_read -> perf_output_read_one / perf_output_read_group."""
        fmt = event.attr.read_format
        _, enabled, running = self.calc_timer_values(event)
        if not fmt & uapi.PERF_FORMAT_GROUP:
            one = uapi.ReadValue(perf_event_count(event), primary_event_id(event), event.lost_samples)
            return uapi.pack_read(fmt, [one], enabled, running)
        leader = event.group_leader
        values = []
        for member in (leader, *leader.siblings):
            if member is not event and member.state == EventState.ACTIVE:
                member.pmu.read(member)
            values.append(uapi.ReadValue(perf_event_count(member), primary_event_id(member),
                                         member.lost_samples))
        return uapi.pack_read(fmt, values, enabled, running)
