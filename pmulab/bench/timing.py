"""Timing and result records of ``pmulab bench``: medians of repeated runs, log-log fits, figures.

Models: nothing of the PMU; this is the measuring apparatus. Every figure is the median of
``repeat`` timed blocks (``time.perf_counter``), each block ``number`` calls long, divided by
``number``; comparisons (ratios) are formed from figures measured in the same process, with
the compared functions timed block by block in alternation so that drift hits both alike.
Omits: CPU pinning and frequency control (the host decides; the table records the host).
Pinned to: Python's ``time.perf_counter`` (monotonic, highest available resolution).
"""

from __future__ import annotations

import math
import statistics
import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass, field

import numpy as np

__all__ = ["Figure", "Section", "medians", "fit_exponent", "unavailable"]


@dataclass(frozen=True)
class Figure:
    """One measured number.

    ``target`` is the issue's goal in words (empty when the figure is informative only) and
    ``met`` whether the measured value reaches it (None when there is no target).
    """

    name: str
    value: float
    unit: str
    meaning: str
    target: str = ""
    met: bool | None = None

    def __post_init__(self):
        value = float(self.value)
        if not math.isfinite(value):
            raise ValueError(f"figure {self.name}: {self.value!r} is not a finite number")
        object.__setattr__(self, "value", value)
        if self.met is not None:
            object.__setattr__(self, "met", bool(self.met))

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True)
class Section:
    """The figures of one benchmark; ``status`` is "ok" or "unavailable: <reason>"."""

    name: str
    title: str
    status: str = "ok"
    figures: tuple[Figure, ...] = ()
    notes: tuple[str, ...] = field(default_factory=tuple)

    def to_dict(self) -> dict:
        return {"name": self.name, "title": self.title, "status": self.status,
                "figures": [f.to_dict() for f in self.figures], "notes": list(self.notes)}


def unavailable(name: str, title: str, reason: str, notes: Sequence[str] = ()) -> Section:
    """A section that could not be measured, saying why (one line)."""
    return Section(name, title, status=f"unavailable: {' '.join(reason.split())}", notes=tuple(notes))


def medians(fns: Sequence[Callable[[], object]], repeat: int, numbers: Sequence[int]) -> list[float]:
    """Median seconds per call of each of ``fns``, timed in alternating blocks.

    Round r times ``numbers[i]`` calls of ``fns[i]`` for every i in turn; the result for fn i is
    the median over the ``repeat`` rounds of (block time / numbers[i]).
    """
    if repeat < 1 or any(n < 1 for n in numbers) or len(numbers) != len(fns):
        raise ValueError("repeat and every number must be >= 1, one number per function")
    samples: list[list[float]] = [[] for _ in fns]
    clock = time.perf_counter
    for _ in range(repeat):
        for fn, n, out in zip(fns, numbers, samples, strict=True):
            t0 = clock()
            for _ in range(n):
                fn()
            out.append((clock() - t0) / n)
    return [statistics.median(s) for s in samples]


def fit_exponent(xs: Sequence[float], ys: Sequence[float]) -> float:
    """Least-squares slope of log(y) against log(x): y ~ x**k returns k."""
    if len(xs) != len(ys) or len(xs) < 2:
        raise ValueError("need at least two (x, y) points")
    lx, ly = np.log(np.asarray(xs, float)), np.log(np.asarray(ys, float))
    k = float(np.polyfit(lx, ly, 1)[0])
    if not math.isfinite(k):
        raise ValueError(f"no finite fit through {list(zip(xs, ys, strict=True))}")
    return k
