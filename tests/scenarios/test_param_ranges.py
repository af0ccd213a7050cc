"""Every value a widget can produce runs: each scenario on each design at the ends and middle of each range.

Widgets are built from the Params metadata, so any value inside a declared range (or any option)
must give an Outcome, never an exception (the S5 reader used to trip over round-robin at ticks >= 3).
"""

import pytest

from pmulab.drivers.user_access import DESIGNS
from pmulab.scenarios import SCENARIOS, run_scenario
from pmulab.scenarios.base import param_specs


def _values(spec):
    if spec.get("options"):
        return list(spec["options"])
    if isinstance(spec["default"], bool):
        return [False, True]
    lo, hi = spec["min"], spec["max"]
    return sorted({lo, min(lo + 1, hi), (lo + hi) // 2, hi})


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_every_declared_value_runs_on_every_design(name):
    specs = param_specs(SCENARIOS[name].params)
    for spec in specs:
        for value in _values(spec):
            for design in DESIGNS:
                o = run_scenario(name, design, **{spec["name"]: value})
                assert set(o.checks) == set(o.expected), (name, design, spec["name"], value)
