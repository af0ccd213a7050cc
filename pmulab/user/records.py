"""The record parser: bytes from the ring buffer (the model's or a real one) -> typed records.

Models: what a perf tool does with the bytes it copied out of the data area (tools/perf/util/evsel.c
``evsel__parse_sample`` and ``perf_evsel__parse_id_sample``, tools/lib/perf's event structs): walk
``perf_event_header``s, decode each body with the layout that ``attr.sample_type`` /
``attr.read_format`` / ``attr.sample_id_all`` select, and split off the ``struct sample_id``
trailer. Every layout comes from pmulab.uapi.records, the same declaration the model's kernel
writes with (``pack_record``).

Two paths:
- ``parse_records(data, attr)``: the general path, any mix of record types -> list[Record];
- ``parse_samples(data, attr)``: the fast path for a run of SAMPLE records of one layout: a
  structured NumPy array viewing the bytes (``uapi.sample_dtype``), checked vectorially.

Bad input raises ValueError naming the byte offset of the offending record: a truncated header
or body, a size that is not a multiple of 8 (misaligned), a body whose size disagrees with the
layout.
Omits: SAMPLE bits beyond CALLCHAIN (kept as ``unparsed`` bytes), byte-swapped streams.
Pinned to: include/uapi/linux/perf_event.h v6.18 layouts (see pmulab.uapi.records).
"""

from __future__ import annotations

import struct
from collections.abc import Callable
from types import MappingProxyType

import numpy as np

from pmulab.uapi.constants import PerfRecord
from pmulab.uapi.read_format import parse_read, read_size
from pmulab.uapi.records import (
    HEADER,
    HEADER_SIZE,
    RECORD_BODIES,
    STRING,
    Record,
    sample_dtype,
    sample_id_layout,
    sample_layout,
)

__all__ = ["RecordParser", "parse_records", "parse_samples"]

_Q = struct.Struct("<Q")
_SAMPLE = int(PerfRecord.SAMPLE)
_TYPES = MappingProxyType({int(t): t for t in PerfRecord})

Decoder = Callable[[bytes, int, int], dict]


class RecordParser:
    """Decoders for one event's records, compiled once from its attr.

    ``attr`` is a PerfEventAttr (or anything with ``sample_type``, ``read_format``,
    ``sample_id_all``); ``None`` decodes headers only (SAMPLE bodies stay ``unparsed`` and no
    trailer is assumed).
    """

    def __init__(self, attr=None):
        self.attr = attr
        sample_type = int(getattr(attr, "sample_type", 0)) if attr is not None else 0
        read_format = int(getattr(attr, "read_format", 0)) if attr is not None else 0
        id_all = bool(getattr(attr, "sample_id_all", 0)) if attr is not None else False
        self.sample_type, self.read_format = sample_type, read_format
        self.layout = sample_layout(sample_type, read_format)
        self.trailer_names, self.trailer = sample_id_layout(sample_type, id_all)
        self.trailer_size = self.trailer.size
        self._decoders: dict[int, Decoder] = {}
        self._sample = self._unparsed_sample if attr is None else self._compile_sample()

    # ------------------------------------------------------------------ SAMPLE
    def _unparsed_sample(self, data: bytes, start: int, end: int) -> dict:
        return {"unparsed": data[start:end]}

    def _compile_sample(self) -> Decoder:
        layout = self.layout
        names, unpack_from, prefix = layout.names, layout.struct.unpack_from, layout.struct.size
        if layout.fixed_size is not None and not layout.read:
            size = layout.fixed_size

            def fixed(data: bytes, start: int, end: int) -> dict:
                if end - start != size:
                    raise _BodySize(end - start, size)
                return dict(zip(names, unpack_from(data, start), strict=True))

            return fixed
        read_format = self.read_format

        def general(data: bytes, start: int, end: int) -> dict:
            if end - start < prefix:
                raise _BodySize(end - start, prefix)
            fields = dict(zip(names, unpack_from(data, start), strict=True))
            pos = start + prefix
            if layout.read:
                nr = 1
                if layout.group:
                    if pos + 8 > end:
                        raise _BodySize(end - start, pos + 8 - start)
                    (nr,) = _Q.unpack_from(data, pos)
                n = read_size(read_format, nr)
                if pos + n > end:
                    raise _BodySize(end - start, pos + n - start)
                fields["read"] = parse_read(data[pos:pos + n], read_format)
                pos += n
            if layout.callchain:
                if pos + 8 > end:
                    raise _BodySize(end - start, pos + 8 - start)
                (nr,) = _Q.unpack_from(data, pos)
                if pos + 8 + 8 * nr > end:
                    raise _BodySize(end - start, pos + 8 + 8 * nr - start)
                fields["callchain"] = struct.unpack_from(f"<{nr}Q", data, pos + 8)
                pos += 8 + 8 * nr
            if layout.extra:
                fields["unparsed"] = data[pos:end]
            elif pos != end:
                raise _BodySize(end - start, pos - start)
            return fields

        return general

    # ------------------------------------------------------------------ others
    def _decoder(self, rtype: int) -> Decoder:
        dec = self._decoders.get(rtype)
        if dec is None:
            dec = self._decoders[rtype] = self._compile_body(rtype)
        return dec

    def _compile_body(self, rtype: int) -> Decoder:
        spec = RECORD_BODIES.get(_TYPES.get(rtype))
        if spec is None:
            return self._unparsed_sample
        ints = [(n, c) for n, c in spec if c in ("Q", "I")]
        tail = [(n, c) for n, c in spec if c not in ("Q", "I")]  # a string or read_format, always last
        assert not tail or spec[-1] == tail[0], spec
        st = struct.Struct("<" + "".join(c for _, c in ints))
        names, size = tuple(n for n, _ in ints), st.size
        read_format = self.read_format
        if not tail:
            def fixed(data: bytes, start: int, end: int) -> dict:
                if end - start != size:
                    raise _BodySize(end - start, size)
                return dict(zip(names, st.unpack_from(data, start), strict=True))
            return fixed
        tail_name, tail_code = tail[0]

        def with_tail(data: bytes, start: int, end: int) -> dict:
            if end - start < size:
                raise _BodySize(end - start, size)
            fields = dict(zip(names, st.unpack_from(data, start), strict=True))
            raw = data[start + size:end]
            if tail_code == STRING:
                fields[tail_name] = raw.split(b"\0", 1)[0].decode("utf-8", "replace")
            else:
                fields[tail_name] = parse_read(raw, read_format)
            return fields

        return with_tail

    # ------------------------------------------------------------------ walk
    def parse(self, data: bytes | bytearray | memoryview, base: int = 0) -> list[Record]:
        """Every record in ``data`` (whole records only). ``base`` is added to the reported
        offsets (e.g. the ring position the bytes were copied from)."""
        data = bytes(data)
        out: list[Record] = []
        append, unpack_header, sample = out.append, HEADER.unpack_from, self._sample
        trailer_size, trailer_names, trailer_unpack = self.trailer_size, self.trailer_names, self.trailer.unpack_from
        decoder, types = self._decoder, _TYPES
        n, pos = len(data), 0
        while pos < n:
            if n - pos < HEADER_SIZE:
                raise ValueError(f"truncated perf_event_header at offset {base + pos}: {n - pos} bytes left")
            rtype, misc, size = unpack_header(data, pos)
            if size < HEADER_SIZE or size & 7:
                raise ValueError(f"misaligned record at offset {base + pos}: header.size {size} is not a multiple "
                                 f"of 8 of at least {HEADER_SIZE} (type {rtype})")
            end = pos + size
            if end > n:
                raise ValueError(f"truncated record at offset {base + pos}: header.size {size}, {n - pos} bytes left")
            try:
                if rtype == _SAMPLE:
                    fields, trailer = sample(data, pos + HEADER_SIZE, end), None
                else:
                    body_end = end - trailer_size
                    if body_end < pos + HEADER_SIZE:
                        raise _BodySize(size - HEADER_SIZE, trailer_size)
                    fields = decoder(rtype)(data, pos + HEADER_SIZE, body_end)
                    trailer = dict(zip(trailer_names, trailer_unpack(data, body_end), strict=True)) \
                        if trailer_size else None
            except _BodySize as e:
                name = types[rtype].name if rtype in types else str(rtype)
                raise ValueError(f"bad {name} record at offset {base + pos}: body of {e.args[0]} bytes, "
                                 f"the layout needs {e.args[1]}") from None
            append(Record(types.get(rtype, rtype), misc, size, fields, trailer, base + pos))
            pos = end
        return out

    def split(self, data: bytes | bytearray | memoryview, max_records: int) -> int:
        """Bytes taken by the first ``max_records`` whole records of ``data`` (headers only)."""
        n, pos, count = len(data), 0, 0
        while pos < n and count < max_records:
            if n - pos < HEADER_SIZE:
                raise ValueError(f"truncated perf_event_header at offset {pos}")
            size = HEADER.unpack_from(data, pos)[2]
            if size < HEADER_SIZE or size & 7 or pos + size > n:
                raise ValueError(f"bad record size {size} at offset {pos}")
            pos += size
            count += 1
        return pos


class _BodySize(Exception):
    """Internal: a body's length disagrees with its layout (got, needed)."""


def parse_records(data: bytes | bytearray | memoryview, attr=None) -> list[Record]:
    """Decode a byte stream of whole records (the general path; any mix of types).

    ``attr`` selects the SAMPLE layout and the sample_id trailer (see RecordParser). Raises
    ValueError naming the offset of a truncated, misaligned or mis-sized record.
    """
    return RecordParser(attr).parse(data)


def parse_samples(data: bytes | bytearray | memoryview, attr) -> np.ndarray:
    """A run of SAMPLE records of one layout as a structured array viewing ``data``.

    The layout (including CALLCHAIN ``nr`` and GROUP ``nr``) is taken from the first record;
    every record must be a SAMPLE of that same size and counts, else ValueError naming the first
    offending offset. Fields as ``uapi.sample_dtype`` names them (``arr["ip"]``, ``arr["time"]``...).
    """
    raw = np.frombuffer(data, dtype=np.uint8)
    n = raw.size
    layout = sample_layout(int(attr.sample_type), int(attr.read_format))
    if n == 0:
        return np.empty(0, sample_dtype(attr, callchain_nr=0, group_nr=0))
    if n < HEADER_SIZE:
        raise ValueError(f"truncated perf_event_header at offset 0: {n} bytes")
    rtype, _, size = HEADER.unpack_from(data, 0)
    if rtype != _SAMPLE:
        raise ValueError(f"record at offset 0 is type {rtype}, not SAMPLE")
    if size > n:
        raise ValueError(f"truncated record at offset 0: header.size {size}, {n} bytes left")
    pos = HEADER_SIZE + layout.struct.size
    group_nr = callchain_nr = None
    if layout.read:
        if layout.group:
            (group_nr,) = _Q.unpack_from(data, pos) if pos + 8 <= size else (0,)
        pos += read_size(int(attr.read_format), group_nr if layout.group else 1)
    if layout.callchain:
        (callchain_nr,) = _Q.unpack_from(data, pos) if pos + 8 <= size else (0,)
    dtype = sample_dtype(attr, callchain_nr=callchain_nr, group_nr=group_nr)
    itemsize = dtype.itemsize
    count = n // itemsize
    arr = np.frombuffer(data, dtype=dtype, count=count)
    bad = (arr["type"] != _SAMPLE) | (arr["size"] != itemsize)
    if group_nr is not None:
        bad |= arr["read_nr"] != group_nr
    if callchain_nr is not None:
        bad |= arr["callchain_nr"] != callchain_nr
    if bad.any():
        i = int(np.argmax(bad))
        raise ValueError(f"record at offset {i * itemsize} is not a SAMPLE of the run's layout "
                         f"(type {int(arr['type'][i])}, size {int(arr['size'][i])}, expected {itemsize})")
    if count * itemsize != n:
        raise ValueError(f"truncated record at offset {count * itemsize}: {n - count * itemsize} bytes left, "
                         f"a SAMPLE of this layout is {itemsize}")
    return arr
