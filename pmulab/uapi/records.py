"""Ring-buffer records: ``perf_event_header`` and the record bodies, declared once for writer and reader.

Models: the record layouts documented in include/uapi/linux/perf_event.h (``enum perf_event_type``
and ``struct perf_event_header``), as the kernel writes them from kernel/events/core.c
(``perf_prepare_sample``/``perf_output_sample`` for PERF_RECORD_SAMPLE, ``__perf_event_header__init_id``
and ``perf_event__output_id_sample`` for the ``sample_id`` trailer, ``perf_log_lost_samples``,
``perf_log_throttle``, ``perf_event_comm_output``, ``perf_event_task_output``,
``perf_event_switch_output``, ``perf_event_mmap_output``) and kernel/events/ring_buffer.c
(``perf_output_begin`` emits PERF_RECORD_LOST for dropped records):

- ``perf_event_header {u32 type; u16 misc; u16 size}``; ``size`` counts the header and is a
  multiple of 8 (every record is u64-aligned);
- the SAMPLE body in the kernel's order: IDENTIFIER, IP, TID (pid, tid u32), TIME, ADDR, ID,
  STREAM_ID, CPU (cpu, res u32), PERIOD, READ (the read() ``read_format`` layout, GROUP too),
  CALLCHAIN (``nr`` then ``ips[nr]``); later bits (RAW, BRANCH_STACK, ...) are kept as the
  undecoded ``unparsed`` bytes when reading and refused when writing;
- the ``struct sample_id`` trailer of every non-SAMPLE record when ``attr.sample_id_all``:
  TID, TIME, ID, STREAM_ID, CPU, IDENTIFIER (in that order, selected by ``sample_type``);
- bodies of MMAP, LOST, COMM, EXIT, THROTTLE, UNTHROTTLE, FORK, READ, MMAP2, ITRACE_START,
  LOST_SAMPLES, SWITCH and SWITCH_CPU_WIDE; strings (``comm``, ``filename``) NUL-terminated
  and zero-padded to a multiple of 8 bytes as the kernel aligns them.

``pack_record`` is the kernel side (what the model's ring-buffer writer stores); ``Record`` is
what a reader gets back (``pmulab.user.parse_records``); ``sample_dtype`` is the same SAMPLE
layout as a NumPy structured dtype for the vectorised reader. All three derive from the one
table ``SAMPLE_FIELDS`` / ``SAMPLE_ID_FIELDS`` / ``RECORD_BODIES`` below.

Omits: the bodies of NAMESPACES, KSYMBOL, BPF_EVENT, CGROUP, TEXT_POKE, AUX and
AUX_OUTPUT_HW_ID (read back as ``unparsed`` bytes), the MMAP2 build-id variant
(``PERF_RECORD_MISC_MMAP_BUILD_ID``), SAMPLE bits from RAW upwards, and ``write_backward``
reading (the writer's concern).
Pinned to: Linux v6.18 include/uapi/linux/perf_event.h (every layout used here is unchanged
since v4.3; SWITCH since v4.3, LOST_SAMPLES since v4.2); little-endian, as arm64 and x86-64.
"""

from __future__ import annotations

import ctypes
import operator
import struct
from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import numpy as np

from pmulab.uapi.constants import (
    PERF_FORMAT_GROUP,
    PERF_FORMAT_ID,
    PERF_FORMAT_LOST,
    PERF_FORMAT_TOTAL_TIME_ENABLED,
    PERF_FORMAT_TOTAL_TIME_RUNNING,
    PERF_RECORD_MISC_CPUMODE_MASK,
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
from pmulab.uapi.read_format import ReadResult, ReadValue, pack_read, parse_read, read_size

__all__ = [
    "PerfEventHeader", "HEADER", "HEADER_SIZE", "MAX_RECORD_SIZE",
    "SAMPLE_FIELDS", "SAMPLE_ID_FIELDS", "SAMPLE_SUPPORTED", "RECORD_BODIES", "FIELD_NAMES", "STRING",
    "PERF_CONTEXT_HV", "PERF_CONTEXT_KERNEL", "PERF_CONTEXT_USER", "PERF_CONTEXT_GUEST",
    "PERF_CONTEXT_GUEST_KERNEL", "PERF_CONTEXT_GUEST_USER", "PERF_CONTEXT_MAX", "PERF_MAX_STACK_DEPTH",
    "Record", "SampleLayout", "sample_layout", "sample_id_layout", "sample_dtype", "cpumode",
    "pack_record", "pack_sample",
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


def cpumode(misc: int) -> int:
    """``misc & PERF_RECORD_MISC_CPUMODE_MASK``: PERF_RECORD_MISC_KERNEL/USER/HYPERVISOR/..."""
    return misc & PERF_RECORD_MISC_CPUMODE_MASK


class Record:
    """One decoded ring-buffer record.

    ``type`` (a ``PerfRecord`` when known), ``misc``, ``size`` come from the header; every body
    field is an attribute under its uapi name (``.ip .pid .tid .time .addr .id .stream_id .cpu
    .period .read .callchain .lost .comm ...``), falling back to the ``sample_id`` trailer
    (a dict, empty without ``sample_id_all``) for names the body lacks; a declared field
    (``FIELD_NAMES``) the record does not carry is None, any other name AttributeError.
    ``offset`` is the record's byte offset in the parsed data.
    """

    __slots__ = ("type", "misc", "size", "fields", "sample_id", "offset")

    def __init__(self, type: int, misc: int, size: int, fields: dict[str, Any],
                 sample_id: dict[str, int] | None = None, offset: int = 0):
        self.type = type
        self.misc = misc
        self.size = size
        self.fields = fields
        self.sample_id = {} if sample_id is None else sample_id
        self.offset = offset

    def __getattr__(self, name: str):  # reached only for names that are not slots
        if name.startswith("__"):
            raise AttributeError(name)
        fields = object.__getattribute__(self, "fields")
        if name in fields:
            return fields[name]
        trailer = object.__getattribute__(self, "sample_id")
        if name in trailer or name in FIELD_NAMES:
            return trailer.get(name)
        raise AttributeError(f"Record has no field {name!r}")

    @property
    def cpumode(self) -> int:
        """``misc & PERF_RECORD_MISC_CPUMODE_MASK``."""
        return self.misc & PERF_RECORD_MISC_CPUMODE_MASK

    def to_dict(self) -> dict[str, Any]:
        """Header, body fields and (under ``sample_id``) the trailer as plain values."""
        out: dict[str, Any] = {"type": int(self.type), "misc": self.misc, "size": self.size, **self.fields}
        if self.sample_id:
            out["sample_id"] = dict(self.sample_id)
        return out

    def __eq__(self, other) -> bool:
        if not isinstance(other, Record):
            return NotImplemented
        return (self.type == other.type and self.misc == other.misc and self.size == other.size
                and self.fields == other.fields and self.sample_id == other.sample_id)

    __hash__ = None  # mutable fields

    def __repr__(self) -> str:
        name = self.type.name if isinstance(self.type, PerfRecord) else str(self.type)
        body = ", ".join(f"{k}={v!r}" for k, v in self.fields.items())
        trailer = f", sample_id={self.sample_id}" if self.sample_id else ""
        return f"Record({name}, misc={self.misc:#x}, size={self.size}, {body}{trailer})"


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


# ----------------------------------------------------------------------------- writer
def _pad_string(value) -> bytes:
    """NUL-terminated and zero-padded to a multiple of 8 (the kernel's ALIGN(len + 1, 8))."""
    raw = value.encode() if isinstance(value, str) else bytes(value)
    if b"\0" in raw:
        raise ValueError("record strings may not contain NUL")
    return raw + b"\0" * (8 - len(raw) % 8)


def _u(value, code: str, name: str) -> int:
    value = operator.index(value if value is not None else 0)
    bits = {"Q": 64, "I": 32, "H": 16}[code]
    if not 0 <= value < 1 << bits:
        raise ValueError(f"record field {name} = {value} does not fit u{bits}")
    return value


def _pack_read_value(read_format: int, value) -> bytes:
    if isinstance(value, (bytes, bytearray, memoryview)):
        raw = bytes(value)
        parse_read(raw, read_format)  # validates the layout
        return raw
    if isinstance(value, ReadResult):
        return pack_read(read_format, value.values, value.time_enabled or 0, value.time_running or 0)
    if value is None:
        value = [] if read_format & PERF_FORMAT_GROUP else [0]
    if isinstance(value, (int, ReadValue)):
        value = [value]
    return pack_read(read_format, list(value))


def _finish(rtype: int, misc: int, body: bytes) -> bytes:
    size = HEADER_SIZE + len(body)
    if size > MAX_RECORD_SIZE:
        raise ValueError(f"record of {size} bytes does not fit perf_event_header.size (u16)")
    assert size % 8 == 0, size
    return HEADER.pack(rtype, misc, size) + body


def pack_sample(attr, *, misc: int = 0, **fields) -> bytes:
    """The bytes of one PERF_RECORD_SAMPLE for ``attr`` (perf_output_sample's layout).

    ``fields`` by uapi name: ``id ip pid tid time addr stream_id cpu res period`` (ints, default
    0), ``read`` (a ReadResult, ReadValue/int or a list of them, or raw read_format bytes) and
    ``callchain`` (a sequence of u64). Names the sample_type does not select are ignored;
    unknown names -> TypeError; sample_type bits beyond CALLCHAIN -> ValueError.
    """
    sample_type, read_format, _ = _attr_values(attr)
    layout = sample_layout(sample_type, read_format)
    known = {name for _, pairs in SAMPLE_FIELDS for name, _ in pairs} | {"read", "callchain"}
    unknown = set(fields) - known
    if unknown:
        raise TypeError(f"unknown SAMPLE field(s): {', '.join(sorted(unknown))}")
    if layout.extra:
        raise ValueError(f"cannot write sample_type bits {layout.extra:#x} (beyond CALLCHAIN)")
    codes = layout.struct.format[1:]
    parts = [layout.struct.pack(*(_u(fields.get(n), c, n) for n, c in zip(layout.names, codes, strict=True)))]
    if layout.read:
        parts.append(_pack_read_value(read_format, fields.get("read")))
    if layout.callchain:
        ips = [_u(ip, "Q", "callchain[]") for ip in (fields.get("callchain") or ())]
        parts.append(struct.pack(f"<{1 + len(ips)}Q", len(ips), *ips))
    return _finish(int(PerfRecord.SAMPLE), _u(misc, "H", "misc"), b"".join(parts))


def pack_record(type: int, attr=None, *, misc: int = 0, sample_id: Mapping[str, int] | None = None,
                **fields) -> bytes:
    """The bytes of one record as the kernel writes it into the ring buffer.

    SAMPLE goes to ``pack_sample``. Other types take their body fields by uapi name (see
    ``RECORD_BODIES``; missing ints are 0, strings ''), then, when ``attr.sample_id_all``, the
    ``struct sample_id`` trailer selected by ``attr.sample_type``: its values come from
    ``sample_id`` (names ``pid tid time id stream_id cpu res identifier``), else from a body
    field of the same name, else 0 (``identifier`` defaults to ``id``). Types without a declared
    body take ``unparsed`` bytes. Unknown field names -> TypeError.
    """
    rtype = operator.index(type)
    if rtype == PerfRecord.SAMPLE:
        if sample_id:
            raise TypeError("SAMPLE records carry no sample_id trailer")
        return pack_sample(attr, misc=misc, **fields)
    sample_type, read_format, id_all = _attr_values(attr) if attr is not None else (0, 0, False)
    try:
        body_spec = RECORD_BODIES[PerfRecord(rtype)]
    except (ValueError, KeyError):
        body_spec = None
    parts = []
    if body_spec is None:
        unknown = set(fields) - {"unparsed"}
        if unknown:
            raise TypeError(f"record type {rtype} has no declared body; got field(s) {sorted(unknown)}")
        raw = bytes(fields.get("unparsed", b""))
        if len(raw) % 8:
            raise ValueError(f"unparsed body of {len(raw)} bytes is not u64-aligned")
        parts.append(raw)
    else:
        names = {n for n, _ in body_spec}
        unknown = set(fields) - names
        if unknown:
            raise TypeError(f"unknown field(s) for {PerfRecord(rtype).name}: {', '.join(sorted(unknown))}")
        ints: list[tuple[str, str]] = []
        for name, code in body_spec:
            if code in (STRING, _READ_FORMAT):
                if ints:
                    parts.append(struct.pack("<" + "".join(c for _, c in ints),
                                             *(_u(fields.get(n), c, n) for n, c in ints)))
                    ints = []
                parts.append(_pad_string(fields.get(name) or "") if code == STRING
                             else _pack_read_value(read_format, fields.get(name)))
            else:
                ints.append((name, code))
        if ints:
            parts.append(struct.pack("<" + "".join(c for _, c in ints), *(_u(fields.get(n), c, n) for n, c in ints)))
    names, trailer = sample_id_layout(sample_type, id_all)
    if names:
        given = dict(sample_id or {})
        values = []
        for name, code in zip(names, trailer.format[1:], strict=True):
            if name in given:
                v = given[name]
            elif name == "identifier":
                v = given.get("id", fields.get("id", 0))
            else:
                v = fields.get(name, 0)
            values.append(_u(v, code, f"sample_id.{name}"))
        parts.append(trailer.pack(*values))
    misc = _u(misc, "H", "misc")
    body = b"".join(parts)
    if len(body) % 8:
        raise ValueError(f"{PerfRecord(rtype).name} body of {len(body)} bytes is not u64-aligned")
    return _finish(rtype, misc, body)
