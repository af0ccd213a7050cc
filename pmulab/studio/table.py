"""The built-in designs' cards side by side: the README's design table.

``cards(designs)`` grades each design; ``readme_table(cards)`` renders one Markdown table with a
row per scenario (✓ safe, ✗ + the leak kinds or failed checks), the invariants, the explorer's
shortest counterexample length and the cost figures, one column per design.
Omits: notes (S12, S14-S16 facts) -- they are on each card.
"""

from __future__ import annotations

from typing import Any

from pmulab.drivers.user_access import DESIGNS
from pmulab.studio.card import Card
from pmulab.studio.grade import grade

__all__ = ["cards", "readme_table", "COST_ROWS"]

#: Cost keys shown in the table, with their row labels.
COST_ROWS = (("ipis", "IPIs (standard workload)"), ("pmuserenr_writes_per_switch", "PMUSERENR writes / switch"),
             ("counter_clears_per_switch", "counter clears / switch"), ("mmap_work", "mmap work"),
             ("munmap_work", "munmap work"), ("remote_mmap_work", "mmap+munmap from another task"),
             ("el0_traps", "EL0 traps"), ("el0_trap_work", "EL0 trap work"))


def cards(designs: Any = None, **kw: Any) -> dict[str, Card]:
    """{name: Card} for ``designs`` (default: the six built-in designs); ``kw`` go to ``grade``."""
    return {(d if isinstance(d, str) else d.__name__): grade(d, **kw) for d in (designs or list(DESIGNS))}


def _cell(card: Card, scen: str) -> str:
    s = card.scenarios[scen]
    if s.ok:
        return "✓"
    if s.failure:
        return f"✗ hook {s.failure['hook']}"
    return "✗ " + ", ".join(s.leak_kinds + s.violations)


def readme_table(cards: dict[str, Card]) -> str:
    """Markdown: scenarios, invariants, explorer and cost, one column per card."""
    names = list(cards)
    first = cards[names[0]]
    lines = ["| | " + " | ".join(f"`{n}`" for n in names) + " |", "|---|" + "---|" * len(names)]
    for scen in first.scenarios:
        title = first.scenarios[scen].title.replace("|", "\\|")
        lines.append(f"| {scen} {title} | " + " | ".join(_cell(cards[n], scen) for n in names)
                     + " |")
    for inv in first.invariants:
        lines.append(f"| invariant `{inv}` | " + " | ".join("✓" if cards[n].invariants.get(inv) else "✗"
                                                         for n in names) + " |")
    lines.append("| explorer: shortest counterexample | " + " | ".join(
        f"{len(cards[n].counterexample)} ops ({cards[n].explorer.get('invariant')})" if cards[n].counterexample
        else ("none" if cards[n].explorer.get("verdict") == "holds" else "n/a") for n in names) + " |")
    for key, label in COST_ROWS:
        lines.append(f"| {label} | " + " | ".join(str(cards[n].cost.get(key, "n/a")) for n in names) + " |")
    lines.append("| self-monitoring reads that worked | " + " | ".join(
        f"{cards[n].self_read_rate:.0%}" if cards[n].self_read_rate is not None else "n/a" for n in names) + " |")
    return "\n".join(lines)
