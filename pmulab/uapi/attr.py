"""``struct perf_event_attr``: the argument of perf_event_open(), and the kernel's copy of it.

Models: the exact byte layout of ``struct perf_event_attr`` (include/uapi/linux/perf_event.h,
PERF_ATTR_SIZE_VER8 = 136 bytes, little-endian as on arm64 Linux): the ``u64`` flag word
with its bit fields (``disabled`` bit 0 ... ``sigtrap`` bit 37, ``__reserved_1`` bits 38..63),
the unions (``sample_period``/``sample_freq``, ``wakeup_events``/``wakeup_watermark``,
``config1``/``bp_addr``/``kprobe_func``/``uprobe_path``, ``config2``/``bp_len``/``kprobe_addr``/
``probe_offset``) as aliases of one storage, and ``perf_copy_attr()`` (kernel/events/core.c):
the size handshake (size 0 means VER0; below VER0 or above PAGE_SIZE -> E2BIG, the kernel's
own size written back to ``attr.size``; bytes beyond the kernel's struct must be zero ->
E2BIG, via ``copy_struct_from_user``), non-zero reserved fields -> EINVAL, unknown
``sample_type`` / ``read_format`` bits -> EINVAL.
Omits: the rest of perf_copy_attr (branch_sample_type privilege defaults, register-mask and
stack-size validation, ``sample_max_stack`` default from sysctl), which the perf core checks;
the ``aux_action`` bits that Linux 6.13 carved out of ``__reserved_2``'s neighbourhood.
Pinned to: Linux v6.18 layout (VER8); ``perf_copy_attr(kernel_size=PERF_ATTR_SIZE_VER7)``
reproduces a v5.13..v6.2 kernel such as the v5.17 model.
Reserved fields are spelled ``reserved_1``/``reserved_2``/``reserved_3`` (no leading
underscores, which Python would mangle).
"""

from __future__ import annotations

import ctypes
import errno
import operator
from collections.abc import Iterator

from pmulab.errors import PerfError
from pmulab.uapi.constants import (
    PAGE_SIZE,
    PERF_ATTR_SIZE_CURRENT,
    PERF_ATTR_SIZE_VER0,
    PERF_FORMAT_MAX,
    PERF_SAMPLE_MAX,
)

__all__ = ["PerfEventAttr", "PerfEventAttrStruct", "FLAG_BITS", "perf_copy_attr"]

_u16, _u32, _u64, _s32 = ctypes.c_uint16, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_int32

#: The bit fields of the flag word at offset 40, in declaration order: (name, width).
FLAG_BITS: tuple[tuple[str, int], ...] = (
    ("disabled", 1), ("inherit", 1), ("pinned", 1), ("exclusive", 1),
    ("exclude_user", 1), ("exclude_kernel", 1), ("exclude_hv", 1), ("exclude_idle", 1),
    ("mmap", 1), ("comm", 1), ("freq", 1), ("inherit_stat", 1),
    ("enable_on_exec", 1), ("task", 1), ("watermark", 1), ("precise_ip", 2),
    ("mmap_data", 1), ("sample_id_all", 1), ("exclude_host", 1), ("exclude_guest", 1),
    ("exclude_callchain_kernel", 1), ("exclude_callchain_user", 1), ("mmap2", 1), ("comm_exec", 1),
    ("use_clockid", 1), ("context_switch", 1), ("write_backward", 1), ("namespaces", 1),
    ("ksymbol", 1), ("bpf_event", 1), ("aux_output", 1), ("cgroup", 1),
    ("text_poke", 1), ("build_id", 1), ("inherit_thread", 1), ("remove_on_exec", 1),
    ("sigtrap", 1), ("reserved_1", 26),
)


class PerfEventAttrStruct(ctypes.LittleEndianStructure):
    """The C layout, field for field (unions flattened to their first ABI name)."""

    _fields_ = [
        ("type", _u32),
        ("size", _u32),
        ("config", _u64),
        ("sample_period", _u64),  # union with sample_freq
        ("sample_type", _u64),
        ("read_format", _u64),
        *[(name, _u64, width) for name, width in FLAG_BITS],
        ("wakeup_events", _u32),  # union with wakeup_watermark
        ("bp_type", _u32),
        ("config1", _u64),  # union with bp_addr, kprobe_func, uprobe_path
        ("config2", _u64),  # union with bp_len, kprobe_addr, probe_offset
        ("branch_sample_type", _u64),
        ("sample_regs_user", _u64),
        ("sample_stack_user", _u32),
        ("clockid", _s32),
        ("sample_regs_intr", _u64),
        ("aux_watermark", _u32),
        ("sample_max_stack", _u16),
        ("reserved_2", _u16),
        ("aux_sample_size", _u32),
        ("reserved_3", _u32),
        ("sig_data", _u64),
        ("config3", _u64),
    ]


assert ctypes.sizeof(PerfEventAttrStruct) == PERF_ATTR_SIZE_CURRENT


def _field_widths() -> dict[str, tuple[int, bool]]:
    """name -> (bit width, signed) for every storage field."""
    flags = dict(FLAG_BITS)
    out = {}
    for spec in PerfEventAttrStruct._fields_:
        name, ctype = spec[0], spec[1]
        if name in flags:
            out[name] = (flags[name], False)
        else:
            out[name] = (8 * ctypes.sizeof(ctype), ctype is _s32)
    return out


_WIDTHS = _field_widths()
_FIELDS = tuple(_WIDTHS)
_ALIASES = {
    "sample_freq": "sample_period",
    "wakeup_watermark": "wakeup_events",
    "bp_addr": "config1", "kprobe_func": "config1", "uprobe_path": "config1",
    "bp_len": "config2", "kprobe_addr": "config2", "probe_offset": "config2",
}
_DEFAULTS = {name: 0 for name in _FIELDS} | {"size": PERF_ATTR_SIZE_CURRENT}


def _validate(name: str, value) -> int:
    try:
        value = operator.index(value)
    except TypeError:
        raise TypeError(f"PerfEventAttr.{name} must be an int, not {type(value).__name__}") from None
    width, signed = _WIDTHS[name]
    low, high = (-(1 << (width - 1)), 1 << (width - 1)) if signed else (0, 1 << width)
    if not low <= value < high:
        kind = "signed" if signed else "unsigned"
        raise ValueError(f"PerfEventAttr.{name} = {value} does not fit its {width}-bit {kind} field")
    return int(value)


class PerfEventAttr:
    """A ``struct perf_event_attr`` as Python attributes, with the kernel's byte layout.

    Every field of the C struct is an attribute (default 0, ``size`` defaults to
    PERF_ATTR_SIZE_CURRENT = 136); union members are aliases of one storage
    (``attr.sample_freq is attr.sample_period``). Values are checked against their C width on
    every assignment: a non-integer raises TypeError, a value that does not fit ValueError.

    Examples
    --------
    >>> a = PerfEventAttr(type=0, config=1, config1=0x2, exclude_kernel=1)
    >>> PerfEventAttr.from_bytes(a.to_bytes()) == a
    True
    """

    __slots__ = _FIELDS
    FIELDS: tuple[str, ...] = _FIELDS
    ALIASES = dict(_ALIASES)
    Struct = PerfEventAttrStruct

    def __init__(self, **fields: int):
        for name, value in _DEFAULTS.items():
            object.__setattr__(self, name, value)
        given: dict[str, tuple[str, int]] = {}
        for name, value in fields.items():
            target = _ALIASES.get(name, name)
            if target not in _WIDTHS:
                raise TypeError(f"PerfEventAttr has no field {name!r}")
            value = _validate(target, value)
            if target in given and given[target][1] != value:
                raise ValueError(
                    f"PerfEventAttr: {given[target][0]}={given[target][1]} and {name}={value} share one union"
                )
            given[target] = (name, value)
            object.__setattr__(self, target, value)

    def __setattr__(self, name: str, value) -> None:
        target = _ALIASES.get(name, name)
        if target not in _WIDTHS:
            raise AttributeError(f"PerfEventAttr has no field {name!r}")
        object.__setattr__(self, target, _validate(target, value))

    def __getattr__(self, name: str) -> int:  # only reached for aliases
        target = _ALIASES.get(name)
        if target is None:
            raise AttributeError(f"PerfEventAttr has no field {name!r}")
        return getattr(self, target)

    # --------------------------------------------------------------------------- bytes
    def to_struct(self) -> PerfEventAttrStruct:
        """A fresh ctypes struct holding these values."""
        s = PerfEventAttrStruct()
        for name in _FIELDS:
            setattr(s, name, getattr(self, name))
        return s

    def to_bytes(self) -> bytes:
        """The 136 bytes user space passes to perf_event_open(), ``size`` field as set."""
        return bytes(self.to_struct())

    @classmethod
    def from_bytes(cls, data: bytes | bytearray | memoryview) -> PerfEventAttr:
        """Decode a struct laid out as the kernel's: shorter input is zero-extended, longer
        input truncated. No ABI checks: use ``perf_copy_attr`` for what the kernel refuses."""
        if not isinstance(data, (bytes, bytearray, memoryview)):
            raise TypeError(f"from_bytes needs a bytes-like object, not {type(data).__name__}")
        raw = bytes(data)[: ctypes.sizeof(PerfEventAttrStruct)]
        s = PerfEventAttrStruct.from_buffer_copy(raw.ljust(ctypes.sizeof(PerfEventAttrStruct), b"\0"))
        return cls(**{name: getattr(s, name) for name in _FIELDS})

    # ------------------------------------------------------------------------ helpers
    def to_dict(self, *, nonzero: bool = False) -> dict[str, int]:
        """Field values by name (``nonzero=True``: only those differing from the default)."""
        return {
            n: getattr(self, n) for n in _FIELDS if not nonzero or getattr(self, n) != _DEFAULTS[n]
        }

    def replace(self, **fields: int) -> PerfEventAttr:
        """A copy with some fields changed."""
        return type(self)(**(self.to_dict() | fields))

    def copy(self) -> PerfEventAttr:
        return self.replace()

    def __iter__(self) -> Iterator[tuple[str, int]]:
        return iter(self.to_dict().items())

    def __eq__(self, other) -> bool:
        if not isinstance(other, PerfEventAttr):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # mutable

    def __repr__(self) -> str:
        body = ", ".join(f"{k}={v:#x}" if k.startswith("config") else f"{k}={v}"
                         for k, v in ({"type": self.type} | self.to_dict(nonzero=True)).items())
        return f"PerfEventAttr({body})"


def perf_copy_attr(
    data: bytes | bytearray | memoryview,
    *,
    kernel_size: int = PERF_ATTR_SIZE_CURRENT,
    page_size: int = PAGE_SIZE,
) -> PerfEventAttr:
    """The kernel's ``perf_copy_attr()``: read a user ``perf_event_attr`` or refuse it.

    ``data`` is the user memory at the attr pointer (what is readable there). ``kernel_size`` is
    ``sizeof(struct perf_event_attr)`` of the modelled kernel (136 now, 128 for v5.13..v6.2).
    Raises ``PerfError`` with the kernel's errno; on E2BIG a writable ``data`` gets the kernel's
    size stored in its ``size`` field, as ``put_user(sizeof(*attr), &uattr->size)`` does.
    Returns the attr with ``size`` = the size user space gave (0 becomes VER0).

    Kernel: perf_copy_attr, copy_struct_from_user (include/linux/uaccess.h).
    """
    if not isinstance(data, (bytes, bytearray, memoryview)):
        raise TypeError(f"perf_copy_attr needs a bytes-like object, not {type(data).__name__}")
    for name, value in (("kernel_size", kernel_size), ("page_size", page_size)):
        if isinstance(value, bool) or not isinstance(value, int) or value <= 0:
            raise ValueError(f"perf_copy_attr: {name} must be a positive int")
    if kernel_size > ctypes.sizeof(PerfEventAttrStruct):
        raise ValueError(f"perf_copy_attr: kernel_size {kernel_size} is beyond the declared layout")
    buf = memoryview(data).cast("B")
    if len(buf) < 8:
        raise PerfError(errno.EFAULT, "get_user(attr.size): the attr pointer does not cover the size field")
    size = int.from_bytes(buf[4:8], "little")
    given = size
    if size == 0:
        size = PERF_ATTR_SIZE_VER0  # ABI compatibility quirk: size 0 means the first struct
    if size < PERF_ATTR_SIZE_VER0 or size > page_size:
        _write_back_size(buf, kernel_size)
        bound = f"below PERF_ATTR_SIZE_VER0 ({PERF_ATTR_SIZE_VER0})" if size < PERF_ATTR_SIZE_VER0 \
            else f"above PAGE_SIZE ({page_size})"
        raise PerfError(errno.E2BIG, f"attr.size {given} is {bound} (perf_copy_attr)")
    if len(buf) < size:
        raise PerfError(
            errno.EFAULT, f"attr.size {size} but only {len(buf)} bytes are readable (copy_struct_from_user)"
        )
    if size > kernel_size and any(buf[kernel_size:size]):
        first = next(i for i in range(kernel_size, size) if buf[i])
        _write_back_size(buf, kernel_size)
        raise PerfError(
            errno.E2BIG,
            f"attr.size {size}: byte {first} beyond the kernel's {kernel_size}-byte struct is not zero "
            "(copy_struct_from_user)",
        )
    copied = bytes(buf[: min(size, kernel_size)])
    attr = PerfEventAttr.from_bytes(copied)
    attr.size = size
    for name in ("reserved_1", "reserved_2", "reserved_3"):
        if getattr(attr, name):
            raise PerfError(errno.EINVAL, f"attr.__{name} is not zero (perf_copy_attr)")
    if attr.sample_type & ~(PERF_SAMPLE_MAX - 1):
        raise PerfError(errno.EINVAL, f"attr.sample_type {attr.sample_type:#x} has bits at or above "
                                      f"PERF_SAMPLE_MAX ({PERF_SAMPLE_MAX:#x}) (perf_copy_attr)")
    if attr.read_format & ~(PERF_FORMAT_MAX - 1):
        raise PerfError(errno.EINVAL, f"attr.read_format {attr.read_format:#x} has bits at or above "
                                      f"PERF_FORMAT_MAX ({PERF_FORMAT_MAX:#x}) (perf_copy_attr)")
    return attr


def _write_back_size(buf: memoryview, kernel_size: int) -> None:
    if not buf.readonly:
        buf[4:8] = kernel_size.to_bytes(4, "little")
