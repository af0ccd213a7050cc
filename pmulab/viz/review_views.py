"""Views for the review notebooks 04-06: the leak matrix lab, the dirty-counter lab, the mmap-from-B timeline.

Models: nothing; this module only re-exports the views, one module per thing shown:
- ``leakmatrix_lab``: ``LeakMatrixLab``, Mark Rutland's point 1 as a design x leak-kind heat map
  (S1, S2, S15, S16);
- ``dirty_lab``: ``DirtyCounterLab``, S7: the victim's counter zeroed under it;
- ``access_probe``: ``probe_run`` / ``Probe``, a scenario run probed at every narrated step;
- ``access_timeline_lab``: ``AccessTimelineLab``, S3/S4 on two designs side by side.
Omits: everything; see the modules above.
Pinned to: ipywidgets 8, bqplot 0.13; spec §7 S1-S4, S7, S15, S16.
"""

from __future__ import annotations

from pmulab.viz.access_probe import Probe, accounting, mismatches, probe_run
from pmulab.viz.access_timeline_lab import AccessTimelineLab, access_timeline_lab
from pmulab.viz.dirty_lab import DirtyCounterLab, count_register_of, dirty_counter_lab
from pmulab.viz.leakmatrix_lab import MATRIX_KINDS, LeakMatrixLab, leak_matrix_lab

__all__ = ["MATRIX_KINDS", "LeakMatrixLab", "DirtyCounterLab", "AccessTimelineLab", "Probe", "probe_run",
           "accounting", "mismatches", "leak_matrix_lab", "dirty_counter_lab",
           "access_timeline_lab", "count_register_of"]
