"""The leak matrix: user-access designs against kinds of leak, as a bqplot heat map.

Models: nothing itself; it draws data it is given: ``matrix[d][k]`` = how badly design ``d``
shows leak kind ``k`` (0 = no leak, 1 = leaks; fractions for "in some runs"), as a
``bqplot.GridHeatMap`` with designs as rows and leak kinds as columns, the value printed in
each cell. The data usually come from ``run_scenario`` outcomes (``.leak``) or ``grade()``.
Omits: computing the matrix (the scenarios do that).
Pinned to: bqplot 0.13 GridHeatMap (row/column ordinal scales, ColorScale).
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from pmulab.viz import style

__all__ = ["LeakMatrix", "leak_matrix"]

COLOURS = ["#e8f5e9", "#fde68a", "#dc2626"]


def _matrix(matrix, designs, kinds) -> np.ndarray:
    a = np.asarray(matrix, dtype=float)
    if a.shape != (len(designs), len(kinds)):
        raise ValueError(f"matrix has shape {a.shape}, expected (designs, kinds) = ({len(designs)}, {len(kinds)})")
    if np.isnan(a).any() or (a < 0).any() or (a > 1).any():
        raise ValueError("leak matrix values must be in [0, 1] (0 = no leak, 1 = leaks)")
    return a


class LeakMatrix(widgets.VBox):
    """A design x leak-kind heat map; ``update(matrix)`` redraws inside ``fig.hold_sync()``."""

    def __init__(self, matrix, designs, kinds, title: str = "Which design leaks what"):
        self.designs, self.kinds = [str(d) for d in designs], [str(k) for k in kinds]
        self.values = _matrix(matrix, self.designs, self.kinds)
        rows, cols = bq.OrdinalScale(reverse=True), bq.OrdinalScale()
        self.colours = bq.ColorScale(min=0.0, max=1.0, colors=COLOURS)
        self.grid = bq.GridHeatMap(row=self.designs, column=self.kinds, color=self.values,
                                   scales={"row": rows, "column": cols, "color": self.colours},
                                   display_format=".0%", font_style={"font-size": "13px", "fill": "#111"},
                                   stroke="white", tooltip=bq.Tooltip(fields=["row", "column", "color"],
                                                                      labels=["design", "leak", "value"]))
        axes = [style.x_axis(cols, "leak kind", side="top"),
                style.y_axis(rows, "design", tick_format=None, label_offset="70px")]
        self.fig = style.figure([self.grid], axes, title, legend=None, height=f"{120 + 44 * len(self.designs)}px",
                                fig_margin=dict(style.MARGIN, top=80, bottom=20, left=110))
        super().__init__([self.fig])
        self.add_class("pmulab-leakmatrix")

    def update(self, matrix) -> None:
        """Show new values (same designs and kinds)."""
        self.values = _matrix(matrix, self.designs, self.kinds)
        with self.fig.hold_sync():
            self.grid.color = self.values

    def leaks(self, design: str) -> list[str]:
        """Leak kinds with a non-zero value for ``design``."""
        row = self.values[self.designs.index(design)]
        return [k for k, v in zip(self.kinds, row, strict=True) if v > 0]


def leak_matrix(matrix, designs, kinds, title: str = "Which design leaks what") -> LeakMatrix:
    """Return a heat map of ``matrix`` (rows ``designs``, columns ``kinds``, values in [0, 1])."""
    return LeakMatrix(matrix, designs, kinds, title)
