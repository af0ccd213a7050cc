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

    One instance serves every ``ArmPmu`` of a machine (big.LITTLE has several), so per-PMU
    state belongs on ``cpu_pmu`` or in a dict keyed by it. All hooks run with
    ``cpu_pmu.kernel.this_cpu()`` = the CPU the kernel would run them on.
    """

    #: Registry name (``Machine(design=name)``).
    name = "none"
    #: ``pmu->sched_task(cpu_pmu, ctx, sched_in)`` or None: a design that needs context-switch
    #: callbacks defines a method of that name; the core calls it only while
    #: ``cpu_pmu.sched_cb_usage`` (or its per-CPU count) is non-zero.
    sched_task = None
    #: Counter-ownership tracepoints (``counter_claim``/``counter_release``/``counter_clear`` rows
    #: in the machine's trace), off by default like an ftrace event; the scenarios switch them on
    #: (``machine.design.tracing = True``) for the leak analysis.
    tracing = False

    def __repr__(self) -> str:
        return f"<design {self.name}>"

    def map_event(self, cpu_pmu, event, hw_event_id: int) -> None:
        """Apply the config1 rules during ``__armv8_pmuv3_map_event``; raise PerfError to refuse.

        May set ``event.hw.flags`` (``EVT_64BIT``, ``FLAG_USER_READ_CNT``). ``hw_event_id`` is
        the mapped event number, or -errno if the generic maps failed (checked after this hook).
        Default (v5.16): 64-bit if config1 ``long``; ``rdpmc`` ignored.
        """
        if evmap.is_64bit(event.attr):
            event.hw.flags |= EVT_64BIT

    def get_event_idx(self, cpu_pmu, hw_events, event) -> int:
        """``arm_pmu->get_event_idx``: a perf idx or -EAGAIN (template: ``allocate``, then trace).

        Override ``allocate`` (not this method) so that the lab's trace keeps recording which
        event holds which counter (``counter_claim`` rows, read by the leak analysis).
        """
        before = hw_events.used_mask
        idx = self.allocate(cpu_pmu, hw_events, event)
        if idx >= 0 and self._is_live(cpu_pmu, hw_events):
            self._record(cpu_pmu, "counter_claim", event=event, idx=idx,
                         idxs=_bits(hw_events.used_mask & ~before), **_who(event))
        return idx

    def allocate(self, cpu_pmu, hw_events, event) -> int:
        """Kernel: armv8pmu_get_event_idx. Default: the v5.17 allocator."""
        return cpu_pmu.ops.get_event_idx(hw_events, event)

    def clear_event_idx(self, cpu_pmu, hw_events, event) -> None:
        """``arm_pmu->clear_event_idx`` (template: ``release``, then trace ``counter_release``)."""
        before = hw_events.used_mask
        self.release(cpu_pmu, hw_events, event)
        if self._is_live(cpu_pmu, hw_events):
            self._record(cpu_pmu, "counter_release", event=event, idx=event.hw.idx,
                         idxs=_bits(before & ~hw_events.used_mask))

    def release(self, cpu_pmu, hw_events, event) -> None:
        """Kernel: armv8pmu_clear_event_idx. Default: release the counter(s)."""
        cpu_pmu.ops.clear_event_idx(hw_events, event)

    # --- helpers for designs ---------------------------------------------------------------------
    @staticmethod
    def _is_live(cpu_pmu, hw_events) -> bool:
        """True for a CPU's real ``pmu_hw_events`` (False for validate_group's fake one)."""
        return any(hw_events is h for h in cpu_pmu.hw_events.values())

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
        no such promise. Called with ``this_cpu() == cpu``.
        """
        return None

    def event_mapped(self, cpu_pmu, event, mm) -> None:
        """``pmu->event_mapped``: runs in the mmap() caller's context, on its CPU. Default: nothing."""

    def event_unmapped(self, cpu_pmu, event, mm) -> None:
        """``pmu->event_unmapped``: runs in the munmap() caller's context. Default: nothing."""

    def start(self, cpu_pmu) -> None:
        """Called by ``armv8pmu_start`` before PMCR_EL0.E is set. Default: PMUSERENR_EL0 untouched."""

    def stop(self, cpu_pmu) -> None:
        """Called by ``armv8pmu_stop`` after PMCR_EL0.E is cleared. Default: nothing."""

    def user_event_idx(self, cpu_pmu, event) -> int:
        """``pmu->event_idx``: the user page index of an ACTIVE event (0 = none). Default: 0."""
        return 0

    def arch_update_userpage(self, cpu_pmu, event, page, now: int) -> None:
        """``arch_perf_update_userpage``. Default (v5.16 arm64): time fields only, no rdpmc capability."""
        cpu_pmu.ops.update_userpage_time(page, now)

    def sysctl_write(self, kernel, name: str, old: int, new: int) -> None:
        """After a sysctl write stored ``new`` (was ``old``). Default: nothing."""

    def el0_trap(self, cpu_pmu, task, reg: str, write: bool) -> bool:
        """An EL0 ``mrs`` (``write`` False) / ``msr`` of ``reg`` by ``task`` trapped on its CPU.

        Runs as kernel code on that CPU (``cpu_pmu`` serves it): an undefined-instruction hook.
        Return True if handled (the instruction is re-executed), False for SIGILL. Default: False.
        """
        return False
