"""The first views (register diagram, PMUSERENR truth table, counter timeline), headless."""

from __future__ import annotations

import numpy as np
import pytest

from pmulab.hw import sysregs
from pmulab.hw.sysregs import PMCR, PMUSERENR
from pmulab.viz import counter_timeline, pmuserenr_table, register_view


def test_register_view_draws_every_declared_field_and_follows_update():
    view = register_view("PMCR_EL0")
    for f in PMCR.fields:
        assert f'data-field="{f.name}"' in view.diagram.value
    view.update(PMCR.encode(E=1, LC=1))
    assert view.decoded["E"] == 1 and view.decoded["LC"] == 1
    assert 'data-field="E" data-value="1"' in view.diagram.value
    assert f'class="pmulab-regvalue">{PMCR.encode(E=1, LC=1):#x}<' in view.diagram.value


def test_register_view_rejects_values_that_do_not_fit_and_keeps_its_value():
    view = register_view("PMUSERENR_EL0", PMUSERENR.encode(ER=1))
    shown = view.diagram.value
    with pytest.raises((TypeError, ValueError)):
        view.update(1 << sysregs.lookup("PMUSERENR_EL0").layout.width)
    assert view.value == PMUSERENR.encode(ER=1) and view.diagram.value == shown
    with pytest.raises(ValueError):
        register_view("PMNOSUCH_EL0")


def test_truth_table_follows_the_toggles():
    table = pmuserenr_table()
    assert table.value == 0 and not table.el0_allows("PMEVCNTR0_EL0")
    table.toggles["ER"].value = True
    assert table.value == PMUSERENR.encode(ER=1)
    assert table.el0_allows("PMEVCNTR0_EL0") and not table.el0_allows("PMCR_EL0", write=True)
    assert f'data-pmuserenr="{PMUSERENR.encode(ER=1):#x}"' in table.table.value
    table.set_bits(EN=1)
    assert table.el0_allows("PMCR_EL0", write=True) and table.diagram.decoded["EN"] == 1
    with pytest.raises(ValueError, match="no PMUSERENR_EL0 toggle"):
        table.set_bits(XX=1)


def test_timeline_redraws_when_a_control_moves():
    tl = counter_timeline(steps=40)
    y0 = np.array(tl.lines.y)
    assert y0.shape == (5, 40)
    tl.rate.value = 90
    assert not np.array_equal(tl.lines.y, y0)
    assert tl.lines.y[0, -1] > y0[0, -1]  # more instructions per step
    tl.events[0].value = "CPU_CYCLES"
    assert tl.lines.labels[0] == "0: CPU_CYCLES"
    tl.exclude_el0.value = True
    tl.exclude_el1.value = True
    assert np.all(np.array(tl.lines.y)[0] == 0)  # counting at no EL: nothing counts


def test_timeline_overflow_markers_match_the_wraps():
    tl = counter_timeline(steps=120, rate=100)
    wraps = sum(len(tl.overflow_steps(s)) for s in tl.slots())
    assert wraps > 0 and len(tl.overflows.x) == wraps
    assert tl.read("PMOVSSET_EL0") != 0 and "asserted" in tl.summary.value


def test_timeline_callback_error_is_shown_and_the_plot_stays(monkeypatch):
    tl = counter_timeline(steps=30)
    y0 = np.array(tl.lines.y)
    monkeypatch.setattr(tl, "run", lambda: (_ for _ in ()).throw(RuntimeError("bank on fire")))
    tl.rate.value = 77
    assert "bank on fire" in tl.guard.shown and tl.guard.last_error == "RuntimeError('bank on fire')"
    np.testing.assert_array_equal(tl.lines.y, y0)
