"""pmulab: a teaching laboratory for the Arm PMUv3 performance monitors and Linux perf events."""

from pmulab.errors import IllegalInstruction, NotModelledError, PerfError

__version__ = "0.1.0"
__all__ = ["IllegalInstruction", "NotModelledError", "PerfError", "__version__"]
