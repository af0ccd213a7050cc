"""``report()``: samples aggregated per function, like ``perf report``'s default view.

Models: tools/perf/builtin-report.c with ``--sort symbol`` (the ``Overhead`` column is each
symbol's share of the summed sample periods, hists__inc_stats / he_stat__add_period): every
SAMPLE's ``ip`` is resolved to the function whose ``[start, end)`` range holds it; IPs in no
range are counted under ``[unknown]`` as perf does; a sample without PERF_SAMPLE_PERIOD weighs 1
(perf's default ``sample->period``). PERF_RECORD_LOST counts are summed into ``lost`` (perf
report's "lost samples" warning).
Omits: DSOs and maps (the caller gives one flat symbol table), call graphs (children/self),
sort keys other than symbol, per-cpumode columns.
Pinned to: perf report (tools/perf) v5.17 default output.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from pmulab.uapi.constants import PerfRecord
from pmulab.uapi.records import Record

__all__ = ["UNKNOWN", "ReportRow", "Report", "report"]

#: The row for IPs that fall in no symbol's range.
UNKNOWN = "[unknown]"


@dataclass(frozen=True)
class ReportRow:
    """One function: its samples, summed period and ``overhead`` (% of the total period)."""

    symbol: str
    samples: int
    period: int
    overhead: float


@dataclass(frozen=True)
class Report:
    """Rows sorted by period (largest first), totals, and LOST records' summed count."""

    rows: tuple[ReportRow, ...]
    total_samples: int
    total_period: int
    lost: int = 0

    def __getitem__(self, symbol: str) -> ReportRow:
        for row in self.rows:
            if row.symbol == symbol:
                return row
        raise KeyError(symbol)

    def overheads(self) -> dict[str, float]:
        """symbol -> overhead in percent."""
        return {row.symbol: row.overhead for row in self.rows}

    def to_dict(self) -> dict:
        return {"rows": [row.__dict__.copy() for row in self.rows], "total_samples": self.total_samples,
                "total_period": self.total_period, "lost": self.lost}

    def table(self) -> str:
        """The perf-report-like text table."""
        lines = [f"# Samples: {self.total_samples}  Event count (approx.): {self.total_period}"]
        if self.lost:
            lines.append(f"# Lost: {self.lost}")
        lines.append(f"# {'Overhead':>9}  {'Samples':>9}  Symbol")
        lines += [f"  {r.overhead:8.2f}%  {r.samples:9d}  {r.symbol}" for r in self.rows]
        return "\n".join(lines)

    __str__ = table


def _symbol_table(symbols: Iterable[Sequence]) -> tuple[list[str], np.ndarray, np.ndarray]:
    table = sorted((int(s[1]), int(s[2]), str(s[0])) for s in symbols)
    for (s0, e0, n0), (s1, _, n1) in zip(table, table[1:], strict=False):
        if s1 < e0:
            raise ValueError(f"symbols {n0!r} [{s0:#x}, {e0:#x}) and {n1!r} (from {s1:#x}) overlap")
    for start, end, name in table:
        if end <= start:
            raise ValueError(f"symbol {name!r} has an empty range [{start:#x}, {end:#x})")
    starts = np.array([t[0] for t in table], dtype=np.uint64)
    ends = np.array([t[1] for t in table], dtype=np.uint64)
    return [t[2] for t in table], starts, ends


def report(records, symbols: Iterable[Sequence]) -> Report:
    """Aggregate SAMPLE records per function.

    ``records`` is a list of Record (``parse_records``/``RingReader.read``; non-SAMPLE records are
    skipped, LOST ones summed) or a structured array from ``parse_samples``; ``symbols`` is a
    list of ``(name, start, end)`` with ``end`` exclusive and no overlaps.
    """
    names, starts, ends = _symbol_table(symbols)
    lost = 0
    if isinstance(records, np.ndarray):
        if "ip" not in (records.dtype.names or ()):
            raise ValueError("report() needs samples with PERF_SAMPLE_IP")
        ips = records["ip"].astype(np.uint64)
        periods = records["period"].astype(np.uint64) if "period" in records.dtype.names \
            else np.ones(len(records), np.uint64)
    else:
        ip_list, period_list = [], []
        for rec in records:
            if not isinstance(rec, Record):
                raise TypeError(f"report() takes Records or a parse_samples array, not {type(rec).__name__}")
            if rec.type == PerfRecord.SAMPLE:
                ip = rec.fields.get("ip")
                if ip is None:
                    raise ValueError(f"SAMPLE at offset {rec.offset} has no ip (PERF_SAMPLE_IP not set)")
                ip_list.append(ip)
                period_list.append(rec.fields.get("period", 1))
            elif rec.type == PerfRecord.LOST:
                lost += rec.fields["lost"]
        ips = np.array(ip_list, dtype=np.uint64)
        periods = np.array(period_list, dtype=np.uint64)
    slot = np.searchsorted(starts, ips, side="right").astype(np.int64) - 1
    inside = slot >= 0
    inside[inside] &= ips[inside] < ends[slot[inside]]
    slot[~inside] = len(names)  # the [unknown] bucket
    counts = np.bincount(slot, minlength=len(names) + 1)
    sums = np.zeros(len(names) + 1, dtype=np.uint64)
    np.add.at(sums, slot, periods)
    total_period = int(sums.sum(dtype=np.uint64)) if len(ips) else 0
    labels = [*names, UNKNOWN]
    rows = [ReportRow(labels[i], int(counts[i]), int(sums[i]),
                      100.0 * int(sums[i]) / total_period if total_period else 0.0)
            for i in range(len(labels)) if counts[i]]
    rows.sort(key=lambda r: (-r.period, -r.samples, r.symbol))
    return Report(tuple(rows), int(len(ips)), total_period, lost)
