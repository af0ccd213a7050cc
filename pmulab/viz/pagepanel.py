"""The user page as a panel: lock, index, offset, pmc_width, cap bits and times, live from an MmapPage.

Models: nothing itself. The fields and their order are those of ``uapi.MmapPage`` (its ctypes
``_fields_``) and its ``CAPABILITY_BITS``; the panel reads them with ``MmapPage.snapshot()``,
so the same view shows the model's page and a real page mapped from the host kernel.
``PageComparison`` puts two pages side by side and marks the fields that differ.
Omits: the ring-buffer control words (``data_*``, ``aux_*``) and the reserved padding.
Pinned to: include/uapi/linux/perf_event.h ``struct perf_event_mmap_page`` via pmulab.uapi.
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from pmulab.uapi import CAPABILITY_BITS, MmapPage

__all__ = ["FIELDS", "PagePanel", "PageComparison", "page_panel", "compare_pages"]

#: Header fields shown, in the struct's order (ring-buffer words and padding left out).
FIELDS = tuple(n for n, *_ in MmapPage._fields_ if not n.startswith(("reserved", "data_", "aux_", "capabilities")))
_HEX = {"offset", "time_mask", "capabilities", "time_mult"}
_CELL = "padding:1px 8px;border-bottom:1px solid #e5e7eb;"
_DIFF = "background:#fff1c2;"


def _fmt(name: str, value: int) -> str:
    if name in _HEX:
        return f"{value:#x}" if value >= 0 else f"-{-value:#x}"
    return f"{value:,}"


def _note(name: str, snap: dict) -> str:
    if name == "lock":
        return "even: no update in progress" if snap["lock"] % 2 == 0 else "ODD: the kernel is writing"
    if name == "index":
        return "0: no user-readable counter, use read()" if not snap["index"] else f"read counter {snap['index'] - 1}"
    return ""


class PagePanel(widgets.VBox):
    """The fields of one ``MmapPage`` as a table; ``update()`` re-reads the live page."""

    def __init__(self, page, title: str = "user page"):
        self.page = page
        self.title = title
        self.html = widgets.HTML()
        super().__init__([self.html])
        self.add_class("pmulab-pagepanel")
        self.update()

    def update(self, page=None) -> dict:
        """Re-read ``page`` (or the page shown) and redraw; returns the snapshot shown."""
        if page is not None:
            self.page = page
        self.snapshot = self.page.snapshot() if self.page is not None else None
        self.html.value = self._render()
        return self.snapshot

    def _render(self) -> str:
        t = html.escape(self.title)
        if self.snapshot is None:
            return f'<div class="pmulab-page" data-empty="1"><b>{t}</b><br><i>no page</i></div>'
        s = self.snapshot
        rows = "".join(f'<tr data-field="{n}"><td style="{_CELL}"><code>{n}</code></td>'
                       f'<td style="{_CELL}text-align:right"><code>{_fmt(n, s[n])}</code></td>'
                       f'<td style="{_CELL}color:#66707f">{_note(n, s)}</td></tr>' for n in FIELDS)
        caps = " ".join(f'<span data-cap="{c}" style="padding:1px 5px;margin:1px;border-radius:3px;'
                        f'background:{"#d5f2dc" if s[c] else "#eceef2"}">{c}={s[c]}</span>' for c in CAPABILITY_BITS)
        return (f'<div class="pmulab-page" data-lock="{s["lock"]}" data-index="{s["index"]}" '
                f'style="font:12px var(--jp-ui-font-family,sans-serif)"><b>{t}</b><table>{rows}</table>'
                f'<div style="margin-top:3px">capabilities <code>{s["capabilities"]:#x}</code>: {caps}</div></div>')


class PageComparison(widgets.VBox):
    """Two pages side by side (e.g. the model's and the host kernel's); differing fields highlighted."""

    def __init__(self, left, right, titles=("model", "host kernel")):
        self.left, self.right = PagePanel(left, titles[0]), PagePanel(right, titles[1])
        self.diff = widgets.HTML()
        super().__init__([widgets.HBox([self.left, self.right], layout=widgets.Layout(gap="24px")), self.diff])
        self.add_class("pmulab-pagecompare")
        self.update()

    def differences(self) -> list[str]:
        """Names of the header fields and cap bits whose values differ (both pages present)."""
        a, b = self.left.snapshot, self.right.snapshot
        if a is None or b is None:
            return []
        return [n for n in (*FIELDS, *CAPABILITY_BITS) if a[n] != b[n]]

    def update(self) -> list[str]:
        """Re-read both live pages; returns ``differences()``."""
        self.left.update()
        self.right.update()
        diff = self.differences()
        for panel in (self.left, self.right):
            for n in diff:
                panel.html.value = panel.html.value.replace(f'<tr data-field="{n}">',
                                                            f'<tr data-field="{n}" data-differs="1" style="{_DIFF}">')
        self.diff.value = (f'<div class="pmulab-pagediff" style="font-size:12px">Fields that differ: '
                           f'<b>{", ".join(diff) or "none"}</b></div>')
        return diff


def page_panel(page, title: str = "user page") -> PagePanel:
    """Return a live panel of ``page`` (a ``uapi.MmapPage``, model or host)."""
    return PagePanel(page, title)


def compare_pages(left, right, titles=("model", "host kernel")) -> PageComparison:
    """Return two page panels side by side; ``None`` for a page shows "no page"."""
    return PageComparison(left, right, titles)
