"""Sampling: the overflow handler, throttling, frequency mode, side-band records, SET_OUTPUT, poll.

Models (kernel/events/core.c unless noted):
- ``__perf_event_overflow``: counting (non-sampling) events return 0 at once; otherwise
  ``__perf_event_account_interrupt`` (interrupts per event per tick, against
  ``max_samples_per_tick`` = ceil(kernel.perf_event_max_sample_rate / HZ): the interrupt past
  it sets ``hw.interrupts = MAX_INTERRUPTS``, counts a throttled event on this CPU and logs
  PERF_RECORD_THROTTLE -- the sample is still written, the driver then disables the counter),
  ``event_limit`` (PERF_EVENT_IOC_REFRESH: at zero the event is disabled from pending work),
  then the overflow handler ``perf_event_output_forward``/``_backward``:
  ``perf_prepare_sample`` + ``perf_output_sample`` in the layout of ``uapi.pack_sample``
  (IDENTIFIER, IP, TID, TIME, ADDR, ID, STREAM_ID, CPU, PERIOD, READ -- ``perf_output_read_one``
  or ``perf_output_read_group`` --, CALLCHAIN), ``misc`` = the interrupted mode
  (PERF_RECORD_MISC_USER/KERNEL), and the ``wakeup_events`` count of ``perf_output_sample``;
- ``perf_sample_event_took`` (called per PMU interrupt by ``armpmu_dispatch_irq``): a running
  average of the handler's time (decay 1/128) above ``perf_cpu_time_max_percent`` of the sample
  period lowers ``kernel.perf_event_max_sample_rate``; 0 or 100 percent disables it. The model's
  handler takes ``PerfCore.sample_cost_ns`` per interrupt (there is no real time);
- ``perf_event_task_tick`` -> ``perf_adjust_freq_unthr_context``: every tick, on each CPU,
  throttled events are restarted (PERF_RECORD_UNTHROTTLE, ``pmu->start(event, 0)``) and
  frequency-mode events get a new period from the count of the tick (``perf_adjust_period``:
  ``perf_calculate_period`` = count x 10^9 / (tick ns x sample_freq), moved 1/8 of the way, and
  ``period_left`` reset when more than 8 periods ahead);
- the side-band records through ``perf_iterate_sb`` (the events of this CPU's context and of
  the current task's): PERF_RECORD_COMM at exec (``attr.comm``, MISC_COMM_EXEC),
  PERF_RECORD_FORK (``perf_event_task_match``: comm/mmap/mmap2/mmap_data/task),
  PERF_RECORD_EXIT (the exiting task's own context first, then the CPU context),
  PERF_RECORD_SWITCH / SWITCH_CPU_WIDE (``attr.context_switch``, MISC_SWITCH_OUT and
  MISC_SWITCH_OUT_PREEMPT), each with the ``sample_id`` trailer (``__perf_event_header__init_id``)
  under ``attr.sample_id_all``; output of inherited events goes to their parent's buffer;
- ``perf_mmap``'s ring-buffer half (``rb_alloc``, the mlock allowance -> EPERM) and
  ``perf_mmap_close``'s refund; ``perf_event_set_output`` (PERF_EVENT_IOC_SET_OUTPUT: not to
  itself, same CPU, same task for per-task buffers, same clock, same direction, the event not
  mmapped, the target must have a buffer; fd -1 detaches) and ``perf_poll``.
Omits: the per-interrupt period re-estimate inside ``__perf_event_account_interrupt`` (every
interrupt of a model tick has the same timestamp, so only the tick's estimate runs), signals
(``pending_kill``/fasync, sigtrap), MMAP/MMAP2/NAMESPACES/KSYMBOL records, mmap of an event
whose output was redirected (NotModelledError), registers (REGS_*), RAW and BRANCH_STACK.
Pinned to: Linux v5.17 kernel/events/core.c and ring_buffer.c; HZ = 250.
"""

from __future__ import annotations

import errno
from dataclasses import dataclass
from typing import Any, NamedTuple

import numpy as np

from pmulab import uapi
from pmulab.errors import NotModelledError, PerfError
from pmulab.perf.api import EF, EventState, PerfEvent
from pmulab.perf.read import perf_event_count, primary_event_id
from pmulab.perf.ring_buffer import POLLHUP, RingBuffer, mlock_charge
from pmulab.uapi.records import pack_record, pack_sample

__all__ = ["HZ", "TICK_NSEC", "MAX_INTERRUPTS", "NR_ACCUMULATED_SAMPLES", "SampleData", "SampleRegs",
           "SamplingMixin", "max_samples_per_tick", "perf_calculate_period"]

#: CONFIG_HZ of the modelled kernel (equal to pmulab.sim.kernel.HZ; checked by the tests).
HZ = 250
TICK_NSEC = 1_000_000_000 // HZ
#: hw.interrupts of a throttled event (the kernel's ~0U).
MAX_INTERRUPTS = (1 << 32) - 1
#: Decay of perf_sample_event_took's running average.
NR_ACCUMULATED_SAMPLES = 128
_MASK64 = (1 << 64) - 1


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


class SamplingMixin:
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

    # ---------------------------------------------------------------------- output
    @staticmethod
    def output_rb(event: PerfEvent) -> RingBuffer | None:
        """perf_output_begin's choice: an inherited event writes into its parent's buffer."""
        return (event.parent or event).rb

    def _sample_id(self, event: PerfEvent, cpu: int, task: Any) -> dict:
        """Kernel: __perf_event_header__init_id -- the values of the sample_id trailer."""
        tgid, tid = _ids(task)
        return {"pid": tgid, "tid": tid, "time": self.kernel.now(), "id": primary_event_id(event),
                "stream_id": event.id, "cpu": cpu, "res": 0, "identifier": primary_event_id(event)}

    def _emit(self, event: PerfEvent, record: bytes, cpu: int, task: Any) -> bool:
        """perf_output_begin/copy/end for one record of ``event``; False if dropped or no buffer."""
        rb = self.output_rb(event)
        if rb is None:
            return False

        def lost(n: int) -> bytes:
            return pack_record(uapi.PerfRecord.LOST, event.attr, id=primary_event_id(event), lost=n,
                               sample_id=self._sample_id(event, cpu, task))

        return rb.output(record, lost)

    def _side_band(self, event: PerfEvent, rtype: int, cpu: int, task: Any, misc: int = 0, **fields) -> None:
        record = pack_record(rtype, event.attr, misc=misc, sample_id=self._sample_id(event, cpu, task), **fields)
        self._emit(event, record, cpu, task)

    def perf_log_throttle(self, event: PerfEvent, enable: bool, cpu: int) -> None:
        """Kernel: perf_log_throttle -- PERF_RECORD_THROTTLE (0) or UNTHROTTLE (1)."""
        rtype = uapi.PerfRecord.UNTHROTTLE if enable else uapi.PerfRecord.THROTTLE
        self._side_band(event, rtype, cpu, self.kernel.current(cpu), time=self.kernel.now(),
                        id=primary_event_id(event), stream_id=event.id)

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

    # ------------------------------------------------------------------ mmap / rb
    def mmap(self, caller: Any, event: PerfEvent, pages: int = 1, write: bool = True):
        """Kernel: perf_mmap -- the core's checks, then the ring buffer and its mlock charge."""
        fresh = event.page is None
        charge = None
        if fresh and event.rb is not None and isinstance(pages, int) and pages > 1:
            raise NotModelledError("mmap of an event whose output was redirected with SET_OUTPUT")
        valid = (isinstance(pages, int) and not isinstance(pages, bool) and pages > 1
                 and not (pages - 1) & (pages - 2) and not (event.cpu == -1 and event.attr.inherit))
        uid = getattr(caller, "uid", 0)
        mm = getattr(getattr(caller, "mm", None), "id", None)
        if fresh and valid:
            charge = mlock_charge(nr_pages=pages - 1, user_locked=self._locked_vm.get(uid, 0),
                                  pinned_vm=self._pinned_vm.get(mm, 0),
                                  mlock_kb=self._sysctl("kernel.perf_event_mlock_kb"),
                                  ncpus=self.kernel.ncpus,
                                  paranoid=self.kernel.sysctl("kernel.perf_event_paranoid"),
                                  capable=self.kernel.capable(caller))
        page = super().mmap(caller, event, pages, write)
        if fresh and charge is not None:
            attr = event.attr
            rb = RingBuffer(page, memoryview(self.buffer(event))[uapi.PAGE_SIZE:], writable=write,
                            backward=bool(attr.write_backward),
                            watermark=attr.wakeup_watermark if attr.watermark else 0)
            rb.user, rb.mm, rb.locked = uid, mm, charge
            self._locked_vm[uid] = self._locked_vm.get(uid, 0) + charge[0]
            self._pinned_vm[mm] = self._pinned_vm.get(mm, 0) + charge[1]
            rb.event_list.append(event)
            event.rb = rb
        return page

    def munmap(self, caller: Any, event: PerfEvent) -> None:
        """Kernel: perf_mmap_close -- the last unmap refunds the charge and detaches every event."""
        rb = event.rb if event.page is not None else None
        super().munmap(caller, event)
        if rb is not None and event.mmap_count == 0:
            user_extra, extra = rb.locked
            self._locked_vm[rb.user] = self._locked_vm.get(rb.user, 0) - user_extra
            self._pinned_vm[rb.mm] = self._pinned_vm.get(rb.mm, 0) - extra
            for e in rb.event_list:
                e.rb = None
            rb.event_list.clear()

    def locked_vm(self, uid: int) -> int:
        """Pages charged to ``user->locked_vm`` of ``uid``."""
        return self._locked_vm.get(uid, 0)

    # -------------------------------------------------------------------- ioctl / poll
    def ioctl(self, caller: Any, event: PerfEvent, request: int, arg: Any = 0) -> int:
        """Kernel: _perf_ioctl -- PERF_EVENT_IOC_SET_OUTPUT here, the rest in IoctlMixin."""
        if request == uapi.PERF_EVENT_IOC_SET_OUTPUT:
            if arg == -1 or arg is None:
                return self.perf_event_set_output(event, None)
            if not isinstance(arg, PerfEvent):
                raise TypeError(f"PERF_EVENT_IOC_SET_OUTPUT takes a perf event (or -1), not {type(arg).__name__}")
            return self.perf_event_set_output(event, arg)
        return super().ioctl(caller, event, request, arg)

    def perf_event_set_output(self, event: PerfEvent, output: PerfEvent | None) -> int:
        """Kernel: perf_event_set_output."""
        def refuse(why: str):
            raise PerfError(errno.EINVAL, f"PERF_EVENT_IOC_SET_OUTPUT: {why} (perf_event_set_output)")

        if output is not None:
            if output is event:
                refuse("an event cannot output to itself")
            if output.cpu != event.cpu:
                refuse(f"events on different CPUs ({event.cpu} vs {output.cpu})")
            if output.cpu == -1 and output.hw.target is not event.hw.target:
                refuse("per-task buffers must belong to the same task")
            a, b = event.attr, output.attr
            if (a.use_clockid, a.clockid if a.use_clockid else 0) != (b.use_clockid, b.clockid if b.use_clockid else 0):
                refuse("the events use different clocks")
            if bool(a.write_backward) != bool(b.write_backward):
                refuse("one buffer is written forward, the other backward")
        if event.mmap_count:
            refuse("the event has its own mmap()ed buffer")
        rb = None
        if output is not None:
            rb = output.rb
            if rb is None:
                refuse("the output event has no ring buffer")
        old = event.rb
        if old is not None and event in old.event_list:
            old.event_list.remove(event)
        event.rb = rb
        if rb is not None:
            rb.event_list.append(event)
        return 0

    def poll(self, caller: Any, event: PerfEvent) -> int:
        """Kernel: perf_poll -- POLLHUP once the event exited, else the buffer's pending bits."""
        if event.state == EventState.EXIT and not event.children:
            return POLLHUP
        rb = event.rb
        return rb.take_poll() if rb is not None else 0

    # ------------------------------------------------------------------ side band
    def _iterate_sb(self, cpu: int, task: Any, match) -> list[PerfEvent]:
        """Kernel: perf_iterate_sb -- this CPU's context, then the task context given."""
        out = []
        ctxs = [self.cpu_ctx(cpu).ctx]
        task_ctx = getattr(task, "perf_ctx", None) if task is not None else None
        if task_ctx is not None:
            ctxs.append(task_ctx)
        for ctx in ctxs:
            for event in ctx.event_list:
                if event.state < EventState.INACTIVE or event.cpu not in (-1, cpu):
                    continue
                if match(event.attr):
                    out.append(event)
        return out

    def _task_record(self, task: Any, parent: Any, rtype: int, cpu: int, events: list) -> None:
        tgid, tid = _ids(task)
        ptgid, ptid = _ids(parent)
        for event in events:
            self._side_band(event, rtype, cpu, self.kernel.current(cpu), pid=tgid, ppid=ptgid, tid=tid,
                            ptid=ptid, time=self.kernel.now())

    def fork(self, parent: Any, child: Any) -> None:
        """perf_event_init_task, then perf_event_fork -> PERF_RECORD_FORK to the parent's events."""
        super().fork(parent, child)
        cpu = self.kernel.this_cpu()
        self._task_record(child, parent, uapi.PerfRecord.FORK, cpu,
                          self._iterate_sb(cpu, parent, _task_match))

    def exit(self, task: Any) -> None:
        """perf_event_exit_task: EXIT to the task's own events, teardown, then to the CPU's."""
        cpu = self.kernel.this_cpu()
        parent = getattr(task, "parent", None)
        own = [e for e in self._iterate_sb(cpu, task, _task_match) if e.ctx is getattr(task, "perf_ctx", None)]
        self._task_record(task, parent, uapi.PerfRecord.EXIT, cpu, own)
        super().exit(task)
        self._task_record(task, parent, uapi.PerfRecord.EXIT, cpu, self._iterate_sb(cpu, None, _task_match))

    def exec(self, task: Any) -> None:
        """perf_event_exec, then perf_event_comm(task, exec=true) -> PERF_RECORD_COMM."""
        super().exec(task)
        cpu = self.kernel.this_cpu()
        tgid, tid = _ids(task)
        for event in self._iterate_sb(cpu, task, lambda a: a.comm):
            self._side_band(event, uapi.PerfRecord.COMM, cpu, task, misc=uapi.PERF_RECORD_MISC_COMM_EXEC,
                            pid=tgid, tid=tid, comm=str(getattr(task, "name", ""))[:15])

    def _switch(self, task: Any, other: Any, cpu: int, out: bool) -> None:
        """Kernel: perf_event_switch -> perf_event_switch_output."""
        misc = 0
        if out:
            misc = uapi.PERF_RECORD_MISC_SWITCH_OUT
            if getattr(task, "state", None) == "runnable":
                misc |= uapi.PERF_RECORD_MISC_SWITCH_OUT_PREEMPT
        for event in self._iterate_sb(cpu, task, lambda a: a.context_switch):
            if event.ctx.task is not None:
                self._side_band(event, uapi.PerfRecord.SWITCH, cpu, task, misc=misc)
            else:
                pid, tid = _ids(other)
                self._side_band(event, uapi.PerfRecord.SWITCH_CPU_WIDE, cpu, task, misc=misc,
                                next_prev_pid=pid, next_prev_tid=tid)

    def sched_out(self, prev: Any, cpu: int) -> None:
        """__perf_event_task_sched_out: SWITCH out records (prev's events), then the switch."""
        self._switch_prev[cpu] = prev
        self._switch(prev, self.kernel.current(cpu) if self.kernel.current(cpu) is not prev else None, cpu, True)
        super().sched_out(prev, cpu)

    def sched_in(self, task: Any, cpu: int) -> None:
        """__perf_event_task_sched_in: the switch, then SWITCH in records (the new task's events)."""
        super().sched_in(task, cpu)
        self._switch(task, self._switch_prev[cpu], cpu, False)


def _task_match(attr) -> bool:
    """Kernel: perf_event_task_match."""
    return bool(attr.comm or attr.mmap or attr.mmap2 or attr.mmap_data or attr.task)


def _ids(task: Any) -> tuple[int, int]:
    """(tgid, pid) of a task (0, 0 for idle)."""
    if task is None:
        return 0, 0
    pid = int(getattr(task, "pid", 0))
    return int(getattr(task, "tgid", pid)), pid
