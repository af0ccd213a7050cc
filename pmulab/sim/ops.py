"""Operation lists: a scenario as data, its schema and its validation.

An operation list is what a test, the explorer or the oracle hands to an executor: tasks
with a uid and a pinned CPU, the perf system calls they make, their EL0 instructions, their
life (fork, exec, exit, block, wake), sysctl writes and the passing of time. The same list
runs on the model (``execute``, ``pmulab.sim.ops_exec``) and on real Linux (``pmulab.oracle``,
whose guest program interprets the compiled list), and both produce the same observation records.

JSON form (``OpList.to_json`` / ``OpList.from_json``)::

    {"name": "S13", "machine": {"cpus": 1, "counters": 6, "pmu": "v3p4"},
     "sysctl": {"kernel.perf_user_access": 1, "kernel.perf_event_paranoid": 2},
     "steps": [{"op": "spawn", "task": "T", "uid": 1000, "cpu": 0},
               {"op": "open", "task": "T", "ev": "e", "attr": {"type": 0, "config": 0, "config1": 2,
                "exclude_kernel": 1}, "pid": "self", "cpu": -1},
               {"op": "mmap", "task": "T", "ev": "e"}, {"op": "mrs", "task": "T", "reg": "PMUSERENR_EL0"}]}

Operations (``OPS`` is the schema: field -> (type, default); ``REQUIRED`` marks mandatory fields):

- ``spawn task uid cpu``: a new process pinned to ``cpu`` (Kernel: fork + sched_setaffinity + setuid).
- ``open task ev attr pid cpu group flags``: perf_event_open (Kernel: sys_perf_event_open); ``pid`` is
  ``"self"`` (0), ``-1`` or the name of a task; ``ev`` names the fd in the task's table; ``group``
  names the leader's ev (or None).
- ``mmap task ev pages write``, ``munmap task ev``, ``close task ev``: Kernel: perf_mmap,
  perf_mmap_close, perf_release (through fput).
- ``ioctl task ev request arg``: ``request`` is a ``PERF_EVENT_IOC_*`` name, with or without the prefix.
- ``read task ev``: read(2) (Kernel: perf_read).
- ``page task ev``: the task reads its user page (fields, lock parity).
- ``read_self task ev prelude``: read() before, the documented self-monitoring loop through the page,
  read() after (include/uapi/linux/perf_event.h; libperf perf_mmap__read_self, arm64 backend).
  ``prelude`` lists actions done first in the same step ("reset": ioctl(PERF_EVENT_IOC_RESET),
  "read": read(), "mmap": map the page): between two steps a task sleeps and its events are
  scheduled out and back in, which republishes the page (armpmu_start -> armpmu_event_set_period
  -> perf_event_update_userpage), so a hazard that needs no switch in between (S14) needs one step.
- ``mrs task reg`` / ``msr task reg value``: an EL0 system-register access on the task's CPU.
- ``fork task child cpu``, ``exec task``, ``exit task``: Kernel: copy_process, begin_new_exec, do_exit.
- ``block task`` / ``wake task``: the task sleeps / is woken.
- ``switch task cpu``: a context switch on ``cpu`` (the task's CPU; default it) to the task, which
  runs a moment and sleeps again (Kernel: try_to_wake_up, __schedule -> context_switch ->
  perf_event_task_sched_in, then perf_event_task_sched_out when it blocks). On the guest the
  worker is woken by a no-op command. The explorer's ``switch c T``.
- ``migrate task cpu``: sched_setaffinity(pid, {cpu}) by the controller while the task sleeps
  (Kernel: __set_cpus_allowed_ptr -> affine_move_task: a sleeping task only gets its new CPU,
  its next wake-up places it there; nothing is switched). The explorer's ``migrate T c``;
  the task may be blocked.
- ``sysctl name value``: a write to /proc/sys (as root).
- ``run ticks``: time passes (4 ms timer ticks); runnable tasks run their workload.

The executor and its observation records: ``pmulab.sim.ops_exec``.

Models: the operations are Task/Machine calls of design.md §2 (each a system call or an instruction
executed by the task on its CPU). A task reading its page or running the read loop is switched in
first, as it must be running to touch memory.
Omits: threads, signals, fds passed between processes (use ``open`` with ``pid`` instead), fork
of a task after exec on the guest side (its pipes are gone).
Pinned to: Linux v5.17 system-call semantics; the guest program oracle/guest/pmulab_guest.c.
"""

from __future__ import annotations

import copy
import json
from dataclasses import dataclass, field
from typing import Any

__all__ = ["OPS", "REQUIRED", "PRELUDE", "OpList", "validate", "ioctl_request", "DEFAULT_WORKLOAD", "TICK_MS"]

_STR, _INT, _BOOL, _DICT = "str", "int", "bool", "dict"
_PID = "pid"  # "self", -1 or a task name
_OPT_STR = "str|None"
_OPT_INT = "int|None"

#: op name -> {field: (type, default)}; every op also has "op".
OPS: dict[str, dict[str, tuple[str, Any]]] = {
    "spawn": {"task": (_STR, None), "uid": (_INT, 1000), "cpu": (_INT, 0)},
    "open": {"task": (_STR, None), "ev": (_STR, None), "attr": (_DICT, None), "pid": (_PID, "self"),
             "cpu": (_INT, -1), "group": (_OPT_STR, None), "flags": (_INT, 0)},
    "mmap": {"task": (_STR, None), "ev": (_STR, None), "pages": (_INT, 1), "write": (_BOOL, True)},
    "munmap": {"task": (_STR, None), "ev": (_STR, None)},
    "close": {"task": (_STR, None), "ev": (_STR, None)},
    "ioctl": {"task": (_STR, None), "ev": (_STR, None), "request": (_STR, None), "arg": (_INT, 0)},
    "read": {"task": (_STR, None), "ev": (_STR, None)},
    "page": {"task": (_STR, None), "ev": (_STR, None)},
    "read_self": {"task": (_STR, None), "ev": (_STR, None), "prelude": ("list", [])},
    "mrs": {"task": (_STR, None), "reg": (_STR, None)},
    "msr": {"task": (_STR, None), "reg": (_STR, None), "value": (_INT, None)},
    "fork": {"task": (_STR, None), "child": (_STR, None), "cpu": (_OPT_INT, None)},
    "exec": {"task": (_STR, None)},
    "exit": {"task": (_STR, None)},
    "block": {"task": (_STR, None)},
    "wake": {"task": (_STR, None)},
    "switch": {"task": (_STR, None), "cpu": (_OPT_INT, None)},
    "migrate": {"task": (_STR, None), "cpu": (_INT, None)},
    "sysctl": {"name": (_STR, None), "value": (_INT, None)},
    "run": {"ticks": (_INT, 1)},
}
#: What a read_self step may do first, in the same step (no sleep in between): ioctl(RESET), read(), mmap().
PRELUDE = ("reset", "read", "mmap")
#: Fields without a default.
REQUIRED = {op: tuple(f for f, (_, d) in spec.items() if d is None and not spec[f][0].endswith("None"))
            for op, spec in OPS.items()}

#: Workload of every task the executor spawns (events per tick at EL0): enough to move counters.
DEFAULT_WORKLOAD = {"CPU_CYCLES": 1000, "INST_RETIRED": 800}
#: One timer tick (Debian arm64: CONFIG_HZ_250).
TICK_MS = 4
_MACHINE_KEYS = {"cpus": 1, "counters": 6, "pmu": "v3p4", "design": "v5.17"}
_EV_OPS = ("mmap", "munmap", "close", "ioctl", "read", "page", "read_self")


def ioctl_request(name: str) -> int:
    """The request number of ``PERF_EVENT_IOC_<name>`` (prefix optional); ValueError if unknown."""
    from pmulab.uapi import ioctl as uioctl

    full = name if name.startswith("PERF_EVENT_IOC_") else f"PERF_EVENT_IOC_{name}"
    value = getattr(uioctl, full, None)
    if not isinstance(value, int):
        raise ValueError(f"unknown ioctl request {name!r}")
    return value


def _typecheck(kind: str, value: Any) -> bool:
    if kind == _STR:
        return isinstance(value, str) and value != ""
    if kind == _INT:
        return isinstance(value, int) and not isinstance(value, bool)
    if kind == _BOOL:
        return isinstance(value, bool)
    if kind == _DICT:
        return isinstance(value, dict)
    if kind == _OPT_STR:
        return value is None or (isinstance(value, str) and value != "")
    if kind == _OPT_INT:
        return value is None or (isinstance(value, int) and not isinstance(value, bool))
    if kind == "list":
        return isinstance(value, list) and all(v in PRELUDE for v in value)
    if kind == _PID:
        return value in ("self", -1, 0) or (isinstance(value, str) and value != "")
    raise AssertionError(kind)


def _normalise_step(i: int, raw: Any) -> dict[str, Any]:
    where = f"step {i}"
    if not isinstance(raw, dict):
        raise ValueError(f"{where}: a step must be a dict with an 'op', got {type(raw).__name__}")
    op = raw.get("op")
    if op not in OPS:
        raise ValueError(f"{where}: unknown operation {op!r} (known: {', '.join(sorted(OPS))})")
    where = f"step {i} ({op})"
    spec = OPS[op]
    unknown = sorted(set(raw) - set(spec) - {"op"})
    if unknown:
        raise ValueError(f"{where}: unknown field(s) {unknown}; {op} takes {sorted(spec)}")
    step: dict[str, Any] = {"op": op}
    for name, (kind, default) in spec.items():
        if name in raw:
            value = raw[name]
        elif name in REQUIRED[op]:
            raise ValueError(f"{where}: missing field {name!r}")
        else:
            value = default
        if not _typecheck(kind, value):
            raise ValueError(f"{where}: field {name!r} must be {kind}, got {value!r}")
        step[name] = copy.deepcopy(value)
    return step


def _check_attr(where: str, attr: dict) -> None:
    from pmulab.uapi import PerfEventAttr

    try:
        PerfEventAttr(**attr)
    except (TypeError, ValueError) as exc:
        raise ValueError(f"{where}: bad attr: {exc}") from None


def validate(steps: list, cpus: int) -> list[dict[str, Any]]:
    """Check a step list and return it normalised (defaults filled in).

    Raises ValueError naming the step for an unknown operation, an unknown/missing/mistyped
    field, a task used before it exists or after it exited, an event handle the task never
    opened, a CPU outside ``0..cpus-1`` or an unknown ioctl request.
    """
    if not isinstance(steps, list):
        raise ValueError(f"steps must be a list, got {type(steps).__name__}")
    out = []
    live: dict[str, set[str]] = {}  # task -> ev names in its table
    asleep: set[str] = set()
    cpu_of: dict[str, int] = {}  # task -> the CPU it is pinned to
    for i, raw in enumerate(steps):
        step = _normalise_step(i, raw)
        op, where = step["op"], f"step {i} ({step['op']})"
        task = step.get("task")
        if op == "spawn":
            if task in live:
                raise ValueError(f"{where}: task {task!r} already exists")
            live[task] = set()
        elif task is not None and task not in live:
            raise ValueError(f"{where}: unknown or exited task {task!r}")
        if op == "wake":
            if task not in asleep:
                raise ValueError(f"{where}: task {task!r} is not blocked")
            asleep.discard(task)
        elif task in asleep and op != "migrate":
            raise ValueError(f"{where}: task {task!r} is blocked; wake it first")
        elif op == "block":
            asleep.add(task)
        c = step.get("cpu")
        if op in ("spawn", "fork", "switch", "migrate") and c is not None and not 0 <= c < cpus:
            raise ValueError(f"{where}: cpu {c} outside 0..{cpus - 1}")
        if op in ("spawn", "migrate"):
            cpu_of[task] = c
        elif op == "fork":
            cpu_of[step["child"]] = cpu_of[task] if c is None else c
        elif op == "switch":
            if c is None:
                step["cpu"] = cpu_of[task]
            elif c != cpu_of[task]:
                raise ValueError(f"{where}: task {task!r} is pinned to CPU {cpu_of[task]}, not {c} (migrate it first)")
        if op == "open":
            _check_attr(where, step["attr"])
            if isinstance(step["pid"], str) and step["pid"] != "self" and step["pid"] not in live:
                raise ValueError(f"{where}: pid names unknown task {step['pid']!r}")
            if step["group"] is not None and step["group"] not in live[task]:
                raise ValueError(f"{where}: group leader {step['group']!r} is not an ev of {task!r}")
            if not -1 <= step["cpu"] < cpus:
                raise ValueError(f"{where}: cpu {step['cpu']} outside -1..{cpus - 1}")
            live[task].add(step["ev"])
        elif op in _EV_OPS:
            if step["ev"] not in live[task]:
                raise ValueError(f"{where}: task {task!r} has no event {step['ev']!r}")
            if op == "close":
                live[task].discard(step["ev"])
            if op == "ioctl":
                try:
                    ioctl_request(step["request"])
                except ValueError as exc:
                    raise ValueError(f"{where}: {exc}") from None
        elif op == "fork":
            if step["child"] in live:
                raise ValueError(f"{where}: task {step['child']!r} already exists")
            live[step["child"]] = set(live[task])
        elif op == "exit":
            del live[task]
            asleep.discard(task)
        elif op in ("mrs", "msr"):
            from pmulab.hw import sysregs

            if step["reg"] != "CNTVCT_EL0":
                try:
                    sysregs.lookup(step["reg"])
                except ValueError as exc:
                    raise ValueError(f"{where}: {exc}") from None
        elif op == "run" and step["ticks"] < 0:
            raise ValueError(f"{where}: ticks must be >= 0")
        out.append(step)
    return out


@dataclass
class OpList:
    """A named operation list with the machine it runs on and the initial sysctls."""

    name: str
    steps: list = field(default_factory=list)
    machine: dict = field(default_factory=dict)
    sysctl: dict = field(default_factory=dict)
    doc: str = ""

    def __post_init__(self):
        if not isinstance(self.name, str) or not self.name or any(c.isspace() for c in self.name):
            raise ValueError(f"op list name must be a non-empty word, got {self.name!r}")
        unknown = set(self.machine) - set(_MACHINE_KEYS)
        if unknown:
            raise ValueError(f"{self.name}: unknown machine key(s) {sorted(unknown)}")
        self.machine = {**_MACHINE_KEYS, **self.machine}
        for k, v in self.sysctl.items():
            if not isinstance(k, str) or isinstance(v, bool) or not isinstance(v, int):
                raise ValueError(f"{self.name}: sysctl {k!r}={v!r} must be a name and an int")
        try:
            self.steps = validate(self.steps, self.machine["cpus"])
        except ValueError as exc:
            raise ValueError(f"{self.name}: {exc}") from None

    @property
    def tasks(self) -> list[str]:
        """Task names in order of creation (spawn and fork)."""
        return [s["task"] if s["op"] == "spawn" else s["child"] for s in self.steps if s["op"] in ("spawn", "fork")]

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "doc": self.doc, "machine": dict(self.machine), "sysctl": dict(self.sysctl),
                "steps": copy.deepcopy(self.steps)}

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), sort_keys=True)

    @classmethod
    def from_dict(cls, d: Any) -> OpList:
        if not isinstance(d, dict) or "name" not in d:
            raise ValueError("an op list is a dict with at least 'name' and 'steps'")
        unknown = set(d) - {"name", "doc", "machine", "sysctl", "steps"}
        if unknown:
            raise ValueError(f"{d.get('name')}: unknown key(s) {sorted(unknown)}")
        return cls(name=d["name"], steps=d.get("steps", []), machine=d.get("machine", {}),
                   sysctl=d.get("sysctl", {}), doc=d.get("doc", ""))

    @classmethod
    def from_json(cls, text: str) -> OpList:
        try:
            d = json.loads(text)
        except json.JSONDecodeError as exc:
            raise ValueError(f"op list is not valid JSON: {exc}") from None
        return cls.from_dict(d)

