"""The machine's record: what the kernel did, and what the hardware showed at every tick.

Models: nothing in Linux; this is the lab's instrument (ftrace-like). Three columnar tables:

- ``actions``: one row per kernel action recorded through ``Kernel.record`` (context switches,
  perf core and driver events, IPIs, syscalls, EL0 accesses, SIGILL): ``seq``, ``tick``,
  ``time`` (ns), ``kind``, ``cpu``, ``task`` (pid or None) and ``details`` (the other fields).
- ``ticks``: one row per ``Machine.run`` tick: ``tick``, ``time``, ``current`` (pid per CPU),
  ``counters`` (``(cpus, 32)`` hardware counter values, slot 31 = PMCCNTR_EL0) and
  ``pmuserenr`` (PMUSERENR_EL0 per CPU).
- ``pages``: per tick, the user page fields of every mapped event.

Values are normalised to plain JSON types when recorded (tasks -> pid, events -> id, enums ->
name), so a trace never holds references into the model and the same seed gives the same
``to_json()`` byte for byte.
Omits: ring-buffer contents (sampling records live in the pages' data areas).
"""

from __future__ import annotations

import enum
import json
from typing import Any

import numpy as np

__all__ = ["Trace", "plain"]

#: Types ``plain`` returns unchanged (tested before calling it: most fields are of these).
_SAME = (int, str, bool, type(None))
#: Fields of the user page copied into the ``pages`` table each tick (uapi names).
PAGE_FIELDS = ("lock", "index", "offset", "time_enabled", "time_running", "pmc_width", "cap_user_rdpmc")


def plain(value: Any) -> Any:
    """Return ``value`` as JSON-able data, deterministically (no ids, no reprs with addresses)."""
    cls = value.__class__
    if cls is int or cls is str or cls is bool or value is None:  # the common fields, unchanged
        return value
    if isinstance(value, (bool, str)):
        return value
    if isinstance(value, enum.Enum):
        return value.name if value.name is not None else int(value.value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    if isinstance(value, (float, np.floating)):
        return float(value)
    if isinstance(value, (bytes, bytearray)):
        return bytes(value).hex()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        items = sorted(value, key=repr) if isinstance(value, (set, frozenset)) else value
        return [plain(v) for v in items]
    if hasattr(value, "pid"):  # a Task
        return int(value.pid)
    if hasattr(value, "id") and isinstance(value.id, int):  # a PerfEvent
        return int(value.id)
    if callable(value):
        return getattr(value, "__qualname__", type(value).__name__)
    return type(value).__name__


class Trace:
    """Columnar record of one Machine (see the module docstring)."""

    def __init__(self, ncpus: int):
        self.ncpus = ncpus
        self._actions: dict[str, list] = {k: [] for k in ("seq", "tick", "time", "kind", "cpu", "task", "details")}
        self._ticks: dict[str, list] = {k: [] for k in ("tick", "time", "seq", "current", "counters", "pmuserenr")}
        self._pages: dict[str, list] = {k: [] for k in ("tick", "event", "owner", *PAGE_FIELDS)}

    # -- writers (the Machine only) ---------------------------------------------------------
    def action(self, tick: int, time: int, kind: str, fields: dict[str, Any]) -> None:
        """Append one kernel action; ``cpu`` and ``task`` are lifted out of ``fields``."""
        if not isinstance(kind, str) or not kind:
            raise TypeError(f"trace kind must be a non-empty str, not {kind!r}")
        cpu = fields.get("cpu")
        task = fields.get("task")
        a = self._actions
        a["seq"].append(len(a["seq"]))
        a["tick"].append(tick)
        a["time"].append(time)
        a["kind"].append(kind)
        a["cpu"].append(plain(cpu))
        a["task"].append(plain(task))
        a["details"].append({k: v if v.__class__ in _SAME else plain(v)
                             for k, v in sorted(fields.items()) if k != "cpu" and k != "task"})

    def tick(self, tick: int, time: int, current: list, counters: np.ndarray, pmuserenr: np.ndarray,
             pages: list[tuple[int, int, dict]]) -> None:
        """Append one tick row and its page rows (``pages``: (event id, owner pid, fields))."""
        t = self._ticks
        t["tick"].append(tick)
        t["time"].append(time)
        t["seq"].append(len(self._actions["seq"]))  # actions recorded before this row
        t["current"].append([plain(c) for c in current])
        t["counters"].append(np.array(counters, dtype=np.uint64).reshape(self.ncpus, -1))
        t["pmuserenr"].append(np.array(pmuserenr, dtype=np.uint64).reshape(self.ncpus))
        p = self._pages
        for event_id, owner, values in pages:
            p["tick"].append(tick)
            p["event"].append(int(event_id))
            p["owner"].append(plain(owner))
            for name in PAGE_FIELDS:
                v = values.get(name)
                p[name].append(v if v.__class__ in _SAME else plain(v))

    # -- readers ------------------------------------------------------------------------------
    def __len__(self) -> int:
        """Number of tick rows."""
        return len(self._ticks["tick"])

    def columns(self) -> dict[str, Any]:
        """Per-tick columns: lists, and NumPy arrays for ``counters`` ``(n, cpus, 32)`` and ``pmuserenr``."""
        t = self._ticks
        n = len(t["tick"])
        return {
            "tick": list(t["tick"]),
            "time": list(t["time"]),
            "current": [list(c) for c in t["current"]],
            "counters": np.stack(t["counters"]) if n else np.zeros((0, self.ncpus, 32), np.uint64),
            "pmuserenr": np.stack(t["pmuserenr"]) if n else np.zeros((0, self.ncpus), np.uint64),
        }

    def action_columns(self) -> dict[str, list]:
        return {k: list(v) for k, v in self._actions.items()}

    def page_columns(self) -> dict[str, list]:
        return {k: list(v) for k, v in self._pages.items()}

    def actions(self, kind: str | None = None, **match: Any) -> list[dict]:
        """Action records (dicts), optionally only of ``kind`` and with fields equal to ``match``."""
        a = self._actions
        out = []
        for i in range(len(a["seq"])):
            if kind is not None and a["kind"][i] != kind:
                continue
            rec = {k: a[k][i] for k in ("seq", "tick", "time", "kind", "cpu", "task")}
            rec.update(a["details"][i])
            if all(rec.get(k) == plain(v) for k, v in match.items()):
                out.append(rec)
        return out

    def kinds(self) -> list[str]:
        """The kind of every action, in order."""
        return list(self._actions["kind"])

    def to_records(self) -> list[dict]:
        """All rows in the order they happened: actions, and the row that closes each tick.

        Tick rows have ``kind == "tick"`` and carry ``counters``/``pmuserenr`` as lists and
        ``pages`` (event id -> page fields).
        """
        pages_by_tick: dict[int, dict[int, dict]] = {}
        p = self._pages
        for i, tick in enumerate(p["tick"]):
            pages_by_tick.setdefault(tick, {})[p["event"][i]] = {
                "owner": p["owner"][i], **{name: p[name][i] for name in PAGE_FIELDS}}
        actions = self.actions()
        out: list[dict] = []
        ai = 0
        t = self._ticks
        for i, tick in enumerate(t["tick"]):
            while ai < t["seq"][i]:
                out.append(actions[ai])
                ai += 1
            out.append({"kind": "tick", "tick": tick, "time": t["time"][i], "current": t["current"][i],
                        "counters": t["counters"][i].tolist(), "pmuserenr": t["pmuserenr"][i].tolist(),
                        "pages": pages_by_tick.get(tick, {})})
        out.extend(actions[ai:])
        return out

    def to_json(self) -> str:
        """The whole trace as canonical JSON (sorted keys, no whitespace variance)."""
        doc = {
            "ncpus": self.ncpus,
            "ticks": {k: plain(v) for k, v in self._ticks.items()},
            "actions": {k: plain(v) for k, v in self._actions.items()},
            "pages": {k: plain(v) for k, v in self._pages.items()},
        }
        return json.dumps(doc, sort_keys=True, separators=(",", ":"))

    def format(self, kinds: tuple[str, ...] | None = None, counters: int = 0) -> str:
        """A readable text rendering (one line per row), as the CLI prints it.

        ``counters``: how many event counters per CPU to show in tick rows (cycle counter always).
        """
        lines = []
        for rec in self.to_records():
            if rec["kind"] == "tick":
                if kinds is not None and "tick" not in kinds:
                    continue
                cpus = []
                for c in range(self.ncpus):
                    ctr = rec["counters"][c]
                    shown = " ".join(f"ev{n}={v:#x}" for n, v in enumerate(ctr[:counters]))
                    cpus.append(f"C{c}[{rec['current'][c] or '-'}] ccnt={ctr[31]:#x}"
                                f"{' ' + shown if shown else ''} userenr={rec['pmuserenr'][c]:#x}")
                pages = "; ".join(f"page{e}: lock={f['lock']} index={f['index']} offset={f['offset'] or 0:#x}"
                                  for e, f in rec["pages"].items())
                lines.append(f"tick {rec['tick']:4d} {rec['time'] / 1e6:8.1f}ms | " + " | ".join(cpus)
                             + (f" | {pages}" if pages else ""))
            elif kinds is None or rec["kind"] in kinds:
                extra = " ".join(f"{k}={v}" for k, v in rec.items()
                                 if k not in ("seq", "tick", "time", "kind", "cpu", "task"))
                cpu = "-" if rec["cpu"] is None else rec["cpu"]
                task = "-" if rec["task"] is None else rec["task"]
                lines.append(f"          {rec['time'] / 1e6:8.1f}ms   {rec['kind']:<14} cpu={cpu} task={task} {extra}")
        return "\n".join(lines)
