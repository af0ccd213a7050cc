"""Performance benchmarks of pmulab (issue 8): ``pmulab bench`` / ``python -m pmulab.bench``.

Models: nothing of the PMU; it measures the model. Benchmarks: the counter core per step against
its scalar twin and a NumPy floor (``core``), trace mode (``trace``), the Machine loop
(``machine``), the scenario explorers (``widgets``), sampling and the record parsers (``sampling``,
issue 11) and the interleaving explorer (``explore``, issue 6). See docs/benchmarks.md.
Omits: timing assertions (figures are reported; tests check only their shape).
Pinned to: issue 8.

Layering: sits at the top beside ``pmulab.cli`` (it may import sim, hw, viz ...); nothing imports it
but the CLI.
"""

from .suite import BENCHMARKS, run

__all__ = ["BENCHMARKS", "run"]
