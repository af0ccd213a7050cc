"""ScenarioExplorer, headless: controls from Params metadata, reruns on change, errors shown, plot kept."""

from __future__ import annotations

import contextlib
import dataclasses

import ipywidgets as widgets
import numpy as np
import pytest

from pmulab.viz import ScenarioExplorer
from pmulab.viz.explorer import control_for, trace_lines

DESIGNS = ["v5.17", "v8"]


def explorer(fake):
    return ScenarioExplorer(fake, designs=DESIGNS, run=fake.run)


def test_controls_come_from_params_metadata(fake_scenario):
    ex = explorer(fake_scenario)
    ticks, who, fail = ex.controls["ticks"], ex.controls["who"], ex.controls["fail"]
    assert isinstance(ticks, widgets.IntSlider) and (ticks.min, ticks.max, ticks.value) == (1, 12, 4)
    assert ticks.description == "ticks"
    assert isinstance(who, widgets.Dropdown) and list(who.options) == ["T", "U"] and who.description == "reader"
    assert isinstance(fail, widgets.Checkbox) and fail.value is False
    assert list(ex.design.options) == DESIGNS and ex.design.value == "v5.17"
    assert ex.params == fake_scenario.Params()
    assert fake_scenario.calls == [("FAKE", "v5.17", {"ticks": 4, "who": "T", "fail": False})]


def test_a_control_change_reruns_and_redraws(fake_scenario):
    ex = explorer(fake_scenario)
    before = np.atleast_2d(ex.lines.y)  # bqplot stores a single line as 1-D
    assert len(ex.lines.x) == 4 and before.shape[1] == 4
    ex.controls["ticks"].value = 9
    after = np.atleast_2d(ex.lines.y)
    assert len(ex.lines.x) == 9
    assert after.shape == (before.shape[0], 9)
    assert after[:, -1].max() > before[:, -1].max()  # the counters went on counting
    assert fake_scenario.calls[-1][2]["ticks"] == 9


def test_badges_follow_the_checks_and_the_design(fake_scenario):
    ex = explorer(fake_scenario)
    assert 'data-ok="1"' in ex.badges.value and 'data-check="reads own counter" data-good="1"' in ex.badges.value
    ex.controls["who"].value = "U"
    assert 'data-ok="0"' in ex.badges.value and 'data-check="reads own counter" data-good="0"' in ex.badges.value
    assert "leaks: foreign" in ex.badges.value
    ex.design.value = "v8"
    assert fake_scenario.calls[-1][1] == "v8" and 'data-design="v8"' in ex.badges.value


def test_a_failing_run_shows_its_traceback_and_keeps_the_plot(fake_scenario):
    ex = explorer(fake_scenario)
    ex.controls["ticks"].value = 6
    x, y, labels, badges = np.array(ex.lines.x), np.array(ex.lines.y), list(ex.lines.labels), ex.badges.value
    ex.controls["fail"].value = True  # must not raise out of the callback
    assert isinstance(ex.guard.errors[-1], RuntimeError)
    assert "Traceback" in ex.guard.shown and "scenario exploded on purpose" in ex.guard.shown
    assert ex.guard.out.outputs[0]["name"] == "stderr"
    np.testing.assert_array_equal(ex.lines.x, x)
    np.testing.assert_array_equal(ex.lines.y, y)
    assert list(ex.lines.labels) == labels and ex.badges.value == badges
    ex.controls["fail"].value = False  # the next good run clears the error
    assert ex.guard.shown == "" and len(ex.lines.x) == 6


def test_marks_are_updated_inside_hold_sync(fake_scenario):
    ex = explorer(fake_scenario)
    entered = []
    real = ex.fig.hold_sync

    @contextlib.contextmanager
    def spy():
        entered.append(True)
        with real():
            yield

    ex.fig.hold_sync = spy
    ex.controls["ticks"].value = 5
    assert entered == [True]


def test_unsupported_field_type_is_a_type_error():
    @dataclasses.dataclass(frozen=True)
    class P:
        name: str = "x"

    with pytest.raises(TypeError, match="no control for str"):
        control_for(dataclasses.fields(P)[0])


def test_trace_lines_without_ticks_is_empty(machine):
    assert trace_lines(None)[2] == []
    ticks, y, labels = trace_lines(machine.m.trace)
    assert len(ticks) == 3 and y.shape == (len(labels), 3)
    assert "CPU0 PMEVCNTR0" in labels and "CPU1 PMEVCNTR0" not in labels
