"""Typed errors: what the kernel or the architecture answers, and misuse of pmulab itself.

Models: a failed system call (``PerfError``, an ``OSError`` carrying the kernel's errno and a
message that names the check that refused it) and a trapped EL0 system-register access
(``IllegalInstruction``: Linux turns an unhandled EL0 ``mrs``/``msr`` trap into SIGILL,
``do_sysinstr`` -> ``do_undefinstr`` in arch/arm64/kernel/traps.c).
Omits: signals other than SIGILL.
"""

from __future__ import annotations

import errno as _errno
import os

__all__ = ["PerfError", "IllegalInstruction", "NotModelledError", "errno_name"]

#: Where the C library's first name for a number is an alias, the name the kernel source uses.
_KERNEL_NAMES = {_errno.EOPNOTSUPP: "EOPNOTSUPP", _errno.EDEADLK: "EDEADLK"}


def errno_name(err: int) -> str:
    """The kernel's symbolic name of an errno (EOPNOTSUPP, not the alias ENOTSUP)."""
    return _KERNEL_NAMES.get(err) or _errno.errorcode.get(err, str(err))


class PerfError(OSError):
    """A system call failed with ``errno``; ``str()`` reads like ``EINVAL: <check>``."""

    def __init__(self, err: int, check: str):
        super().__init__(err, f"{errno_name(err)}: {check}")
        self.check = check

    def __str__(self) -> str:
        return self.strerror

    @property
    def name(self) -> str:
        """The errno's symbolic name, e.g. ``"EINVAL"``."""
        return errno_name(self.errno)

    def describe(self) -> str:
        """Kernel name, C library text and the check, for notebooks."""
        return f"{self.name} ({os.strerror(self.errno)}): {self.check}"


class IllegalInstruction(Exception):
    """A system-register access that the PE traps (the task gets SIGILL).

    Arm ARM: an EL0 access to a PMU register that PMUSERENR_EL0 does not permit is trapped
    to EL1 with EC 0x18; Linux has no emulation for PMU registers and signals SIGILL.
    ``register`` is the register name, ``write`` whether it was ``msr``, ``allowed_by`` the
    PMUSERENR_EL0 bits that would have permitted it (empty: never allowed at that EL).
    """

    def __init__(self, register: str, write: bool, el: int, allowed_by: tuple[str, ...], why: str = ""):
        self.register, self.write, self.el, self.allowed_by = register, write, el, tuple(allowed_by)
        op = "msr" if write else "mrs"
        if not why:
            why = (
                f"needs PMUSERENR_EL0.{' or .'.join(self.allowed_by)}"
                if self.allowed_by
                else f"never accessible at EL{el}"
            )
        super().__init__(f"SIGILL: EL{el} {op} {register} trapped ({why})")


class NotModelledError(NotImplementedError):
    """A register, field or behaviour that pmulab deliberately does not model."""
