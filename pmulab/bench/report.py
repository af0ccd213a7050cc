"""The bench report: the host it ran on, a text table, and the JSON document.

Models: nothing of the PMU; a record of a measurement good enough to compare two runs: CPU
model and core count (lscpu / os), Python and NumPy versions, the BLAS the NumPy build uses,
and the OPENBLAS_* environment (OPENBLAS_CORETYPE pins an older kernel on some hosts).
Omits: turbo and frequency state (not visible from inside a VM).
Pinned to: the JSON layout checked by tests/test_bench.py: {"meta": {...}, "sections": [...]}.
"""

from __future__ import annotations

import json
import os
import platform
import subprocess
import sys

import numpy as np

__all__ = ["host", "table", "document", "SCHEMA"]

SCHEMA = "pmulab-bench/1"


def _cpu_model() -> str:
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10, check=False).stdout
    except (OSError, subprocess.SubprocessError):
        out = ""
    for line in out.splitlines():
        if line.startswith("Model name:"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _blas() -> str:
    try:
        cfg = np.show_config(mode="dicts")
        b = cfg.get("Build Dependencies", {}).get("blas", {})
        return f"{b.get('name', '?')} {b.get('version', '')}".strip()
    except Exception:  # show_config's layout is not an API promise
        return "unknown"


def host() -> dict:
    """Facts about this machine and build that the figures depend on."""
    return {"cpu_model": _cpu_model(), "cores": os.cpu_count(), "machine": platform.machine(),
            "python": sys.version.split()[0], "numpy": np.__version__, "blas": _blas(),
            "env": {k: v for k, v in sorted(os.environ.items()) if k.startswith(("OPENBLAS_", "OMP_", "MKL_"))}}


def document(sections, quick: bool, seconds: float) -> dict:
    """The JSON-able report of a run."""
    return {"schema": SCHEMA, "meta": host() | {"quick": quick, "seconds": seconds},
            "sections": [s.to_dict() for s in sections]}


def _fmt(v: float) -> str:
    return f"{v:.3g}" if abs(v) < 1000 else f"{v:,.0f}"


def table(doc: dict) -> str:
    """The report as a Markdown table (also readable in a terminal)."""
    m = doc["meta"]
    lines = [f"host: {m['cpu_model']}, {m['cores']} cores, Python {m['python']}, NumPy {m['numpy']} ({m['blas']}); "
             f"env: {json.dumps(m['env'])}; {'quick' if m['quick'] else 'full'} run, {m['seconds']:.0f} s", ""]
    for s in doc["sections"]:
        lines += [f"### {s['title']}", ""]
        if s["status"] != "ok":
            lines += [f"*{s['status']}*", ""]
        if s["figures"]:
            lines += ["| figure | value | unit | target | met | meaning |", "|---|---:|---|---|---|---|"]
            for f in s["figures"]:
                met = "" if f["met"] is None else ("yes" if f["met"] else "**no**")
                lines.append(f"| {f['name']} | {_fmt(f['value'])} | {f['unit']} | {f['target']} | {met} "
                             f"| {f['meaning']} |")
            lines.append("")
        lines += [f"- {n}" for n in s["notes"]] + ([""] if s["notes"] else [])
    return "\n".join(lines)
