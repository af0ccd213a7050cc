"""Leak analysis: for every EL0 counter read in a trace, whose count was it?

Models: Mark Rutland's first point of the v8 review ("This still leaks the values of CPU-bound
events, or task-bound events owned by others, right?") and its neighbours, as a classifier over
a machine's trace. It replays the counter-ownership tracepoints of the user-access designs
(``counter_claim``/``counter_release``/``counter_clear``, on when ``design.tracing`` is True)
to know, at each ``mrs`` of PMEVCNTR<n>_EL0 / PMCCNTR_EL0, which event held that counter on
that CPU, or which event held it last. Each read gets one ``kind``:

- ``own``: the reader opened the event;
- ``granted``: an event bound to the reader that its opener made user-readable (config1 rdpmc;
  S15, S16) -- access the reader did not ask for, but not someone else's secret;
- ``cpu_bound``: a CPU-bound event's live count (S1) -- a leak;
- ``foreign_owner``: an event bound to the reader, opened by someone else without user read
  (the administrator's event of S2) -- a leak;
- ``other_task``: an event bound to another task (S3's wrong-CPU reads) -- a leak;
- ``stale``: a released counter still holding the last value of another context's event (S13)
  -- a leak; ``own_stale`` when the last occupant was the reader's;
- ``zero``: the read returned 0 (a cleared counter, or RAZ under PMUACR_EL1): nothing learnt;
- ``unknown``: no tracepoint ever named this counter (tracing was off).
Besides reads, a ``counter_clear`` of a counter that was in ``used_mask`` destroyed a live count
(S7): kind ``destroyed``.
Omits: PMXEVCNTR_EL0 reads through PMSELR_EL0 (classified ``unknown``), the upper half of a
chained pair (v8 and v5.17 never chain user-readable events).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

__all__ = ["LEAK_KINDS", "READ_KINDS", "LeakReport", "analyse", "idx_of_register"]

#: Kinds that count as a leak, in matrix column order.
LEAK_KINDS = ("cpu_bound", "foreign_owner", "other_task", "stale", "destroyed")
#: Every kind a read can get.
READ_KINDS = ("own", "granted", "cpu_bound", "foreign_owner", "other_task", "stale", "own_stale", "zero", "unknown")

_EVCNTR = re.compile(r"PMEVCNTR(\d+)_EL0")


def idx_of_register(reg: str) -> int | None:
    """The perf idx a counter register reads (PMCCNTR_EL0 -> 0, PMEVCNTR<n>_EL0 -> n+1), else None."""
    if reg == "PMCCNTR_EL0":
        return 0
    m = _EVCNTR.fullmatch(reg)
    return int(m.group(1)) + 1 if m else None


@dataclass
class LeakReport:
    """The classified reads (``reads``), destroyed counts (``destroyed``) and a summary."""

    reads: list[dict] = field(default_factory=list)
    destroyed: list[dict] = field(default_factory=list)

    @property
    def counts(self) -> dict[str, int]:
        """{kind: how many} over LEAK_KINDS (reads, plus destroyed counters)."""
        out = dict.fromkeys(LEAK_KINDS, 0)
        for r in self.reads:
            if r["kind"] in out:
                out[r["kind"]] += 1
        out["destroyed"] = sum(len(d["live"]) for d in self.destroyed)
        return out

    @property
    def kinds(self) -> frozenset[str]:
        """The leak kinds that occurred."""
        return frozenset(k for k, n in self.counts.items() if n)

    def __bool__(self) -> bool:
        return bool(self.kinds)

    def to_dict(self) -> dict:
        return {"counts": self.counts, "reads": list(self.reads), "destroyed": list(self.destroyed)}


def _classify(info: dict | None, last: dict | None, reader, value: int) -> tuple[str, dict | None]:
    if info is not None:
        if value == 0:
            return "zero", info
        if info["owner"] == reader:
            return "own", info
        if info["cpu_bound"]:
            return "cpu_bound", info
        if info["target"] == reader:
            return ("granted" if info["user_read"] else "foreign_owner"), info
        return "other_task", info
    if value == 0:
        return "zero", last
    if last is None:
        return "unknown", None
    return ("own_stale" if last["owner"] == reader else "stale"), last


def analyse(trace) -> LeakReport:
    """Classify every EL0 counter read and every destroyed live counter of ``trace``."""
    held: dict[tuple[int, int], dict] = {}
    last: dict[tuple[int, int], dict] = {}
    report = LeakReport()
    for rec in trace.actions():
        kind, cpu = rec["kind"], rec["cpu"]
        if kind == "counter_claim":
            info = {k: rec[k] for k in ("event", "owner", "target", "cpu_bound", "user_read")}
            for idx in rec["idxs"]:
                held[(cpu, idx)] = info
        elif kind == "counter_release":
            for idx in rec["idxs"]:
                info = held.pop((cpu, idx), None)
                if info is not None:
                    last[(cpu, idx)] = info
        elif kind == "counter_clear":
            for idx in rec["idxs"]:
                last.pop((cpu, idx), None)
            if rec["live"]:
                victims = [held.get((cpu, i), {}).get("event") for i in rec["live"]]
                report.destroyed.append({"seq": rec["seq"], "tick": rec["tick"], "cpu": cpu, "live": rec["live"],
                                         "events": victims, "why": rec["why"]})
        elif kind == "mrs":
            idx = idx_of_register(rec["reg"])
            if idx is None:
                continue
            value = rec["value"]
            what, info = _classify(held.get((cpu, idx)), last.get((cpu, idx)), rec["task"], value)
            report.reads.append({"seq": rec["seq"], "tick": rec["tick"], "cpu": cpu, "reader": rec["task"],
                                 "reg": rec["reg"], "idx": idx, "value": value, "kind": what,
                                 "event": info["event"] if info else None, "owner": info["owner"] if info else None})
    return report
