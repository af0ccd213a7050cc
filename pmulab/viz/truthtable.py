"""The PMUSERENR_EL0 truth table as a live widget: flip EN/SW/CR/ER, see which EL0 accesses trap.

Models: nothing itself. The widget owns a one-CPU ``CounterBank`` of its own, writes the
toggled value to PMUSERENR_EL0 at EL1, and asks that CPU (``Cpu.check`` at EL0, i.e. the rules
of ``pmulab.hw.pmu``) what an ``mrs``/``msr`` of one register of each family would do.
The toggles are the fields of ``sysregs.PMUSERENR``; the rows are the families of
``sysregs.SYSREGS``; no bit or register is restated here.
Omits: PMUACR_EL1 editing (on PMUv3p9 it stays 0, so UEN-enabled counters read as zero).
Pinned to: Arm ARM D24.5 via pmulab.hw.pmu; Linux v5.17 sets ER|CR (armv8pmu_enable_user_access).
"""

from __future__ import annotations

import html

import ipywidgets as widgets

from pmulab.hw import pmu, sysregs
from pmulab.hw.counters import CounterBank
from pmulab.hw.cpu import Cpu
from pmulab.hw.sysregs import PMUSERENR, PmuVersion
from pmulab.viz.guard import CallbackGuard
from pmulab.viz.regview import RegisterView

__all__ = ["PmuserenrTable", "pmuserenr_table"]

_STYLE = {
    pmu.Outcome.ALLOW: "background:#d5f2dc;color:#14532d",
    pmu.Outcome.TRAP: "background:#fbd5d5;color:#7f1d1d;font-weight:bold",
    pmu.Outcome.UNDEFINED: "background:#e5e7eb;color:#4b5563",
}
_PARTIAL = "background:#fff1c2;color:#78350f"  # RAZ / WI / MASKED: completes, but not as at EL1
_CELL = "padding:2px 8px;border:1px solid #d0d5dd;"


def _families(version: PmuVersion) -> list[sysregs.SysReg]:
    """One register per family (PMEVCNTR0_EL0 stands for PMEVCNTR<n>_EL0) that this PMU version has."""
    seen: dict[str, sysregs.SysReg] = {}
    for reg in sysregs.SYSREGS.values():
        if pmu.version_at_least(version, reg.min_version):
            seen.setdefault(pmu.register_class(reg), reg)
    return list(seen.values())


def _label(d: pmu.Decision, write: bool) -> str:
    if d.outcome is pmu.Outcome.ALLOW:
        return "write" if write else "read"
    return {pmu.Outcome.TRAP: "TRAP", pmu.Outcome.UNDEFINED: "UNDEF"}.get(d.outcome, d.outcome.value)


class PmuserenrTable(widgets.VBox):
    """ToggleButtons for the PMUSERENR_EL0 bits, its bit-field diagram, and the EL0 access table."""

    def __init__(self, version="v3p4", counters: int = 6):
        self.version = PmuVersion.parse(version)
        self.bank = CounterBank(1, counters, version=self.version)
        self.cpu = Cpu(self.bank, 0)
        self.families = _families(self.version)
        self.guard = CallbackGuard()
        names = [f.name for f in PMUSERENR.fields if f.name != "UEN" or self.version.per_counter_el0]
        self.toggles = {n: widgets.ToggleButton(value=False, description=n, tooltip=f"PMUSERENR_EL0.{n}: "
                                                f"{PMUSERENR[n].doc}", layout=widgets.Layout(width="5.5em"))
                        for n in names}
        self.diagram = RegisterView(sysregs.lookup(PMUSERENR.name))
        self.table = widgets.HTML()
        for t in self.toggles.values():
            t.observe(self.guard.wrap(self._on_toggle), names="value")
        bar = widgets.HBox([widgets.HTML("<b>PMUSERENR_EL0</b>&nbsp;bits:&nbsp;"), *self.toggles.values()])
        super().__init__([bar, self.diagram, self.table, self.guard.out])
        self.add_class("pmulab-truthtable")
        self.refresh()

    # --- model side: read-only questions --------------------------------------------------
    @property
    def value(self) -> int:
        """PMUSERENR_EL0 of the widget's own CPU, read at EL1."""
        return self.cpu.mrs(PMUSERENR.name)

    def decision(self, name: str, write: bool = False) -> pmu.Decision:
        """What an EL0 ``mrs`` (or ``msr`` with ``write=True``) of register ``name`` does now."""
        return self.cpu.check(name, write, 0)

    def el0_allows(self, name: str, write: bool = False) -> bool:
        """True if the EL0 access completes (no trap, not UNDEFINED)."""
        return self.decision(name, write).permitted

    def outcome(self, name: str, write: bool = False) -> str:
        """The outcome's name: ``"allow"``, ``"trap"``, ``"UNDEFINED"``, ``"RAZ"``, ``"WI"`` or ``"masked"``."""
        return self.decision(name, write).outcome.value

    # --- controls ----------------------------------------------------------------------------
    def set_bits(self, **fields: int) -> None:
        """Set toggles by field name, e.g. ``set_bits(ER=1, CR=1)``; unnamed toggles go to 0."""
        unknown = set(fields) - set(self.toggles)
        if unknown:
            raise ValueError(f"no PMUSERENR_EL0 toggle {sorted(unknown)}; toggles are {list(self.toggles)}")
        with self.hold_trait_notifications():
            for name, toggle in self.toggles.items():
                toggle.value = bool(fields.get(name, 0))

    def _on_toggle(self, change) -> None:
        self.refresh()

    def refresh(self) -> None:
        """Write the toggled value to PMUSERENR_EL0 (EL1) and redraw the diagram and the table."""
        value = PMUSERENR.encode(**{n: int(t.value) for n, t in self.toggles.items()})
        self.cpu.msr(PMUSERENR.name, value, el=1)
        self.diagram.update(self.value)
        self.table.value = self._render()

    def _render(self) -> str:
        rows = []
        for reg in self.families:
            cells = []
            for write in (False, True):
                d = self.decision(reg.name, write)
                style = _STYLE.get(d.outcome, _PARTIAL)
                cells.append(f'<td style="{_CELL}{style}" title="{html.escape(d.why, quote=True)}"'
                             f' data-outcome="{d.outcome.value}">{_label(d, write)}</td>')
            opened = " / ".join(", ".join(pmu.allowed_by(reg, w, self.version)) or "never" for w in (False, True))
            rows.append(f'<tr data-register="{pmu.register_class(reg)}"><td style="{_CELL}"><code>'
                        f'{html.escape(pmu.register_class(reg))}</code></td>{"".join(cells)}'
                        f'<td style="{_CELL}color:#4b5563">{opened}</td></tr>')
        head = "".join(f'<th style="{_CELL}background:#eef1f6">{h}</th>'
                       for h in ("register (EL0)", "mrs", "msr", "opened by (mrs / msr)"))
        return (f'<table class="pmulab-truth" data-pmuserenr="{self.value:#x}" style="border-collapse:collapse;'
                f'font:12px var(--jp-ui-font-family,sans-serif);margin-top:6px"><tr>{head}</tr>{"".join(rows)}</table>')


def pmuserenr_table(version="v3p4", counters: int = 6) -> PmuserenrTable:
    """Return the live PMUSERENR_EL0 truth-table widget for a PMU of ``version`` with ``counters`` counters."""
    return PmuserenrTable(version, counters)
