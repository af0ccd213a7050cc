"""The perf_event user-space ABI, declared once: constants, perf_event_attr, the user page,
ioctl numbers, read() layouts and ring-buffer records.

Models: include/uapi/linux/perf_event.h and the asm-generic ioctl encoding, byte for byte, so
the model's kernel, its user space and a real perf fd on the host share one declaration.
Omits: see each module (constants, ioctl, attr, mmap_page, read_format, records).
Pinned to: Linux v6.18 uapi header (a superset of v5.17's), little-endian LP64.

Usage::

    from pmulab import uapi
    uapi.PERF_TYPE_HARDWARE, uapi.PERF_EVENT_IOC_ENABLE, uapi.PerfEventAttr, uapi.MmapPage
"""

from pmulab.uapi import constants as _constants
from pmulab.uapi import ioctl as _ioctl
from pmulab.uapi.attr import FLAG_BITS, PerfEventAttr, PerfEventAttrStruct, perf_copy_attr
from pmulab.uapi.constants import *  # noqa: F403 -- the ABI constants are the package's namespace
from pmulab.uapi.ioctl import *  # noqa: F403
from pmulab.uapi.mmap_page import CAPABILITY_BITS, MMAP_PAGE_HEADER_SIZE, MmapPage
from pmulab.uapi.read_format import ReadResult, ReadValue, pack_read, parse_read, read_size
from pmulab.uapi.records import (
    HEADER_SIZE,
    RECORD_BODIES,
    SAMPLE_FIELDS,
    SAMPLE_ID_FIELDS,
    PerfEventHeader,
    Record,
    cpumode,
    pack_record,
    pack_sample,
    sample_dtype,
)

__all__ = [
    *_constants.__all__,
    *_ioctl.__all__,
    "FLAG_BITS", "PerfEventAttr", "PerfEventAttrStruct", "perf_copy_attr",
    "CAPABILITY_BITS", "MMAP_PAGE_HEADER_SIZE", "MmapPage",
    "ReadResult", "ReadValue", "pack_read", "parse_read", "read_size",
    "HEADER_SIZE", "RECORD_BODIES", "SAMPLE_FIELDS", "SAMPLE_ID_FIELDS", "PerfEventHeader", "Record", "cpumode",
    "pack_record", "pack_sample", "sample_dtype",
]
