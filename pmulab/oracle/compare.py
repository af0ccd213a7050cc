"""Model vs kernel: derived observation classes and a cell-by-cell comparison.

Models: nothing; it compares the records of ``pmulab.sim.ops_exec.execute`` (the model) with those
of the guest (real Linux). Raw values QEMU decides (counts, times) are turned into classes
that the kernel's logic decides:

- ``value_class`` of an ``mrs`` of a counter: ``"0"``; ``"bias+n"`` (bits 63..32 all ones: a
  32-bit event's period in the 64-bit cycle counter, Kernel: armv8pmu_bias_long_counter /
  armpmu_event_set_period); ``"2^31+n"`` (a 32-bit counter started at 2^31 + 1 by
  armpmu_event_set_period with max_period 2^32 - 1); ``"small"``; ``"large"``.
- ``error`` of a ``read_self``: ``self - read_before`` as a signed 64-bit difference:
  ``"ok"`` within 2^31, ``"-2^32"`` near minus 2^32 (S14: offset against a zero-extended
  prev_count, Kernel: armpmu_event_update then perf_event_update_userpage), else ``"other"``.

Every other field is compared as is, except those in ``pmulab.oracle.known.NOT_COMPARED``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from .known import KNOWN_DIFFERENCES, NOT_COMPARED

__all__ = ["derive", "value_class", "Cell", "compare", "mismatches", "table"]

_M64 = (1 << 64) - 1
_EXACT_REGS = ("PMUSERENR_EL0", "PMSELR_EL0", "PMCR_EL0")


def value_class(v: int) -> str:
    if v == 0:
        return "0"
    if v >> 32 == 0xFFFFFFFF:
        return "bias+n"
    if v >> 31 == 1:
        return "2^31+n"
    if v < 1 << 31:
        return "small"
    return "large"


def _error_class(rec: dict) -> str | None:
    if rec.get("result") != "value":
        return None
    d = (rec["self"] - rec["read_before"]) & _M64
    d = d - (1 << 64) if d >> 63 else d
    if abs(d) < 1 << 31:
        return "ok"
    if abs(d + (1 << 32)) < 1 << 31:
        return "-2^32"
    return "other"


def derive(rec: dict[str, Any], reg: str | None = None) -> dict[str, Any]:
    """The comparable view of one record: derived classes added, NOT_COMPARED fields dropped."""
    out = {k: v for k, v in rec.items() if k not in NOT_COMPARED}
    if rec.get("op") == "mrs" and not rec.get("trap"):
        if reg in _EXACT_REGS:
            out["value"] = rec["value"]
        else:
            out["value_class"] = value_class(rec["value"])
    if rec.get("op") == "read_self":
        out["error"] = _error_class(rec)
    if rec.get("op") == "read" and rec.get("errno") is None:
        out.pop("value", None)
    return out


@dataclass(frozen=True)
class Cell:
    """One compared field of one step."""

    step: int
    op: str
    task: str | None
    field: str
    model: Any
    kernel: Any
    known: str | None  # the KNOWN_DIFFERENCES reason, if listed

    @property
    def match(self) -> bool:
        return self.model == self.kernel

    @property
    def ok(self) -> bool:
        return self.match or self.known is not None


def compare(scenario: str, steps: list[dict], model: list[dict], kernel: list[dict]) -> list[Cell]:
    """Cells for every field either side reports (a field missing on one side is a mismatch)."""
    if len(model) != len(kernel):
        raise ValueError(f"{scenario}: model has {len(model)} records, kernel {len(kernel)}")
    cells = []
    for step, m, k in zip(steps, model, kernel, strict=True):
        reg = step.get("reg")
        dm, dk = derive(m, reg), derive(k, reg)
        for f in sorted((set(dm) | set(dk)) - {"step", "op", "task"}):
            cells.append(Cell(m["step"], m["op"], m.get("task"), f, dm.get(f, "<absent>"), dk.get(f, "<absent>"),
                              KNOWN_DIFFERENCES.get((scenario, m["step"], f))))
    return cells


def mismatches(cells: list[Cell]) -> list[Cell]:
    """Cells that differ and are not listed in KNOWN_DIFFERENCES."""
    return [c for c in cells if not c.ok]


def _fmt(v: Any) -> str:
    return "-" if v is None else str(v)


def table(scenario: str, steps: list[dict], cells: list[Cell], only_compared: bool = False) -> str:
    """A plain-text model-vs-kernel table, one line per cell (``=`` match, ``~`` known, ``X`` mismatch)."""
    lines = [f"== {scenario}", f"{'step':>4} {'task':<5} {'op':<10} {'what':<22} {'field':<18} {'model':>14} "
             f"{'kernel':>14}  "]
    for c in cells:
        s = steps[c.step]
        what = s.get("reg") or s.get("ev") or s.get("name") or s.get("child") or ""
        mark = "=" if c.match else ("~" if c.known else "X")
        lines.append(f"{c.step:>4} {_fmt(c.task):<5} {c.op:<10} {what:<22} {c.field:<18} {_fmt(c.model):>14} "
                     f"{_fmt(c.kernel):>14}  {mark}")
    return "\n".join(lines)
