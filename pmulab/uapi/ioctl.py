"""The generic Linux ioctl request encoding and the perf_event ioctl numbers.

Models: ``_IOC(dir, type, nr, size)`` of include/uapi/asm-generic/ioctl.h as used by arm64 and
x86-64: ``nr`` in bits 0..7, ``type`` in bits 8..15, ``size`` in bits 16..29, ``dir`` in bits
30..31 with NONE = 0, WRITE = 1, READ = 2 (the direction is seen from user space: WRITE means
the kernel reads the argument). The PERF_EVENT_IOC_* requests of include/uapi/linux/perf_event.h
are computed from their ``_IO``/``_IOW``/``_IOR``/``_IOWR`` definitions, not typed in.
Omits: the ioctl layouts of architectures that override asm-generic (alpha, mips, powerpc,
sparc: 13-bit size, different direction bits).
Pinned to: LP64 (pointer arguments such as ``char *`` are 8 bytes), Linux v6.x perf_event.h.
"""

from __future__ import annotations

from types import MappingProxyType

__all__ = [
    "IOC_NRBITS", "IOC_TYPEBITS", "IOC_SIZEBITS", "IOC_DIRBITS",
    "IOC_NONE", "IOC_WRITE", "IOC_READ",
    "IOC", "IO", "IOR", "IOW", "IOWR", "ioc_decode",
    "PERF_EVENT_IOC_ENABLE", "PERF_EVENT_IOC_DISABLE", "PERF_EVENT_IOC_REFRESH", "PERF_EVENT_IOC_RESET",
    "PERF_EVENT_IOC_PERIOD", "PERF_EVENT_IOC_SET_OUTPUT", "PERF_EVENT_IOC_SET_FILTER", "PERF_EVENT_IOC_ID",
    "PERF_EVENT_IOC_SET_BPF", "PERF_EVENT_IOC_PAUSE_OUTPUT", "PERF_EVENT_IOC_QUERY_BPF",
    "PERF_EVENT_IOC_MODIFY_ATTRIBUTES", "PERF_IOC_FLAG_GROUP", "PERF_EVENT_IOC_NAMES",
]

IOC_NRBITS = 8
IOC_TYPEBITS = 8
IOC_SIZEBITS = 14
IOC_DIRBITS = 2

_NRSHIFT = 0
_TYPESHIFT = _NRSHIFT + IOC_NRBITS
_SIZESHIFT = _TYPESHIFT + IOC_TYPEBITS
_DIRSHIFT = _SIZESHIFT + IOC_SIZEBITS

IOC_NONE = 0
IOC_WRITE = 1
IOC_READ = 2

# Argument sizes of the perf ioctls on LP64: __u64 and pointers are 8 bytes, __u32 is 4.
_U32 = 4
_U64 = 8
_PTR = 8


def _check(name: str, value: int, bits: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"ioctl {name} must be an int, not {type(value).__name__}")
    if not 0 <= value < (1 << bits):
        raise ValueError(f"ioctl {name} {value} does not fit in {bits} bits")
    return value


def IOC(direction: int, type_: int | str, nr: int, size: int) -> int:  # noqa: N802 (kernel macro name)
    """``_IOC(dir, type, nr, size)``: pack an ioctl request number (asm-generic/ioctl.h)."""
    if isinstance(type_, str):
        if len(type_) != 1:
            raise ValueError(f"ioctl type must be one character, got {type_!r}")
        type_ = ord(type_)
    return (
        _check("dir", direction, IOC_DIRBITS) << _DIRSHIFT
        | _check("type", type_, IOC_TYPEBITS) << _TYPESHIFT
        | _check("nr", nr, IOC_NRBITS) << _NRSHIFT
        | _check("size", size, IOC_SIZEBITS) << _SIZESHIFT
    )


def IO(type_: int | str, nr: int) -> int:  # noqa: N802
    """``_IO(type, nr)``: no argument is transferred."""
    return IOC(IOC_NONE, type_, nr, 0)


def IOR(type_: int | str, nr: int, size: int) -> int:  # noqa: N802
    """``_IOR(type, nr, T)`` with ``size = sizeof(T)``: the kernel writes the argument."""
    return IOC(IOC_READ, type_, nr, size)


def IOW(type_: int | str, nr: int, size: int) -> int:  # noqa: N802
    """``_IOW(type, nr, T)`` with ``size = sizeof(T)``: the kernel reads the argument."""
    return IOC(IOC_WRITE, type_, nr, size)


def IOWR(type_: int | str, nr: int, size: int) -> int:  # noqa: N802
    """``_IOWR(type, nr, T)``: the argument goes both ways."""
    return IOC(IOC_READ | IOC_WRITE, type_, nr, size)


def ioc_decode(request: int) -> tuple[int, int, int, int]:
    """Split a request number into ``(dir, type, nr, size)`` (``_IOC_DIR`` ... ``_IOC_SIZE``)."""
    _check("request", request, 32)
    return (
        (request >> _DIRSHIFT) & ((1 << IOC_DIRBITS) - 1),
        (request >> _TYPESHIFT) & ((1 << IOC_TYPEBITS) - 1),
        (request >> _NRSHIFT) & ((1 << IOC_NRBITS) - 1),
        (request >> _SIZESHIFT) & ((1 << IOC_SIZEBITS) - 1),
    )


_PERF = "$"

PERF_EVENT_IOC_ENABLE = IO(_PERF, 0)
PERF_EVENT_IOC_DISABLE = IO(_PERF, 1)
PERF_EVENT_IOC_REFRESH = IO(_PERF, 2)
PERF_EVENT_IOC_RESET = IO(_PERF, 3)
PERF_EVENT_IOC_PERIOD = IOW(_PERF, 4, _U64)
PERF_EVENT_IOC_SET_OUTPUT = IO(_PERF, 5)
PERF_EVENT_IOC_SET_FILTER = IOW(_PERF, 6, _PTR)  # char *
PERF_EVENT_IOC_ID = IOR(_PERF, 7, _PTR)  # __u64 *
PERF_EVENT_IOC_SET_BPF = IOW(_PERF, 8, _U32)
PERF_EVENT_IOC_PAUSE_OUTPUT = IOW(_PERF, 9, _U32)
PERF_EVENT_IOC_QUERY_BPF = IOWR(_PERF, 10, _PTR)  # struct perf_event_query_bpf *
PERF_EVENT_IOC_MODIFY_ATTRIBUTES = IOW(_PERF, 11, _PTR)  # struct perf_event_attr *

#: ``enum perf_event_ioc_flags``: apply ENABLE/DISABLE/RESET/REFRESH to the whole group.
PERF_IOC_FLAG_GROUP = 1 << 0

#: request number -> name, for traces and error messages.
PERF_EVENT_IOC_NAMES = MappingProxyType({
    value: name
    for name, value in sorted(globals().items())
    if name.startswith("PERF_EVENT_IOC_") and isinstance(value, int)
})
