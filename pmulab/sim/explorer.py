"""The interleaving explorer: every sequence of operations on a small machine, breadth first.

Models: a explicit-state model checker over the pmulab model. From a fresh machine (tasks
spawned, ``kernel.perf_user_access`` set), every operation of the vocabulary
(``pmulab.sim.explore_ops``: perf_event_open by a chosen task on a chosen target, mmap,
munmap, close, ioctl ENABLE/DISABLE/RESET, a tick, a context switch, a migration, block/wake,
one step of a self-monitoring read loop, an overflow IRQ, a sysctl write) is applied to a copy
of every state, level by level up to ``depth``. States are identified by their canonical form
(``pmulab.sim.explore_state.canonical``), so equivalent states are expanded once, and the
chosen invariants (``pmulab.sim.invariants``) are checked after every operation. Because the
search is breadth first, the first violation of an invariant is reached by a shortest
operation list; it is returned as a ``Counterexample`` that rebuilds the machine from scratch,
replays the list and reproduces the violation, with the machine's full trace.

Why snapshots and not replays: a World thaws from its pickled snapshot in ~0.55 ms (deepcopy:
~2.2 ms), while rebuilding a Machine and replaying a depth-8 list costs ~4 ms (measured on the
2-core lab machine). So each frontier state is stored frozen (``explore_state.freeze``, ~20
KB), and every transition thaws its parent, applies one operation, checks, and hashes.

Omits: partial-order reduction and symmetry reduction (A and B are never swapped); the canonical
form abstracts counter values and times, so two states it merges may differ in exact counts
(an under-approximation: a violation found is real and replayable; "no violation" means none
within the abstraction at that depth).
Pinned to: spec/kernel-model.md §7 (S3, S4, S7, S13, S14 and the invariants).
"""

from __future__ import annotations

import gc
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from math import comb
from typing import Any

from . import invariants as inv
from .explore_ops import (
    DEFAULT_OPS,
    OP_KINDS,
    ExploreConfig,
    World,
    apply_op,
    as_step,
    describe,
    enabled_ops,
    from_step,
)
from .explore_state import canonical, freeze, thaw

__all__ = ["explore", "ExploreResult", "Counterexample", "replay", "explore_benchmark", "MAX_DEPTH",
           "MAX_ESTIMATE", "estimate_states", "ExploreConfig", "OP_KINDS"]

#: Largest depth accepted.
MAX_DEPTH = 14
#: Largest estimated state count accepted (``estimate_states``).
MAX_ESTIMATE = 10**9


@dataclass
class Counterexample:
    """A shortest operation list that violates ``invariant`` on a fresh machine of ``config``."""

    invariant: str
    message: str
    ops: list[tuple]
    config: ExploreConfig
    errnos: list = field(default_factory=list)

    @property
    def steps(self) -> list[dict[str, Any]]:
        """The operations as step dicts (``pmulab.sim.ops`` field names)."""
        return [as_step(op) for op in self.ops]

    def story(self) -> str:
        """The counterexample as numbered sentences ending in the violation."""
        c = self.config
        tasks = ", ".join(f"{s.name} (uid {s.uid}) on CPU {s.cpu}" for s in c.task_specs)
        lines = [f"design {c.design_name}, {c.cpus} CPUs x {c.counters} counters; tasks {tasks}; "
                 f"kernel.perf_user_access={c.perf_user_access}"]
        for i, op in enumerate(self.ops, 1):
            err = self.errnos[i - 1] if i - 1 < len(self.errnos) and self.errnos[i - 1] else None
            lines.append(f"{i}. {describe(op)}" + (f" (fails: {err})" if err else ""))
        lines.append(f"=> {self.invariant} violated: {self.message}")
        return "\n".join(lines)

    def replay(self, check: bool = True) -> tuple[World, str | None]:
        """Rebuild the machine, run the operations; return the world and the violation message."""
        return replay(self.config, self.ops, self.invariant if check else None)

    def timeline(self) -> dict[str, Any]:
        """Replay and record, before the first and after every operation: PMUSERENR_EL0 per CPU,
        every event counter and the cycle counter per CPU (raw), and each mapped page's
        ``index``/``lock``/``offset``; plus the labels of the steps and the invariant's verdict.

        Returns ``{"labels": [...], "pmuserenr": {cpu: [...]}, "counters": {(cpu, n): [...]},
        "pages": {ev: {"index": [...], "lock": [...], "offset": [...]}}, "violated": [bool, ...]}``.
        """
        from .explore_state import reg

        c = self.config
        w = World(c)
        slots = [*range(c.counters), 31]
        out: dict[str, Any] = {"labels": ["start"], "pmuserenr": {cpu: [] for cpu in range(c.cpus)},
                               "counters": {(cpu, n): [] for cpu in range(c.cpus) for n in slots},
                               "pages": {}, "violated": [False]}

        def sample(k: int) -> None:
            for cpu in range(c.cpus):
                out["pmuserenr"][cpu].append(reg(w.m, cpu, "PMUSERENR_EL0"))
                for n in slots:
                    name = "PMCCNTR_EL0" if n == 31 else f"PMEVCNTR{n}_EL0"
                    out["counters"][(cpu, n)].append(reg(w.m, cpu, name))
            for ev, page in w.pages.items():
                rows = out["pages"].setdefault(ev, {"index": [None] * k, "lock": [None] * k, "offset": [None] * k})
                for f in ("index", "lock", "offset"):
                    rows[f].append(int(getattr(page, f)))
            for rows in out["pages"].values():
                for f in ("index", "lock", "offset"):
                    if len(rows[f]) < k + 1:
                        rows[f].append(None)

        sample(0)
        for i, op in enumerate(self.ops, 1):
            w.trace_mark = len(w.m.trace._actions["kind"])
            apply_op(w, op)
            out["labels"].append(f"{i}. {describe(op)}")
            out["violated"].append(inv.INVARIANTS[self.invariant].check(w) is not None)
            sample(i)
        out["trace"] = w.m.trace
        return out

    def to_dict(self) -> dict[str, Any]:
        """JSON-able: the invariant, the message, the machine and the steps (replayable by ``replay``)."""
        return {"invariant": self.invariant, "message": self.message, "config": self.config.to_dict(),
                "steps": self.steps}

    def to_oplist(self, name: str | None = None) -> Any:
        """The counterexample as a ``pmulab.sim.ops.OpList`` (a scenario the oracle can run on Linux).

        Each task is spawned pinned to its CPU; ``switch`` and ``migrate`` map to the op lists'
        ``switch`` (the task is woken and switched in on its CPU) and ``migrate``
        (sched_setaffinity while it sleeps). ``kernel.perf_event_paranoid`` is set to 2, the
        model's default (Debian's kernel boots with 3). A run of ``readloop`` steps by one task on
        one event becomes one ``read_self`` step (the whole documented loop in one guest step);
        an ``ioctl RESET`` or ``mmap`` of that event by the same task right before the run is
        folded into its ``prelude``, because in the explorer nothing happens between them while on
        the guest a worker sleeps between steps (its events are scheduled out and in, which
        republishes the page). Raises ValueError for what has no lock-step counterpart on Linux:
        ``irq`` (an overflow interrupt cannot be raised at a chosen instant from EL0) and a read
        loop interleaved with other operations (see ``pmulab.oracle.known.INEXPRESSIBLE``).
        """
        from .explore_ops import ATTRS
        from .ops import OpList

        c = self.config
        steps: list[dict[str, Any]] = [{"op": "spawn", "task": s.name, "uid": s.uid, "cpu": s.cpu}
                                       for s in c.task_specs]
        done_loops: set[str] = set()  # evs whose read loop was cut by another operation
        ops = list(self.ops)
        i = 0
        while i < len(ops):
            op = ops[i]
            kind = op[0]
            if kind == "irq":
                raise ValueError("operation 'irq' has no lock-step counterpart on Linux: an overflow interrupt "
                                 "cannot be raised at a chosen step from EL0 (see pmulab.oracle.known.INEXPRESSIBLE)")
            if kind == "readloop":
                task, ev = op[1], op[2]
                if ev in done_loops:
                    raise ValueError(f"the read loop of {task} on {ev} is interleaved with other operations: no "
                                     "lock-step counterpart on Linux (see pmulab.oracle.known.INEXPRESSIBLE)")
                j = i
                while j < len(ops) and ops[j] == op:
                    j += 1
                prelude: list[str] = []
                while steps and steps[-1].get("task") == task and steps[-1].get("ev") == ev and (
                        steps[-1]["op"] == "mmap" or (steps[-1]["op"] == "ioctl" and steps[-1]["request"] == "RESET")):
                    prelude.insert(0, "mmap" if steps.pop()["op"] == "mmap" else "reset")
                steps.append({"op": "read_self", "task": task, "ev": ev, "prelude": prelude})
                if j < len(ops) and _loop_open(c, ops[:j], ev):
                    done_loops.add(ev)
                i = j
                continue
            st = as_step(op)
            if kind == "open":
                st["attr"] = dict(ATTRS[c.cpu_attr if st["pid"] == -1 else c.attr])
            steps.append(st)
            i += 1
        return OpList(name=name or f"explore-{c.design_name}-{self.invariant}", steps=steps,
                      machine={"cpus": c.cpus, "counters": c.counters, "pmu": c.pmu, "design": c.design_name},
                      sysctl={"kernel.perf_user_access": c.perf_user_access, "kernel.perf_event_paranoid": 2},
                      doc=self.story())


def _loop_open(config: ExploreConfig, ops: list, ev: str) -> bool:
    """Whether ``ev``'s read loop is still in flight after ``ops`` (replayed on a fresh world)."""
    w, _ = replay(config, ops)
    return ev in w.loops


@dataclass
class ExploreResult:
    """What a search found: sizes, time, and the shortest counterexample per violated invariant."""

    config: ExploreConfig
    depth: int
    invariants: tuple
    states: int = 0
    transitions: int = 0
    seconds: float = 0.0
    levels: list = field(default_factory=list)  # states first reached at each depth
    counterexamples: dict = field(default_factory=dict)  # invariant -> Counterexample
    complete: bool = True  # False when max_states stopped the search

    @property
    def states_per_second(self) -> float:
        return self.states / self.seconds if self.seconds > 0 else float("inf")

    @property
    def violations(self) -> dict[str, list[dict[str, Any]]]:
        """invariant -> shortest counterexample as a list of step dicts."""
        return {k: cx.steps for k, cx in self.counterexamples.items()}

    def holds(self, name: str) -> bool:
        return name not in self.counterexamples

    def summary(self) -> str:
        c = self.config
        lines = [f"design {c.design_name}: {c.cpus} CPUs, {len(c.task_specs)} tasks, depth {self.depth}"
                 + ("" if self.complete else " (stopped at max_states)"),
                 f"states {self.states}, transitions {self.transitions}, {self.seconds:.2f} s, "
                 f"{self.states_per_second:.0f} states/s"]
        for name in self.invariants:
            cx = self.counterexamples.get(name)
            lines.append(f"  {name}: " + ("holds" if cx is None else f"VIOLATED in {len(cx.ops)} operations"))
        if self.counterexamples:
            first = min(self.counterexamples.values(), key=lambda cx: (len(cx.ops), cx.invariant))
            lines += ["", "shortest counterexample:", first.story()]
        return "\n".join(lines)

    def to_dict(self) -> dict[str, Any]:
        return {"config": self.config.to_dict(), "depth": self.depth, "invariants": list(self.invariants),
                "states": self.states, "transitions": self.transitions, "seconds": round(self.seconds, 3),
                "states_per_second": round(self.states_per_second, 1), "levels": list(self.levels),
                "complete": self.complete, "violations": self.violations,
                "messages": {k: cx.message for k, cx in self.counterexamples.items()}}


def estimate_states(config: ExploreConfig, depth: int) -> int:
    """An upper estimate of the states within ``depth``: multisets of ``depth`` operations drawn
    from the root's vocabulary plus those that opening every event adds (operations commute more
    often than not, so orders mostly merge)."""
    w = World(config)
    b = len(enabled_ops(w)) + config.max_events * 6
    return sum(comb(b + d - 1, d) for d in range(depth + 1))


def _root(config: ExploreConfig) -> World:
    w = World(config)
    w.m.trace = type(w.m.trace)(w.m.ncpus)
    return w


def explore(design: Any = "v5.17", *, cpus: int = 2, tasks: Any = 3, depth: int = 6, counters: int = 2,
            invariants: Any = None, ops: Any = None, config: ExploreConfig | None = None,
            stop_when_found: bool = False, max_states: int = 2_000_000,
            progress: Callable[[int, int, int], Any] | None = None, **config_kw: Any) -> ExploreResult:
    """Breadth-first search of every operation sequence up to ``depth``; see the module docstring.

    Parameters
    ----------
    design, cpus, tasks, counters : the machine (``ExploreConfig``); ``config`` overrides them.
    depth : longest operation list explored.
    invariants : names to check after every operation (None: all of ``invariants.INVARIANTS``).
    ops : operation kinds of the vocabulary (None: ``DEFAULT_OPS``; "all": ``OP_KINDS``).
    stop_when_found : stop once every chosen invariant has a counterexample.
    max_states : stop (``complete=False``) after this many states.
    progress : called as ``progress(states, transitions, level)`` after each expanded state.
    config_kw : other ``ExploreConfig`` fields (attr, targets, max_events, perf_user_access, pmu).

    Raises ValueError for unknown invariants/operations (listing the valid names) and for a
    depth or size whose ``estimate_states`` exceeds ``MAX_ESTIMATE`` (the message gives it).
    """
    names = inv.resolve_names(invariants)
    if config is None:
        kinds = DEFAULT_OPS if ops is None else (OP_KINDS if ops == "all" else ops)
        config = ExploreConfig(design=design, cpus=cpus, tasks=tasks, counters=counters, ops=tuple(kinds), **config_kw)
    if isinstance(depth, bool) or not isinstance(depth, int) or depth < 0:
        raise ValueError(f"depth must be an int >= 0, got {depth!r}")
    if config.cpus > 4 or len(config.task_specs) > 5 or config.counters > 6 or depth > MAX_DEPTH:
        raise ValueError(f"machine too large for exhaustive search: at most 4 CPUs, 5 tasks, 6 counters, depth "
                         f"{MAX_DEPTH}; estimated states: {estimate_states(config, min(depth, MAX_DEPTH + 1)):.3g}")
    est = estimate_states(config, depth)
    if est > MAX_ESTIMATE:
        raise ValueError(f"depth {depth} with {config.cpus} CPUs and {len(config.task_specs)} tasks: estimated "
                         f"{est:.3g} states, above the limit {MAX_ESTIMATE:.0e}; lower the depth or the sizes")
    result = ExploreResult(config=config, depth=depth, invariants=names)
    t0 = time.perf_counter()
    gc_was = gc.isenabled()
    gc.disable()  # thawed worlds are cyclic: collected explicitly, once per expanded state
    try:
        _bfs(config, depth, names, result, stop_when_found, max_states, progress)
    finally:
        gc.collect()
        if gc_was:
            gc.enable()
    result.seconds = time.perf_counter() - t0
    return result


def _bfs(config: ExploreConfig, depth: int, names: tuple, result: ExploreResult, stop_when_found: bool,
         max_states: int, progress: Callable | None) -> None:
    root = _root(config)
    key = canonical(root)
    parent: dict[tuple, tuple | None] = {key: None}  # state -> (parent state, op, errno)
    frontier = [(freeze(root), key, enabled_ops(root))]
    result.states, result.levels = 1, [1]
    done = False
    for level in range(depth):
        nxt = []
        for data, k, ops in frontier:
            for op in ops:
                w2 = thaw(data)
                err = apply_op(w2, op)
                result.transitions += 1
                for n in names:
                    if n not in result.counterexamples:
                        msg = inv.INVARIANTS[n].check(w2)
                        if msg is not None:
                            path, errs = _path(parent, k)
                            result.counterexamples[n] = Counterexample(n, msg, [*path, op], config, [*errs, err])
                k2 = canonical(w2)
                if k2 in parent:
                    continue
                parent[k2] = (k, op, err)
                result.states += 1
                if level + 1 < depth:
                    nxt.append((freeze(w2), k2, enabled_ops(w2)))
                if result.states >= max_states:
                    result.complete, done = False, True
                    break
            gc.collect(0)
            if progress is not None:
                progress(result.states, result.transitions, level + 1)
            if stop_when_found and len(result.counterexamples) == len(names):
                done = True
            if done:
                break
        result.levels.append(len(nxt))
        frontier = nxt
        if done or not frontier:
            break


def _path(parent: dict, key: tuple) -> tuple[list, list]:
    ops, errs = [], []
    while parent[key] is not None:
        key, op, err = parent[key]
        ops.append(op)
        errs.append(err)
    return ops[::-1], errs[::-1]


def replay(config: ExploreConfig | dict, ops: list, invariant: str | None = None) -> tuple[World, str | None]:
    """Build a fresh machine for ``config``, apply ``ops`` (tuples or step dicts) one by one and
    check ``invariant`` after each; return the world (its ``m.trace`` holds the full trace) and
    the first violation message (None if it held throughout or no invariant was given)."""
    if isinstance(config, dict):
        config = ExploreConfig(**{k: v for k, v in config.items() if k != "tasks"}, tasks=config["tasks"])
    if invariant is not None:
        inv.resolve_names(invariant)
    w = World(config)
    msg = None
    for op in ops:
        op = from_step(op) if isinstance(op, dict) else tuple(op)
        w.trace_mark = len(w.m.trace._actions["kind"])
        apply_op(w, op)
        if invariant is not None and msg is None:
            msg = inv.INVARIANTS[invariant].check(w)
    return w, msg


def explore_benchmark(designs: Any = None, *, cpus: int = 2, tasks: int = 3, depth: int = 8,
                      **kw: Any) -> list[dict[str, Any]]:
    """The explorer's benchmark figure: for each design, exhaust ``cpus`` x ``tasks`` to ``depth``.

    Returns one row per design: states, transitions, seconds, states/s, peak RSS (MiB) and the
    violated invariants. Meant for the bench suite (not a timed test).
    """
    import resource

    from pmulab.drivers.user_access import DESIGNS

    rows = []
    for d in (list(DESIGNS) if designs is None else designs):
        r = explore(d, cpus=cpus, tasks=tasks, depth=depth, **kw)
        rows.append({"design": d, "cpus": cpus, "tasks": tasks, "depth": depth, "states": r.states,
                     "transitions": r.transitions, "seconds": round(r.seconds, 2),
                     "states_per_second": round(r.states_per_second, 1), "complete": r.complete,
                     "peak_rss_mib": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
                     "violated": sorted(r.counterexamples)})
    return rows

