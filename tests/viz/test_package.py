"""pmulab.viz's public surface: every exported view is importable and listed in the package docstring."""

from __future__ import annotations

import pmulab.viz as viz


def test_every_export_exists():
    missing = [name for name in viz.__all__ if not hasattr(viz, name)]
    assert missing == []


def test_the_docstring_lists_every_view_builder():
    builders = [n for n in viz.__all__ if n[0].islower() and callable(getattr(viz, n)) and n != "ownership"
                and n != "demo_workload"]
    assert builders, "no view builders exported"
    unlisted = [n for n in builders if f"``{n}(" not in viz.__doc__ and f"``{n}``" not in viz.__doc__]
    assert unlisted == []
    assert "``ScenarioExplorer(" in viz.__doc__


def test_views_share_the_style():
    from pmulab.viz import style
    fig = style.figure([], [], "t")
    assert fig.layout.height == style.HEIGHT and fig.fig_margin == style.MARGIN and fig.animation_duration == 0
    assert 'data-x="1"' in style.badge("ok", True, x=1) and style.GOOD in style.badge("ok", True)
