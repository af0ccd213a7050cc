"""The explored machine: its configuration (size, tasks, vocabulary, attrs) and the World the
explorer's operations act on (``pmulab.sim.explore_ops``).

Models: a small Machine with a 1-tick timeslice and the user-space state of its tasks: the fds
each opened, its mappings of the events' user pages and its read loops in flight (design.md §2).
Omits: fork/exec/exit, groups, sampling attrs, fd passing (a task uses only fds it opened).
Pinned to: Linux v5.17 system-call semantics (the Machine's).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["OP_KINDS", "DEFAULT_OPS", "ATTRS", "WORKLOAD", "ExploreConfig", "World", "TaskSpec"]

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
