"""The explorer's counterexamples on the real kernel: does the violation happen on Linux?

Models: nothing itself. A counterexample of ``pmulab.sim.explore`` on design v5.17 (the design
Debian's 6.1 kernel carries) becomes an operation list (``Counterexample.to_oplist``) plus a
*probe*: the steps after it that make the violation visible from user space, on the CPU and as
the task the explorer names:

- ``no_stale_access`` (S13): the task current on that CPU, which has no user-read event, reads
  PMUSERENR_EL0 (and PMCCNTR_EL0): it happens if EL0 sees EN, ER or CR (Kernel: armpmu_enable
  skips armv8pmu_start when used_mask is empty, so the last armv8pmu_enable_user_access stays).
- ``no_stale_reads`` / ``no_foreign_reads``: the reader reads the named counter at EL0: it
  happens if the ``mrs`` does not trap and returns a non-zero count.
- ``userpage`` / ``read_self``: the event's owner runs the documented read loop (a final
  ``ioctl RESET`` by it is folded into the loop's step): it happens if the loop's value is not
  within 2^31 of read() (S14: ``-2^32``).
- ``accounting``: the task current on that CPU reads PMUSERENR_EL0: it happens if EL0 sees the
  same grant (or denial) the explorer's machine had.

The list runs on the model (``pmulab.sim.ops_exec.execute``, lock-step like the guest) and on the
kernel; both verdicts are computed from their own records, and the records are compared cell
by cell as for every other scenario. Machine size: QEMU's cortex-a72 has 6 event counters, so
the op list's machine gets ``counters=6`` (the explorer's counterexamples use at most two events).
Omits: designs other than v5.17 (the kernel carries only it); ``irq`` and interleaved read
loops (``known.INEXPRESSIBLE``).
Pinned to: spec §7 S13/S14; Linux 6.1 arm64 under QEMU 7.2 (``-cpu cortex-a72``).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from pmulab.sim.ops import OpList
from pmulab.sim.ops_exec import execute

from . import compare as cmp
from .env import Toolchain

__all__ = ["Probe", "Replay", "ExploreTruth", "EXPLORE_TRUTHS", "probe", "replay_counterexample",
           "replay_explore", "record_explore", "recorded_replays", "HAPPENS", "DOES_NOT_HAPPEN"]

HAPPENS = "happens on Linux"
DOES_NOT_HAPPEN = "does not happen on Linux"
#: Event counters of QEMU's cortex-a72 (PMCR_EL0.N).
_QEMU_COUNTERS = 6
_ACCESS = re.compile(r"CPU (\d+): PMUSERENR_EL0 grants EL0 counter reads to (\S+), which")
_READ = re.compile(r"CPU (\d+): (\S+) \(uid \d+\) can read (?:released )?counter (\d+) = ")
_ACCOUNT = re.compile(r"CPU (\d+): PMUSERENR_EL0 (grants|denies) EL0 access")
_PAGE = re.compile(r"^(\S+?): ")


@dataclass(frozen=True)
class Probe:
    """What makes a violation visible: ``kind`` ("access", "count", "loop"), the step whose record
    decides, and for "access" whether the violation is a grant (True) or a denial (False)."""

    invariant: str
    kind: str
    step: int
    task: str
    what: str
    grant: bool = True

    def happens(self, records: list[dict[str, Any]]) -> bool:
        """The verdict from one side's records (the model's or the kernel's)."""
        rec = records[self.step]
        if self.kind == "access":
            return (not rec.get("trap")) and _granted(rec.get("value", 0)) == self.grant
        if self.kind == "count":
            return not rec.get("trap") and rec.get("value", 0) != 0
        return rec.get("result") == "value" and cmp.derive(rec).get("error") != "ok"

    def to_dict(self) -> dict[str, Any]:
        return {"invariant": self.invariant, "kind": self.kind, "step": self.step, "task": self.task,
                "what": self.what, "grant": self.grant}


def _granted(value: int) -> bool:
    from pmulab.hw.sysregs import PMUSERENR

    return any(value & PMUSERENR[b].mask for b in ("EN", "ER", "CR"))


def probe(cx: Any, name: str | None = None) -> tuple[OpList, Probe]:
    """The counterexample ``cx`` as an op list ending in its probe; ValueError if it has none."""
    if cx.config.design_name != "v5.17":
        raise ValueError(f"only v5.17 counterexamples replay on Linux (the kernel carries v5.17), not "
                         f"{cx.config.design_name}")
    base = cx.to_oplist(name)
    steps = [dict(s) for s in base.steps]
    inv, msg = cx.invariant, cx.message
    world, _ = cx.replay(check=False)
    if inv in ("no_stale_access", "accounting"):
        if inv == "no_stale_access":
            m = _ACCESS.match(msg)
            cpu, grant = (int(m.group(1)), True) if m else (None, True)
            task = m.group(2) if m else None
        else:
            m = _ACCOUNT.match(msg)
            cpu, grant = (int(m.group(1)), m.group(2) == "grants") if m else (None, True)
            cur = world.m.sched.curr[cpu] if m else None
            task = cur.name if cur is not None else None
        if task is None:
            raise ValueError(f"{inv}: no task current on the CPU to probe ({msg})")
        steps += [{"op": "mrs", "task": task, "reg": reg} for reg in ("PMUSERENR_EL0", "PMCCNTR_EL0")]
        pr = Probe(inv, "access", len(steps) - 2, task, f"PMUSERENR_EL0 on CPU {cpu}", grant)
    elif inv in ("no_stale_reads", "no_foreign_reads"):
        m = _READ.match(msg)
        if not m:
            raise ValueError(f"{inv}: cannot name the reader and counter in {msg!r}")
        cpu, task, n = int(m.group(1)), m.group(2), int(m.group(3))
        reg = "PMCCNTR_EL0" if n == 31 else f"PMEVCNTR{n}_EL0"
        steps += [{"op": "mrs", "task": task, "reg": "PMUSERENR_EL0"}, {"op": "mrs", "task": task, "reg": reg}]
        pr = Probe(inv, "count", len(steps) - 1, task, f"{reg} on CPU {cpu}")
    elif inv in ("userpage", "read_self"):
        if inv == "read_self" and steps[-1]["op"] == "read_self":
            task, ev = steps[-1]["task"], steps[-1]["ev"]
        else:
            m = _PAGE.match(msg)
            if not m or m.group(1) not in world.pages:
                raise ValueError(f"{inv}: cannot name the event in {msg!r}")
            ev = m.group(1)
            task = ev.split(":", 1)[0]
            last = steps[-1]
            prelude = []
            if last.get("task") == task and last.get("ev") == ev and last["op"] == "ioctl" \
                    and last["request"] == "RESET":
                steps.pop()
                prelude = ["reset"]
            steps.append({"op": "read_self", "task": task, "ev": ev, "prelude": prelude})
        pr = Probe(inv, "loop", len(steps) - 1, task, f"read loop on {ev}")
    else:
        raise ValueError(f"invariant {inv!r} has no user-space probe on Linux")
    machine = {**base.machine, "counters": max(base.machine["counters"], _QEMU_COUNTERS)}
    doc = base.doc + f"\nprobe: {pr.task} observes {pr.what} (step {pr.step})"
    return OpList(name=base.name, steps=steps, machine=machine, sysctl=dict(base.sysctl), doc=doc), pr


@dataclass
class Replay:
    """One counterexample on both sides: the op list, the probe, both record lists and verdicts."""

    invariant: str
    message: str
    explore_ops: list
    oplist: OpList
    probe: Probe
    model: list
    kernel: list | None = None
    meta: dict = field(default_factory=dict)

    @property
    def cells(self) -> list:
        if self.kernel is None:
            return []
        return cmp.compare(self.oplist.name, self.oplist.steps, self.model, self.kernel)

    @property
    def agree(self) -> bool:
        return self.kernel is not None and not cmp.mismatches(self.cells)

    @property
    def model_happens(self) -> bool:
        return self.probe.happens(self.model)

    @property
    def kernel_happens(self) -> bool | None:
        return None if self.kernel is None else self.probe.happens(self.kernel)

    @property
    def verdict(self) -> str:
        """``"<invariant>: happens on Linux"`` / ``does not happen``, with the model's verdict."""
        if self.kernel is None:
            return f"{self.invariant}: not booted (model: {'happens' if self.model_happens else 'does not happen'})"
        k = HAPPENS if self.kernel_happens else DOES_NOT_HAPPEN
        same = "as the model says" if self.kernel_happens == self.model_happens else "UNLIKE the model"
        return f"{self.invariant}: {k} ({same}; {self.probe.task} observes {self.probe.what})"

    def table(self, all_cells: bool = True) -> str:
        cells = self.cells if all_cells else cmp.mismatches(self.cells)
        return cmp.table(self.oplist.name, self.oplist.steps, cells)

    def to_truth(self) -> dict[str, Any]:
        """The truth-file layout of ``pmulab.oracle.truths`` plus the explorer's side (``explore``)."""
        from .truths import FORMAT

        m = self.meta
        return {"format": FORMAT, "scenario": self.oplist.name, "doc": self.oplist.doc, "kernel": m.get("kernel"),
                "qemu": m.get("qemu"), "qemu_cpu": m.get("qemu_cpu"), "cpu_part": m.get("cpu_part"),
                "smp": m.get("smp"), "icount": "shift=0", "oplist": self.oplist.to_dict(),
                "records": [{k: v for k, v in r.items() if k != "scenario"} for r in self.kernel or []],
                "explore": {"invariant": self.invariant, "message": self.message,
                            "ops": [list(op) for op in self.explore_ops], "probe": self.probe.to_dict(),
                            "verdict": HAPPENS if self.kernel_happens else DOES_NOT_HAPPEN}}


def _boot(tc: Toolchain | None, lists: list[OpList], jobs: int, log) -> dict[str, dict[str, Any]]:
    from .env import setup
    from .truths import run_live

    return run_live(tc or setup(log=log), lists, jobs=jobs, log=log)


def replay_counterexample(cx: Any, live: bool = True, *, tc: Toolchain | None = None, name: str | None = None,
                          log=print) -> Replay:
    """Convert ``cx``, run it on the model and (``live``) boot it on the real kernel."""
    oplist, pr = probe(cx, name)
    r = Replay(cx.invariant, cx.message, list(cx.ops), oplist, pr, execute(oplist))
    if live:
        res = _boot(tc, [oplist], 1, log)[oplist.name]
        r.kernel, r.meta = res["records"], res["meta"]
    return r


def replay_explore(design: str = "v5.17", *, depth: int = 3, invariants: Any = None, ops: Any = None,
                   live: bool = True, tc: Toolchain | None = None, jobs: int = 2, log=print,
                   **explore_kw: Any) -> tuple[list[Replay], dict[str, str]]:
    """Run the explorer, replay every counterexample it finds; returns (replays, skipped) where
    ``skipped`` maps an invariant to why its counterexample cannot run on Linux."""
    from pmulab.sim.explorer import explore

    result = explore(design, depth=depth, invariants=invariants, ops=ops, **explore_kw)
    replays, skipped = [], {}
    for inv, cx in sorted(result.counterexamples.items()):
        try:
            oplist, pr = probe(cx, f"explore-{design}-{inv}")
        except ValueError as exc:
            skipped[inv] = str(exc)
            continue
        replays.append(Replay(inv, cx.message, list(cx.ops), oplist, pr, execute(oplist)))
    if live and replays:
        res = _boot(tc, [r.oplist for r in replays], jobs, log)
        for r in replays:
            r.kernel, r.meta = res[r.oplist.name]["records"], res[r.oplist.name]["meta"]
    return replays, skipped


@dataclass(frozen=True)
class ExploreTruth:
    """A recorded replay: the search that finds the counterexample, and the truth file's name."""

    name: str
    invariant: str
    depth: int
    ops: tuple
    design: str = "v5.17"

    def counterexample(self) -> Any:
        from pmulab.sim.explorer import explore

        r = explore(self.design, depth=self.depth, ops=self.ops, invariants=[self.invariant])
        return r.counterexamples[self.invariant]


#: The explorer's S13 counterexamples recorded in oracle/truths/ (checked by ``make test``).
EXPLORE_TRUTHS = (
    ExploreTruth("explore-S13-access", "no_stale_access", 3, ("open", "switch", "migrate", "block", "wake")),
    ExploreTruth("explore-S13-reads", "no_stale_reads", 3, ("open", "switch", "migrate", "block", "wake")),
)


def record_explore(tc: Toolchain | None = None, directory: Path | None = None, *, log=print) -> list[Path]:
    """Boot every ``EXPLORE_TRUTHS`` entry and write its truth file; returns the paths."""
    from .truths import truths_dir

    d = directory or truths_dir()
    lists = {}
    for et in EXPLORE_TRUTHS:
        lists[et.name] = probe(et.counterexample(), et.name)
    res = _boot(tc, [o for o, _ in lists.values()], 2, log)
    paths = []
    for et in EXPLORE_TRUTHS:
        oplist, pr = lists[et.name]
        cx = et.counterexample()
        r = Replay(cx.invariant, cx.message, list(cx.ops), oplist, pr, execute(oplist),
                   res[et.name]["records"], res[et.name]["meta"])
        path = d / f"{et.name}.json"
        path.write_text(json.dumps(r.to_truth(), indent=1, sort_keys=True) + "\n")
        paths.append(path)
    return paths


def recorded_replays() -> list[Replay]:
    """The recorded explorer replays (no QEMU): the model re-run on each stored op list against the
    stored kernel records. What notebook 11 can show next to the scenarios: ``r.verdict``,
    ``r.table()``, ``r.explore_ops``."""
    from .truths import load

    out = []
    for et in EXPLORE_TRUTHS:
        t = load(et.name)
        e = t["explore"]
        oplist = OpList.from_dict(t["oplist"])
        pr = Probe(**e["probe"])
        out.append(Replay(e["invariant"], e["message"], [tuple(op) for op in e["ops"]], oplist, pr, execute(oplist),
                          t["records"], {k: t[k] for k in ("kernel", "qemu", "qemu_cpu", "cpu_part", "smp")}))
    return out

