"""The report card of a user-access design: safety per scenario, invariants, explorer, cost.

Models: nothing in Linux; the studio's verdict. A scenario is *safe* (``ScenarioGrade.ok``)
when its run shows no leak (``pmulab.scenarios.leaks``: nobody read a count that was not
theirs, no live count destroyed) and the scenario's safety checks (``SAFETY``: the design's
accounting matches PMUSERENR_EL0 -- Mark Rutland's point 2; the switch-off is honoured; no
stale ER|CR) hold. Reads are named "who read whose count" from the counter-ownership
tracepoints. A scenario whose run raised (a broken hook) is not safe and names the hook.
Omits: rendering (``pmulab.viz.studio_view``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["SAFETY", "NOTES", "ScenarioGrade", "Card", "describe_leaks"]

#: scenario -> {check: the value a safe design shows}. Leaks are judged separately, for every scenario.
SAFETY = {
    "S3": {"accounting_consistent": True, "caller_cpu_stays_enabled": False},
    "S4": {"accounting_consistent": True},
    "S7": {"count_correct": True},
    "S10": {"raw_mrs_sigill": True},
    "S13": {"stale_access": False},
}
#: scenario -> {check: (value worth a note, the note)}: facts shown on the card that are not leaks.
NOTES = {
    "S12": {"stale_mrs_sigill": (True, "a reader migrated to the other cluster gets SIGILL (pin to one CPU type)")},
    "S14": {"sign_extending_reader_off_by_minus_2_32": (True, "IOC_RESET leaves a zero-extended prev_count "
                                                              "(core arithmetic, every design)")},
    "S15": {"a_gains_access": (True, "A gains EL0 access from B's event without opting in")},
    "S16": {"child_gains_access": (True, "inherited children get EL0 access without a user page")},
}

_KIND_WORDS = {"cpu_bound": "CPU-bound count", "foreign_owner": "count of {reader} (no user read granted)",
               "other_task": "count of another task", "stale": "stale count (counter released, not cleared)"}


def _name(names: dict, pid: Any) -> str:
    return names.get(pid, f"pid {pid}") if pid is not None else "?"


def describe_leaks(report, names: dict) -> list[str]:
    """The leaks of a ``LeakReport`` as sentences: "T read root's CPU-bound count (PMEVCNTR0_EL0 on CPU 0)"."""
    out = []
    for r in report.reads:
        kind = r["kind"]
        if kind not in _KIND_WORDS:
            continue
        reader, owner = _name(names, r["reader"]), _name(names, r["owner"])
        line = f"{reader} read {owner}'s {_KIND_WORDS[kind].format(reader=reader)} ({r['reg']} on CPU {r['cpu']})"
        if line not in out:
            out.append(line)
    for d in report.destroyed:
        owners = ", ".join(f"{_name(names, o)}'s" for o in d.get("owners", [])) or "a"
        line = f"the kernel zeroed {owners} live count (idx {d['live']} on CPU {d['cpu']}, {d['why']})"
        if line not in out:
            out.append(line)
    return out


@dataclass
class ScenarioGrade:
    """One scenario on the graded design.

    ``ok``: safe (no leak, safety checks hold, no hook failure). ``leak``: "who read whose
    count" sentences (empty when none). ``checks``: the scenario's named checks.
    ``violations``: the safety checks that failed. ``notes``: facts worth knowing (not leaks).
    ``failure``: the broken hook ({"hook", "kind", "message"}) when the run did not finish.
    ``outcome``: the ``pmulab.scenarios`` Outcome (trace, story), None after a failure.
    ``matches_spec``: for a built-in design, whether the run agrees with spec §7 (else None).
    """

    name: str
    title: str
    ok: bool
    leak: list[str] = field(default_factory=list)
    leak_kinds: list[str] = field(default_factory=list)
    checks: dict[str, bool] = field(default_factory=dict)
    violations: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    failure: dict | None = None
    matches_spec: bool | None = None
    outcome: Any = field(default=None, repr=False)

    @property
    def status(self) -> str:
        """"safe", "leaks", "unsafe" (a safety check failed) or "broken" (a hook failed)."""
        if self.failure is not None:
            return "broken"
        if self.leak:
            return "leaks"
        return "safe" if self.ok else "unsafe"

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "ok": self.ok, "status": self.status, "leak": list(self.leak),
                "leak_kinds": list(self.leak_kinds), "checks": dict(self.checks), "violations": list(self.violations),
                "notes": list(self.notes), "failure": self.failure, "matches_spec": self.matches_spec}


@dataclass
class Card:
    """A design's report card (see ``pmulab.studio.grade``)."""

    design: str
    scenarios: dict[str, ScenarioGrade]
    invariants: dict[str, bool]
    invariant_evidence: dict[str, str]
    counterexample: list[dict] | None
    explorer: dict
    cost: dict[str, float]
    self_read_rate: float | None
    failures: list[dict]
    seconds: float = 0.0

    @property
    def failed(self) -> list[str]:
        """Names of the scenarios that are not safe."""
        return [n for n, s in self.scenarios.items() if not s.ok]

    @property
    def safe(self) -> list[str]:
        return [n for n, s in self.scenarios.items() if s.ok]

    @property
    def broken_hooks(self) -> list[str]:
        """The hooks that failed, in the order they first failed."""
        out = []
        for f in self.failures:
            if f["hook"] not in out:
                out.append(f["hook"])
        return out

    def summary(self) -> str:
        lines = [f"design {self.design}: safe {len(self.safe)}/{len(self.scenarios)}"
                 + (f"; fails {', '.join(self.failed)}" if self.failed else "")]
        for name, s in self.scenarios.items():
            if s.ok:
                continue
            why = s.leak + [f"{v} is wrong" for v in s.violations]
            if s.failure:
                why.append(f"hook {s.failure['hook']}: {s.failure['message']}")
            lines.append(f"  {name} {s.status}: " + "; ".join(why[:3]))
        if self.failures:
            where = ", ".join(dict.fromkeys(f["scenario"] for f in self.failures))
            f = self.failures[0]
            lines.append(f"broken hook {f['hook']} ({f['kind']}: {f['message']}) in {where}")
        bad = [k for k, v in self.invariants.items() if not v]
        lines.append("invariants: " + (f"violated {', '.join(bad)}" if bad else "all hold"))
        if self.counterexample:
            lines.append(f"explorer counterexample ({self.explorer.get('invariant')}): "
                         + "; ".join(s.get("text", str(s)) for s in self.counterexample))
        elif self.explorer.get("verdict") is None:
            lines.append(f"explorer: no verdict ({self.explorer.get('reason')})")
        lines.append("cost: " + ", ".join(f"{k}={v}" for k, v in self.cost.items()))
        if self.self_read_rate is not None:
            lines.append(f"self-monitoring reads that worked: {self.self_read_rate:.0%}")
        return "\n".join(lines)

    def _repr_pretty_(self, p, cycle) -> None:  # IPython plain-text display
        p.text(self.summary())

    def to_dict(self) -> dict:
        """JSON-able (``json.dumps(card.to_dict())`` works)."""
        return {"design": self.design, "scenarios": {n: s.to_dict() for n, s in self.scenarios.items()},
                "invariants": dict(self.invariants), "invariant_evidence": dict(self.invariant_evidence),
                "counterexample": self.counterexample, "explorer": dict(self.explorer), "cost": dict(self.cost),
                "self_read_rate": self.self_read_rate, "failures": list(self.failures),
                "seconds": round(self.seconds, 3), "failed": self.failed}
