"""Per-CPU ownership strip: who runs, what PMUSERENR_EL0 allows, and whose event sits in each counter.

Models: nothing itself. ``ownership(machine)`` only reads a ``Machine``: the current task of
each CPU (the scheduler), PMUSERENR_EL0 as the hardware holds it (``Cpu.mrs`` at EL1, decoded
with ``sysregs.PMUSERENR``), for every hardware counter whether an EL0 ``mrs`` of its value
register would complete (``Cpu.check`` at EL0, the rules of ``pmulab.hw.pmu``), and the event
the driver placed there (``pmu_hw_events.events[idx]``, mapped with the driver's own
``idx_of``/``count_register``); on PMUv3p9 a counter that reads as zero (RAZ: not in
``PMUACR_EL1``) counts as closed, since EL0 learns nothing from it. A counter readable at EL0
that holds another task's event, a CPU-bound event, or stale contents of an unused counter
is what Mark's first point is about, and is coloured as a leak.
Omits: editing anything (a view never writes to the model); kernel-internal event state.
Pinned to: Arm ARM D24.5 (EL0 access); Linux v5.17 armv8pmu_start()/pmu_hw_events.
"""

from __future__ import annotations

import html
from dataclasses import dataclass

import ipywidgets as widgets

from pmulab.drivers.arm_pmuv3 import CYCLE_COUNTER, count_register, idx_of
from pmulab.hw.pmu import Outcome
from pmulab.hw.sysregs import PMUSERENR

__all__ = ["CounterCell", "CpuRow", "OwnershipStrip", "ownership", "ownership_strip"]

_STYLE = {"own": "background:#d5f2dc;color:#14532d", "leak": "background:#fbd5d5;color:#7f1d1d;font-weight:bold",
          "stale": "background:#fff1c2;color:#78350f", "zero": "background:#eef6ff;color:#1e3a5f",
          "closed": "background:#f4f6fa;color:#66707f"}
_CELL = "padding:2px 6px;border:1px solid #d0d5dd;text-align:center;min-width:4.5em;"


@dataclass(frozen=True)
class CounterCell:
    """One hardware counter of one CPU: its register, EL0 readability and the event in it."""

    counter: int
    register: str
    readable: bool
    event: int | None  # event id, or None when the counter is unused
    owner: int | None  # pid of the task the event counts for (None: CPU-bound or unused)
    value: int = 0  # the counter's value now (read at EL1)

    def kind(self, current: int | None) -> str:
        """``own`` (readable, current task's event), ``leak`` (readable, someone else's or CPU-bound),
        ``stale`` (readable, unused, non-zero: old contents), ``zero`` (readable, unused, cleared),
        ``closed`` (EL0 read traps)."""
        if not self.readable:
            return "closed"
        if self.event is None:
            return "stale" if self.value else "zero"
        return "own" if self.owner is not None and self.owner == current else "leak"


@dataclass(frozen=True)
class CpuRow:
    cpu: int
    current: int | None
    name: str
    pmuserenr: int
    fields: dict
    counters: tuple[CounterCell, ...]

    @property
    def leaks(self) -> list[int]:
        """Hardware counters whose contents EL0 may read but do not belong to the current task."""
        return [c.counter for c in self.counters if c.kind(self.current) in ("leak", "stale")]


def ownership(machine) -> list[CpuRow]:
    """Read (never write) the per-CPU ownership picture of ``machine`` now."""
    rows = []
    for cpu in range(machine.ncpus):
        task = machine.sched.curr[cpu]
        hw, pmu = machine.cpu(cpu), machine.pmu_of(cpu)
        placed = pmu.hw_events[cpu].events
        value = hw.mrs(PMUSERENR.name)
        cells = []
        for n in [*range(pmu.num_events - 1), int(CYCLE_COUNTER)]:
            reg = count_register(n)
            ev = placed[idx_of(n)]
            target = getattr(ev, "target", None) if ev is not None else None
            decision = hw.check(reg, False, 0)  # PMUv3p9: a counter outside PMUACR_EL1 reads as zero (RAZ)
            readable = decision.permitted and decision.outcome is not Outcome.RAZ
            cells.append(CounterCell(n, reg, readable, None if ev is None else ev.id,
                                     None if target is None else target.pid, hw.mrs(reg)))
        rows.append(CpuRow(cpu, None if task is None else task.pid, "idle" if task is None else task.name, value,
                           PMUSERENR.decode(value), tuple(cells)))
    return rows


def _render(rows: list[CpuRow]) -> str:
    head = "".join(f'<th style="{_CELL}background:#eef1f6">{h}</th>' for h in ("CPU", "running", "PMUSERENR_EL0"))
    ncols = max(len(r.counters) for r in rows)
    head += "".join(f'<th style="{_CELL}background:#eef1f6">{"PMCCNTR" if c.counter == CYCLE_COUNTER else c.counter}'
                    f"</th>" for c in rows[0].counters[:ncols])
    body = []
    for r in rows:
        bits = " ".join(f"{n}={v}" for n, v in r.fields.items())
        cells = []
        for c in r.counters:
            kind = c.kind(r.current)
            what = "-" if c.event is None else f"ev{c.event}" + ("" if c.owner is None else f"<br><small>pid {c.owner}"
                                                                 "</small>")
            tip = html.escape(f"{c.register}: EL0 read {'completes' if c.readable else 'traps'}; {kind}", quote=True)
            cells.append(f'<td class="pmulab-ctr" data-counter="{c.counter}" data-kind="{kind}" title="{tip}" '
                         f'style="{_CELL}{_STYLE[kind]}">{what}</td>')
        who = "idle" if r.current is None else f"{html.escape(r.name)} <small>(pid {r.current})</small>"
        body.append(f'<tr data-cpu="{r.cpu}"><td style="{_CELL}"><b>CPU {r.cpu}</b></td><td style="{_CELL}">{who}</td>'
                    f'<td style="{_CELL}"><code>{r.pmuserenr:#x}</code><br><small>{bits}</small></td>'
                    f'{"".join(cells)}</tr>')
    key = " ".join(f'<span style="{_STYLE[k]};padding:1px 6px;margin-right:4px">{t}</span>' for k, t in (
        ("own", "readable, own event"), ("leak", "readable, NOT the running task's"),
        ("stale", "readable, unused, stale value"), ("zero", "readable, unused, cleared"),
        ("closed", "EL0 read traps")))
    return (f'<div class="pmulab-strip" style="font:12px var(--jp-ui-font-family,sans-serif)">'
            f'<table style="border-collapse:collapse">{"<tr>" + head + "</tr>"}{"".join(body)}</table>'
            f'<div style="margin-top:4px">{key}</div></div>')


class OwnershipStrip(widgets.VBox):
    """A live HTML strip of ``ownership(machine)``; call ``update()`` after the machine moves.

    ``lazy=True`` builds it empty (``machine`` may be None) until ``update``/``show`` gives it one.
    """

    def __init__(self, machine, title: str | None = None, *, lazy: bool = False):
        self.machine = machine
        self.rows: list[CpuRow] = []
        self.title = widgets.HTML(f"<b>{html.escape(title)}</b>" if title else "")
        self.html = widgets.HTML()
        super().__init__([self.title, self.html])
        self.add_class("pmulab-ownership")
        if not lazy:
            self.update()

    @staticmethod
    def read(machine) -> list[CpuRow]:
        """The rows ``machine`` would show now, without drawing them."""
        return ownership(machine)

    def show(self, machine, rows: list[CpuRow] | None = None) -> list[CpuRow]:
        """Draw ``rows`` (read from ``machine`` when None); a None machine hides the strip."""
        self.machine = machine
        if machine is None:
            self.rows, self.html.value = [], ""
            self.layout.display = "none"
            return self.rows
        self.rows = ownership(machine) if rows is None else rows
        self.html.value = _render(self.rows)
        self.layout.display = None
        return self.rows

    def update(self, machine=None) -> list[CpuRow]:
        """Re-read the machine (or show ``machine`` from now on) and redraw; returns the rows shown."""
        return self.show(self.machine if machine is None else machine)


def ownership_strip(machine, title: str | None = None) -> OwnershipStrip:
    """Return the per-CPU PMUSERENR/ownership strip of ``machine``."""
    return OwnershipStrip(machine, title)
