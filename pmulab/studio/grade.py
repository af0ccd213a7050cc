"""``grade(design)``: run a user-access design through every scenario, the explorer and the cost
workload, and return its report card.

Models: the review as an exam. Each scenario S1..S16 (``pmulab.scenarios``) runs on a fresh
Machine with a guarded instance of the design (``pmulab.studio.guard``); the leak analysis
names who read whose count; the explorer (``pmulab.sim.explore``) searches the standard small
configuration (``EXPLORER``) for the shortest operation list that violates an invariant; the
standard workload (``pmulab.studio.cost``) counts what the design costs. Invariants combine
the explorer's verdict with the scenarios' evidence (a destroyed count in any scenario
violates ``no_destroyed_counts``, and so on).
Built-in designs get the same treatment (by name), and their runs are compared with spec §7
(``ScenarioGrade.matches_spec``).
Omits: caching; every call grades afresh (about 5 s for a built-in design on the lab machine,
most of it the explorer).
Pinned to: spec/kernel-model.md §7 (scenarios and invariants).
"""

from __future__ import annotations

import time
from typing import Any

from pmulab.drivers.user_access import DESIGNS, PmuV3p9
from pmulab.scenarios import SCENARIOS, leaks
from pmulab.scenarios.base import Outcome, Run
from pmulab.sim import invariants as inv
from pmulab.sim.machine import Machine
from pmulab.studio.card import NOTES, SAFETY, Card, ScenarioGrade, describe_leaks
from pmulab.studio.cost import standard_workload
from pmulab.studio.guard import Budget, Guard, HookFailure, design_class, guarded_design

__all__ = ["grade", "EXPLORER", "display_name", "pmu_for"]

#: The explorer's standard small configuration: 2 CPUs x 2 counters, tasks A and B (uid 1000)
#: and C (root), depth 4, every operation of the vocabulary, every invariant.
EXPLORER = {"cpus": 2, "tasks": 3, "counters": 2, "depth": 4}

#: Invariant -> leak kinds / scenario checks that violate it when seen in any scenario run.
_LEAK_EVIDENCE = {"no_destroyed_counts": ("destroyed",), "no_foreign_reads": ("cpu_bound", "foreign_owner",
                                                                             "other_task", "stale"),
                  "no_stale_access": ("stale",)}
_CHECK_EVIDENCE = {"accounting": (("S3", "accounting_consistent", False), ("S4", "accounting_consistent", False)),
                   "no_destroyed_counts": (("S7", "live_count_destroyed", True),),
                   "no_stale_access": (("S13", "stale_access", True),)}


def display_name(cls: type) -> str:
    """The registry name of a built-in design, else the class name."""
    return cls.name if DESIGNS.get(getattr(cls, "name", None)) is cls else cls.__name__


def pmu_for(cls: type, pmu: str | None = None) -> str | None:
    """The PMU a design needs: ``pmu`` if given, "v3p9" for PmuV3p9 and its subclasses, else None
    (each scenario's own choice)."""
    if pmu is not None:
        return pmu
    return "v3p9" if issubclass(cls, PmuV3p9) else None


def _names(m: Machine) -> dict:
    return {t.pid: t.name for t in m.tasks}


def _owners(trace) -> dict:
    """event id -> owner pid, from the counter_claim tracepoints."""
    return {r["event"]: r["owner"] for r in trace.actions() if r["kind"] == "counter_claim"}


def _run_scenario(name: str, cls: type, pmu: str | None, budget: Budget) -> ScenarioGrade:
    scn = SCENARIOS[name]
    guard = Guard(budget)
    builtin = DESIGNS.get(getattr(cls, "name", None)) is cls
    try:
        params = scn.params()
        kwargs = {"cpus": 2, "counters": 6, "pmu": "v3p4", "perf_user_access": 1, "seed": 0}
        kwargs.update(scn.machine_args(params))
        if pmu is not None:
            kwargs["pmu"] = pmu
        m = Machine(design=guarded_design(cls, guard), **kwargs)
        m.design.tracing = True
        run = Run(m, display_name(cls), params)
        run.note(f"{name} on design {display_name(cls)}: {scn.title}")
        scn.steps(run)
        checks = scn.checks(run)
    except HookFailure as exc:
        f = (guard.failures[0] if guard.failures else exc).to_dict()
        return ScenarioGrade(name, scn.title, False, failure={**f, "scenario": name})
    except Exception as exc:  # noqa: BLE001 - a broken design may break the kernel model after its hook returned
        if guard.failures:
            f = guard.failures[0].to_dict()
        else:
            f = {"hook": "(kernel after the design's hooks)", "kind": "crash",
                 "message": f"{type(exc).__name__}: {exc}"}
        return ScenarioGrade(name, scn.title, False, failure={**f, "scenario": name})
    report = leaks.analyse(m.trace)
    owners = _owners(m.trace)
    for d in report.destroyed:
        d["owners"] = [owners.get(e) for e in d["events"]]
    expected = dict(scn.expected[cls.name]) if builtin else {}
    outcome = Outcome(name, display_name(cls), params, checks, expected, report, run)
    violations = [k for k, v in SAFETY.get(name, {}).items() if checks.get(k) != v]
    notes = [text for k, (v, text) in NOTES.get(name, {}).items() if checks.get(k) == v]
    failure = None
    if guard.failures:  # a failure some code swallowed
        failure = {**guard.failures[0].to_dict(), "scenario": name}
    leak = describe_leaks(report, _names(m))
    ok = not leak and not violations and failure is None
    return ScenarioGrade(name, scn.title, ok, leak=leak, leak_kinds=sorted(report.kinds), checks=checks,
                         violations=violations, notes=notes, failure=failure,
                         matches_spec=outcome.ok if builtin else None, outcome=outcome)


def _explore(cls: type, pmu: str | None, budget: Budget, explorer: dict | None) -> dict:
    if explorer is None:
        return {"verdict": None, "reason": "explorer not run (explorer=None)", "invariants": {}}
    try:
        from pmulab.sim.explore_ops import describe
        from pmulab.sim.explorer import ExploreConfig, explore
    except ImportError as exc:
        return {"verdict": None, "reason": f"the explorer is not available ({exc})", "invariants": {}}

    cfg = {**EXPLORER, **explorer}
    depth = cfg.pop("depth")
    guard = Guard(Budget(hook_seconds=budget.hook_seconds, run_seconds=max(budget.run_seconds, 60.0),
                         calls=10**9, refire=budget.refire))
    t0 = time.perf_counter()
    try:
        instance = guarded_design(cls, guard)
        instance.name = display_name(cls)  # the counterexample's story names the graded design
        config = ExploreConfig(design=instance, pmu=pmu or "v3p4", **cfg)
        result = explore(config=config, depth=depth)
    except HookFailure as exc:
        f = (guard.failures[0] if guard.failures else exc).to_dict()
        return {"verdict": None, "reason": f"hook {f['hook']} failed during the search: {f['message']}",
                "failure": {**f, "scenario": "explorer"}, "invariants": {}}
    except Exception as exc:  # noqa: BLE001 - e.g. a design class pickle cannot find (defined inside a function)
        return {"verdict": None, "reason": f"the explorer could not run this design: {type(exc).__name__}: {exc}",
                "invariants": {}}
    out = {"verdict": "violations" if result.counterexamples else "holds", "config": {**cfg, "depth": depth},
           "states": result.states, "seconds": round(time.perf_counter() - t0, 2), "complete": result.complete,
           "invariants": {n: result.holds(n) for n in result.invariants},
           "messages": {k: cx.message for k, cx in result.counterexamples.items()}}
    if result.counterexamples:
        cx = min(result.counterexamples.values(), key=lambda c: (len(c.ops), c.invariant))
        out["invariant"], out["message"] = cx.invariant, cx.message
        out["counterexample"] = [{**step, "text": describe(op)} for op, step in zip(cx.ops, cx.steps, strict=True)]
        out["story"] = cx.story()
    return out


def _invariants(scenarios: dict[str, ScenarioGrade], explored: dict) -> tuple[dict, dict]:
    verdict, evidence = {}, {}
    for name in inv.INVARIANTS:
        holds, why = explored["invariants"].get(name), []
        if holds is False:
            why.append(f"explorer: {explored['messages'][name]}")
        for scen, s in scenarios.items():
            if set(s.leak_kinds) & set(_LEAK_EVIDENCE.get(name, ())):
                why.append(f"{scen}: {', '.join(k for k in s.leak_kinds if k in _LEAK_EVIDENCE[name])}")
        for scen, check, bad in _CHECK_EVIDENCE.get(name, ()):
            if scenarios[scen].checks.get(check) is bad:
                why.append(f"{scen}: {check} = {bad}")
        if why:
            verdict[name], evidence[name] = False, "; ".join(dict.fromkeys(why))
        elif holds is None and not any(s.failure for s in scenarios.values()):
            verdict[name], evidence[name] = True, "no scenario violates it (explorer: no verdict)"
        elif holds is None:
            verdict[name], evidence[name] = False, "not established: a hook failed"
        else:
            verdict[name], evidence[name] = True, "explorer and scenarios"
    return verdict, evidence


def grade(design: Any, *, pmu: str | None = None, scenarios: Any = None, explorer: dict | None = EXPLORER,
          budget: Budget | None = None) -> Card:
    """The report card of ``design`` (a registered name or a ``Design`` subclass).

    Parameters
    ----------
    design : "v8", "v5.17", ... or a ``pmulab.drivers.user_access.Design`` subclass (an
        instance is graded through its class; its state is not used).
    pmu : PMU version for every run; default: "v3p9" for ``PmuV3p9`` subclasses, else the
        scenarios' own (PMUv3p4 unless a scenario says otherwise).
    scenarios : names to run (default: all of ``pmulab.scenarios.SCENARIOS``).
    explorer : overrides of ``EXPLORER`` (cpus, tasks, counters, depth, ...); None skips the
        search (``card.counterexample`` None, ``card.explorer["verdict"]`` None with a reason).
    budget : the guard's limits (``pmulab.studio.guard.Budget``).

    A broken hook never raises out of here: the card's scenario (and ``card.failures``) name the
    hook, the scenario, and what went wrong.
    """
    cls = design_class(design)
    budget = Budget() if budget is None else budget
    names = list(SCENARIOS) if scenarios is None else [n for n in scenarios]
    for n in names:
        if n not in SCENARIOS:
            raise ValueError(f"unknown scenario {n!r}; valid names: {list(SCENARIOS)}")
    pmu = pmu_for(cls, pmu)
    t0 = time.perf_counter()
    grades = {n: _run_scenario(n, cls, pmu, budget) for n in names}
    explored = _explore(cls, pmu, budget, explorer)
    cost, rate, failures = {}, None, [s.failure for s in grades.values() if s.failure]
    guard = Guard(budget)
    try:
        cost = standard_workload(guarded_design(cls, guard), pmu=pmu or "v3p4", guard=guard)
        rate = round(cost["self_reads_ok"] / cost["self_reads"], 3) if cost["self_reads"] else 0.0
    except HookFailure as exc:
        f = (guard.failures[0] if guard.failures else exc).to_dict()
        failures.append({**f, "scenario": "cost workload"})
    except Exception as exc:  # noqa: BLE001
        failures.append({"hook": "(kernel after the design's hooks)", "kind": "crash", "scenario": "cost workload",
                         "message": f"{type(exc).__name__}: {exc}"})
    if explored.get("failure"):
        failures.append(explored["failure"])
    verdict, evidence = _invariants(grades, explored) if all(n in grades for n in ("S3", "S4", "S7", "S13")) \
        else ({k: v for k, v in explored["invariants"].items()}, {})
    return Card(design=display_name(cls), scenarios=grades, invariants=verdict, invariant_evidence=evidence,
                counterexample=explored.get("counterexample"), explorer=explored, cost=cost, self_read_rate=rate,
                failures=failures, seconds=time.perf_counter() - t0)
