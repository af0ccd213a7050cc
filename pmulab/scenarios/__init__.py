"""The review's scenarios as code: each point of the v8 thread, run on every user-access design.

``SCENARIOS`` maps "S1".."S16" to ``Scenario`` objects; ``run_scenario(name, design, **params)``
returns an ``Outcome`` (``.checks``, ``.expected``, ``.ok``, ``.leak``, ``.trace``, ``.story``);
``matrix()`` runs the scenario x design grid; ``leak_matrix()`` gives design x leak kind.
"""

from __future__ import annotations

from pmulab.scenarios.registry import SCENARIOS, leak_matrix, matrix, run_scenario, scenario

__all__ = ["SCENARIOS", "run_scenario", "scenario", "matrix", "leak_matrix"]
