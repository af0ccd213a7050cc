"""The ``kernel.perf_user_access`` sysctl: range check, store, then the design's reaction.

Models: ``armv8_pmu_sysctl_table`` (mode 0644, extra1 = 0, extra2 = 1) and
``armv8pmu_proc_user_access_handler``: ``proc_dointvec_minmax`` refuses values outside 0..1
with EINVAL (nothing stored), stores the value, then the handler acts
(``Design.sysctl_write``; v5.17: IPI every CPU to clear PMUSERENR_EL0 when the value is 0).
Registered once per machine however many PMUs it has (the v5.17-rc fix's ``tbl_registered``).
The value itself lives in the machine (``kernel.sysctl(name)``), never in this module.
Omits: the text parsing of proc_dointvec (values arrive as Python ints), sysctl permissions.
Pinned to: Linux v5.17.
"""

from __future__ import annotations

import errno
from collections.abc import Callable

from pmulab.errors import PerfError

__all__ = ["PerfUserAccessSysctl"]


class PerfUserAccessSysctl:
    """The sysctl entry; the machine calls ``write(value, store)`` for every write."""

    name = "kernel.perf_user_access"
    mode = 0o644
    minimum, maximum, default = 0, 1, 0

    def __init__(self, kernel, design):
        self.kernel = kernel
        self.design = design

    def check(self, value) -> int:
        """proc_dointvec_minmax's checks: an int in minimum..maximum (EINVAL otherwise)."""
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{self.name} takes an int, not {type(value).__name__}")
        if not self.minimum <= value <= self.maximum:
            raise PerfError(errno.EINVAL, f"{self.name}: {value} is outside {self.minimum}..{self.maximum}")
        return value

    def write(self, value, store: Callable[[int], None]) -> None:
        """Validate ``value``, ``store(value)`` it, then run the design's handler (old value passed)."""
        value = self.check(value)
        old = self.kernel.sysctl(self.name)
        store(value)
        self.design.sysctl_write(self.kernel, self.name, old, value)
