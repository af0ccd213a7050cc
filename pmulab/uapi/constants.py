"""The numeric constants of the perf_event ABI, declared once.

Models: the enums and defines of include/uapi/linux/perf_event.h that the model and its
notebooks use: event types (``enum perf_type_id``), generalised hardware, cache and software
event ids, ``sample_type`` bits (``enum perf_event_sample_format``), ``read_format`` bits,
``perf_event_open`` flags, record types and ``misc`` bits of the ring buffer, and the
published ``perf_event_attr`` sizes.
Omits: branch-sample-type bits beyond the privilege ones, transaction and mem-data-src
encodings, namespaces/ksymbol/BPF record sub-types, AUX flags.
Pinned to: Linux v6.18 include/uapi/linux/perf_event.h (every value is unchanged since it was
introduced; ``*_MAX`` values are the v6.18 ones and are non-ABI).
"""

from __future__ import annotations

import enum

# ---------------------------------------------------------------------------- attr.type
PERF_TYPE_HARDWARE = 0
PERF_TYPE_SOFTWARE = 1
PERF_TYPE_TRACEPOINT = 2
PERF_TYPE_HW_CACHE = 3
PERF_TYPE_RAW = 4
PERF_TYPE_BREAKPOINT = 5
PERF_TYPE_MAX = 6  # non-ABI: dynamic PMU types (sysfs ``type``) start above the fixed ones

# ------------------------------------------------------- PERF_TYPE_HARDWARE attr.config
PERF_COUNT_HW_CPU_CYCLES = 0
PERF_COUNT_HW_INSTRUCTIONS = 1
PERF_COUNT_HW_CACHE_REFERENCES = 2
PERF_COUNT_HW_CACHE_MISSES = 3
PERF_COUNT_HW_BRANCH_INSTRUCTIONS = 4
PERF_COUNT_HW_BRANCH_MISSES = 5
PERF_COUNT_HW_BUS_CYCLES = 6
PERF_COUNT_HW_STALLED_CYCLES_FRONTEND = 7
PERF_COUNT_HW_STALLED_CYCLES_BACKEND = 8
PERF_COUNT_HW_REF_CPU_CYCLES = 9
PERF_COUNT_HW_MAX = 10  # non-ABI

# ---------------------------------- PERF_TYPE_HW_CACHE: config = id | op << 8 | result << 16
PERF_COUNT_HW_CACHE_L1D = 0
PERF_COUNT_HW_CACHE_L1I = 1
PERF_COUNT_HW_CACHE_LL = 2
PERF_COUNT_HW_CACHE_DTLB = 3
PERF_COUNT_HW_CACHE_ITLB = 4
PERF_COUNT_HW_CACHE_BPU = 5
PERF_COUNT_HW_CACHE_NODE = 6
PERF_COUNT_HW_CACHE_MAX = 7  # non-ABI
PERF_COUNT_HW_CACHE_OP_READ = 0
PERF_COUNT_HW_CACHE_OP_WRITE = 1
PERF_COUNT_HW_CACHE_OP_PREFETCH = 2
PERF_COUNT_HW_CACHE_OP_MAX = 3  # non-ABI
PERF_COUNT_HW_CACHE_RESULT_ACCESS = 0
PERF_COUNT_HW_CACHE_RESULT_MISS = 1
PERF_COUNT_HW_CACHE_RESULT_MAX = 2  # non-ABI

# ------------------------------------------------------- PERF_TYPE_SOFTWARE attr.config
PERF_COUNT_SW_CPU_CLOCK = 0
PERF_COUNT_SW_TASK_CLOCK = 1
PERF_COUNT_SW_PAGE_FAULTS = 2
PERF_COUNT_SW_CONTEXT_SWITCHES = 3
PERF_COUNT_SW_CPU_MIGRATIONS = 4
PERF_COUNT_SW_PAGE_FAULTS_MIN = 5
PERF_COUNT_SW_PAGE_FAULTS_MAJ = 6
PERF_COUNT_SW_ALIGNMENT_FAULTS = 7
PERF_COUNT_SW_EMULATION_FAULTS = 8
PERF_COUNT_SW_DUMMY = 9
PERF_COUNT_SW_BPF_OUTPUT = 10
PERF_COUNT_SW_CGROUP_SWITCHES = 11
PERF_COUNT_SW_MAX = 12  # non-ABI

# ------------------------------------------------------------------- attr.sample_type
PERF_SAMPLE_IP = 1 << 0
PERF_SAMPLE_TID = 1 << 1
PERF_SAMPLE_TIME = 1 << 2
PERF_SAMPLE_ADDR = 1 << 3
PERF_SAMPLE_READ = 1 << 4
PERF_SAMPLE_CALLCHAIN = 1 << 5
PERF_SAMPLE_ID = 1 << 6
PERF_SAMPLE_CPU = 1 << 7
PERF_SAMPLE_PERIOD = 1 << 8
PERF_SAMPLE_STREAM_ID = 1 << 9
PERF_SAMPLE_RAW = 1 << 10
PERF_SAMPLE_BRANCH_STACK = 1 << 11
PERF_SAMPLE_REGS_USER = 1 << 12
PERF_SAMPLE_STACK_USER = 1 << 13
PERF_SAMPLE_WEIGHT = 1 << 14
PERF_SAMPLE_DATA_SRC = 1 << 15
PERF_SAMPLE_IDENTIFIER = 1 << 16
PERF_SAMPLE_TRANSACTION = 1 << 17
PERF_SAMPLE_REGS_INTR = 1 << 18
PERF_SAMPLE_PHYS_ADDR = 1 << 19
PERF_SAMPLE_AUX = 1 << 20
PERF_SAMPLE_CGROUP = 1 << 21
PERF_SAMPLE_DATA_PAGE_SIZE = 1 << 22
PERF_SAMPLE_CODE_PAGE_SIZE = 1 << 23
PERF_SAMPLE_WEIGHT_STRUCT = 1 << 24
PERF_SAMPLE_MAX = 1 << 25  # non-ABI: perf_copy_attr rejects sample_type bits at or above it

# ----------------------------------------------------- attr.branch_sample_type (privilege)
PERF_SAMPLE_BRANCH_USER = 1 << 0
PERF_SAMPLE_BRANCH_KERNEL = 1 << 1
PERF_SAMPLE_BRANCH_HV = 1 << 2
PERF_SAMPLE_BRANCH_ANY = 1 << 3

# ------------------------------------------------------------------- attr.read_format
PERF_FORMAT_TOTAL_TIME_ENABLED = 1 << 0
PERF_FORMAT_TOTAL_TIME_RUNNING = 1 << 1
PERF_FORMAT_ID = 1 << 2
PERF_FORMAT_GROUP = 1 << 3
PERF_FORMAT_LOST = 1 << 4  # Linux 6.0
PERF_FORMAT_MAX = 1 << 5  # non-ABI: perf_copy_attr rejects read_format bits at or above it

# ------------------------------------------------------------- sizeof(perf_event_attr)
PERF_ATTR_SIZE_VER0 = 64  # first published struct
PERF_ATTR_SIZE_VER1 = 72  # + config2
PERF_ATTR_SIZE_VER2 = 80  # + branch_sample_type
PERF_ATTR_SIZE_VER3 = 96  # + sample_regs_user, sample_stack_user
PERF_ATTR_SIZE_VER4 = 104  # + sample_regs_intr
PERF_ATTR_SIZE_VER5 = 112  # + aux_watermark
PERF_ATTR_SIZE_VER6 = 120  # + aux_sample_size
PERF_ATTR_SIZE_VER7 = 128  # + sig_data (Linux 5.13)
PERF_ATTR_SIZE_VER8 = 136  # + config3 (Linux 6.3)
#: The size pmulab's PerfEventAttr writes by default (the newest layout it declares).
PERF_ATTR_SIZE_CURRENT = PERF_ATTR_SIZE_VER8

# ------------------------------------------------------------ perf_event_open() flags
PERF_FLAG_FD_NO_GROUP = 1 << 0
PERF_FLAG_FD_OUTPUT = 1 << 1
PERF_FLAG_PID_CGROUP = 1 << 2  # pid is a cgroup fd, per-CPU mode only
PERF_FLAG_FD_CLOEXEC = 1 << 3  # O_CLOEXEC on the new fd
PERF_FLAG_ALL = PERF_FLAG_FD_NO_GROUP | PERF_FLAG_FD_OUTPUT | PERF_FLAG_PID_CGROUP | PERF_FLAG_FD_CLOEXEC


# ------------------------------------------------------------------ ring-buffer records
class PerfRecord(enum.IntEnum):
    """``enum perf_event_type``: ``perf_event_header.type`` of ring-buffer records."""

    MMAP = 1
    LOST = 2
    COMM = 3
    EXIT = 4
    THROTTLE = 5
    UNTHROTTLE = 6
    FORK = 7
    READ = 8
    SAMPLE = 9
    MMAP2 = 10
    AUX = 11
    ITRACE_START = 12
    LOST_SAMPLES = 13
    SWITCH = 14
    SWITCH_CPU_WIDE = 15
    NAMESPACES = 16
    KSYMBOL = 17
    BPF_EVENT = 18
    CGROUP = 19
    TEXT_POKE = 20
    AUX_OUTPUT_HW_ID = 21


PERF_RECORD_MMAP = PerfRecord.MMAP
PERF_RECORD_LOST = PerfRecord.LOST
PERF_RECORD_COMM = PerfRecord.COMM
PERF_RECORD_EXIT = PerfRecord.EXIT
PERF_RECORD_THROTTLE = PerfRecord.THROTTLE
PERF_RECORD_UNTHROTTLE = PerfRecord.UNTHROTTLE
PERF_RECORD_FORK = PerfRecord.FORK
PERF_RECORD_READ = PerfRecord.READ
PERF_RECORD_SAMPLE = PerfRecord.SAMPLE
PERF_RECORD_MMAP2 = PerfRecord.MMAP2
PERF_RECORD_AUX = PerfRecord.AUX
PERF_RECORD_ITRACE_START = PerfRecord.ITRACE_START
PERF_RECORD_LOST_SAMPLES = PerfRecord.LOST_SAMPLES
PERF_RECORD_SWITCH = PerfRecord.SWITCH
PERF_RECORD_SWITCH_CPU_WIDE = PerfRecord.SWITCH_CPU_WIDE
PERF_RECORD_NAMESPACES = PerfRecord.NAMESPACES
PERF_RECORD_KSYMBOL = PerfRecord.KSYMBOL
PERF_RECORD_BPF_EVENT = PerfRecord.BPF_EVENT
PERF_RECORD_CGROUP = PerfRecord.CGROUP
PERF_RECORD_TEXT_POKE = PerfRecord.TEXT_POKE
PERF_RECORD_AUX_OUTPUT_HW_ID = PerfRecord.AUX_OUTPUT_HW_ID

# perf_event_header.misc
PERF_RECORD_MISC_CPUMODE_MASK = 7 << 0
PERF_RECORD_MISC_CPUMODE_UNKNOWN = 0
PERF_RECORD_MISC_KERNEL = 1
PERF_RECORD_MISC_USER = 2
PERF_RECORD_MISC_HYPERVISOR = 3
PERF_RECORD_MISC_GUEST_KERNEL = 4
PERF_RECORD_MISC_GUEST_USER = 5
PERF_RECORD_MISC_MMAP_DATA = 1 << 13
PERF_RECORD_MISC_COMM_EXEC = 1 << 13
PERF_RECORD_MISC_SWITCH_OUT = 1 << 13
PERF_RECORD_MISC_EXACT_IP = 1 << 14
PERF_RECORD_MISC_SWITCH_OUT_PREEMPT = 1 << 14
PERF_RECORD_MISC_EXT_RESERVED = 1 << 15

#: The page size of the modelled machine (arm64 4 KiB pages); perf_copy_attr's upper bound.
PAGE_SIZE = 4096

__all__ = [name for name in dir() if name.startswith(("PERF_", "PAGE_"))] + ["PerfRecord"]
