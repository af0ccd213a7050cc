"""Views for notebooks 07 and 08: the switch, the widths, big.LITTLE, and what Linux merged.

Models: nothing; this module only re-exports the views, one module per thing shown:
- ``access_lab``: ``UserAccessLab`` / ``access_run``, the sysctl, PMU version and config1 (S10, S11);
- ``biglittle_lab``: ``BigLittleLab`` / ``hop_run``, a read loop migrating between clusters (S12);
- ``walkthrough``: ``Walkthrough`` / ``walkthrough_steps``, the merged design step by step;
- ``design_matrix``: ``DesignMatrix``, every scenario on every design, clickable;
- ``series_timeline``: ``SeriesTimeline``, v1..v13 and the merged commits (spec §5.1-5.2);
- ``selfread``: ``read_outcome``, one self-monitoring read classified (shared by the 07 labs).
Omits: everything; see the modules above.
Pinned to: ipywidgets 8, bqplot 0.13; Linux v5.17 / 6.1.
"""

from __future__ import annotations

from pmulab.viz.access_lab import AccessRun, TickRead, UserAccessLab, access_run, user_access_lab
from pmulab.viz.biglittle_lab import CLUSTERS, BigLittleLab, HopRead, HopRun, big_little_lab, hop_run
from pmulab.viz.design_matrix import DesignMatrix, design_matrix
from pmulab.viz.selfread import OUTCOME_STYLE, OUTCOMES, read_outcome
from pmulab.viz.series_timeline import COMMITS, MILESTONES, SERIES, SeriesTimeline, series_timeline
from pmulab.viz.walkthrough import WalkStep, Walkthrough, walk_columns, walkthrough, walkthrough_steps

__all__ = ["SERIES", "COMMITS", "TickRead", "AccessRun", "access_run", "UserAccessLab", "user_access_lab",
           "HopRead", "hop_run", "BigLittleLab", "big_little_lab", "WalkStep", "walkthrough_steps", "Walkthrough",
           "walkthrough", "walk_columns",
           "DesignMatrix", "design_matrix", "SeriesTimeline", "series_timeline", "read_outcome",
           "OUTCOMES", "OUTCOME_STYLE", "MILESTONES", "CLUSTERS", "HopRun"]
