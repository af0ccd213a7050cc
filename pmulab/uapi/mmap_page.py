"""``struct perf_event_mmap_page``: the first page of a perf mapping, byte for byte.

Models: the user page of include/uapi/linux/perf_event.h (spec §3.8): the seqcount ``lock``,
``index`` (0 = no user-readable counter, else counter id + 1), the signed ``offset``, the
times, the ``capabilities`` word with its ``cap_*`` bits, ``pmc_width``, the time-conversion
fields (``time_shift``/``time_mult``/``time_offset``/``time_zero``/``time_cycles``/
``time_mask``), ``size`` (header size up to ``__reserved``), the 1 KiB padding and the
ring-buffer control words (``data_*``, ``aux_*``) at offset 1024. ``MmapPage.from_buffer``
lays it over any writable buffer: a ``bytearray(4096)`` for the model, or a real
``mmap.mmap`` of a perf fd, so one reader serves both.
Omits: the seqlock writer (``perf_event_update_userpage``, in pmulab.perf) and the data area.
Pinned to: Linux v6.18 (unchanged since v5.12 added ``cap_user_time_short``); little-endian.
Fields ``__reserved_1`` and ``__reserved`` are spelled ``reserved_1`` and ``reserved``.
"""

from __future__ import annotations

import ctypes

from pmulab.uapi.constants import PAGE_SIZE

__all__ = ["MmapPage", "CAPABILITY_BITS", "MMAP_PAGE_HEADER_SIZE"]

_u8, _u16, _u32, _u64, _s64 = ctypes.c_uint8, ctypes.c_uint16, ctypes.c_uint32, ctypes.c_uint64, ctypes.c_int64

#: Bits of ``capabilities`` (the anonymous bit-field struct in its union): name -> bit.
CAPABILITY_BITS = {
    "cap_bit0": 0,  # always 0, deprecated (commit 860f085b74e9)
    "cap_bit0_is_deprecated": 1,  # always 1: says bit 0 is meaningless
    "cap_user_rdpmc": 2,  # the counter may be read from user space (rdpmc / mrs)
    "cap_user_time": 3,  # time_shift/mult/offset are valid
    "cap_user_time_zero": 4,  # time_zero is valid
    "cap_user_time_short": 5,  # time_cycles/mask are valid (the timer is narrower than 64 bits)
}


def _cap_property(name: str, bit: int) -> property:
    mask = 1 << bit

    def get(self) -> int:
        return (self.capabilities >> bit) & 1

    def set_(self, value) -> None:
        if isinstance(value, bool):
            value = int(value)
        if not isinstance(value, int):
            raise TypeError(f"MmapPage.{name} must be 0 or 1, not {type(value).__name__}")
        if value not in (0, 1):
            raise ValueError(f"MmapPage.{name} is a 1-bit field, got {value}")
        self.capabilities = (self.capabilities & ~mask) | (value << bit)

    return property(get, set_, doc=f"capabilities bit {bit}")


class MmapPage(ctypes.LittleEndianStructure):
    """The user page. Construct with ``MmapPage.from_buffer(buf)`` over a page-sized buffer,
    or ``MmapPage.new()`` for a fresh zeroed 4096-byte page."""

    _fields_ = [
        ("version", _u32),
        ("compat_version", _u32),
        ("lock", _u32),
        ("index", _u32),
        ("offset", _s64),
        ("time_enabled", _u64),
        ("time_running", _u64),
        ("capabilities", _u64),
        ("pmc_width", _u16),
        ("time_shift", _u16),
        ("time_mult", _u32),
        ("time_offset", _u64),
        ("time_zero", _u64),
        ("size", _u32),
        ("reserved_1", _u32),
        ("time_cycles", _u64),
        ("time_mask", _u64),
        ("reserved", _u8 * (116 * 8)),
        ("data_head", _u64),
        ("data_tail", _u64),
        ("data_offset", _u64),
        ("data_size", _u64),
        ("aux_head", _u64),
        ("aux_tail", _u64),
        ("aux_offset", _u64),
        ("aux_size", _u64),
    ]

    cap_bit0 = _cap_property("cap_bit0", 0)
    cap_bit0_is_deprecated = _cap_property("cap_bit0_is_deprecated", 1)
    cap_user_rdpmc = _cap_property("cap_user_rdpmc", 2)
    cap_user_time = _cap_property("cap_user_time", 3)
    cap_user_time_zero = _cap_property("cap_user_time_zero", 4)
    cap_user_time_short = _cap_property("cap_user_time_short", 5)

    @classmethod
    def new(cls, page_size: int = PAGE_SIZE) -> MmapPage:
        """A zeroed page of ``page_size`` bytes (at least the struct) viewed as an MmapPage."""
        if isinstance(page_size, bool) or not isinstance(page_size, int):
            raise TypeError("page_size must be an int")
        if page_size < ctypes.sizeof(cls):
            raise ValueError(f"page_size {page_size} is smaller than the struct ({ctypes.sizeof(cls)} bytes)")
        return cls.from_buffer(bytearray(page_size))

    @property
    def raw(self) -> bytes:
        """The bytes of the 4096-byte page as the kernel lays them out (zero after the struct
        when the page is not backed by a page-sized buffer)."""
        backing = _backing_size(self)
        if backing >= PAGE_SIZE:
            return ctypes.string_at(ctypes.addressof(self), PAGE_SIZE)
        return bytes(self).ljust(PAGE_SIZE, b"\0")

    @property
    def data(self) -> memoryview | None:
        """The live data area (``data_size`` bytes at ``data_offset`` of the buffer this page
        heads), or None when the mapping has no ring buffer (``data_size`` 0 or no backing)."""
        size, offset = int(self.data_size), int(self.data_offset)
        objects = getattr(self, "_objects", None)
        if not size or not isinstance(objects, dict):
            return None
        for obj in objects.values():
            if isinstance(obj, memoryview):
                start = _offset_in(self, obj) + offset
                view = obj.cast("B")
                return view[start:start + size] if start + size <= view.nbytes else None
        return None

    def snapshot(self) -> dict[str, int]:
        """Every named field (and the cap bits) as plain ints: a copy for traces and views."""
        out = {name: getattr(self, name) for name, *_ in self._fields_ if not name.startswith("reserved")}
        out.update({name: getattr(self, name) for name in CAPABILITY_BITS})
        return out

    def __repr__(self) -> str:
        caps = ",".join(n.removeprefix("cap_") for n in CAPABILITY_BITS if getattr(self, n))
        return (f"MmapPage(lock={self.lock}, index={self.index}, offset={self.offset}, "
                f"time_enabled={self.time_enabled}, time_running={self.time_running}, "
                f"pmc_width={self.pmc_width}, caps=[{caps}])")


def _backing_size(page: MmapPage) -> int:
    """Bytes of the buffer a ``from_buffer`` page views (0 if it owns its memory)."""
    objects = getattr(page, "_objects", None)
    if isinstance(objects, dict):
        for obj in objects.values():
            if isinstance(obj, memoryview):
                return obj.nbytes - _offset_in(page, obj)
    return 0


def _offset_in(page: MmapPage, view: memoryview) -> int:
    try:
        base = ctypes.addressof(ctypes.c_char.from_buffer(view))
    except TypeError:  # read-only view
        return view.nbytes
    return ctypes.addressof(page) - base


#: ``offsetof(struct perf_event_mmap_page, __reserved)``: what the kernel stores in ``size``.
MMAP_PAGE_HEADER_SIZE = MmapPage.reserved.offset

assert ctypes.sizeof(MmapPage) == 1024 + 8 * 8
