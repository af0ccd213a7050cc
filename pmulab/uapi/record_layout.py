"""Record layouts: ``perf_event_header``, the SAMPLE, ``sample_id`` and record-body tables, dtype.

Models: the layouts of include/uapi/linux/perf_event.h -- ``struct perf_event_header``
{u32 type; u16 misc; u16 size} (``size`` counts the header, a multiple of 8), ``enum
perf_callchain_context``, the SAMPLE body in the order of ``perf_prepare_sample``/
``perf_output_sample`` (IDENTIFIER .. PERIOD, READ, CALLCHAIN), the ``struct sample_id`` trailer
of ``__perf_event_header__init_id``, and the non-SAMPLE record bodies (MMAP, LOST, COMM, EXIT,
THROTTLE, UNTHROTTLE, FORK, READ, MMAP2, ITRACE_START, LOST_SAMPLES, SWITCH, SWITCH_CPU_WIDE);
``sample_dtype`` is the SAMPLE layout as a NumPy structured dtype. ``pmulab.uapi.records``
re-exports every name.
Omits: the bodies of NAMESPACES, KSYMBOL, BPF_EVENT, CGROUP, TEXT_POKE, AUX and
AUX_OUTPUT_HW_ID, the MMAP2 build-id variant, SAMPLE bits from RAW upwards.
Pinned to: Linux v6.18 include/uapi/linux/perf_event.h (unchanged since v4.3); little-endian.
"""

from __future__ import annotations

import ctypes
import operator
import struct
from collections.abc import Mapping
from types import MappingProxyType

import numpy as np

from pmulab.uapi.constants import (
    PERF_FORMAT_GROUP,
    PERF_FORMAT_ID,
    PERF_FORMAT_LOST,
    PERF_FORMAT_TOTAL_TIME_ENABLED,
    PERF_FORMAT_TOTAL_TIME_RUNNING,
    PERF_SAMPLE_ADDR,
    PERF_SAMPLE_CALLCHAIN,
    PERF_SAMPLE_CPU,
    PERF_SAMPLE_ID,
    PERF_SAMPLE_IDENTIFIER,
    PERF_SAMPLE_IP,
    PERF_SAMPLE_MAX,
    PERF_SAMPLE_PERIOD,
    PERF_SAMPLE_READ,
    PERF_SAMPLE_STREAM_ID,
    PERF_SAMPLE_TID,
    PERF_SAMPLE_TIME,
    PerfRecord,
)
from pmulab.uapi.read_format import read_size

__all__ = [
    "PerfEventHeader", "HEADER", "HEADER_SIZE", "MAX_RECORD_SIZE",
    "SAMPLE_FIELDS", "SAMPLE_ID_FIELDS", "SAMPLE_SUPPORTED", "RECORD_BODIES", "FIELD_NAMES", "STRING",
    "PERF_CONTEXT_HV", "PERF_CONTEXT_KERNEL", "PERF_CONTEXT_USER", "PERF_CONTEXT_GUEST",
    "PERF_CONTEXT_GUEST_KERNEL", "PERF_CONTEXT_GUEST_USER", "PERF_CONTEXT_MAX", "PERF_MAX_STACK_DEPTH",
    "SampleLayout", "sample_layout", "sample_id_layout", "sample_dtype",
]

_MASK64 = (1 << 64) - 1


class PerfEventHeader(ctypes.LittleEndianStructure):
    """``struct perf_event_header``: the 8 bytes in front of every record."""

    _fields_ = [("type", ctypes.c_uint32), ("misc", ctypes.c_uint16), ("size", ctypes.c_uint16)]


#: The header as a ``struct`` format (same layout as PerfEventHeader).
HEADER = struct.Struct("<IHH")
HEADER_SIZE = HEADER.size
#: ``header.size`` is a u16: no record is larger.
MAX_RECORD_SIZE = 0xFFFF & ~7
assert ctypes.sizeof(PerfEventHeader) == HEADER_SIZE == 8

# enum perf_callchain_context: markers inside CALLCHAIN ips[] saying which context follows.
PERF_CONTEXT_HV = _MASK64 + 1 - 32
PERF_CONTEXT_KERNEL = _MASK64 + 1 - 128
PERF_CONTEXT_USER = _MASK64 + 1 - 512
PERF_CONTEXT_GUEST = _MASK64 + 1 - 2048
PERF_CONTEXT_GUEST_KERNEL = _MASK64 + 1 - 2176
PERF_CONTEXT_GUEST_USER = _MASK64 + 1 - 2560
PERF_CONTEXT_MAX = _MASK64 + 1 - 4095
PERF_MAX_STACK_DEPTH = 127

#: The fixed-size SAMPLE fields in body order: (sample_type bit, ((name, struct code), ...)).
#: IDENTIFIER and ID both carry the event id; IDENTIFIER's dtype field is named "identifier".
SAMPLE_FIELDS: tuple[tuple[int, tuple[tuple[str, str], ...]], ...] = (
    (PERF_SAMPLE_IDENTIFIER, (("id", "Q"),)),
    (PERF_SAMPLE_IP, (("ip", "Q"),)),
    (PERF_SAMPLE_TID, (("pid", "I"), ("tid", "I"))),
    (PERF_SAMPLE_TIME, (("time", "Q"),)),
    (PERF_SAMPLE_ADDR, (("addr", "Q"),)),
    (PERF_SAMPLE_ID, (("id", "Q"),)),
    (PERF_SAMPLE_STREAM_ID, (("stream_id", "Q"),)),
    (PERF_SAMPLE_CPU, (("cpu", "I"), ("res", "I"))),
    (PERF_SAMPLE_PERIOD, (("period", "Q"),)),
)
#: ``struct sample_id``, the trailer of non-SAMPLE records under ``attr.sample_id_all``.
SAMPLE_ID_FIELDS: tuple[tuple[int, tuple[tuple[str, str], ...]], ...] = (
    (PERF_SAMPLE_TID, (("pid", "I"), ("tid", "I"))),
    (PERF_SAMPLE_TIME, (("time", "Q"),)),
    (PERF_SAMPLE_ID, (("id", "Q"),)),
    (PERF_SAMPLE_STREAM_ID, (("stream_id", "Q"),)),
    (PERF_SAMPLE_CPU, (("cpu", "I"), ("res", "I"))),
    (PERF_SAMPLE_IDENTIFIER, (("id", "Q"),)),
)
#: The sample_type bits this module writes and decodes (everything up to CALLCHAIN).
SAMPLE_SUPPORTED = (
    PERF_SAMPLE_IDENTIFIER | PERF_SAMPLE_IP | PERF_SAMPLE_TID | PERF_SAMPLE_TIME | PERF_SAMPLE_ADDR
    | PERF_SAMPLE_ID | PERF_SAMPLE_STREAM_ID | PERF_SAMPLE_CPU | PERF_SAMPLE_PERIOD | PERF_SAMPLE_READ
    | PERF_SAMPLE_CALLCHAIN
)
#: Marks a trailing NUL-terminated, 8-byte-padded string in a body.
STRING = "s"
#: Marks a ``read_format`` block (PERF_RECORD_READ's ``values``).
_READ_FORMAT = "r"

#: Non-SAMPLE record bodies (before the sample_id trailer): type -> ((name, code), ...).
RECORD_BODIES: Mapping[PerfRecord, tuple[tuple[str, str], ...]] = MappingProxyType({
    PerfRecord.MMAP: (("pid", "I"), ("tid", "I"), ("addr", "Q"), ("len", "Q"), ("pgoff", "Q"),
                      ("filename", STRING)),
    PerfRecord.LOST: (("id", "Q"), ("lost", "Q")),
    PerfRecord.COMM: (("pid", "I"), ("tid", "I"), ("comm", STRING)),
    PerfRecord.EXIT: (("pid", "I"), ("ppid", "I"), ("tid", "I"), ("ptid", "I"), ("time", "Q")),
    PerfRecord.THROTTLE: (("time", "Q"), ("id", "Q"), ("stream_id", "Q")),
    PerfRecord.UNTHROTTLE: (("time", "Q"), ("id", "Q"), ("stream_id", "Q")),
    PerfRecord.FORK: (("pid", "I"), ("ppid", "I"), ("tid", "I"), ("ptid", "I"), ("time", "Q")),
    PerfRecord.READ: (("pid", "I"), ("tid", "I"), ("values", _READ_FORMAT)),
    PerfRecord.MMAP2: (("pid", "I"), ("tid", "I"), ("addr", "Q"), ("len", "Q"), ("pgoff", "Q"),
                       ("maj", "I"), ("min", "I"), ("ino", "Q"), ("ino_generation", "Q"),
                       ("prot", "I"), ("flags", "I"), ("filename", STRING)),
    PerfRecord.ITRACE_START: (("pid", "I"), ("tid", "I")),
    PerfRecord.LOST_SAMPLES: (("lost", "Q"),),
    PerfRecord.SWITCH: (),
    PerfRecord.SWITCH_CPU_WIDE: (("next_prev_pid", "I"), ("next_prev_tid", "I")),
})
#: Every name a Record may carry (body, SAMPLE and trailer fields): absent ones read as None.
FIELD_NAMES = frozenset(
    {name for _, pairs in SAMPLE_FIELDS + SAMPLE_ID_FIELDS for name, _ in pairs}
    | {name for spec in RECORD_BODIES.values() for name, _ in spec}
    | {"read", "callchain", "unparsed", "identifier"}
)


# ----------------------------------------------------------------------------- layouts
def _attr_values(attr) -> tuple[int, int, bool]:
    """(sample_type, read_format, sample_id_all) of a PerfEventAttr (or any object with them)."""
    sample_type = operator.index(getattr(attr, "sample_type", 0))
    read_format = operator.index(getattr(attr, "read_format", 0))
    if sample_type < 0 or sample_type >= PERF_SAMPLE_MAX:
        raise ValueError(f"sample_type {sample_type:#x} has bits outside PERF_SAMPLE_* ({PERF_SAMPLE_MAX - 1:#x})")
    return sample_type, read_format, bool(getattr(attr, "sample_id_all", 0))


class SampleLayout:
    """The SAMPLE body for one ``(sample_type, read_format)``: a fixed prefix (``names``,
    ``struct``), then READ and CALLCHAIN when selected, then undecoded bits (``extra``)."""

    __slots__ = ("sample_type", "read_format", "names", "struct", "read", "group", "callchain", "extra",
                 "fixed_size")

    def __init__(self, sample_type: int, read_format: int):
        self.sample_type = sample_type
        self.read_format = read_format
        pairs = [pair for bit, fields in SAMPLE_FIELDS if sample_type & bit for pair in fields]
        self.names = tuple(name for name, _ in pairs)
        self.struct = struct.Struct("<" + "".join(code for _, code in pairs))
        self.read = bool(sample_type & PERF_SAMPLE_READ)
        self.group = self.read and bool(read_format & PERF_FORMAT_GROUP)
        self.callchain = bool(sample_type & PERF_SAMPLE_CALLCHAIN)
        self.extra = sample_type & ~SAMPLE_SUPPORTED
        #: body bytes when nothing variable is selected, else None
        self.fixed_size = None if (self.group or self.callchain or self.extra) else (
            self.struct.size + (read_size(read_format) if self.read else 0))


def sample_layout(sample_type: int, read_format: int = 0) -> SampleLayout:
    """The SAMPLE body layout for ``sample_type`` (perf_prepare_sample's order)."""
    return SampleLayout(operator.index(sample_type), operator.index(read_format))


def sample_id_layout(sample_type: int, sample_id_all: bool) -> tuple[tuple[str, ...], struct.Struct]:
    """Names and struct of the ``struct sample_id`` trailer (``__perf_event_header__init_id``).
    IDENTIFIER is named ``identifier`` here so both copies of the id are kept."""
    if not sample_id_all:
        return (), struct.Struct("<")
    pairs = []
    for bit, fields in SAMPLE_ID_FIELDS:
        if sample_type & bit:
            pairs.extend(("identifier", code) if bit == PERF_SAMPLE_IDENTIFIER else (name, code)
                         for name, code in fields)
    return tuple(n for n, _ in pairs), struct.Struct("<" + "".join(c for _, c in pairs))


def sample_dtype(attr, *, callchain_nr: int | None = None, group_nr: int | None = None) -> np.dtype:
    """The whole SAMPLE record (header included) as a little-endian NumPy structured dtype.

    Field names: ``type misc size``, the fixed fields (IDENTIFIER as ``identifier``), for READ
    in read_format order ``read_value, read_time_enabled, read_time_running, read_id, read_lost``
    or, with GROUP, ``read_nr``, the times and ``read_values`` (shape ``(nr, words)``), for CALLCHAIN
    ``callchain_nr`` and ``callchain`` (``nr`` u64). Variable parts need their counts
    (``callchain_nr``, ``group_nr``); sample_type bits beyond CALLCHAIN -> ValueError.
    """
    sample_type, read_format, _ = _attr_values(attr)
    layout = sample_layout(sample_type, read_format)
    if layout.extra:
        raise ValueError(f"sample_type bits {layout.extra:#x} have no fixed layout in pmulab (beyond CALLCHAIN)")
    fields: list[tuple] = [("type", "<u4"), ("misc", "<u2"), ("size", "<u2")]
    for bit, pairs in SAMPLE_FIELDS:
        if sample_type & bit:
            for name, code in pairs:
                name = "identifier" if bit == PERF_SAMPLE_IDENTIFIER else name
                fields.append((name, "<u8" if code == "Q" else "<u4"))
    if layout.read:  # read_format order: GROUP: nr, times, values[nr]; single: value, times, id, lost
        if layout.group:
            if group_nr is None:
                raise ValueError("a PERF_FORMAT_GROUP read needs group_nr")
            fields.append(("read_nr", "<u8"))
        else:
            fields.append(("read_value", "<u8"))
        if read_format & PERF_FORMAT_TOTAL_TIME_ENABLED:
            fields.append(("read_time_enabled", "<u8"))
        if read_format & PERF_FORMAT_TOTAL_TIME_RUNNING:
            fields.append(("read_time_running", "<u8"))
        per = 1 + bool(read_format & PERF_FORMAT_ID) + bool(read_format & PERF_FORMAT_LOST)
        if layout.group:
            fields.append(("read_values", "<u8", (operator.index(group_nr), per)))
        else:
            if read_format & PERF_FORMAT_ID:
                fields.append(("read_id", "<u8"))
            if read_format & PERF_FORMAT_LOST:
                fields.append(("read_lost", "<u8"))
    if layout.callchain:
        if callchain_nr is None:
            raise ValueError("a CALLCHAIN sample needs callchain_nr")
        fields.append(("callchain_nr", "<u8"))
        if callchain_nr:
            fields.append(("callchain", "<u8", (operator.index(callchain_nr),)))
    return np.dtype(fields)
