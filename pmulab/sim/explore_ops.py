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
Operations are tuples (hashable, cheap); ``as_step`` turns one into the dict form of
``pmulab.sim.ops`` steps and ``describe`` into a sentence.
Omits: fork/exec/exit, groups, sampling attrs, fd passing (a task uses only fds it opened).
Pinned to: Linux v5.17 system-call semantics (the Machine's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from pmulab.errors import IllegalInstruction, PerfError

__all__ = ["OP_KINDS", "DEFAULT_OPS", "ATTRS", "ExploreConfig", "World", "enabled_ops", "apply_op", "as_step",
           "from_step", "describe", "true_count", "TaskSpec"]

#: Operation kinds of the vocabulary, in the order they are tried (``ExploreConfig.ops`` selects).
OP_KINDS = ("open", "mmap", "munmap", "close", "enable", "disable", "reset", "tick", "switch", "migrate",
            "block", "wake", "readloop", "irq", "sysctl")
#: The default vocabulary: the system calls and scheduling that Mark's point 2 and S13 need.
#: (The full ``OP_KINDS`` triples the states per level; pass ``ops=OP_KINDS`` for it.)
DEFAULT_OPS = ("open", "mmap", "munmap", "close", "tick", "switch", "block", "wake")
_IOCTLS = {"enable": "PERF_EVENT_IOC_ENABLE", "disable": "PERF_EVENT_IOC_DISABLE", "reset": "PERF_EVENT_IOC_RESET"}

#: Named perf_event_attr field sets (PERF_TYPE_HARDWARE; config 1 = INSTRUCTIONS, 0 = CPU_CYCLES).
#: ``rdpmc``: 32-bit user-read request (config1 bit 1), the review's event; ``plain``: no user
#: access (what a root CPU-bound counter such as ``perf stat -a`` uses).
ATTRS = {
    "rdpmc": {"type": 0, "config": 1, "config1": 2, "exclude_kernel": 1},
    "plain": {"type": 0, "config": 1, "config1": 0, "exclude_kernel": 1},
    "cycles": {"type": 0, "config": 0, "config1": 2, "exclude_kernel": 1},
}
#: Workload of every explored task (events per tick at EL0).
WORKLOAD = {"CPU_CYCLES": 1000, "INST_RETIRED": 800}
_DEFAULT_TASKS = (("A", 1000), ("B", 1000), ("C", 0), ("D", 1001), ("E", 1002))
_U64 = (1 << 64) - 1


@dataclass(frozen=True)
class TaskSpec:
    """A task of the explored machine: name, uid, the CPU it starts on (affinity: every CPU)."""

    name: str
    uid: int
    cpu: int


@dataclass
class ExploreConfig:
    """The small machine and the vocabulary the explorer enumerates.

    Parameters
    ----------
    design : user-access design name (``pmulab.drivers.user_access.DESIGNS``) or Design class.
    cpus, counters : machine size (PMCR_EL0.N event counters per CPU, plus the cycle counter).
    tasks : an int n (the first n of A(uid 1000), B(1000), C(root), D(1001), E(1002), task i on
        CPU i mod cpus) or a list of ``(name, uid, cpu)``.
    ops : the operation kinds used (subset of ``OP_KINDS``; default ``DEFAULT_OPS``).
    attr : the attr name of task-bound opens (``ATTRS``); CPU-bound opens use ``cpu_attr``.
    targets : which opens exist: ``"self"`` (a task on itself), ``"other"`` (on another task
        it may ptrace: same uid, or root), ``"cpu"`` (root only, pid -1 on each CPU).
    max_events : events alive at once (an ``open`` is offered only below this).
    perf_user_access : initial ``kernel.perf_user_access`` (v5.17 needs 1 for any user access).
    pmu : PMU version; default "v3p9" for the ``pmuv3p9`` design, else "v3p4".
    """

    design: Any = "v5.17"
    cpus: int = 2
    counters: int = 2
    tasks: Any = 3
    ops: tuple = DEFAULT_OPS
    attr: str = "rdpmc"
    cpu_attr: str = "plain"
    targets: tuple = ("self", "other", "cpu")
    max_events: int = 1
    perf_user_access: int = 1
    pmu: str | None = None
    task_specs: tuple = field(init=False, default=())

    def __post_init__(self):
        for name in ("cpus", "counters", "max_events"):
            v = getattr(self, name)
            if isinstance(v, bool) or not isinstance(v, int) or v < (0 if name == "max_events" else 1):
                raise ValueError(f"{name} must be a positive int, got {v!r}")
        if isinstance(self.tasks, int) and not isinstance(self.tasks, bool):
            if not 1 <= self.tasks <= len(_DEFAULT_TASKS):
                raise ValueError(f"tasks must be 1..{len(_DEFAULT_TASKS)}, got {self.tasks}")
            self.task_specs = tuple(TaskSpec(n, u, i % self.cpus)
                                    for i, (n, u) in enumerate(_DEFAULT_TASKS[:self.tasks]))
        else:
            specs = tuple(TaskSpec(*t) if not isinstance(t, TaskSpec) else t for t in self.tasks)
            if not specs or len({s.name for s in specs}) != len(specs):
                raise ValueError("tasks must be a non-empty list of (name, uid, cpu) with distinct names")
            for s in specs:
                if not 0 <= s.cpu < self.cpus or ":" in s.name or s.name.startswith("cpu"):
                    raise ValueError(f"bad task {s}: cpu outside 0..{self.cpus - 1} or reserved name")
            self.task_specs = specs
        self.ops = tuple(self.ops)
        unknown = [o for o in self.ops if o not in OP_KINDS]
        if unknown:
            raise ValueError(f"unknown operation(s) {unknown}; valid names: {list(OP_KINDS)}")
        for a in (self.attr, self.cpu_attr):
            if a not in ATTRS:
                raise ValueError(f"unknown attr {a!r}; valid names: {list(ATTRS)}")
        bad = [t for t in self.targets if t not in ("self", "other", "cpu")]
        if bad:
            raise ValueError(f"unknown target kind(s) {bad}; valid names: ['self', 'other', 'cpu']")
        if self.pmu is None:
            name = self.design if isinstance(self.design, str) else getattr(self.design, "name", "")
            self.pmu = "v3p9" if name == "pmuv3p9" else "v3p4"

    @property
    def design_name(self) -> str:
        return self.design if isinstance(self.design, str) else getattr(self.design, "name", type(self.design).__name__)

    def to_dict(self) -> dict[str, Any]:
        return {"design": self.design_name, "cpus": self.cpus, "counters": self.counters,
                "tasks": [(s.name, s.uid, s.cpu) for s in self.task_specs], "ops": list(self.ops),
                "attr": self.attr, "cpu_attr": self.cpu_attr, "targets": list(self.targets),
                "max_events": self.max_events, "perf_user_access": self.perf_user_access, "pmu": self.pmu}


class World:
    """A Machine plus what user space holds: tasks by name, fds, mappings, read loops in flight.

    Everything the explorer clones lives here, so one ``copy.deepcopy`` of a World is a
    consistent snapshot (see ``pmulab.sim.explore_state.clone``).
    """

    def __init__(self, config: ExploreConfig):
        from .machine import Machine
        from .workload import Workload

        self.config = config
        self.m = Machine(cpus=config.cpus, counters=config.counters, pmu=config.pmu, design=config.design,
                         perf_user_access=config.perf_user_access, seed=0, timeslice=1)
        self.m.design.tracing = True  # counter_clear rows name destroyed live counts
        self.tasks: dict[str, Any] = {}
        allcpus = list(range(config.cpus))
        for s in config.task_specs:
            self.tasks[s.name] = self.m.spawn(s.name, uid=s.uid, cpu=s.cpu, workload=Workload(el0=dict(WORKLOAD)),
                                              affinity=allcpus)
        self.fds: dict[str, int] = {}  # ev name -> fd in its opener's table (the opener is ev's prefix)
        self.events: dict[str, Any] = {}  # ev name -> PerfEvent
        self.pages: dict[str, Any] = {}  # ev name -> MmapPage of the opener's mapping
        self.loops: dict[str, Any] = {}  # ev name -> _Loop in flight
        self.obs: list[dict[str, Any]] = []  # what the last operation observed (read loops)
        self.last_owner: dict[tuple[int, int], str] = {}  # (cpu, idx) -> task (or "cpu") of its last event
        self.trace_mark = 0

    def note_claims(self) -> None:
        """Fold the ``counter_claim`` rows since ``trace_mark`` into ``last_owner``."""
        acts = self.m.trace._actions
        names = {t.pid: n for n, t in self.tasks.items()}
        for i in range(self.trace_mark, len(acts["kind"])):
            if acts["kind"][i] == "counter_claim":
                d = acts["details"][i]
                who = "cpu" if d.get("target") is None else names.get(d["target"], "?")
                for idx in d.get("idxs") or [d["idx"]]:
                    self.last_owner[(acts["cpu"][i], idx)] = who

    def owner(self, ev: str) -> str:
        return ev.split(":", 1)[0]

    def label(self, event: Any) -> str | None:
        for name, e in self.events.items():
            if e is event:
                return name
        return None


class _Loop:
    """A read loop in flight and what the reader should get (the count at its ``mrs``)."""

    def __init__(self, loop: Any):
        self.loop = loop
        self.expected: int | None = None


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
