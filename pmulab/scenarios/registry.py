"""The scenario registry and the entry points notebooks and the CLI use.

``SCENARIOS`` (read-only mapping "S1".."S16" -> Scenario), ``run_scenario(name, design,
**params)`` -> Outcome, ``matrix(designs, scenarios)`` -> {scenario: {design: Outcome}},
``leak_matrix(designs, scenarios)`` -> {design: {leak kind: count}} (data for plots).
Omits: caching (every call runs the machine afresh; a full matrix takes about a second).
"""

from __future__ import annotations

from types import MappingProxyType

from pmulab.scenarios import dirty_counters, foreign_counters, mmap_other_task, read_loop, switches_widths
from pmulab.scenarios.base import DESIGN_NAMES, Outcome, Scenario, check_design
from pmulab.scenarios.leaks import LEAK_KINDS

__all__ = ["SCENARIOS", "scenario", "run_scenario", "matrix", "leak_matrix"]

_ALL = (foreign_counters.S1, foreign_counters.S2, mmap_other_task.S3, mmap_other_task.S4, read_loop.S5,
        read_loop.S6, dirty_counters.S7, read_loop.S8, read_loop.S9, switches_widths.S10, switches_widths.S11,
        switches_widths.S12, switches_widths.S13, read_loop.S14, foreign_counters.S15, foreign_counters.S16)

#: name -> Scenario, S1..S16 in order.
SCENARIOS = MappingProxyType({s.name: s for s in _ALL})


def scenario(name: str) -> Scenario:
    """The Scenario called ``name`` (ValueError listing the valid names)."""
    if not isinstance(name, str):
        raise TypeError(f"scenario name must be a str, not {type(name).__name__}")
    try:
        return SCENARIOS[name]
    except KeyError:
        raise ValueError(f"unknown scenario {name!r}; valid names: {list(SCENARIOS)}") from None


def run_scenario(name: str, design: str = "v5.17", **params) -> Outcome:
    """Run scenario ``name`` on ``design`` with ``params`` (its Params fields) -> Outcome."""
    return scenario(name).outcome(check_design(design), **params)


def matrix(designs=DESIGN_NAMES, scenarios=None) -> dict[str, dict[str, Outcome]]:
    """{scenario: {design: Outcome}} for the default parameters."""
    names = list(SCENARIOS) if scenarios is None else list(scenarios)
    return {s: {d: run_scenario(s, d) for d in designs} for s in names}


def leak_matrix(designs=DESIGN_NAMES, scenarios=None) -> dict[str, dict[str, int]]:
    """{design: {leak kind: occurrences summed over the scenarios}} (LEAK_KINDS columns)."""
    names = list(SCENARIOS) if scenarios is None else list(scenarios)
    out = {}
    for d in designs:
        row = dict.fromkeys(LEAK_KINDS, 0)
        for s in names:
            for kind, n in run_scenario(s, d).leak.counts.items():
                row[kind] += n
        out[d] = row
    return out
