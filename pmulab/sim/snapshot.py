"""A canonical, hashable picture of everything a Machine holds (its trace aside).

Models: nothing in Linux; this is the lab's notion of "machine state", used to check that a
failing system call changed nothing (design.md §2: "nothing in the machine changes") and, by
the explorer, to recognise states already visited. The picture holds: sysctls, time, the
random generator's state, the scheduler (current task and run queue per CPU, timeslices), every
task (identity, state, affinity, address space and its mappings, fd table with file reference
counts, perf context, SIGILL count), the perf core (per-CPU contexts, task contexts, every
event reachable from a context, an fd or a mapping: state, counts, times, hw_perf_event, group
and inheritance links, mapping count and the user page bytes), each PMU driver's per-CPU
``pmu_hw_events`` and disable counts, the user-access design's own state, and the PMU
registers of every CPU read through the EL1 register interface.
Objects are named by what identifies them in the kernel (pid, event id, mm id, CPU number),
never by Python identity, so two Machines built and driven the same way give equal snapshots.
Omits: history counters (the trace, ``ipis``, ``sched.switches``), user-step callables (only
their bookkeeping is kept).
"""

from __future__ import annotations

import dataclasses
import enum
import hashlib
import json
from typing import Any

import numpy as np

__all__ = ["Snapshot", "snapshot"]

_WORD_REGS = ("PMCR_EL0", "PMSELR_EL0", "PMUSERENR_EL0", "PMCNTENSET_EL0", "PMINTENSET_EL1", "PMOVSSET_EL0",
              "PMCCNTR_EL0", "PMCCFILTR_EL0")


class Snapshot:
    """The state of a Machine at one instant: ``data`` (plain JSON-able dict), ``key`` (canonical
    JSON), ``digest`` (sha256 of ``key``). Equal and hashed by ``key``."""

    __slots__ = ("data", "key", "digest")

    def __init__(self, data: dict):
        self.data = data
        self.key = json.dumps(data, sort_keys=True, separators=(",", ":"))
        self.digest = hashlib.sha256(self.key.encode()).hexdigest()

    def __eq__(self, other) -> bool:
        return isinstance(other, Snapshot) and self.key == other.key

    def __hash__(self) -> int:
        return hash(self.key)

    def __repr__(self) -> str:
        return f"<Snapshot {self.digest[:12]}>"

    def diff(self, other: Snapshot) -> list[str]:
        """Paths (``a.b.c``) whose values differ between the two snapshots (empty if equal)."""
        out: list[str] = []
        _diff(self.data, other.data, "", out)
        return out


def _diff(a: Any, b: Any, path: str, out: list[str]) -> None:
    if isinstance(a, dict) and isinstance(b, dict):
        for k in sorted(set(a) | set(b)):
            _diff(a.get(k), b.get(k), f"{path}.{k}" if path else str(k), out)
    elif isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            _diff(x, y, f"{path}[{i}]", out)
    elif a != b:
        out.append(path)


class _Namer:
    """Names model objects canonically and renders values as plain data."""

    def __init__(self, machine: Any):
        self.m = machine
        self.hw_events = {id(h): f"{p.name}/cpu{c}" for p in machine.pmus for c, h in p.hw_events.items()}
        self.pmus = {id(p): p.name for p in machine.pmus}
        self.ctxs: dict[int, str] = {}
        for cpu in range(machine.ncpus):
            self.ctxs[id(machine.perf.cpu_ctx(cpu).ctx)] = f"cpu{cpu}"
        for t in machine.tasks:
            if t.perf_ctx is not None:
                self.ctxs[id(t.perf_ctx)] = f"task{t.pid}"

    def ctx_name(self, ctx: Any) -> str | None:
        if ctx is None:
            return None
        name = self.ctxs.get(id(ctx))
        if name is None:  # a detached (TASK_TOMBSTONE) context: named by its first event
            ids = [e.id for e in ctx.event_list]
            name = f"dead{min(ids) if ids else '-'}"
        return name

    def plain(self, v: Any) -> Any:
        from pmulab.perf.api import PerfEvent

        if v is None or isinstance(v, (bool, str)):
            return v
        if isinstance(v, enum.Enum):
            return v.name
        if isinstance(v, (int, np.integer)):
            return int(v)
        if isinstance(v, (float, np.floating)):
            return float(v)
        if isinstance(v, (bytes, bytearray, memoryview)):
            return bytes(v).hex()
        if isinstance(v, np.ndarray):
            return v.tolist()
        if isinstance(v, PerfEvent):
            return f"event{v.id}"
        if id(v) in self.hw_events:
            return self.hw_events[id(v)]
        if id(v) in self.pmus:
            return self.pmus[id(v)]
        if isinstance(v, dict):
            return sorted(([self.plain(k), self.plain(x)] for k, x in v.items()), key=repr)
        if isinstance(v, (list, tuple)):
            return [self.plain(x) for x in v]
        if isinstance(v, (set, frozenset)):
            return sorted((self.plain(x) for x in v), key=repr)
        if hasattr(v, "pid"):
            return f"task{v.pid}"
        if type(v).__name__ == "PerfEventContext":
            return self.ctx_name(v)
        return type(v).__name__


def _event(n: _Namer, e: Any, buffers: dict) -> dict:
    out = {}
    for f in dataclasses.fields(e):
        v = getattr(e, f.name)
        if f.name == "attr":
            out["attr"] = v.to_bytes().hex()
        elif f.name == "hw":
            out["hw"] = {g.name: n.plain(getattr(v, g.name)) for g in dataclasses.fields(v)}
        elif f.name == "page":
            out["page"] = None if v is None else bytes(v.raw).hex()
        elif f.name == "ctx":
            out["ctx"] = n.ctx_name(v)
        else:
            out[f.name] = n.plain(v)
    for k, v in sorted(vars(e).items()):  # attributes set outside the dataclass fields, if any
        if k not in out:
            out[k] = n.plain(v)
    buf = buffers.get(e.id)
    if buf is not None:  # (data pages, the mapping's bytes, writable): the bytes as a digest
        parts = buf if isinstance(buf, tuple) else (buf,)
        buf = [hashlib.sha256(bytes(x)).hexdigest() if isinstance(x, (bytes, bytearray)) else n.plain(x)
               for x in parts]
    out["buffer"] = buf
    return out


def _ctx(n: _Namer, c: Any) -> dict:
    lists = ("event_list", "pinned_groups", "flexible_groups", "pinned_active", "flexible_active")
    out = {k: [e.id for e in getattr(c, k)] for k in lists}
    for f in dataclasses.fields(c):
        if f.name not in lists and f.name != "pmu":
            out[f.name] = n.plain(getattr(c, f.name))
    out["pmu"] = n.plain(c.pmu)
    return out


def _reachable_events(m: Any) -> list:
    seen: dict[int, Any] = {}

    def add(e):
        if e is not None and id(e) not in seen:
            seen[id(e)] = e
            for x in (e.group_leader, e.parent, *e.siblings, *e.children):
                add(x)

    for e in m.perf.events:
        add(e)
    for t in m.tasks:
        for f in t.files.values():
            add(f.event)
        for mp in t.mm.mappings:
            add(mp.file.event)
        if t.perf_ctx is not None:
            for e in t.perf_ctx.event_list:
                add(e)
    for cpu in range(m.ncpus):
        for e in m.perf.cpu_ctx(cpu).ctx.event_list:
            add(e)
    return sorted(seen.values(), key=lambda e: e.id)


def _registers(m: Any) -> list:
    out = []
    for cpu in range(m.ncpus):
        k, i = m._where[cpu]
        bank = m.banks[k]
        regs = {r: bank.read(i, r) for r in _WORD_REGS}
        for c in range(bank.counters):
            regs[f"PMEVCNTR{c}_EL0"] = bank.read(i, f"PMEVCNTR{c}_EL0")
            regs[f"PMEVTYPER{c}_EL0"] = bank.read(i, f"PMEVTYPER{c}_EL0")
        if bank.version.per_counter_el0:
            regs["PMUACR_EL1"] = bank.read(i, "PMUACR_EL1")
        out.append({r: int(v) for r, v in regs.items()})
    return out


def snapshot(m: Any) -> Snapshot:
    """The canonical state of Machine ``m`` (see the module docstring)."""
    n = _Namer(m)
    core = m.perf
    tasks = []
    for t in sorted(m.tasks, key=lambda t: t.pid):
        tasks.append({
            "pid": t.pid, "uid": t.uid, "name": t.name, "cpu": t.cpu, "state": t.state,
            "affinity": sorted(t.affinity), "mm": t.mm.id, "mm_users": t.mm.users,
            "mappings": [[mp.file.event.id, bytes(mp.page.raw).hex() if mp.page is not None else None]
                         for mp in t.mm.mappings],
            "files": [[fd, f.event.id, f.refs] for fd, f in sorted(t.files.items())],
            "files_shared_with": sorted(o.pid for o in m.tasks if o is not t and o.files is t.files),
            "perf_ctx": n.ctx_name(t.perf_ctx), "sigill": t.sigill,
            "parent": t.parent.pid if t.parent is not None else None, "workload": repr(t.workload),
        })
    contexts = {f"cpu{c}": _ctx(n, core.cpu_ctx(c).ctx) for c in range(m.ncpus)}
    for t in m.tasks:
        if t.perf_ctx is not None:
            contexts[n.ctx_name(t.perf_ctx)] = _ctx(n, t.perf_ctx)
    cpuctx = [{"task_ctx": n.ctx_name(core.cpu_ctx(c).task_ctx), "sched_cb_usage": core.cpu_ctx(c).sched_cb_usage,
               "exclusive": core.cpu_ctx(c).exclusive, "active_oncpu": core.cpu_ctx(c).active_oncpu}
              for c in range(m.ncpus)]
    events = _reachable_events(m)
    buffers = getattr(core, "_buffers", {})
    pmus = []
    for p in m.pmus:
        pmus.append({"name": p.name, "type": p.type, "sched_cb_usage": p.sched_cb_usage,
                     "disable_count": [core.pmu_disable_count(p, c) for c in range(m.ncpus)],
                     "hw_events": [[c, h.used_mask, [e.id if e is not None else None for e in h.events]]
                                   for c, h in sorted(p.hw_events.items())]})
    data = {
        "jiffies": m.jiffies,
        "sysctl": sorted([k, v] for k, v in m._sysctl.items()),
        "rng": n.plain(m.rng.bit_generator.state),
        "sched": {"curr": [t.pid if t is not None else None for t in m.sched.curr],
                  "rq": [[t.pid for t in q] for q in m.sched.rq], "slice_left": list(m.sched.slice_left)},
        "tasks": tasks,
        "perf": {"next_id": core._next_id, "open": [e.id for e in core.events], "contexts": contexts,
                 "cpuctx": cpuctx, "events": {f"event{e.id}": _event(n, e, buffers) for e in events},
                 "pending": [e.id for e in getattr(core, "_pending", [])],
                 "exited": sorted(t.pid for t in getattr(core, "_exited", []))},
        "pmus": pmus,
        "design": {"name": getattr(m.design, "name", type(m.design).__name__),
                   "state": sorted(([k, n.plain(v)] for k, v in vars(m.design).items()), key=repr)},
        "registers": _registers(m),
        "user_steps": [[s.name, s.every, s.count, s.calls, s.active] for s in m._user_steps],
    }
    return Snapshot(data)
