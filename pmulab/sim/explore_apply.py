"""Applying the explorer's operations (``pmulab.sim.explore_ops``) to a World.

Models: each operation executed through the Task API and the Machine at a single instant (design.md
§2): the system calls, scheduling, one visible step of a self-monitoring read loop
(``pmulab.user.ReadLoop``) and an overflow interrupt raised through PMOVSSET_EL0 at EL1; and
``true_count``, what read() would return at an instant, read without changing anything.
Omits: what ``pmulab.sim.explore_ops`` omits.
Pinned to: Linux v5.17 system-call semantics (the Machine's).
"""

from __future__ import annotations

from typing import Any

from pmulab.errors import IllegalInstruction, PerfError

from .explore_world import _IOCTLS, ATTRS, OP_KINDS, World

__all__ = ["apply_op", "true_count"]

_U64 = (1 << 64) - 1


class _Loop:
    """A read loop in flight and what the reader should get (the count at its ``mrs``)."""

    def __init__(self, loop: Any):
        self.loop = loop
        self.expected: int | None = None


def _attr(w: World, target: str):
    from pmulab.uapi import PerfEventAttr

    return PerfEventAttr(**ATTRS[w.config.cpu_attr if target.startswith("cpu") else w.config.attr])


def apply_op(w: World, op: tuple) -> str | None:
    """Execute ``op`` on ``w``; return the errno name of a refused system call (else None).

    Misuse (an op naming a task or event that does not exist) raises ValueError.
    """
    w.obs = []
    try:
        return _apply(w, op)
    finally:
        w.note_claims()


def _apply(w: World, op: tuple) -> str | None:
    from pmulab.uapi import ioctl as uioctl

    kind, m = op[0], w.m
    try:
        if kind == "open":
            a, b = op[1], op[2]
            t = _task(w, a)
            ev = f"{a}:{b}"
            if ev in w.events:
                raise ValueError(f"event {ev} is already open")
            if b.startswith("cpu"):
                fd = t.perf_event_open(_attr(w, b), pid=-1, cpu=int(b[3:]))
            else:
                fd = t.perf_event_open(_attr(w, b), pid=0 if a == b else _task(w, b).pid, cpu=-1)
            w.fds[ev] = fd
            w.events[ev] = t.fds[fd]
            return None
        if kind in ("mmap", "munmap", "close", "enable", "disable", "reset", "readloop"):
            a, ev = op[1], op[2]
            t = _task(w, a)
            if ev not in w.fds:
                raise ValueError(f"no open event {ev}")
            fd = w.fds[ev]
            if kind == "mmap":
                w.pages[ev] = t.mmap(fd)
            elif kind == "munmap":
                t.munmap(fd)
                w.pages.pop(ev, None)
                w.loops.pop(ev, None)
            elif kind == "close":
                if ev in w.pages:
                    raise ValueError(f"{ev} is mapped: the explorer's tasks munmap before close")
                t.close(fd)
                del w.fds[ev]
                del w.events[ev]
            elif kind == "readloop":
                _readloop(w, t, ev)
            else:
                t.ioctl(fd, getattr(uioctl, _IOCTLS[kind]))
            return None
        if kind == "tick":
            m.run(1)
            return None
        if kind == "switch":
            m.switch_to(op[1], _task(w, op[2]))
            return None
        if kind == "migrate":
            m.migrate(_task(w, op[1]), op[2])
            return None
        if kind == "block":
            _task(w, op[1]).block()
            return None
        if kind == "wake":
            _task(w, op[1]).wake()
            return None
        if kind == "irq":
            _irq(w, op[1])
            return None
        if kind == "sysctl":
            m.sysctl(op[1], op[2])
            return None
    except PerfError as exc:
        return exc.name
    raise ValueError(f"unknown operation {op!r}; valid kinds: {list(OP_KINDS)}")


def _task(w: World, name: str) -> Any:
    try:
        return w.tasks[name]
    except KeyError:
        raise ValueError(f"unknown task {name!r}; tasks: {list(w.tasks)}") from None


def true_count(m: Any, event: Any) -> int:
    """What read() would return now: ``count`` plus, while the event is on a counter, the
    not-yet-folded delta ``(raw - prev_count) & max_period`` (Kernel: armpmu_event_update), read
    without changing anything."""
    from pmulab.perf.api import HES, EventState

    count = event.count
    if event.state == EventState.ACTIVE and not event.hw.state & HES.STOPPED and event.hw.idx >= 0:
        pmu = event.pmu
        with m.on_cpu(event.oncpu):
            raw = pmu.ops.read_counter(event)
        count += (raw - event.hw.prev_count) & pmu.max_period(event)
    return (count + event.child_count) & _U64


def _readloop(w: World, t: Any, ev: str) -> None:
    """One visible step of t's read loop on its page of ev (page reads as t, on its CPU)."""
    from pmulab.user import ReadLoop

    page = w.pages.get(ev)
    if page is None:
        raise ValueError(f"{ev} is not mapped")
    st = w.loops.get(ev)
    if st is None:
        st = w.loops[ev] = _Loop(ReadLoop(t, page, variant="documented", clock=None, scale=False))
    loop = st.loop
    with w.m.enter(t, "readloop", record=False):
        if loop.next_step == "mrs":
            st.expected = true_count(w.m, w.events[ev])
            try:
                loop.step()
            except IllegalInstruction as exc:
                w.loops.pop(ev)
                w.obs.append({"kind": "read_self", "ev": ev, "task": t.name, "result": "trap", "why": str(exc)})
            return
        if loop.next_step == "recheck":
            loop.step()
        else:
            while not loop.done and loop.next_step not in ("mrs", "recheck"):
                loop.step()
        if loop.done:
            w.loops.pop(ev)
            if loop.fallback:
                w.obs.append({"kind": "read_self", "ev": ev, "task": t.name, "result": "fallback"})
            else:
                w.obs.append({"kind": "read_self", "ev": ev, "task": t.name, "result": "value",
                              "value": loop.result, "expected": st.expected,
                              "read": true_count(w.m, w.events[ev]) if ev in w.events else None})


def _irq(w: World, cpu: int) -> None:
    """Raise the overflow flags of the counters in use on ``cpu`` and run the kernel IRQ path."""
    from pmulab.drivers.arm_pmuv3 import counter_bit, counter_of

    m = w.m
    pmu = m.pmu_of(cpu)
    used = pmu.hw_events[cpu].used_mask
    mask = 0
    for idx in range(pmu.num_events):
        if used >> idx & 1:
            mask |= counter_bit(counter_of(idx))
    if not mask:
        raise ValueError(f"no counter in use on CPU {cpu}")
    with m.on_cpu(cpu):
        m.cpu(cpu).msr("PMOVSSET_EL0", mask, el=1)
        m.record("irq", cpu=cpu)
        pmu.handle_irq(cpu)
