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

``pack_record`` is the kernel side (what the model's ring-buffer writer stores, in
``record_pack``); ``Record`` (declared here) is what a reader gets back
(``pmulab.user.parse_records``); ``sample_dtype`` is the same SAMPLE layout as a NumPy
structured dtype for the vectorised reader. All three derive from the one table
``SAMPLE_FIELDS`` / ``SAMPLE_ID_FIELDS`` / ``RECORD_BODIES`` in ``record_layout``; this module
re-exports every name of both.

Omits: the bodies of NAMESPACES, KSYMBOL, BPF_EVENT, CGROUP, TEXT_POKE, AUX and
AUX_OUTPUT_HW_ID (read back as ``unparsed`` bytes), the MMAP2 build-id variant
(``PERF_RECORD_MISC_MMAP_BUILD_ID``), SAMPLE bits from RAW upwards, and ``write_backward``
reading (the writer's concern).
Pinned to: Linux v6.18 include/uapi/linux/perf_event.h (every layout used here is unchanged
since v4.3; SWITCH since v4.3, LOST_SAMPLES since v4.2); little-endian, as arm64 and x86-64.
"""

from __future__ import annotations

from typing import Any

from pmulab.uapi.constants import PERF_RECORD_MISC_CPUMODE_MASK, PerfRecord
from pmulab.uapi.record_layout import (
    FIELD_NAMES,
    HEADER,
    HEADER_SIZE,
    MAX_RECORD_SIZE,
    PERF_CONTEXT_GUEST,
    PERF_CONTEXT_GUEST_KERNEL,
    PERF_CONTEXT_GUEST_USER,
    PERF_CONTEXT_HV,
    PERF_CONTEXT_KERNEL,
    PERF_CONTEXT_MAX,
    PERF_CONTEXT_USER,
    PERF_MAX_STACK_DEPTH,
    RECORD_BODIES,
    SAMPLE_FIELDS,
    SAMPLE_ID_FIELDS,
    SAMPLE_SUPPORTED,
    STRING,
    PerfEventHeader,
    SampleLayout,
    sample_dtype,
    sample_id_layout,
    sample_layout,
)
from pmulab.uapi.record_pack import pack_record, pack_sample

__all__ = [
    "PerfEventHeader", "HEADER", "HEADER_SIZE", "MAX_RECORD_SIZE",
    "SAMPLE_FIELDS", "SAMPLE_ID_FIELDS", "SAMPLE_SUPPORTED", "RECORD_BODIES", "FIELD_NAMES", "STRING",
    "PERF_CONTEXT_HV", "PERF_CONTEXT_KERNEL", "PERF_CONTEXT_USER", "PERF_CONTEXT_GUEST",
    "PERF_CONTEXT_GUEST_KERNEL", "PERF_CONTEXT_GUEST_USER", "PERF_CONTEXT_MAX", "PERF_MAX_STACK_DEPTH",
    "Record", "SampleLayout", "sample_layout", "sample_id_layout", "sample_dtype", "cpumode",
    "pack_record", "pack_sample",
]


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
