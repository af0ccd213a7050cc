"""The notebook's data (pmulab.oracle.view) and widget (pmulab.viz.oracle_view) follow the selection."""

from __future__ import annotations

from pmulab.oracle import view
from pmulab.viz.oracle_view import oracle_view


def test_rows_and_series_come_from_both_sides():
    rows = view.rows("S13")
    assert rows[8] == {"step": 8, "task": "U", "op": "mrs", "what": "PMUSERENR_EL0", "model": "0xc (ER|CR)",
                       "kernel": "0xc (ER|CR)", "agree": True}
    series = view.pmuserenr_series("S13")
    assert series["kernel"] == series["model"] and series["kernel"][0] == 0 and 0xC in series["kernel"]
    assert view.recorded_names()[0] == "S13"
    assert view.overall()["mismatching"] == []


def test_dropdown_changes_figure_and_table():
    ov = oracle_view("S13")
    before = (list(ov.kernel_bars.x), ov.table.value)
    ov.dropdown.value = "S16-noinherit"
    assert list(ov.kernel_bars.y) == [0] and list(ov.model_dots.y) == [0]
    assert (list(ov.kernel_bars.x), ov.table.value) != before
    assert "S16-noinherit" in ov.figure.title and "SIGILL" in ov.table.value
    assert ov.guard.errors == []
