"""User space: what a process does with a perf fd and its mapping, through the ABI only.

Models: libperf's self-monitoring reader (``perf_mmap__read_self``) as a loop that can be
stepped, so schedules can interleave preemption, migration and page updates with it.
The ring-buffer consumer (ring.py), the record parser (records.py) and ``report()`` (report.py)
run unchanged over the model's mapping and a real perf mmap.
Omits: see each module.
Pinned to: libperf (tools/lib/perf) v5.17; see read_self.py, ring.py, records.py, report.py.
User space never imports pmulab.perf, pmulab.drivers or pmulab.sim (import-linter enforces it):
it reaches hardware only through ``task.mrs(name)`` and the kernel only through the page.
"""

from pmulab.user.read_self import (
    DEFAULT_MAX_RETRIES,
    STEPS,
    VARIANTS,
    El0Task,
    ReadLoop,
    RetryLimitExceeded,
    Step,
    counter_register,
    extend,
    read_self,
    time_delta,
)
from pmulab.user.records import RecordParser, parse_records, parse_samples
from pmulab.user.report import Report, ReportRow, report
from pmulab.user.ring import RingReader, data_area

__all__ = [
    "DEFAULT_MAX_RETRIES", "STEPS", "VARIANTS", "El0Task", "ReadLoop", "RetryLimitExceeded", "Step",
    "counter_register", "extend", "read_self", "time_delta",
    "RecordParser", "parse_records", "parse_samples", "Report", "ReportRow", "report", "RingReader", "data_area",
]
