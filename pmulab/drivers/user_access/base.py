"""The hooks a user-access design plugs into the arm64 PMU driver, and their default behaviour.

Models: the places where the successive versions of "arm64: perf: Enable PMU counter userspace
access for perf event" (v5 .. v13, merged in v5.17) differ: ``__armv8_pmuv3_map_event``'s
config1 handling, ``get_event_idx``/``clear_event_idx``, ``pmu->event_mapped/event_unmapped``,
``pmu->sched_task``, ``armv8pmu_start``/``stop``, ``pmu->event_idx``, the arm64
``arch_perf_update_userpage``, the sysctl/sysfs switch, and the EL0 undefined-instruction hook.
The defaults are the kernel *before* the series (v5.16): config1 ``long`` honoured, ``rdpmc``
ignored, PMUSERENR_EL0 never written, user page index always 0, time fields published.
A design subclasses ``Design`` and overrides hooks; the perf core and the driver never change.
Omits: nothing the driver calls is left out; designs add their own state as instance attributes.
Pinned to: Linux v5.16 (defaults) / v5.17 (hook placement).
"""

from __future__ import annotations

from pmulab.drivers import arm_pmuv3_events as evmap
from pmulab.drivers.arm_pmuv3 import EVT_64BIT
from pmulab.perf.api import FLAG_USER_READ_CNT

__all__ = ["Design"]


def _bits(mask: int) -> list[int]:
    """The set bit positions of ``mask`` (perf idxs of a used_mask), ascending."""
    return [i for i in range(mask.bit_length()) if mask >> i & 1]


def _who(event) -> dict:
    """Trace fields naming an event's owner and target (an inherited copy: its parent's owner)."""
    owner = event.owner if event.owner is not None or event.parent is None else event.parent.owner
    return {"owner": owner, "target": event.target, "cpu_bound": event.target is None,
            "user_read": bool(event.hw.flags & FLAG_USER_READ_CNT)}


class Design:
    """A user-access policy: the driver calls these hooks with the ``ArmPmu`` they act for.

    This is the public base of every design, built-in or yours: subclass it (or any built-in
    design, ``class Mine(type(m.design))``), override hooks, and plug it in with
    ``Machine(design=Mine)``; ``pmulab.studio.grade(Mine)`` grades it. One instance serves every
    ``ArmPmu`` of a machine (big.LITTLE has several), so per-PMU state belongs on ``cpu_pmu`` or
    in a dict keyed by it; per-design state goes in instance attributes set in ``__init__``
    (never module globals). All hooks run as kernel code with ``cpu_pmu.kernel.this_cpu()`` =
    the CPU the kernel would run them on; each docstring says which CPU that is and what the
    hook may touch.

    What a hook may use: ``cpu_pmu.ops`` (PMUv3 register operations on *this* CPU:
    ``set_el0_access(*bits)`` writes PMUSERENR_EL0, ``clear_counter(idx)``), ``self.clear_counters``
    (zero counters and trace it), ``pmulab.drivers.arm_pmuv3.disable_user_access(kernel)``,
    ``cpu_pmu.this_hw_events()`` (``used_mask``, ``events[idx]``), ``cpu_pmu.task_ctx(cpu)`` (the
    task context scheduled in there, ``.nr_user``), ``cpu_pmu.kernel.sysctl(name)``,
    ``cpu_pmu.kernel.smp_call(cpu, fn)`` (an IPI) and ``cpu_pmu.core.event_function_call(event,
    fn)``. A hook must not switch tasks or call system calls. Return values are part of the
    contract (the studio's guard checks them): None unless the hook says otherwise.
    """

    #: Registry name (``Machine(design=name)``).
    name = "none"
    #: ``pmu->sched_task(cpu_pmu, ctx, sched_in)`` or None: a design that needs context-switch
    #: callbacks defines a method of that name; the core calls it only while
    #: ``cpu_pmu.sched_cb_usage`` (or its per-CPU count) is non-zero, and only for tasks that have
    #: a perf context: at sched-out (``sched_in`` False, the outgoing context) and at sched-in
    #: (True, the incoming one), on the switching CPU, with the PMU disabled. Returns None.
    sched_task = None
    #: Counter-ownership tracepoints (``counter_claim``/``counter_release``/``counter_clear`` rows
    #: in the machine's trace), off by default like an ftrace event; the scenarios switch them on
    #: (``machine.design.tracing = True``) for the leak analysis.
    tracing = False

    def __repr__(self) -> str:
        return f"<design {self.name}>"

    def map_event(self, cpu_pmu, event, hw_event_id: int) -> None:
        """Apply the config1 rules during ``__armv8_pmuv3_map_event``; raise PerfError to refuse.

        When: perf_event_open() (event_init, and again for validate_group), and for each
        inherited child event. CPU: the opener's, but no CPU state may be touched: the event is
        not scheduled anywhere yet. May set ``event.hw.flags`` (``EVT_64BIT``,
        ``FLAG_USER_READ_CNT``) and raise ``PerfError`` (the only hook that may). ``hw_event_id``
        is the mapped event number, or -errno if the generic maps failed (checked after this hook).
        Default (v5.16): 64-bit if config1 ``long``; ``rdpmc`` ignored. Returns None.
        """
        if evmap.is_64bit(event.attr):
            event.hw.flags |= EVT_64BIT

    def get_event_idx(self, cpu_pmu, hw_events, event) -> int:
        """``arm_pmu->get_event_idx``: a perf idx or -EAGAIN (template: ``allocate``, then trace).

        When: ``armpmu_add`` (the event is scheduled in: context switch, enable, rotation) and
        validate_group (on a fake ``hw_events``). CPU: the one the event is being added on.
        Override ``allocate`` (not this method) so that the lab's trace keeps recording which
        event holds which counter (``counter_claim`` rows, read by the leak analysis).
        Returns an int.
        """
        before = hw_events.used_mask
        idx = self.allocate(cpu_pmu, hw_events, event)
        if idx >= 0 and self._traced() and self._is_live(cpu_pmu, hw_events):
            self._record(cpu_pmu, "counter_claim", event=event, idx=idx,
                         idxs=_bits(hw_events.used_mask & ~before), **_who(event))
        return idx

    def allocate(self, cpu_pmu, hw_events, event) -> int:
        """Kernel: armv8pmu_get_event_idx. Default: the v5.17 allocator.

        Same CPU and time as ``get_event_idx``; may claim bits of ``hw_events`` only (no register
        writes: ``armpmu_add`` programs the counter afterwards). Returns an int idx or -EAGAIN.
        """
        return cpu_pmu.ops.get_event_idx(hw_events, event)

    def clear_event_idx(self, cpu_pmu, hw_events, event) -> None:
        """``arm_pmu->clear_event_idx`` (template: ``release``, then trace ``counter_release``).

        When: ``armpmu_del`` (scheduled out, disabled, closed), after the count was harvested;
        the counter keeps its last value. CPU: the one the event ran on. Override ``release``.
        """
        before = hw_events.used_mask
        self.release(cpu_pmu, hw_events, event)
        if self._traced() and self._is_live(cpu_pmu, hw_events):
            self._record(cpu_pmu, "counter_release", event=event, idx=event.hw.idx,
                         idxs=_bits(before & ~hw_events.used_mask))

    def release(self, cpu_pmu, hw_events, event) -> None:
        """Kernel: armv8pmu_clear_event_idx. Default: release the counter(s).

        Same CPU and time as ``clear_event_idx``; may update ``hw_events`` and the design's own
        bookkeeping (v8 sets dirty bits here) and write this CPU's registers.
        """
        cpu_pmu.ops.clear_event_idx(hw_events, event)

    # --- helpers for designs ---------------------------------------------------------------------
    @staticmethod
    def _is_live(cpu_pmu, hw_events) -> bool:
        """True for a CPU's real ``pmu_hw_events`` (False for validate_group's fake one)."""
        return any(hw_events is h for h in cpu_pmu.hw_events.values())

    def _traced(self) -> bool:
        """Whether ``_record`` may record anything (off: the trace fields need not be built)."""
        return self.tracing or type(self)._record is not Design._record

    def _record(self, cpu_pmu, kind: str, **fields) -> None:
        record = getattr(cpu_pmu.kernel, "record", None)
        if self.tracing and record is not None:
            record(kind, cpu=cpu_pmu.kernel.this_cpu(), **fields)

    def clear_counters(self, cpu_pmu, idxs, why: str) -> None:
        """Zero the counters ``idxs`` on this CPU (idx 0 = PMCCNTR_EL0) and trace it.

        The ``counter_clear`` row names the idxs that were in ``used_mask`` at that moment
        (``live``): a non-empty ``live`` is a destroyed count (spec §7 S7).
        """
        idxs = sorted(idxs)
        if not idxs:
            return
        used = cpu_pmu.this_hw_events().used_mask
        for idx in idxs:
            cpu_pmu.ops.clear_counter(idx)
        self._record(cpu_pmu, "counter_clear", idxs=idxs, live=[i for i in idxs if used >> i & 1], why=why)

    def expected_access(self, cpu_pmu, cpu: int) -> bool | None:
        """What this design's own bookkeeping says PMUSERENR_EL0 access should be on ``cpu`` now.

        Used by the lab's invariant checks, never by the kernel paths. None: the design makes
        no such promise. Called with ``this_cpu() == cpu``; must not change anything.
        Returns a bool or None.
        """
        return None

    def event_mapped(self, cpu_pmu, event, mm) -> None:
        """``pmu->event_mapped``: runs in the mmap() caller's context, on its CPU. Default: nothing.

        When: every mmap() of the event's fd (``event.mmap_count`` already counts it), by ANY task
        holding the fd -- not necessarily the event's task (spec S3, Mark Rutland's point 2).
        CPU: the caller's; to act on the event's own CPU use ``cpu_pmu.core.event_function_call``.
        ``mm`` is the caller's address space.
        """

    def event_unmapped(self, cpu_pmu, event, mm) -> None:
        """``pmu->event_unmapped``: runs in the munmap() caller's context. Default: nothing.

        When: every munmap() (also exec/exit dropping the mapping), before ``mmap_count`` drops.
        CPU: the caller's (spec S4); same rules as ``event_mapped``.
        """

    def start(self, cpu_pmu) -> None:
        """Called by ``armv8pmu_start`` before PMCR_EL0.E is set. Default: PMUSERENR_EL0 untouched.

        When: ``armpmu_enable`` (``perf_pmu_enable``) on a CPU with at least one counter in
        ``used_mask`` -- after context switches, add/del batches, ioctls and overflow IRQs; never
        while the PMU is idle (spec S13). CPU: that one; ``task_ctx(this_cpu)`` is the incoming
        task's context. May write this CPU's PMUSERENR_EL0/PMUACR_EL1 and counters.
        """

    def stop(self, cpu_pmu) -> None:
        """Called by ``armv8pmu_stop`` after PMCR_EL0.E is cleared. Default: nothing.

        When: ``armpmu_disable`` (``perf_pmu_disable``), e.g. at the start of every sched-out and
        around add/del batches, even with no counter in use. CPU: that one; may write its
        registers.
        """

    def user_event_idx(self, cpu_pmu, event) -> int:
        """``pmu->event_idx``: the user page index of an ACTIVE event (0 = none). Default: 0.

        When: ``perf_event_update_userpage`` (add/del, overflow, ioctl, mmap). CPU: the event's.
        Must not write registers. Returns an int 0..32 (idx, 32 = the cycle counter).
        """
        return 0

    def arch_update_userpage(self, cpu_pmu, event, page, now: int) -> None:
        """``arch_perf_update_userpage``. Default (v5.16 arm64): time fields only, no rdpmc capability.

        When: right after ``user_event_idx``, inside the page's seqlock. May write ``page``
        fields (``cap_user_rdpmc``, ``pmc_width``, time fields) only.
        """
        cpu_pmu.ops.update_userpage_time(page, now)

    def sysctl_write(self, kernel, name: str, old: int, new: int) -> None:
        """After a sysctl write stored ``new`` (was ``old``). Default: nothing.

        When: a root write of ``kernel.perf_user_access`` (the proc handler). CPU: the writer's;
        other CPUs only through ``kernel.smp_call`` (IPIs).
        """

    def el0_trap(self, cpu_pmu, task, reg: str, write: bool) -> bool:
        """An EL0 ``mrs`` (``write`` False) / ``msr`` of ``reg`` by ``task`` trapped on its CPU.

        Runs as kernel code on that CPU (``cpu_pmu`` serves it): an undefined-instruction hook.
        May write that CPU's registers (grant access lazily). Return a bool: True if handled
        (the instruction is re-executed), False for SIGILL. Default: False.
        """
        return False
