"""Small pieces the lab views of notebooks 04-08 share: badge, box and table-cell styles, controls.

Models: nothing of the PMU; a view-layer utility. ``_badge`` prints one coloured pill with
``data-*`` attributes (what the headless tests and the notebooks assert on); ``_BOX``/``_CARD``
and ``_TD`` are the inline styles of the labs' HTML summaries and tables; ``_auto`` lets a
checkbox's description take the width it needs; ``_controls`` builds one widget per field of a
scenario's ``Params`` (``explorer.control_for``).
Omits: any layout of a whole view.
Pinned to: ipywidgets 8.
"""

from __future__ import annotations

import dataclasses
import html

import ipywidgets as widgets

from pmulab.viz import style
from pmulab.viz.explorer import control_for

__all__: list[str] = []  # private helpers, imported by name by the lab modules


_BADGE = "display:inline-block;padding:2px 8px;margin:2px;border-radius:10px;font-size:12px;"
_GOOD, _BAD, _NEUTRAL = ("background:#d5f2dc;color:#14532d;", "background:#fbd5d5;color:#7f1d1d;font-weight:bold;",
                         "background:#eef1f6;color:#1e293b;")
_BOX = "font:12px var(--jp-ui-font-family,sans-serif);margin:4px 0"
_CARD = "font:13px var(--jp-ui-font-family,sans-serif);"
_TD = "padding:3px 8px;border:1px solid #d0d5dd;"
_RED, _GREEN, _GREY = style.RED, style.GREEN, style.GREY


def _auto() -> widgets.Layout:
    """A fresh layout that lets a checkbox's description take the width it needs."""
    return widgets.Layout(width="auto")


def _badge(text: str, style: str, **data) -> str:
    attrs = " ".join(f'data-{k}="{html.escape(str(v), quote=True)}"' for k, v in data.items())
    return f'<span class="pmulab-badge" {attrs} style="{_BADGE}{style}">{html.escape(text)}</span>'


def _controls(params_cls) -> dict[str, widgets.Widget]:
    return {f.name: control_for(f) for f in dataclasses.fields(params_cls)}
