"""Snapshots and the canonical state the explorer hashes.

Models: nothing in Linux; this is the model checker's state abstraction.

``freeze(world)`` / ``thaw(data)`` / ``clone(world)``: a World (Machine, tasks, fds, pages, read
loops) as pickled bytes and back. Closures stored in the object graph (e.g. a PMU's
``sched_task`` callback bound to its ``ArmPmu``) are pickled by value with their cells, so a
thawed copy never calls back into the original. The trace is left out (counterexamples are
replayed from the root with a full trace), which keeps snapshots small (~20 KB). Measured on
the lab machine: freeze 0.3 ms, thaw 0.55 ms, against 2.2 ms for ``copy.deepcopy``; the
frontier is stored frozen, so memory stays at ~20 KB per frontier state.

``canonical(world)``: a hashable tuple of everything that decides the future behaviour the
invariants look at, and nothing that only grows:
- kept exactly: sysctls, run queues and current tasks, task states and CPUs, remaining
  timeslices, each event's state/idx/oncpu/hw flags/mmap_count, contexts (nr_user, is_active,
  order of the flexible groups), the driver's used_mask and event slots, PMU sched_cb_usage,
  PMUSERENR_EL0/PMUACR_EL1/PMCR_EL0.E/PMCNTENSET/PMINTENSET/PMOVS per CPU, every attribute of
  the design object (nr_user dicts, dirty masks, sysfs switches: relabelled), user page index,
  cap_user_rdpmc, pmc_width, lock parity, the read loops' position;
- abstracted: counter values (unused counter: zero or not; counter in use: destroyed or not,
  i.e. >= 2^30 past its ``prev_count``), event counts (dropped), the page's
  ``offset`` (consistent with the hardware or not), a loop's saved lock (still equal or not)
  and its partial count (right or wrong);
- dropped: time (jiffies, ctx time, time_enabled/running), the trace, pids, fd numbers.
Two states with the same canonical tuple are visited once; the abstraction is a deliberate
under-approximation of the concrete state (documented in ``explore``).
Omits: symmetry between tasks (A and B are never swapped).
"""

from __future__ import annotations

import importlib
import io
import marshal
import pickle
import types
from typing import Any

__all__ = ["clone", "freeze", "thaw", "canonical", "reg", "DESTROYED"]

#: A counter whose value is this far from its event's ``prev_count`` was not counting events
#: (a depth-12 run counts at most ~10^4 per tick): it was overwritten.
DESTROYED = 1 << 30


def _make_cell(value: Any) -> types.CellType:
    return types.CellType(value)


def _make_code(data: bytes) -> types.CodeType:
    return marshal.loads(data)


def _make_function(code: types.CodeType, module: str, name: str, defaults: Any, closure: tuple) -> types.FunctionType:
    return types.FunctionType(code, importlib.import_module(module).__dict__, name, defaults, closure)


class _Pickler(pickle.Pickler):
    """Pickles closures stored in the model (e.g. ``ArmPmu.sched_task``) by value: code,
    module, and cells whose contents are pickled with the rest of the graph (so they point
    into the copy)."""

    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        if kind is types.FunctionType and obj.__closure__:
            return _make_function, (obj.__code__, obj.__globals__["__name__"], obj.__name__, obj.__defaults__,
                                    obj.__closure__)
        if kind is types.CellType:
            return _make_cell, (obj.cell_contents,)
        if kind is types.CodeType:
            return _make_code, (marshal.dumps(obj),)
        return NotImplemented


def freeze(world: Any) -> bytes:
    """A snapshot of ``world`` as bytes (its trace left out: replays rebuild it)."""
    from .trace import Trace

    trace = world.m.trace
    world.m.trace = Trace(world.m.ncpus)
    try:
        buf = io.BytesIO()
        _Pickler(buf, protocol=pickle.HIGHEST_PROTOCOL).dump(world)
        return buf.getvalue()
    finally:
        world.m.trace = trace


def thaw(data: bytes) -> Any:
    """A new World from a ``freeze`` snapshot (trace empty, ``trace_mark`` 0)."""
    w = pickle.loads(data)
    w.trace_mark = 0
    return w


def clone(world: Any) -> Any:
    """An independent copy of ``world`` (``thaw(freeze(world))``)."""
    return thaw(freeze(world))


class _Labels:
    """Stable names for model objects (tasks by name, events by ev name, contexts by owner)."""

    def __init__(self, world: Any):
        self.map: dict[int, Any] = {}
        for name, t in world.tasks.items():
            self.map[id(t)] = ("task", name)
            if t.perf_ctx is not None:
                self.map[id(t.perf_ctx)] = ("ctx", name)
            self.map[id(t.mm)] = ("mm", name)
        for ev, e in world.events.items():
            self.map[id(e)] = ("ev", ev)
        m = world.m
        for cpu in range(m.ncpus):
            self.map[id(m.perf.cpu_ctx(cpu).ctx)] = ("cpuctx", cpu)
        for pmu in m.pmus:
            self.map[id(pmu)] = ("pmu", pmu.name)
            for cpu, hw in pmu.hw_events.items():
                self.map[id(hw)] = ("hw_events", cpu)
        self.map[id(m)] = ("machine",)

    def __call__(self, v: Any, depth: int = 0) -> Any:
        if v is None or isinstance(v, (bool, int, str, float)):
            return v
        lab = self.map.get(id(v))
        if lab is not None:
            return lab
        if depth > 4:
            return type(v).__name__
        if isinstance(v, dict):
            return tuple(sorted(((self(k, depth + 1), self(x, depth + 1)) for k, x in v.items()), key=repr))
        if isinstance(v, (list, tuple)):
            return tuple(self(x, depth + 1) for x in v)
        if isinstance(v, (set, frozenset)):
            return tuple(sorted((self(x, depth + 1) for x in v), key=repr))
        if hasattr(v, "__dict__"):
            return (type(v).__name__, self(vars(v), depth + 1))
        return type(v).__name__


def canonical(world: Any) -> tuple:
    """The hashable canonical state of ``world`` (see the module docstring)."""
    from pmulab.drivers.arm_pmuv3 import counter_of, user_index_of
    from pmulab.perf.api import HES, EventState
    from pmulab.user import extend

    m = world.m
    lab = _Labels(world)
    sched = m.sched
    parts: list = [m.sysctl("kernel.perf_user_access")]
    parts.append(tuple((lab(sched.curr[c]), tuple(lab(t) for t in sched.rq[c]), sched.slice_left[c])
                       for c in range(m.ncpus)))
    parts.append(tuple((n, t.state, t.cpu) for n, t in world.tasks.items()))
    evs = []
    for ev in sorted(world.events):
        e = world.events[ev]
        hw = e.hw
        destroyed = False
        active = e.state == EventState.ACTIVE and not hw.state & HES.STOPPED and hw.idx >= 0
        if active:
            with m.on_cpu(e.oncpu):
                raw = e.pmu.ops.read_counter(e)
            destroyed = (raw - hw.prev_count) & e.pmu.max_period(e) >= DESTROYED
        page = world.pages.get(ev)
        pg = None
        if page is not None:
            consistent = None
            if active and page.index:
                ok_idx = page.index == user_index_of(hw.idx)
                rawhw = reg(m, e.oncpu, _count_reg(counter_of(hw.idx)))
                value = (page.offset + extend(rawhw, page.pmc_width)) & ((1 << 64) - 1)
                from .explore_ops import true_count

                consistent = ok_idx and value == true_count(m, e)
            pg = (page.index, page.cap_user_rdpmc, page.pmc_width, page.lock & 1, consistent)
        evs.append((ev, int(e.state), hw.idx, e.oncpu, int(hw.state), hw.flags, e.mmap_count, destroyed, pg))
    parts.append(tuple(evs))
    loops = []
    for ev in sorted(world.loops):
        st = world.loops[ev]
        lp = st.loop
        p = lp._pass
        page = world.pages.get(ev)
        seq_ok = page is not None and p.get("seq") == page.lock
        loops.append((ev, lp.next_step, seq_ok, p.get("idx"), st.expected is not None and
                      p.get("count") == st.expected if lp.next_step == "recheck" else None))
    parts.append(tuple(loops))
    ctxs = []
    for n, t in world.tasks.items():
        ctx = t.perf_ctx
        if ctx is not None:
            ctxs.append((n, ctx.nr_user, ctx.is_active, ctx.nr_active, ctx.rotate_necessary,
                         tuple(lab(g) for g in ctx.flexible_groups), tuple(lab(g) for g in ctx.pinned_groups)))
    for c in range(m.ncpus):
        cc = m.perf.cpu_ctx(c)
        ctxs.append((c, lab(cc.task_ctx), cc.ctx.is_active, cc.sched_cb_usage,
                     tuple(lab(g) for g in cc.ctx.flexible_groups), tuple(lab(g) for g in cc.ctx.pinned_groups)))
    parts.append(tuple(ctxs))
    hwp = []
    for pmu in m.pmus:
        hwp.append((pmu.name, getattr(pmu, "sched_cb_usage", 0)))
        for cpu, hwe in sorted(pmu.hw_events.items()):
            hwp.append((cpu, hwe.used_mask, tuple(lab(x) for x in hwe.events[:pmu.num_events])))
    parts.append(tuple(hwp))
    parts.append(_hardware(world))
    parts.append(tuple(sorted(world.last_owner.items())))
    parts.append(lab(vars(m.design)))
    return tuple(parts)


def _count_reg(counter: int) -> str:
    from pmulab.drivers.arm_pmuv3 import count_register

    return count_register(counter)


def reg(m: Any, cpu: int, name: str) -> int:
    """Register ``name`` of CPU ``cpu`` as stored (no access check, no trace)."""
    hw = m.cpu(cpu)
    return int(hw.bank.read(hw.index, name))


def _hardware(world: Any) -> tuple:
    """Per CPU: access and enable registers exactly, unused counters zero or not."""
    from pmulab.drivers.arm_pmuv3 import counter_of

    m = world.m
    out = []
    for cpu in range(m.ncpus):
        pmu = m.pmu_of(cpu)
        used = pmu.hw_events[cpu].used_mask
        regs = tuple(reg(m, cpu, r) for r in ("PMUSERENR_EL0", "PMCNTENSET_EL0", "PMINTENSET_EL1", "PMOVSSET_EL0"))
        pmcr_e = reg(m, cpu, "PMCR_EL0") & 1
        acr = reg(m, cpu, "PMUACR_EL1") if m.version.per_counter_el0 else 0
        vals = tuple(reg(m, cpu, _count_reg(counter_of(idx))) != 0
                     for idx in range(pmu.num_events) if not used >> idx & 1)
        out.append((regs, pmcr_e, acr, vals))
    return tuple(out)
