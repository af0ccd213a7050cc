"""Pluggable user-access designs (design.md section 3): how EL0 gets to read PMU counters.

Models: the policy half of the arm64 PMU driver, one ``Design`` subclass per design, looked up
by name in ``DESIGNS``. Adding a design means adding a subclass and a registry entry here;
the perf core and the driver are untouched.
Omits: designs other than "v5.17" so far (v8, v8-efc, x86-mm, lazy-trap, pmuv3p9 plug in here).
Pinned to: Linux v5.17 hook placement (arch/arm64/kernel/perf_event.c).
"""

from __future__ import annotations

from types import MappingProxyType

from pmulab.bits import close_names
from pmulab.drivers.user_access.base import Design
from pmulab.drivers.user_access.sysctl import PerfUserAccessSysctl
from pmulab.drivers.user_access.v5_17 import V517

__all__ = ["Design", "V517", "DESIGNS", "design", "resolve", "PerfUserAccessSysctl"]

#: name -> Design subclass (read-only; a new design registers by adding an entry here).
DESIGNS = MappingProxyType({V517.name: V517})


def design(name: str) -> type[Design]:
    """Return the Design class registered as ``name`` (ValueError naming close names)."""
    if not isinstance(name, str):
        raise TypeError(f"design name must be a str, not {type(name).__name__}")
    try:
        return DESIGNS[name]
    except KeyError:
        raise ValueError(f"unknown design {name!r}{close_names(name, DESIGNS)}; known: {sorted(DESIGNS)}") from None


def resolve(spec) -> Design:
    """A Design instance from a name, a Design subclass or an instance."""
    if isinstance(spec, Design):
        return spec
    if isinstance(spec, type) and issubclass(spec, Design):
        return spec()
    return design(spec)()
