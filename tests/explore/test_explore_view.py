"""ExploreView without a browser: the search fills the summary, the menu and the three panels."""

from __future__ import annotations

from pmulab.viz.explore_view import explore_view


def test_view_runs_and_replays():
    v = explore_view(design="v8", cpus=2, tasks=3, depth=3, max_events=2)
    r = v.run()
    assert v.progress.value == v.progress.max == 3 and "states" in v.progress.description
    assert set(v.choice.options) == set(r.counterexamples) and v.choice.value == "accounting"
    assert "accounting violated" in v.story.value and "states" in v.summary.value
    n = len(r.counterexamples["accounting"].ops) + 1
    assert list(v.lines_access.x) == list(range(n))
    before = v.lines_counters.y.tolist()
    v.choice.value = "no_destroyed_counts"
    assert "no_destroyed_counts" in v.story.value
    assert v.lines_counters.y.tolist() != before
    # the destroyed counter drops to 0 at the last step (fraction of 2^32)
    assert any(line[-2] > 0.4 and line[-1] == 0.0 for line in v.lines_counters.y.tolist())
    assert v.errors == []


def test_view_with_no_violation():
    v = explore_view(design="v8-efc", depth=2, invariants=("accounting",))
    v.run()
    assert v.choice.options == () and "no violation" in v.story.value
    v.design.value = "v8"
    v.button.click()
    assert v.result.config.design_name == "v8" and v.choice.value == "accounting" and v.errors == []
