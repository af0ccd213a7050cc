"""The series timeline of notebook 08: v1..v13 on a date axis and the five merged commits.

Models: nothing; it shows the history of the patch series as posted (spec §5.1-5.2):
``SERIES`` (version, date, what changed), ``MILESTONES`` (the review, the merge), ``COMMITS``.
- ``SeriesTimeline``: the versions on a bqplot DateScale, the milestones as rules, and a table.
Omits: the patches themselves.
Pinned to: ipywidgets 8, bqplot 0.13 (DateScale); Linux v5.17.
"""

from __future__ import annotations

import datetime as dt
import html

import bqplot as bq
import ipywidgets as widgets
import numpy as np

from pmulab.viz import style
from pmulab.viz.labkit import _BOX

__all__ = ["SERIES", "MILESTONES", "COMMITS", "SeriesTimeline", "series_timeline"]


#: The series as posted (spec §5.1): (version, date, what changed).
SERIES = (
    ("v1", "2020-07-07", "first posting by Rob Herring (after Raphael Gault's v4 of 2019)"),
    ("v2", "2020-08-28", "rework after review"),
    ("v3", "2020-09-11", "rework after review"),
    ("v4", "2020-10-01", "undef-instruction hook dropped: user space must pin itself to one CPU type"),
    ("v5", "2021-01-14", "x86-like: per-mm count, IPI to the mm's CPUs"),
    ("v6", "2021-03-11", "config1:1 (rdpmc) opt-in introduced"),
    ("v7", "2021-04-20", "dirty-counter clearing, sched_task, lazy enable from the undef trap, sysfs rdpmc"),
    ("v8", "2021-05-17", "per-context nr_user, enable/disable in event_mapped/unmapped: the patch under review"),
    ("v9", "2021-08-06", "sysctl instead of sysfs; enable decided in armv8pmu_start()"),
    ("v10", "2021-09-14", "no more mmap-based control; dirty tracking dropped: clear all unused counters"),
    ("v11", "2021-10-19", "open fails if not task-bound, or 64-bit requested and unsupported"),
    ("v12", "2021-10-27", "-EOPNOTSUPP for missing 64-bit counters"),
    ("v13", "2021-12-08", "rebase on v5.16-rc1; applied 14 Dec 2021, landed in v5.17"),
)

#: Events of the review and the merge (spec §5.1-5.2): (label, date).
MILESTONES = (("Mark's review of v8", "2021-06-01"), ("Will applies v13", "2021-12-14"))

#: The merged commits (spec §5.2): (patch, commit, title).
COMMITS = (
    ("1/5", "369461ce8fb6", "x86: perf: Move RDPMC event flag to a common definition"),
    ("2/5", "82ff0c022d19", "perf: Add a counter for number of user access events in context"),
    ("3/5", "e2012600810c", "arm64: perf: Add userspace counter access disable switch"),
    ("4/5", "83a7a4d643d3", "arm64: perf: Enable PMU counter userspace access for perf event"),
    ("5/5", "aa1005d15d2a", "Documentation: arm64: Document PMU counters access from userspace"),
)


class SeriesTimeline(widgets.VBox):
    """The series' versions on a date axis, the review and the merge marked, and the merged commits."""

    def __init__(self):
        dates = np.array([np.datetime64(d) for _, d, _ in SERIES], dtype="datetime64[ms]")
        x, y = bq.DateScale(), bq.LinearScale(min=0.0, max=float(len(SERIES) + 1))
        self.points = bq.Scatter(x=dates, y=np.arange(1, len(SERIES) + 1, dtype=float), scales={"x": x, "y": y},
                                 names=[v for v, _, _ in SERIES], display_names=True, colors=["#4c78a8"],
                                 default_size=60, tooltip=bq.Tooltip(fields=["name", "x"], formats=["", "%d %b %Y"],
                                                                     labels=["version", "posted"]))
        ms = np.array([np.datetime64(d) for _, d in MILESTONES], dtype="datetime64[ms]")
        self.rules = bq.Lines(x=np.array([[d, d] for d in ms]), y=np.array([[0.0, len(SERIES) + 1.0]] * len(ms)),
                              scales={"x": x, "y": y}, colors=[style.RED, style.GREEN], line_style="dashed",
                              labels=[lab for lab, _ in MILESTONES], display_legend=True)
        self.fig = style.figure([self.rules, self.points],
                                [style.x_axis(x, "posted", tick_format="%b %Y"),
                                 style.y_axis(y, "version", tick_format="d", tick_values=[1, 4, 8, 13])],
                                "arm64 user-space counter access: v1 to v13", fig_margin=dict(style.MARGIN, right=30))
        commits = "".join(f"<tr><td style='padding:1px 8px'>{p}</td><td style='padding:1px 8px'><code>{c}</code>"
                          f"</td><td style='padding:1px 8px'>{html.escape(t)}</td></tr>" for p, c, t in COMMITS)
        versions = "".join(f"<tr><td style='padding:1px 8px'><b>{v}</b></td><td style='padding:1px 8px'>"
                           f"{dt.date.fromisoformat(d):%d %b %Y}</td><td style='padding:1px 8px'>{html.escape(w)}"
                           f"</td></tr>" for v, d, w in SERIES)
        self.table = widgets.HTML(
            f'<div class="pmulab-commits" style="{_BOX}"><b>Merged</b> (Will Deacon, 14 Dec 2021, branch '
            f"for-next/perf-user-counter-access; in v5.17-rc1):<table>{commits}</table>"
            f"<details><summary>what each version changed</summary><table>{versions}</table></details></div>")
        self.versions = [v for v, _, _ in SERIES]
        super().__init__([self.fig, self.table])
        self.add_class("pmulab-timeline-series")


def series_timeline() -> SeriesTimeline:
    """Return the series timeline figure and the table of merged commits."""
    return SeriesTimeline()
