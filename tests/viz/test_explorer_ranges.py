"""Every value a ScenarioExplorer control can take redraws without an error (e.g. a one-tick run)."""

import pytest

from pmulab.scenarios import SCENARIOS
from pmulab.viz import ScenarioExplorer


def _extremes(widget):
    if hasattr(widget, "min"):
        return [widget.min, widget.max]
    if isinstance(widget.value, bool):
        return [not widget.value, widget.value]
    return list(getattr(widget, "options", []))


@pytest.mark.parametrize("name", list(SCENARIOS))
def test_controls_at_their_extremes_redraw(name):
    ex = ScenarioExplorer(name)
    for widget in ex.controls.values():
        for value in _extremes(widget):
            widget.value = value
            assert not ex.guard.errors, ex.guard.errors
            assert dict(ex.params.__dict__)[next(k for k, w in ex.controls.items() if w is widget)] == value
            assert len(ex.lines.x) >= 2
