"""The design studio: grade any user-access design for safety and cost (issue 12).

``grade(design)`` -> ``Card`` (``.scenarios`` {"S1": ScenarioGrade with ``.ok`` and ``.leak``},
``.invariants`` {name: bool}, ``.counterexample`` (shortest explorer op list or None),
``.cost`` {"ipis", "pmuserenr_writes_per_switch", "counter_clears_per_switch", "mmap_work",
"munmap_work", "remote_mmap_work", "el0_traps", "el0_trap_work", ...}, ``.to_dict()``);
``cards(designs)`` grades several; ``readme_table(cards)`` renders them side by side.
Models: see ``pmulab.studio.grade`` (what is run), ``card`` (what "safe" means), ``cost`` (the
standard workload) and ``guard`` (how a broken hook is contained).
"""

from __future__ import annotations

from pmulab.studio.card import Card, ScenarioGrade
from pmulab.studio.grade import EXPLORER, grade
from pmulab.studio.guard import Budget, HookFailure
from pmulab.studio.table import cards, readme_table

__all__ = ["grade", "Card", "ScenarioGrade", "Budget", "HookFailure", "EXPLORER", "cards", "readme_table"]
