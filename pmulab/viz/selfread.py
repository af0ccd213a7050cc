"""One self-monitoring read, classified, and how the labs of notebook 07 plot it.

Models: nothing itself. ``read_outcome`` runs the documented read loop (``pmulab.user.ReadLoop``)
for a task and classifies it: ``mrs`` (count from the counter), ``fallback`` (index 0: read()),
``retried`` (the lock changed after an ``mrs``), ``SIGILL`` (the ``mrs`` trapped);
``_kernel_count`` is what read() returns; ``_outcome_marks``/``_set_outcomes`` draw the outcomes
as one bqplot Scatter each, in legend order (``OUTCOMES``, ``OUTCOME_STYLE``).
Omits: any outcome logic beyond classifying a read (the scenarios own the checks).
Pinned to: bqplot 0.13; the read loop of Documentation/arm64/perf.rst (Linux v5.17).
"""

from __future__ import annotations

import bqplot as bq
import numpy as np

from pmulab import uapi
from pmulab.errors import IllegalInstruction
from pmulab.hw.sysregs import PMUSERENR
from pmulab.user import ReadLoop

__all__ = ["OUTCOMES", "OUTCOME_STYLE", "read_outcome"]


#: Outcomes of one self-monitoring read, in legend order.
OUTCOMES = ("mrs", "fallback", "retried", "SIGILL")
OUTCOME_STYLE = {"mrs": ("#2ca02c", "circle", "mrs read = read()"),
                 "fallback": ("#7f7f7f", "square", "index 0: fall back to read()"),
                 "retried": ("#ff7f0e", "diamond", "lock changed after the mrs: retried"),
                 "SIGILL": ("#d62728", "cross", "mrs trapped: SIGILL")}
_ER = PMUSERENR["ER"].mask


def read_outcome(task, page) -> tuple[str, int | None, ReadLoop]:
    """Run the documented read loop for ``task`` -> (outcome, count or None, the loop).

    outcome: ``mrs`` (count from the counter), ``fallback`` (index 0 at the first try),
    ``retried`` (the lock changed after an ``mrs``: the value read was thrown away and the loop
    ran again, ending in a count or a fallback), ``SIGILL`` (the ``mrs`` trapped).
    """
    loop = ReadLoop(task, page, clock=None, scale=False)
    return _finish(loop)


def _finish(loop: ReadLoop) -> tuple[str, int | None, ReadLoop]:
    try:
        result = loop.run()
    except IllegalInstruction:
        return "SIGILL", None, loop
    if loop.retries:
        return "retried", result, loop
    return ("fallback" if result is None else "mrs"), result, loop


def _kernel_count(task, fd: int) -> int:
    attr = task.fds[fd].attr
    return uapi.parse_read(task.read(fd), attr.read_format).value


def _outcome_marks(x_scale, y_scale) -> dict[str, bq.Scatter]:
    return {k: bq.Scatter(x=np.zeros(0), y=np.zeros(0), scales={"x": x_scale, "y": y_scale}, colors=[c],
                          marker=mk, default_size=70, display_legend=True, labels=[lab], stroke="white")
            for k, (c, mk, lab) in OUTCOME_STYLE.items()}


def _set_outcomes(marks: dict, reads, y_of) -> None:
    for kind, mark in marks.items():
        sel = [r for r in reads if r.outcome == kind]
        mark.x = np.array([r.tick for r in sel], dtype=float)
        mark.y = np.array([y_of(r) for r in sel], dtype=float)
