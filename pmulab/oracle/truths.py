"""Recorded truths: the real kernel's observations, stored in the repository (oracle/truths/*.json).

Models: nothing; a truth file holds one scenario's operation list, the kernel's records and
where they came from (kernel release, QEMU version, QEMU CPU and the guest's MIDR part number),
so ``make test`` can check the model without QEMU and Binder can show both sides.
``check`` runs the model on the stored op list (the op list in the file, not today's library
entry, so a truth always means what was booted) and compares cell by cell.
Pinned to: the JSON layout written by ``record`` (``format`` 1).
"""

from __future__ import annotations

import json
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from pmulab.sim.ops import OpList
from pmulab.sim.ops_exec import execute

from . import compare as cmp
from .env import OracleError, Toolchain
from .guest import boot
from .scenarios import scenarios

__all__ = ["truths_dir", "load", "load_all", "record", "run_live", "check", "CheckResult"]

FORMAT = 1


def truths_dir() -> Path:
    """oracle/truths/ of the repository checkout."""
    return Path(__file__).resolve().parents[2] / "oracle" / "truths"


def load(name: str, directory: Path | None = None) -> dict[str, Any]:
    path = (directory or truths_dir()) / f"{name}.json"
    if not path.exists():
        raise ValueError(f"no recorded truth for scenario {name!r} ({path})")
    data = json.loads(path.read_text())
    if data.get("format") != FORMAT:
        raise ValueError(f"{path}: unknown truth format {data.get('format')!r}")
    return data


def load_all(directory: Path | None = None) -> dict[str, dict[str, Any]]:
    d = directory or truths_dir()
    return {p.stem: load(p.stem, d) for p in sorted(d.glob("*.json"))}


def _boot_one(tc: Toolchain, o: OpList, timeout: float) -> dict[str, Any]:
    res = boot(tc, [o], pmu=o.machine["pmu"], cpus=o.machine["cpus"], timeout=timeout)
    return {"records": res["records"][o.name], "meta": res["meta"]}


def run_live(tc: Toolchain, oplists: list[OpList], *, jobs: int = 2, timeout: float = 60,
             log=print) -> dict[str, dict[str, Any]]:
    """Boot each op list in its own guest (isolation: PMUSERENR_EL0 and counters are per boot),
    ``jobs`` QEMUs at a time; ``{name: {"records", "meta"}}``."""
    out: dict[str, dict[str, Any]] = {}
    with ThreadPoolExecutor(max_workers=max(1, jobs)) as pool:
        futures = {o.name: pool.submit(_boot_one, tc, o, timeout) for o in oplists}
        for k, (name, fut) in enumerate(futures.items(), start=1):
            out[name] = fut.result()
            log(f"  [{k}/{len(futures)}] {name}: {len(out[name]['records'])} steps, "
                f"{out[name]['meta']['boot_seconds']} s")
    return out


def _strip(rec: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in rec.items() if k != "scenario"}


def record(tc: Toolchain, names: list[str] | None = None, directory: Path | None = None, *,
           jobs: int = 2, log=print) -> list[Path]:
    """Boot the scenarios and write their truth files; returns the paths written."""
    lib = scenarios()
    names = names or list(lib)
    unknown = [n for n in names if n not in lib]
    if unknown:
        raise OracleError(f"unknown scenario(s) {unknown} (known: {', '.join(lib)})")
    d = directory or truths_dir()
    d.mkdir(parents=True, exist_ok=True)
    live = run_live(tc, [lib[n] for n in names], jobs=jobs, log=log)
    paths = []
    for n in names:
        meta = live[n]["meta"]
        data = {"format": FORMAT, "scenario": n, "doc": lib[n].doc, "kernel": meta.get("kernel"),
                "qemu": meta["qemu"], "qemu_cpu": meta["qemu_cpu"], "cpu_part": meta.get("cpu_part"),
                "smp": meta["smp"], "icount": "shift=0", "oplist": lib[n].to_dict(),
                "records": [_strip(r) for r in live[n]["records"]]}
        path = d / f"{n}.json"
        path.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n")
        paths.append(path)
    return paths


class CheckResult:
    """The model run against one truth: ``cells``, ``mismatches``, the two record lists."""

    def __init__(self, name: str, truth: dict[str, Any], oplist: OpList, model: list[dict], kernel: list[dict]):
        self.name, self.truth, self.oplist = name, truth, oplist
        self.model, self.kernel = model, kernel
        self.cells = cmp.compare(name, oplist.steps, model, kernel)
        self.mismatches = cmp.mismatches(self.cells)

    @property
    def ok(self) -> bool:
        return not self.mismatches

    def table(self, only_compared: bool = False) -> str:
        return cmp.table(self.name, self.oplist.steps, self.cells, only_compared)

    def __repr__(self) -> str:
        return f"<CheckResult {self.name}: {len(self.cells)} cells, {len(self.mismatches)} mismatches>"


def check(name: str, truth: dict[str, Any] | None = None, kernel_records: list[dict] | None = None) -> CheckResult:
    """Run the model on a recorded (or freshly booted) scenario and compare."""
    truth = truth or load(name)
    oplist = OpList.from_dict(truth["oplist"])
    model = execute(oplist)
    kernel = kernel_records if kernel_records is not None else truth["records"]
    return CheckResult(name, truth, oplist, model, [_strip(r) for r in kernel])
