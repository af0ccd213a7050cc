"""The explorer's vocabulary: the operations a small machine can take, and the world they act on.

Models: each operation is one thing a task or the hardware does at a single instant, executed
through the same entry points as ``pmulab.sim.ops`` and the Task API (design.md §2):

- ``open A B`` / ``open C cpu0``: task A calls perf_event_open on task B (pid = B's pid, cpu -1),
  or on CPU 0 (pid -1, cpu 0) (Kernel: sys_perf_event_open); the event is named ``A:B`` / ``C:cpu0``.
- ``mmap A ev``, ``munmap A ev``, ``close A ev``: Kernel: perf_mmap, perf_mmap_close, perf_release
  (close is offered on unmapped events only, so the last reference goes with the fd).
- ``enable|disable|reset A ev``: ioctl(PERF_EVENT_IOC_ENABLE/DISABLE/RESET) (Kernel: perf_ioctl).
- ``tick``: one 4 ms timer tick of ``Machine.run`` (workloads count, IRQs, scheduler tick).
- ``switch c T``: CPU c context-switches to T (Kernel: __schedule -> context_switch).
- ``migrate T c``: T moves to CPU c (Kernel: migration_cpu_stop / move_queued_task).
- ``block T`` / ``wake T``: T sleeps / is woken (Kernel: __schedule, try_to_wake_up).
- ``readloop A ev``: one visible step of A's self-monitoring read loop on its mapping of ev
  (``pmulab.user.ReadLoop``): the page reads (lock, times, index, offset), the ``mrs``, or the
  lock re-check. Adjacent page reads are one step: a page update between them changes ``lock``
  and is caught by the re-check exactly as an update just after them would be.
- ``irq c``: an overflow interrupt on CPU c: the overflow flags of every counter in use are set
  through PMUSERENR-independent PMOVSSET_EL0 at EL1 (Arm ARM: writing 1 sets the overflow bit and,
  with PMINTENSET, asserts the interrupt request), then the kernel's IRQ path runs as in phase 3
  of ``Machine.run`` (Kernel: armv8pmu_handle_irq).
- ``sysctl kernel.perf_user_access v``: a root write of the sysctl (Kernel: proc handler).

The machine runs with a 1-tick timeslice (every tick rotates a CPU's run queue), so the
remaining timeslice never tells two states apart.
(The machine and its World: ``pmulab.sim.explore_world``; applying an operation:
``pmulab.sim.explore_apply``; both re-exported here.)
Operations are tuples (hashable, cheap); ``as_step`` turns one into the dict form of
``pmulab.sim.ops`` steps and ``describe`` into a sentence.
Omits: fork/exec/exit, groups, sampling attrs, fd passing (a task uses only fds it opened).
Pinned to: Linux v5.17 system-call semantics (the Machine's).
"""

from __future__ import annotations

from typing import Any

from .explore_apply import apply_op, true_count
from .explore_world import _IOCTLS, ATTRS, DEFAULT_OPS, OP_KINDS, ExploreConfig, TaskSpec, World
from .explore_world import WORKLOAD as WORKLOAD

__all__ = ["OP_KINDS", "DEFAULT_OPS", "ATTRS", "ExploreConfig", "World", "enabled_ops", "apply_op", "as_step",
           "from_step", "describe", "true_count", "TaskSpec"]


def _runnable(task: Any) -> bool:
    return task.state == "runnable"


def enabled_ops(w: World) -> list[tuple]:
    """The operations of the vocabulary that make sense in ``w`` (deterministic order).

    Operations of a blocked task are left out (it cannot execute anything); opens are offered
    on the targets the permission rules allow at perf_event_paranoid 2 (self; another task of
    the same uid or any task for root; a CPU for root), one live event per name.
    """
    c, out = w.config, []
    kinds = set(c.ops)
    names = list(w.tasks)
    runnable = [n for n in names if _runnable(w.tasks[n])]
    if "open" in kinds and len(w.events) < c.max_events:
        for a in runnable:
            ta = w.tasks[a]
            for b in names:
                kind = "self" if a == b else "other"
                if kind not in c.targets or w.tasks[b].state == "exited":
                    continue
                if kind == "other" and ta.uid != 0 and ta.uid != w.tasks[b].uid:
                    continue
                if f"{a}:{b}" not in w.events:
                    out.append(("open", a, b))
            if "cpu" in c.targets and ta.uid == 0:
                for cpu in range(c.cpus):
                    if f"{a}:cpu{cpu}" not in w.events:
                        out.append(("open", a, f"cpu{cpu}"))
    for ev in w.events:
        a = w.owner(ev)
        if not _runnable(w.tasks[a]):
            continue
        mapped = ev in w.pages
        if "mmap" in kinds and not mapped:
            out.append(("mmap", a, ev))
        if "munmap" in kinds and mapped:
            out.append(("munmap", a, ev))
        if "close" in kinds and not mapped:
            out.append(("close", a, ev))
        for k in ("enable", "disable", "reset"):
            if k in kinds:
                out.append((k, a, ev))
        if "readloop" in kinds and mapped:
            out.append(("readloop", a, ev))
    if "tick" in kinds:
        out.append(("tick",))
    sched = w.m.sched
    for n in names:
        t = w.tasks[n]
        if "switch" in kinds and _runnable(t) and not sched.is_running(t):
            out.append(("switch", t.cpu, n))
        if "migrate" in kinds and t.state != "exited":
            for cpu in range(c.cpus):
                if cpu != t.cpu:
                    out.append(("migrate", n, cpu))
        if "block" in kinds and _runnable(t):
            out.append(("block", n))
        if "wake" in kinds and t.state == "blocked":
            out.append(("wake", n))
    if "irq" in kinds:
        for cpu in range(c.cpus):
            if w.m.pmu_of(cpu).hw_events[cpu].used_mask:
                out.append(("irq", cpu))
    if "sysctl" in kinds:
        v = w.m.sysctl("kernel.perf_user_access")
        out.append(("sysctl", "kernel.perf_user_access", 1 - v if v in (0, 1) else 0))
    return out


def as_step(op: tuple) -> dict[str, Any]:
    """The operation as a step dict (the ``pmulab.sim.ops`` field names where the op exists there)."""
    kind = op[0]
    if kind == "open":
        a, b = op[1], op[2]
        step = {"op": "open", "task": a, "ev": f"{a}:{b}"}
        if b.startswith("cpu"):
            step.update(pid=-1, cpu=int(b[3:]))
        else:
            step.update(pid="self" if a == b else b, cpu=-1)
        return step
    if kind in ("mmap", "munmap", "close", "readloop"):
        return {"op": kind, "task": op[1], "ev": op[2]}
    if kind in _IOCTLS:
        return {"op": "ioctl", "task": op[1], "ev": op[2], "request": kind.upper()}
    if kind == "tick":
        return {"op": "run", "ticks": 1}
    if kind == "switch":
        return {"op": "switch", "cpu": op[1], "task": op[2]}
    if kind == "migrate":
        return {"op": "migrate", "task": op[1], "cpu": op[2]}
    if kind in ("block", "wake"):
        return {"op": kind, "task": op[1]}
    if kind == "irq":
        return {"op": "irq", "cpu": op[1]}
    if kind == "sysctl":
        return {"op": "sysctl", "name": op[1], "value": op[2]}
    raise ValueError(f"unknown operation {op!r}; valid kinds: {list(OP_KINDS)}")


def from_step(step: dict[str, Any]) -> tuple:
    """Inverse of ``as_step``."""
    kind = step["op"]
    if kind == "open":
        pid = step.get("pid")
        target = f"cpu{step['cpu']}" if pid == -1 else (step["task"] if pid == "self" else pid)
        return ("open", step["task"], target)
    if kind in ("mmap", "munmap", "close", "readloop"):
        return (kind, step["task"], step["ev"])
    if kind == "ioctl":
        return (step["request"].lower().removeprefix("perf_event_ioc_"), step["task"], step["ev"])
    if kind == "run":
        return ("tick",)
    if kind == "switch":
        return ("switch", step["cpu"], step["task"])
    if kind == "migrate":
        return ("migrate", step["task"], step["cpu"])
    if kind in ("block", "wake"):
        return (kind, step["task"])
    if kind == "irq":
        return ("irq", step["cpu"])
    if kind == "sysctl":
        return ("sysctl", step["name"], step["value"])
    raise ValueError(f"unknown step {step!r}")


def describe(op: tuple) -> str:
    """One sentence for a story."""
    kind = op[0]
    if kind == "open":
        a, b = op[1], op[2]
        on = "itself" if a == b else (f"CPU {b[3:]} (CPU-bound)" if b.startswith("cpu") else f"task {b}")
        return f"{a} opens event {a}:{b} on {on}"
    if kind in ("mmap", "munmap", "close"):
        return f"{op[1]} {kind}s {op[2]}"
    if kind in _IOCTLS:
        return f"{op[1]} ioctl({_IOCTLS[kind]}) on {op[2]}"
    if kind == "readloop":
        return f"{op[1]} takes one step of its read loop on {op[2]}"
    if kind == "tick":
        return "one timer tick passes"
    if kind == "switch":
        return f"CPU {op[1]} switches to {op[2]}"
    if kind == "migrate":
        return f"{op[1]} migrates to CPU {op[2]}"
    if kind in ("block", "wake"):
        return f"{op[1]} {'blocks' if kind == 'block' else 'is woken'}"
    if kind == "irq":
        return f"overflow interrupt on CPU {op[1]}"
    if kind == "sysctl":
        return f"root writes {op[2]} to {op[1]}"
    return repr(op)
