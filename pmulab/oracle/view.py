"""Plain data for showing a recorded scenario: model and kernel side by side (no widgets here).

Models: nothing; it reshapes ``pmulab.oracle.truths.check`` results for the notebook
(11-arm64-oracle) and for ``pmulab.viz.oracle_view``. PMUSERENR_EL0 is the star: the value
armv8pmu_start() last wrote on the reader's CPU, as EL0 itself reads it.
"""

from __future__ import annotations

from typing import Any

from .compare import derive
from .truths import CheckResult, check, load_all

__all__ = ["recorded_names", "result", "rows", "pmuserenr_series", "summary", "overall"]

_ER_CR = 0xC


def recorded_names() -> list[str]:
    """Scenario names that have a recorded truth, S13 first."""
    names = sorted(load_all())
    return sorted(names, key=lambda n: (n != "S13", n))


def result(name: str) -> CheckResult:
    return check(name)


def _short(rec: dict[str, Any], reg: str | None) -> str:
    d = derive(rec, reg)
    if rec["op"] == "mrs":
        if d.get("trap"):
            return "SIGILL"
        if "value" in d:
            return f"{d['value']:#x}" + (" (ER|CR)" if d["value"] == _ER_CR and reg == "PMUSERENR_EL0" else "")
        return d.get("value_class", "")
    if rec["op"] == "msr":
        return "SIGILL" if d.get("trap") else "ok"
    if d.get("errno"):
        return str(d["errno"])
    if rec["op"] in ("mmap", "page"):
        return f"rdpmc={d['cap_user_rdpmc']} index={d['index']} width={d['pmc_width']}"
    if rec["op"] == "read_self":
        return d["result"] + (f" ({d['error']})" if d.get("error") not in (None, "ok") else "")
    return "ok"


def rows(name: str) -> list[dict[str, Any]]:
    """One row per step: step, task, op, what, model, kernel, agree."""
    r = result(name)
    bad = {c.step for c in r.mismatches}
    out = []
    for s, m, k in zip(r.oplist.steps, r.model, r.kernel, strict=True):
        what = s.get("reg") or s.get("ev") or s.get("name") or s.get("child") or ""
        out.append({"step": m["step"], "task": s.get("task") or "", "op": s["op"], "what": what,
                    "model": _short(m, s.get("reg")), "kernel": _short(k, s.get("reg")), "agree": m["step"] not in bad})
    return out


def pmuserenr_series(name: str) -> dict[str, list]:
    """Every EL0 read of PMUSERENR_EL0 in the scenario: step, task, model value, kernel value."""
    r = result(name)
    out: dict[str, list] = {"step": [], "task": [], "model": [], "kernel": []}
    for s, m, k in zip(r.oplist.steps, r.model, r.kernel, strict=True):
        if s["op"] == "mrs" and s["reg"] == "PMUSERENR_EL0":
            out["step"].append(m["step"])
            out["task"].append(s["task"])
            out["model"].append(m["value"])
            out["kernel"].append(k["value"])
    return out


def summary(name: str) -> dict[str, Any]:
    """Provenance and agreement of one recorded scenario."""
    r = result(name)
    return {"scenario": name, "doc": r.truth.get("doc", ""), "kernel": r.truth.get("kernel"),
            "qemu": r.truth.get("qemu"), "qemu_cpu": r.truth.get("qemu_cpu"), "cells": len(r.cells),
            "agree": len(r.cells) - len(r.mismatches),
            "mismatches": len(r.mismatches)}


def overall() -> dict[str, Any]:
    """All recorded scenarios checked: number of compared cells and the scenarios with mismatches."""
    results = [check(n) for n in recorded_names()]
    return {"scenarios": len(results), "cells": sum(len(r.cells) for r in results),
            "mismatching": [r.name for r in results if not r.ok]}
