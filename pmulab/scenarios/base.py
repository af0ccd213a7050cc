"""The shape every scenario shares: parameters, a run, named checks, expected outcomes, a story.

Models: nothing in Linux; this is how the lab turns a point of the v8 review thread into
something that runs on every user-access design (style anchors §8.6):
- ``Params``: a frozen dataclass whose fields carry ``label``/``min``/``max``/``options``
  metadata (widgets are built from it); out-of-range values raise ValueError naming the field
  and its range;
- ``Scenario.run(params, design)`` builds a Machine, performs the scenario's steps (each step
  narrated into the trace as a ``note`` row) and returns a ``Run`` (machine + observations);
- ``Scenario.checks(run)``: named booleans; ``Scenario.expected[design]``: the same names with
  the outcome the design must show; ``Outcome.ok`` when they agree.
Omits: widgets (pmulab.viz builds them from ``param_specs``).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pmulab.drivers.user_access import DESIGNS
from pmulab.scenarios import leaks
from pmulab.sim.machine import Machine

__all__ = ["Params", "param", "param_specs", "Scenario", "Run", "Outcome", "DESIGN_NAMES", "check_design"]

#: The six built-in designs, in the order of the series' history.
DESIGN_NAMES = tuple(DESIGNS)

#: Designs that need PMUv3p9 hardware (run_scenario builds their machine with pmu="v3p9").
_PMU_OF_DESIGN = {"pmuv3p9": "v3p9"}


def check_design(design: str) -> str:
    if not isinstance(design, str):
        raise TypeError(f"design must be a name (str), not {type(design).__name__}")
    if design not in DESIGNS:
        raise ValueError(f"unknown design {design!r}; valid names: {list(DESIGNS)}")
    return design


def param(default: Any, label: str, *, min: int | None = None, max: int | None = None,
          options: tuple | None = None, doc: str = "") -> Any:
    """A Params field with widget metadata (``label``, ``min``, ``max``, ``options``, ``doc``)."""
    meta = {"label": label, "min": min, "max": max, "options": options, "doc": doc}
    return field(default=default, metadata=meta)


@dataclass(frozen=True)
class Params:
    """Base of every scenario's parameters; validates ranges and options at construction."""

    def __post_init__(self):
        for f in dataclasses.fields(self):
            value = getattr(self, f.name)
            meta = f.metadata
            if meta.get("options") is not None:
                if value not in meta["options"]:
                    raise ValueError(f"{type(self).__qualname__}.{f.name}={value!r}: must be one of "
                                     f"{list(meta['options'])}")
                continue
            if isinstance(value, bool) or not isinstance(value, int):
                raise TypeError(f"{type(self).__qualname__}.{f.name} must be an int, not {type(value).__name__}")
            lo, hi = meta.get("min"), meta.get("max")
            if (lo is not None and value < lo) or (hi is not None and value > hi):
                raise ValueError(f"{type(self).__qualname__}.{f.name}={value} out of range {lo}..{hi}")


def param_specs(params_cls: type) -> list[dict]:
    """Widget specs from a Params class: name, default, label, min, max, options, doc."""
    return [{"name": f.name, "default": f.default, **dict(f.metadata)} for f in dataclasses.fields(params_cls)]


@dataclass
class Run:
    """One execution: the machine after the steps and what the scenario observed (``obs``)."""

    machine: Machine
    design: str
    params: Params
    obs: dict = field(default_factory=dict)

    def note(self, text: str, cpu: int | None = None) -> None:
        """Narrate a step (a ``note`` row in the trace, shown by the story)."""
        self.machine.record("note", cpu=cpu, text=text)

    def observe(self, name: str, value: Any) -> Any:
        self.obs[name] = value
        self.machine.record("observe", name=name, value=value)
        return value


@dataclass
class Outcome:
    """What ``run_scenario`` returns: checks vs expectation, leaks, the trace and its story."""

    scenario: str
    design: str
    params: Params
    checks: dict[str, bool]
    expected: dict[str, bool]
    leak: leaks.LeakReport
    run: Run = field(repr=False)

    @property
    def ok(self) -> bool:
        """Every check has its expected value."""
        return all(self.checks.get(k) == v for k, v in self.expected.items())

    @property
    def mismatches(self) -> dict[str, tuple[bool, bool]]:
        """{check: (observed, expected)} for the checks that disagree."""
        return {k: (self.checks.get(k), v) for k, v in self.expected.items() if self.checks.get(k) != v}

    @property
    def machine(self) -> Machine:
        return self.run.machine

    @property
    def trace(self):
        return self.run.machine.trace

    @property
    def obs(self) -> dict:
        return self.run.obs

    @property
    def story(self) -> list[str]:
        """The run step by step: notes, observations and the kernel actions that matter."""
        return story_lines(self.trace)

    def to_dict(self) -> dict:
        return {"scenario": self.scenario, "design": self.design, "params": dataclasses.asdict(self.params),
                "checks": dict(self.checks), "expected": dict(self.expected), "ok": self.ok,
                "leak": self.leak.to_dict()}


#: Trace kinds the story shows besides notes (the rest is in ``trace.format()``).
STORY_KINDS = ("note", "observe", "open", "error", "switch", "migrate", "ipi", "mrs", "sigill", "sysctl",
               "counter_claim", "counter_release", "counter_clear", "pmu_start")


def story_lines(trace) -> list[str]:
    lines = []
    for rec in trace.actions():
        kind = rec["kind"]
        if kind not in STORY_KINDS:
            continue
        if kind == "note":
            lines.append(f"[tick {rec['tick']}] {rec['text']}")
            continue
        if kind == "observe":
            lines.append(f"      => {rec['name']} = {_fmt(rec['value'])}")
            continue
        extra = " ".join(f"{k}={_fmt(v)}" for k, v in rec.items()
                         if k not in ("seq", "tick", "time", "kind", "cpu", "task", "func"))
        who = f" task {rec['task']}" if rec["task"] is not None else ""
        lines.append(f"        {kind:<15} cpu{rec['cpu']}{who} {extra}".rstrip())
    return lines


def _fmt(v: Any) -> str:
    return f"{v:#x}" if isinstance(v, int) and not isinstance(v, bool) and v > 0xFFFF else str(v)


@dataclass(frozen=True)
class Scenario:
    """One review concern as code (see the module docstring)."""

    name: str
    title: str
    concern: str  # which point of the thread it answers
    params: type
    steps: Callable[[Run], None]
    checks: Callable[[Run], dict[str, bool]]
    expected: dict[str, dict[str, bool]]
    headline: str  # the check shown in the matrix
    machine_args: Callable[[Params], dict] = field(default=lambda p: {})
    doc: str = ""

    def build(self, params: Params | None = None, design: str = "v5.17") -> Run:
        """A fresh Machine for this scenario and design (counter tracepoints on), wrapped in a Run."""
        params = self.params() if params is None else params
        if not isinstance(params, self.params):
            raise TypeError(f"{self.name} takes {self.params.__qualname__}, not {type(params).__name__}")
        check_design(design)
        kwargs = {"cpus": 2, "counters": 6, "pmu": "v3p4", "perf_user_access": 1, "seed": 0}
        kwargs.update(self.machine_args(params))
        kwargs["pmu"] = _PMU_OF_DESIGN.get(design, kwargs["pmu"])
        m = Machine(design=design, **kwargs)
        m.design.tracing = True
        return Run(m, design, params)

    def run(self, params: Params | None = None, design: str = "v5.17") -> Run:
        run = self.build(params, design)
        run.note(f"{self.name} on design {design}: {self.title}")
        self.steps(run)
        return run

    def outcome(self, design: str = "v5.17", **params: Any) -> Outcome:
        run = self.run(self.params(**params), design)
        return Outcome(self.name, design, run.params, self.checks(run), dict(self.expected[design]),
                       leaks.analyse(run.machine.trace), run)
