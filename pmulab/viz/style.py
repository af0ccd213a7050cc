"""The one look of every pmulab figure: palette, figure size and margins, axis labels, badges.

Models: nothing (presentation only). Views build their bqplot figures through ``figure``/``x_axis``/
``y_axis`` so that every notebook's plots share a height, margins, font of the labels, the
counter palette and the meaning of red (someone else's count, a leak, a wrong value) and green
(own count, as expected).
Omits: themes (JupyterLab's dark theme keeps bqplot's own colours for axes and text).
Pinned to: bqplot 0.13 (``Axis(side=...)``, not the deprecated ``orientation``), ipywidgets 8.
"""

from __future__ import annotations

import bqplot as bq
import ipywidgets as widgets

__all__ = ["COLOURS", "RED", "GREEN", "GREY", "BLUE", "OPEN", "CLOSED", "HEIGHT", "MARGIN", "BADGE", "GOOD", "BAD",
           "CONTROL_LABEL", "CONTROL_WIDTH",
           "figure", "x_axis", "y_axis", "badge", "labelled"]

#: Line colours, in order: one per counter or series (matplotlib's tab10 without red and grey,
#: which carry a meaning of their own).
COLOURS = ("#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b", "#e377c2", "#17becf", "#bcbd22")
RED, GREEN, GREY, BLUE = "#d62728", "#2ca02c", "#7f7f7f", "#1f77b4"
#: EL0 access: open (the register lets EL0 read) and closed (an EL0 read traps).
OPEN, CLOSED = "#1f4e79", "#e6ebf2"

#: Default figure height and margins (pixels).
HEIGHT = "320px"
MARGIN = {"top": 40, "bottom": 45, "left": 70, "right": 20}

#: Controls: the width of a description and of the whole control (label + slider + readout).
CONTROL_LABEL, CONTROL_WIDTH = "18em", "42em"

#: Inline CSS of a status badge, and its good / bad colours.
BADGE = "display:inline-block;padding:2px 8px;margin:2px;border-radius:10px;font-size:12px;"
GOOD = "background:#d5f2dc;color:#14532d;"
BAD = "background:#fbd5d5;color:#7f1d1d;font-weight:bold;"


def x_axis(scale, label: str, **kw) -> bq.Axis:
    """The horizontal axis, labelled (``tick``, ``step``, ...)."""
    return bq.Axis(scale=scale, label=label, **kw)


def y_axis(scale, label: str, tick_format: str | None = ".3s", **kw) -> bq.Axis:
    """The vertical axis, labelled, with SI-prefixed ticks by default (counter values are large)."""
    if tick_format is not None:
        kw.setdefault("tick_format", tick_format)
    kw.setdefault("label_offset", "55px")
    return bq.Axis(scale=scale, side="left", label=label, **kw)


def figure(marks, axes, title: str, *, height: str = HEIGHT, width: str = "100%", legend: str | None = "top-left",
           **kw) -> bq.Figure:
    """A bqplot Figure in the common size, margins and animation (none: redraws are instant)."""
    kw.setdefault("fig_margin", dict(MARGIN))
    if legend is not None:
        kw.setdefault("legend_location", legend)
    return bq.Figure(marks=list(marks), axes=list(axes), title=title, animation_duration=0,
                     layout=widgets.Layout(width=width, height=height), **kw)


def labelled(text: str, control: widgets.Widget, width: str = CONTROL_LABEL) -> widgets.HBox:
    """``control`` with its name as a Label of the common width on its left (for ToggleButtons, whose own
    description JupyterLab draws above the buttons and clips on the left)."""
    label = widgets.Label(text, layout=widgets.Layout(width=width, justify_content="flex-end"))
    label.add_class("pmulab-label")
    return widgets.HBox([label, control])


def badge(text: str, good: bool, **data) -> str:
    """An HTML badge (green when ``good``) with ``data-*`` attributes for tests and the DOM."""
    attrs = "".join(f' data-{k.replace("_", "-")}="{v}"' for k, v in data.items())
    return f'<span class="pmulab-badge"{attrs} style="{BADGE}{GOOD if good else BAD}">{text}</span>'
