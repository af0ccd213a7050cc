"""pmulab: a teaching laboratory for the Arm PMUv3 performance monitors and Linux perf events.

Public API (design.md §2)::

    from pmulab import Machine, Workload, PerfEventAttr, PerfError, IllegalInstruction
    from pmulab import uapi
    pmulab.grade(design)     # a design's report card (pmulab.studio)

``Machine`` and ``Workload`` are imported on first use (they pull in the whole kernel model),
so ``import pmulab.hw`` or ``import pmulab.uapi`` stays light.
"""

from pmulab import uapi
from pmulab.errors import IllegalInstruction, NotModelledError, PerfError
from pmulab.uapi import PerfEventAttr

__version__ = "0.1.0"
__all__ = [
    "Machine", "Workload", "PerfEventAttr", "PerfError", "IllegalInstruction", "NotModelledError", "uapi",
    "grade", "__version__",
]

_LAZY = {"Machine": "pmulab.sim.machine", "Workload": "pmulab.sim.workload", "grade": "pmulab.studio"}


def __getattr__(name: str):
    if name in _LAZY:
        import importlib

        return getattr(importlib.import_module(_LAZY[name]), name)
    raise AttributeError(f"module 'pmulab' has no attribute {name!r}")


def __dir__():
    return sorted(set(globals()) | set(_LAZY))
