"""viz.studio_view without a browser: a click grades the latest class and redraws both figures."""

from __future__ import annotations

import math

import student_designs as sd

from pmulab.viz.studio_view import COST_KEYS, studio_view

FAST = {"scenarios": ["S4", "S13"], "explorer": None}
COLS = [3, 12]  # S4 and S13 among the matrix's S1..S16 columns (the others stay blank: not run)


def cells(view, row):
    return [float(view.grid.color[row][c]) for c in COLS]


def test_click_grades_and_redraws():
    view = studio_view(sd.NoStale, baseline="v5.17", **FAST)
    assert all(math.isnan(v) for v in view.grid.color[1])
    assert cells(view, 0) == [1.0, 1.0]  # v5.17: S4 and S13 leak
    view.button.click()
    assert view.guard.errors == []
    assert view.card.design == "NoStale" and cells(view, 1) == [0.0, 0.0]
    writes = COST_KEYS.index("pmuserenr_writes_per_switch")
    assert view.bars.y[1][writes] > view.bars.y[0][writes]
    assert view.bars.scales["y"].max > max(max(row) for row in view.bars.y)
    assert "NoStale" in view.status.value


def test_broken_design_shows_amber():
    view = studio_view(sd.Raises, baseline="v5.17", **FAST)
    card = view.grade()
    assert cells(view, 1) == [0.5, 0.5] and card.broken_hooks == ["start"]
    assert "broken hook start" in view.summary.value
