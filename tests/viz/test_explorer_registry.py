"""ScenarioExplorer on every registered scenario (S1..S16), headless: by name and by Scenario object.

For each scenario: the explorer builds with controls from the scenario's ``.params`` dataclass,
shows one badge per named check and the verdict, draws the trace and the ownership strip; then
one control moves (the first parameter, or the design menu when the scenario has none) and the
plotted data must change while the badges follow the new outcome.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest

from pmulab.scenarios import SCENARIOS, run_scenario
from pmulab.viz import ScenarioExplorer
from pmulab.viz.explorer import access_lanes, params_class

NAMES = list(SCENARIOS)


def test_every_scenario_s1_to_s16_is_registered():
    assert NAMES == [f"S{k}" for k in range(1, 17)]
    assert ScenarioExplorer.registered() == NAMES


def plotted(ex) -> tuple[np.ndarray, np.ndarray]:
    """Ticks, and the counter lines stacked on the EL0-access lanes (everything the two figures draw)."""
    y = np.atleast_2d(np.asarray(ex.lines.y, dtype=float))
    lanes = np.atleast_2d(np.asarray(ex.access.color, dtype=float))
    both = np.vstack([y, lanes]) if y.size else lanes
    return np.asarray(ex.lines.x, dtype=float).copy(), both.copy()


def other_value(widget):
    """A valid value of ``widget`` different from the current one (within its declared range)."""
    if hasattr(widget, "options") and widget.options:
        options = [o[1] if isinstance(o, tuple) else o for o in widget.options]
        return next(o for o in options if o != widget.value)
    if isinstance(widget.value, bool):
        return not widget.value
    return widget.max if widget.value != widget.max else widget.min


@pytest.mark.parametrize("name", NAMES)
def test_explorer_builds_moves_and_redraws_on_every_scenario(name):
    ex = ScenarioExplorer(name)
    sc = SCENARIOS[name]
    assert ex.scenario is sc and ex.Params is sc.params
    assert list(ex.controls) == [f.name for f in dataclasses.fields(sc.params)]
    assert ex.guard.last_error is None

    # first drawing: the default parameters on v5.17, exactly what run_scenario says
    want = run_scenario(name, "v5.17")
    assert ex.outcome.checks == want.checks and ex.outcome.ok == want.ok
    x0, y0 = plotted(ex)
    assert len(x0) > 0 and np.atleast_2d(ex.lines.y).size > 0, "the trace must draw at least one counter line"
    assert np.asarray(ex.access.color).shape == (ex.outcome.machine.ncpus, len(x0))
    assert 'class="pmulab-verdict"' in ex.badges.value
    for check in want.checks:
        assert f'data-check="{check}"' in ex.badges.value
    assert len(ex.strip.rows) == ex.outcome.machine.ncpus and "pmulab-strip" in ex.strip.html.value

    # move one control: the first parameter, or the design when the scenario has no parameters
    if ex.controls:
        field, widget = next(iter(ex.controls.items()))
        new = other_value(widget)
        widget.value = new
        assert getattr(ex.outcome.params, field) == new
        want = run_scenario(name, "v5.17", **{field: new})
    else:
        ex.design.value = "pmuv3p9"
        assert ex.outcome.design == "pmuv3p9" and 'data-design="pmuv3p9"' in ex.badges.value
        want = run_scenario(name, "pmuv3p9")
    assert ex.guard.last_error is None
    x1, y1 = plotted(ex)
    assert x1.shape != x0.shape or y1.shape != y0.shape or not np.array_equal(y1, y0), "the plot did not change"
    assert ex.outcome.checks == want.checks
    assert ('data-ok="1"' in ex.badges.value) == want.ok
    for check, value in want.checks.items():
        good = value == want.expected.get(check, value)
        assert f'data-check="{check}" data-good="{int(good)}"' in ex.badges.value


@pytest.mark.parametrize("name", ["S1", "S3", "S13"])
def test_a_scenario_object_and_its_name_give_the_same_explorer(name):
    by_name, by_object = ScenarioExplorer(name, design="v8"), ScenarioExplorer(SCENARIOS[name], design="v8")
    assert list(by_name.controls) == list(by_object.controls)
    assert by_name.outcome.to_dict() == by_object.outcome.to_dict()
    np.testing.assert_array_equal(by_name.lines.y, by_object.lines.y)


def test_s1_on_v8_shows_the_leak_in_badges_and_strip():
    ex = ScenarioExplorer("S1", design="v8")
    assert ex.outcome.checks["t_reads_cpu_bound_count"]
    assert 'data-leak="1"' in ex.badges.value
    assert any(row.leaks for row in ex.strip.rows)
    ticks, lanes, labels = access_lanes(ex.outcome.trace)
    assert labels == ["CPU0", "CPU1"] and (lanes[0] == 1).all() and (lanes[1] == 0).all()  # CPU 0 open, CPU 1 not
    assert list(ex.access.row) == labels and np.array_equal(ex.access.color, lanes)
    ex.design.value = "pmuv3p9"  # per-counter access: nothing foreign is readable
    assert not ex.outcome.checks["t_reads_cpu_bound_count"] and 'data-leak="0"' in ex.badges.value
    assert not any(row.leaks for row in ex.strip.rows)  # root's counter reads as zero (RAZ): closed


def test_bad_input_is_refused_before_anything_is_built():
    with pytest.raises(ValueError, match="unknown scenario 'S99'"):
        ScenarioExplorer("S99")
    with pytest.raises(TypeError, match="no parameters dataclass"):
        ScenarioExplorer(object())
    with pytest.raises(ValueError, match="not in the menu"):
        ScenarioExplorer("S1", design="v9")
    with pytest.raises(TypeError, match="no parameters dataclass"):
        params_class(SCENARIOS["S1"].params())  # an instance, not the class


def test_a_failing_run_keeps_plot_badges_and_strip():
    ex = ScenarioExplorer("S3", design="v8")
    x, y, badges, strip = *plotted(ex), ex.badges.value, ex.strip.html.value
    ex.design.options = [*ex.design.options, "no-such-design"]
    ex.design.value = "no-such-design"
    assert "unknown design" in ex.guard.shown
    np.testing.assert_array_equal(plotted(ex)[1], y)
    np.testing.assert_array_equal(plotted(ex)[0], x)
    assert ex.badges.value == badges and ex.strip.html.value == strip
