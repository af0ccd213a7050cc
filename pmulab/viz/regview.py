"""Draw any PMU register as a bit-field diagram, built from its declaration in pmulab.hw.sysregs.

Models: the register pictures of the Arm ARM (one box per field, bit numbers above, RES0 runs
greyed) with the current value of each field; the layout comes only from ``SysReg.layout``.
Omits: editing values from the diagram (a view never writes to the model).
Pinned to: Arm ARM D24 register layouts as declared in pmulab.hw.sysregs.
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from pmulab.bits import Access, Field, Register, mask
from pmulab.hw import sysregs

__all__ = ["RegisterView", "register_view"]

ROW_BITS = 32
_BOX = "border:1px solid #8a94a6;padding:2px 1px;text-align:center;overflow:hidden;white-space:nowrap;"
_SET = "background:#ffe8a3;"
_CLEAR = "background:#f4f6fa;"
_RES0 = "background:repeating-linear-gradient(45deg,#eceef2,#eceef2 4px,#e2e5ea 4px,#e2e5ea 8px);color:#9aa1ad;"


def _field_at(layout: Register, bit: int) -> Field | None:
    return next((f for f in layout.fields if f.lsb <= bit <= f.msb), None)


def _runs(layout: Register, hi: int, lo: int):
    """Yield ``(field or None, msb, lsb)`` runs covering bits hi..lo, most significant first."""
    bit = hi
    while bit >= lo:
        f = _field_at(layout, bit)
        if f is not None:
            low = max(f.lsb, lo)
        else:
            low = bit
            while low - 1 >= lo and _field_at(layout, low - 1) is None:
                low -= 1
        yield f, bit, low
        bit = low - 1


def _cell(f: Field | None, msb: int, lsb: int, value: int, column: int) -> str:
    span = msb - lsb + 1
    part = (value >> lsb) & mask(span)
    bits = f"{msb}" if span == 1 else f"{msb}:{lsb}"
    place = f"grid-column:{column} / span {span};"
    if f is None:
        return f'<div style="{_BOX}{_RES0}{place}" title="RES0 bits [{bits}]"><small>{bits}</small><br>RES0</div>'
    shown = f"{part:#x}" if span > 4 else str(part)
    tip = html.escape(f"{f.name} [{f.msb}:{f.lsb}] {f.access.value}: {f.doc}", quote=True)
    name = f"<i>{f.name}</i>" if f.access is Access.WO else f"<b>{f.name}</b>"
    colour = _SET if part else _CLEAR
    return (f'<div class="pmulab-field" data-field="{f.name}" data-value="{part}" style="{_BOX}{colour}{place}"'
            f' title="{tip}"><small>{bits}</small><br>{name}<br><code>{shown}</code></div>')


class RegisterView(widgets.VBox):
    """A live bit-field diagram of one register; call ``update(value)`` to show a new value."""

    def __init__(self, reg: sysregs.SysReg, value: int | None = None, title: str | None = None):
        self.reg = reg
        self.layout_decl = reg.layout
        self._value = reg.layout.reset if value is None else reg.layout.check(value)
        self.title = title or reg.name
        self.diagram = widgets.HTML()
        super().__init__([self.diagram])
        self._render()

    @property
    def value(self) -> int:
        return self._value

    @property
    def decoded(self) -> dict[str, int]:
        """``{field: value}`` of the value shown."""
        return self.layout_decl.decode(self._value)

    def update(self, value: int) -> None:
        """Show ``value`` (TypeError/ValueError if it does not fit the register)."""
        self._value = self.layout_decl.check(value)
        self._render()

    def _rows(self) -> list[int]:
        top = max(f.msb for f in self.layout_decl.fields)
        return [hi for hi in range(self.layout_decl.width - 1, -1, -ROW_BITS) if hi - ROW_BITS < top]

    def _render(self) -> None:
        decl, value = self.layout_decl, self._value
        rows = []
        for hi in self._rows():
            lo = hi - ROW_BITS + 1
            cells = [_cell(f, msb, lsb, value, hi - msb + 1) for f, msb, lsb in _runs(decl, hi, lo)]
            rows.append(f'<div style="display:grid;grid-template-columns:repeat({ROW_BITS},minmax(0,1fr));'
                        f'font:11px/1.25 var(--jp-code-font-family,monospace);margin-top:2px">{"".join(cells)}</div>')
        shown = len(rows) * ROW_BITS
        hidden = "" if shown >= decl.width else f" &nbsp;(bits [{decl.width - 1}:{shown}] RES0)"
        head = (f'<div style="font:13px var(--jp-ui-font-family,sans-serif)"><b>{html.escape(self.title)}</b>'
                f' = <code class="pmulab-regvalue">{value:#x}</code>'
                f' <span style="color:#66707f">{html.escape(decl.doc)}{hidden}</span></div>')
        self.diagram.value = f'<div class="pmulab-register" data-register="{self.reg.name}">{head}{"".join(rows)}</div>'


def register_view(name: str, value: int | None = None, *, title: str | None = None) -> RegisterView:
    """Return a bit-field diagram of the PMU register ``name`` showing ``value`` (default: reset value).

    ``name`` is any register of ``pmulab.hw.sysregs`` (``"PMCR_EL0"``, ``"PMUSERENR_EL0"``,
    ``"PMEVTYPER3_EL0"``...); unknown names raise ValueError with close matches.
    """
    return RegisterView(sysregs.lookup(name), value, title=title)
