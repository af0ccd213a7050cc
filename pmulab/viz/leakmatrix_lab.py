"""The leak matrix lab of notebook 04: which design lets EL0 read what is not its own (S1, S2, S15, S16).

Models: nothing itself; every number comes from ``pmulab.scenarios.run_scenario`` outcomes.
- ``LeakMatrixLab``: Mark Rutland's point 1 ("This still leaks the values of CPU-bound events,
  or task-bound events owned by others, right?") as a design x leak-kind heat map over the
  scenarios ticked (value = share of those scenarios in which the design shows that kind); the
  kinds are ``pmulab.scenarios.leaks.LEAK_KINDS`` plus ``granted`` (EL0 access the reader never
  asked for: S15, S16).
Omits: running anything the scenarios do not run.
Pinned to: ipywidgets 8, bqplot 0.13; spec §7 S1, S2, S15, S16.
"""

from __future__ import annotations

import html

import ipywidgets as widgets
import numpy as np

from pmulab.scenarios import SCENARIOS, run_scenario
from pmulab.scenarios import leaks as leak_analysis
from pmulab.scenarios.base import DESIGN_NAMES, check_design
from pmulab.viz.guard import CallbackGuard
from pmulab.viz.labkit import _CARD, _TD
from pmulab.viz.leakmatrix import LeakMatrix

__all__ = ["MATRIX_KINDS", "LeakMatrixLab", "leak_matrix_lab"]


#: Heat-map columns: the leak kinds of the analysis, then access the reader did not ask for.
MATRIX_KINDS = (*leak_analysis.LEAK_KINDS, "granted")


def _kinds_of(outcome) -> set[str]:
    """The heat-map kinds an outcome shows: its leak kinds, plus ``granted`` if any read was granted."""
    kinds = set(outcome.leak.kinds)
    if any(r["kind"] == "granted" for r in outcome.leak.reads):
        kinds.add("granted")
    return kinds


class LeakMatrixLab(widgets.VBox):
    """Tick scenarios; the heat map shows, per design, in what share of them each kind of leak occurs."""

    def __init__(self, scenarios=("S1", "S2", "S15", "S16"), designs=DESIGN_NAMES,
                 title: str = "Mark's point 1: which design lets EL0 read what is not its own"):
        self.designs = [check_design(d) for d in designs]
        self.names = [SCENARIOS[s].name for s in scenarios]
        self.kinds = list(MATRIX_KINDS)
        self.guard = CallbackGuard()
        # every outcome once, for the default parameters (the heat map compares designs, not parameters)
        self.outcomes = {(s, d): run_scenario(s, d) for s in self.names for d in self.designs}
        self.boxes = {s: widgets.Checkbox(value=True, indent=False, description=f"{s}: {SCENARIOS[s].title}",
                                          layout=widgets.Layout(width="auto")) for s in self.names}
        for box in self.boxes.values():
            box.observe(self.guard.wrap(self._on_change), names="value")
        self.matrix = LeakMatrix(self.compute(), self.designs, self.kinds, title)
        self.matrix.fig.axes[0].label = ""  # the column names say it; the label would sit on the title
        self.note = widgets.HTML()
        super().__init__([widgets.HTML("<b>scenarios counted</b>"), *self.boxes.values(), self.guard.out,
                          self.matrix, self.note])
        self.add_class("pmulab-leaklab")
        self.refresh()

    @property
    def selected(self) -> list[str]:
        return [s for s, b in self.boxes.items() if b.value]

    def compute(self) -> np.ndarray:
        """(designs, kinds): share of the ticked scenarios in which the design shows the kind."""
        chosen = self.selected
        values = np.zeros((len(self.designs), len(self.kinds)))
        for i, d in enumerate(self.designs):
            for s in chosen:
                shown = _kinds_of(self.outcomes[(s, d)])
                values[i] += [k in shown for k in self.kinds]
        return values / max(len(chosen), 1)

    def _on_change(self, change) -> None:
        self.refresh()

    def refresh(self) -> np.ndarray:
        """Recompute and redraw (LeakMatrix.update redraws inside hold_sync)."""
        self.values = self.compute()
        self.matrix.update(self.values)
        self.note.value = self._table()
        return self.values

    def leaks(self, design: str) -> list[str]:
        """Kinds with a non-zero share for ``design`` (``granted`` included)."""
        return self.matrix.leaks(design)

    def shown_by(self, design: str, kind: str) -> list[str]:
        """The ticked scenarios in which ``design`` shows ``kind``."""
        return [s for s in self.selected if kind in _kinds_of(self.outcomes[(s, design)])]

    def _table(self) -> str:
        head = "".join(f"<th style='{_TD}background:#eef1f6'>{html.escape(d)}</th>" for d in self.designs)
        rows = []
        for s in self.selected:
            cells = []
            for d in self.designs:
                shown = sorted(_kinds_of(self.outcomes[(s, d)]))
                colour = "#fbd5d5" if set(shown) - {"granted"} else ("#fff1c2" if shown else "#d5f2dc")
                cells.append(f"<td style='{_TD}background:{colour}' data-scenario='{s}' data-design='{d}'>"
                             f"{html.escape(', '.join(shown) or 'nothing')}</td>")
            rows.append(f"<tr><td style='{_TD}'><b>{s}</b></td>{''.join(cells)}</tr>")
        return (f"<div class='pmulab-leaktable' style='{_CARD}'>what each run showed "
                f"(red: a leak, yellow: access not asked for)<table style='border-collapse:collapse'>"
                f"<tr><th style='{_TD}background:#eef1f6'>scenario</th>{head}</tr>{''.join(rows)}</table></div>")


def leak_matrix_lab(scenarios=("S1", "S2", "S15", "S16"), designs=DESIGN_NAMES) -> LeakMatrixLab:
    """Return the leak-matrix lab: scenario check boxes -> design x leak-kind heat map."""
    return LeakMatrixLab(scenarios, designs)
