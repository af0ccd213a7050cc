"""Record writer: the bytes of SAMPLE and side-band records as the kernel stores them.

Models: ``perf_output_sample`` (PERF_RECORD_SAMPLE in ``perf_prepare_sample``'s layout),
``perf_event__output_id_sample`` (the ``sample_id`` trailer), ``perf_log_lost_samples``,
``perf_log_throttle``, ``perf_event_comm_output``, ``perf_event_task_output``,
``perf_event_switch_output``, ``perf_event_mmap_output`` (kernel/events/core.c) and the
PERF_RECORD_LOST of ``perf_output_begin`` (ring_buffer.c); strings NUL-terminated and
zero-padded to 8 bytes (``ALIGN(len + 1, 8)``). Layouts come from ``record_layout``;
``pmulab.uapi.records`` re-exports ``pack_record`` and ``pack_sample``.
Omits: SAMPLE bits from RAW upwards (ValueError), bodies of undeclared types (written from
``unparsed`` bytes), ``write_backward`` (the ring buffer's concern).
Pinned to: Linux v6.18 include/uapi/linux/perf_event.h (unchanged since v4.3); little-endian.
"""

from __future__ import annotations

import operator
import struct
from collections.abc import Mapping

from pmulab.uapi.constants import PERF_FORMAT_GROUP, PerfRecord
from pmulab.uapi.read_format import ReadResult, ReadValue, pack_read, parse_read
from pmulab.uapi.record_layout import (
    _READ_FORMAT,
    HEADER,
    HEADER_SIZE,
    MAX_RECORD_SIZE,
    RECORD_BODIES,
    SAMPLE_FIELDS,
    STRING,
    _attr_values,
    sample_id_layout,
    sample_layout,
)

__all__ = ["pack_record", "pack_sample"]


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
