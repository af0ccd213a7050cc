"""Pluggable user-access designs (design.md section 3): how EL0 gets to read PMU counters.

Models: the policy half of the arm64 PMU driver, one ``Design`` subclass per design, looked up
by name in ``DESIGNS``. Adding a design means adding a subclass and a registry entry here;
the perf core and the driver are untouched.
Registered: "v8" (as posted, 17 May 2021), "v8-efc" (Mark Rutland's event_function_call fix),
"x86-mm" (per-mm, the x86 / arm64 v5-v6 way), "lazy-trap" (v7, Will Deacon's undef-hook idea),
"v5.17" (what Linux merged) and "pmuv3p9" (PMUACR_EL1 + UEN per-counter access).
Omits: the perf-tool and libperf halves of the series.
Pinned to: Linux v5.17 hook placement (arch/arm64/kernel/perf_event.c).
"""

from __future__ import annotations

from types import MappingProxyType

from pmulab.bits import close_names
from pmulab.drivers.user_access.base import Design
from pmulab.drivers.user_access.lazy_trap import LazyTrap
from pmulab.drivers.user_access.pmuv3p9 import PmuV3p9
from pmulab.drivers.user_access.sysctl import PerfUserAccessSysctl
from pmulab.drivers.user_access.v5_17 import V517
from pmulab.drivers.user_access.v8 import V8
from pmulab.drivers.user_access.v8_efc import V8Efc
from pmulab.drivers.user_access.x86_mm import X86Mm

__all__ = ["Design", "V517", "V8", "V8Efc", "X86Mm", "LazyTrap", "PmuV3p9", "DESIGNS", "design", "resolve",
           "PerfUserAccessSysctl"]

#: name -> Design subclass (read-only; a new design registers by adding an entry here), in the
#: order of the series' history.
DESIGNS = MappingProxyType({cls.name: cls for cls in (V8, V8Efc, X86Mm, LazyTrap, V517, PmuV3p9)})


def design(name: str) -> type[Design]:
    """Return the Design class registered as ``name`` (ValueError naming close names)."""
    if not isinstance(name, str):
        raise TypeError(f"design name must be a str, not {type(name).__name__}")
    try:
        return DESIGNS[name]
    except KeyError:
        raise ValueError(f"unknown design {name!r}{close_names(name, DESIGNS)}; valid names: {list(DESIGNS)}") from None


def resolve(spec) -> Design:
    """A Design instance from a name, a Design subclass or an instance."""
    if isinstance(spec, Design):
        return spec
    if isinstance(spec, type) and issubclass(spec, Design):
        return spec()
    return design(spec)()
