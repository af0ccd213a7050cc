"""Invariants the explorer checks after every operation (spec §7 "Model invariants", design.md §5).

Each invariant is a predicate over an explored ``World`` (``pmulab.sim.explore_ops``) right
after one operation; it returns None when it holds, or one sentence saying what is wrong.

- ``accounting``: v8's intended invariant, as the design itself states it
  (``Design.expected_access``): PMUSERENR_EL0 grants EL0 counter reads on CPU c iff the
  design's bookkeeping says the context active there has user access. Violated by spec S3/S4
  on v8 (mmap/munmap account on the caller's CPU, Kernel: armv8pmu_event_mapped). Designs that
  promise nothing at a moment (``expected_access`` None, e.g. v5.17 with no counter in use)
  are not checked then.
- ``no_destroyed_counts``: no counter holding a live event is overwritten by the user-access
  code: no ``counter_clear`` trace row with a non-empty ``live`` list (Design.clear_counters),
  and no ACTIVE event whose counter is >= 2^30 away from its ``prev_count`` (spec S7, v8's
  ``bitmap_xor``; Kernel: armv8pmu_enable_user_access).
- ``no_stale_access``: EL0 may read counters on CPU c only while the task current there has a
  user-read event in its perf context (spec S13: after the last counter is released,
  ``armpmu_enable`` does not call ``armv8pmu_start`` and PMUSERENR_EL0 stays ER|CR).
- ``no_foreign_reads``: every counter in use that the task current on CPU c can read at EL0
  (tried with the hardware's own access rules, PMUSERENR_EL0 and, on PMUv3p9, PMUACR_EL1/UEN)
  reads 0 or holds an event of that task's own context that it opened or that was opened
  user-readable. A CPU-bound event (S1), an administrator's event on the task (S2) or another
  task's event is a foreign read -- the leak kinds cpu_bound, foreign_owner, other_task of
  ``pmulab.scenarios.leaks`` as a state predicate.
- ``no_stale_reads``: no released counter readable at EL0 holds a non-zero value last written
  by another task's (or a CPU-bound) event (S13; the leak kind ``stale``; the reader's own last
  value is ``own_stale``, not a leak). Ownership comes from the ``counter_claim`` trace rows.
  Root readers are not checked (perfmon_capable may read any count). Per-counter access under
  PMUv3p9 is designed to make it hold.
- ``read_self``: when a read loop returns a value (lock unchanged), it equals what read() would
  have returned at the loop's ``mrs`` (spec §4; violated by S3's reader on the wrong CPU and by
  S14's zero-extended ``prev_count`` after IOC_RESET).
- ``userpage``: while an event is ACTIVE and its page shows a non-zero index, the index names
  the event's counter and ``offset + sext(counter, pmc_width)`` equals the count (spec §3.7;
  Kernel: perf_event_update_userpage; violated by S14).

``INVARIANTS`` maps names to ``Invariant`` objects; ``check(world, names)`` returns
``{name: message}`` for the violated ones.
Omits: liveness properties (e.g. a loop retrying forever).
Pinned to: spec/kernel-model.md §7 (invariants), §2.9-2.10, §3.7, §4.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from types import MappingProxyType
from typing import Any

from pmulab.errors import IllegalInstruction

__all__ = ["Invariant", "INVARIANTS", "check", "resolve_names"]

_U64 = (1 << 64) - 1


@dataclass(frozen=True)
class Invariant:
    """A named predicate: ``check(world) -> None | str`` (the violation, in one sentence)."""

    name: str
    doc: str
    check: Callable[[Any], str | None]


def _new_rows(world: Any, kind: str) -> list[dict]:
    """Trace action rows of ``kind`` recorded since ``world.trace_mark``."""
    acts = world.m.trace._actions
    out = []
    for i in range(world.trace_mark, len(acts["kind"])):
        if acts["kind"][i] == kind:
            out.append(acts["details"][i])
    return out


def _granted(hw: Any) -> bool:
    from pmulab.hw.sysregs import PMUSERENR

    v = hw.mrs(PMUSERENR.name)
    return any(v & PMUSERENR[b].mask for b in ("EN", "ER", "CR", "UEN"))


def accounting(world: Any) -> str | None:
    m = world.m
    for cpu in range(m.ncpus):
        pmu = m.pmu_of(cpu)
        with m.on_cpu(cpu):
            want = m.design.expected_access(pmu, cpu)
        if want is None:
            continue
        have = _granted(m.cpu(cpu))
        if have != bool(want):
            ctx = pmu.task_ctx(cpu)
            who = getattr(getattr(ctx, "task", None), "name", None)
            return (f"CPU {cpu}: PMUSERENR_EL0 {'grants' if have else 'denies'} EL0 access but the design's "
                    f"accounting says {'yes' if want else 'no'} (task context on CPU {cpu}: {who or 'none'})")
    return None


def no_destroyed_counts(world: Any) -> str | None:
    from pmulab.perf.api import HES, EventState

    from .explore_state import DESTROYED

    for row in _new_rows(world, "counter_clear"):
        if row.get("live"):
            return f"the user-access code zeroed counter idx {row['live']} while in use ({row.get('why')})"
    m = world.m
    for ev, e in world.events.items():
        if e.state == EventState.ACTIVE and not e.hw.state & HES.STOPPED and e.hw.idx >= 0:
            with m.on_cpu(e.oncpu):
                raw = e.pmu.ops.read_counter(e)
            delta = (raw - e.hw.prev_count) & e.pmu.max_period(e)
            if delta >= DESTROYED:
                return f"{ev}: counter idx {e.hw.idx} is {delta:#x} past prev_count: its count was destroyed"
    return None


def _user_read_ctx(task: Any) -> bool:
    ctx = getattr(task, "perf_ctx", None)
    return ctx is not None and any(e.has_user_read for e in ctx.event_list)


def no_stale_access(world: Any) -> str | None:
    m = world.m
    for cpu in range(m.ncpus):
        t = m.sched.curr[cpu]
        if t is None or not _granted(m.cpu(cpu)):
            continue
        if not _user_read_ctx(t):
            return f"CPU {cpu}: PMUSERENR_EL0 grants EL0 counter reads to {t.name}, which has no user-read event"
    return None


def _readable(hw: Any, counters: int) -> list[tuple[int, int]]:
    """(counter number, value) of each counter EL0 can read on this CPU (hardware rules)."""
    out = []
    for n in [*range(counters), 31]:
        reg = "PMCCNTR_EL0" if n == 31 else f"PMEVCNTR{n}_EL0"
        try:
            out.append((n, hw.mrs(reg, el=0)))
        except IllegalInstruction:
            continue
    return out


def _reads(world: Any):
    """(cpu, reader, counter number, value, event or None, idx) of every non-zero counter a
    non-root task current on a CPU can read at EL0."""
    from pmulab.drivers.arm_pmuv3 import idx_of

    m = world.m
    for cpu in range(m.ncpus):
        t = m.sched.curr[cpu]
        if t is None or t.uid == 0:
            continue
        pmu = m.pmu_of(cpu)
        hwe = pmu.hw_events[cpu]
        for n, value in _readable(m.cpu(cpu), pmu.num_events - 1):
            if value:
                idx = idx_of(n)
                yield cpu, t, n, value, (hwe.events[idx] if hwe.is_used(idx) else None), idx


def no_foreign_reads(world: Any) -> str | None:
    for cpu, t, n, value, ev, _ in _reads(world):
        if ev is None:
            continue
        if ev.ctx is not None and ev.ctx is t.perf_ctx and (ev.owner is t or ev.has_user_read):
            continue  # the reader's own event, or one its opener made user-readable (S15: "granted")
        whose = "CPU-bound" if ev.target is None else f"on task {ev.target.name}, opened by {ev.owner.name}"
        return f"CPU {cpu}: {t.name} (uid {t.uid}) can read counter {n} = {value:#x}: {world.label(ev)} ({whose})"
    return None


def no_stale_reads(world: Any) -> str | None:
    for cpu, t, n, value, ev, idx in _reads(world):
        if ev is not None:
            continue
        last = world.last_owner.get((cpu, idx))
        if last == t.name:
            continue  # the reader's own last value (own_stale)
        return (f"CPU {cpu}: {t.name} (uid {t.uid}) can read released counter {n} = {value:#x}, "
                f"the frozen count of {'a CPU-bound event' if last == 'cpu' else f'task {last}'}")
    return None


def read_self(world: Any) -> str | None:
    for o in world.obs:
        if o.get("result") == "value" and o.get("expected") is not None and o["value"] != o["expected"]:
            return (f"{o['task']}'s read loop on {o['ev']} returned {o['value']:#x} but read() gave "
                    f"{o['expected']:#x} at its mrs")
    return None


def userpage(world: Any) -> str | None:
    from pmulab.drivers.arm_pmuv3 import count_register, counter_of, user_index_of
    from pmulab.perf.api import HES, EventState
    from pmulab.user import extend

    from .explore_ops import true_count

    m = world.m
    for ev, page in world.pages.items():
        e = world.events.get(ev)
        if e is None or e.state != EventState.ACTIVE or e.hw.state & HES.STOPPED or not page.index:
            continue
        if page.index != user_index_of(e.hw.idx):
            return f"{ev}: page index {page.index} but the event is on idx {e.hw.idx}"
        raw = m.cpu(e.oncpu).mrs(count_register(counter_of(e.hw.idx)))
        got = (page.offset + extend(raw, page.pmc_width)) & _U64
        want = true_count(m, e)
        if got != want:
            return f"{ev}: offset + counter = {got:#x} but the count is {want:#x} (page inconsistent while ACTIVE)"
    return None


#: name -> Invariant (read-only).
INVARIANTS = MappingProxyType({inv.name: inv for inv in (
    Invariant("accounting", "PMUSERENR_EL0 agrees with the design's accounting (v8's intended invariant)", accounting),
    Invariant("no_destroyed_counts", "the user-access code never overwrites a live counter (S7)", no_destroyed_counts),
    Invariant("no_stale_access", "EL0 access only while the current task has user-read events (S13)",
              no_stale_access),
    Invariant("no_foreign_reads", "EL0 reads no live count but the current task's own (S1, S2, S3 leaks)",
              no_foreign_reads),
    Invariant("no_stale_reads", "EL0 reads no frozen count another task left in a released counter (S13 leak)",
              no_stale_reads),
    Invariant("read_self", "a read loop's value equals read() at its mrs", read_self),
    Invariant("userpage", "the user page matches the hardware while the event is ACTIVE (S14)", userpage),
)})


def resolve_names(names: Any) -> tuple[str, ...]:
    """Validate invariant names (None: all); ValueError listing the valid names."""
    if names is None:
        return tuple(INVARIANTS)
    if isinstance(names, str):
        names = (names,)
    names = tuple(names)
    bad = [n for n in names if n not in INVARIANTS]
    if bad:
        raise ValueError(f"unknown invariant(s) {bad}; valid names: {list(INVARIANTS)}")
    return names


def check(world: Any, names: Any = None) -> dict[str, str]:
    """``{name: message}`` of the invariants in ``names`` (None: all) that ``world`` violates."""
    out = {}
    for n in resolve_names(names):
        msg = INVARIANTS[n].check(world)
        if msg is not None:
            out[n] = msg
    return out
