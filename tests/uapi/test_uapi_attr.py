"""struct perf_event_attr: layout, Python-side checks, and perf_copy_attr's size handshake."""

import ctypes
import errno
import struct

import pytest

from pmulab import PerfError, uapi
from pmulab.uapi import PerfEventAttr, PerfEventAttrStruct, perf_copy_attr

# offsetof() of every field, from the C declaration (VER8, 136 bytes).
OFFSETS = {
    "type": 0, "size": 4, "config": 8, "sample_period": 16, "sample_type": 24, "read_format": 32,
    "wakeup_events": 48, "bp_type": 52, "config1": 56, "config2": 64, "branch_sample_type": 72,
    "sample_regs_user": 80, "sample_stack_user": 88, "clockid": 92, "sample_regs_intr": 96,
    "aux_watermark": 104, "sample_max_stack": 108, "reserved_2": 110, "aux_sample_size": 112,
    "reserved_3": 116, "sig_data": 120, "config3": 128,
}
# bit of each flag inside the u64 at offset 40
FLAG_BIT = {
    "disabled": 0, "inherit": 1, "pinned": 2, "exclusive": 3, "exclude_user": 4, "exclude_kernel": 5,
    "exclude_hv": 6, "exclude_idle": 7, "mmap": 8, "comm": 9, "freq": 10, "inherit_stat": 11,
    "enable_on_exec": 12, "task": 13, "watermark": 14, "precise_ip": 15, "mmap_data": 17,
    "sample_id_all": 18, "exclude_host": 19, "exclude_guest": 20, "exclude_callchain_kernel": 21,
    "exclude_callchain_user": 22, "mmap2": 23, "comm_exec": 24, "use_clockid": 25, "context_switch": 26,
    "write_backward": 27, "namespaces": 28, "ksymbol": 29, "bpf_event": 30, "aux_output": 31,
    "cgroup": 32, "text_poke": 33, "build_id": 34, "inherit_thread": 35, "remove_on_exec": 36,
    "sigtrap": 37, "reserved_1": 38,
}


def test_struct_size_is_ver8():
    assert ctypes.sizeof(PerfEventAttrStruct) == 136 == uapi.PERF_ATTR_SIZE_VER8
    assert len(PerfEventAttr().to_bytes()) == 136
    assert PerfEventAttr().size == 136


@pytest.mark.parametrize("name", sorted(OFFSETS))
def test_field_offsets(name):
    assert getattr(PerfEventAttrStruct, name).offset == OFFSETS[name]


@pytest.mark.parametrize("name", sorted(FLAG_BIT))
def test_flag_bits_land_in_the_word_at_offset_40(name):
    raw = PerfEventAttr(**{name: 1}).to_bytes()
    (word,) = struct.unpack_from("<Q", raw, 40)
    assert word == 1 << FLAG_BIT[name]
    assert raw[:40] == PerfEventAttr().to_bytes()[:40]


def test_versions_add_fields_where_the_header_says():
    # each VERn is the offset just past the field it added
    assert OFFSETS["config2"] + 8 == uapi.PERF_ATTR_SIZE_VER1
    assert OFFSETS["branch_sample_type"] + 8 == uapi.PERF_ATTR_SIZE_VER2
    assert OFFSETS["clockid"] + 4 == uapi.PERF_ATTR_SIZE_VER3
    assert OFFSETS["sample_regs_intr"] + 8 == uapi.PERF_ATTR_SIZE_VER4
    assert OFFSETS["reserved_2"] + 2 == uapi.PERF_ATTR_SIZE_VER5
    assert OFFSETS["reserved_3"] + 4 == uapi.PERF_ATTR_SIZE_VER6
    assert OFFSETS["sig_data"] + 8 == uapi.PERF_ATTR_SIZE_VER7
    assert OFFSETS["config3"] + 8 == uapi.PERF_ATTR_SIZE_VER8


def test_round_trip_of_every_field():
    values = {name: (i * 0x01010101 + 1) & 1 for i, name in enumerate(FLAG_BIT) if name != "reserved_1"}
    values.update(precise_ip=3, type=4, config=0x11, config1=0x3, config2=0xFEED, config3=7,
                  sample_period=0x7FFFFFFF, sample_type=uapi.PERF_SAMPLE_IP | uapi.PERF_SAMPLE_TID,
                  read_format=0x1F, wakeup_events=5, bp_type=2, branch_sample_type=1, sample_regs_user=0xFF,
                  sample_stack_user=8192, clockid=-1, sample_regs_intr=3, aux_watermark=4096,
                  sample_max_stack=127, aux_sample_size=64, sig_data=0xDEADBEEF, size=128)
    a = PerfEventAttr(**values)
    raw = a.to_bytes()
    b = PerfEventAttr.from_bytes(raw)
    assert b == a and b.to_bytes() == raw
    assert struct.unpack_from("<IIQQ", raw, 0) == (4, 128, 0x11, 0x7FFFFFFF)
    assert struct.unpack_from("<i", raw, 92) == (-1,)
    assert struct.unpack_from("<Q", raw, 128) == (7,)


def test_unions_share_storage():
    a = PerfEventAttr(freq=1, sample_freq=4000, wakeup_watermark=64, bp_addr=0x1000, bp_len=8)
    assert a.sample_period == 4000 and a.wakeup_events == 64 and a.config1 == 0x1000 and a.config2 == 8
    a.kprobe_func = 5
    assert a.config1 == 5 and a.uprobe_path == 5
    with pytest.raises(ValueError, match="share one union"):
        PerfEventAttr(sample_period=1, sample_freq=2)


def test_from_bytes_zero_extends_short_input():
    a = PerfEventAttr.from_bytes(struct.pack("<IIQ", 1, 64, 1))
    assert (a.type, a.size, a.config, a.config1) == (1, 64, 1, 0)


@pytest.mark.parametrize("kw, exc", [
    ({"config": -1}, ValueError),
    ({"type": 1 << 32}, ValueError),
    ({"precise_ip": 4}, ValueError),
    ({"disabled": 2}, ValueError),
    ({"clockid": 1 << 31}, ValueError),
    ({"config": "1"}, TypeError),
    ({"config": 1.5}, TypeError),
    ({"no_such_field": 1}, TypeError),
])
def test_python_misuse(kw, exc):
    with pytest.raises(exc):
        PerfEventAttr(**kw)


def test_assignment_is_checked_and_unknown_names_refused():
    a = PerfEventAttr()
    with pytest.raises(ValueError):
        a.sample_period = 1 << 64
    with pytest.raises(AttributeError):
        a.exclude_kernal = 1
    a.exclude_kernel = True
    assert a.exclude_kernel == 1


def test_repr_and_replace():
    a = PerfEventAttr(type=uapi.PERF_TYPE_HARDWARE, config=1, exclude_kernel=1)
    assert "exclude_kernel=1" in repr(a) and "type=0" in repr(a)
    b = a.replace(config1=2)
    assert b.config1 == 2 and a.config1 == 0 and b != a


# ----------------------------------------------------------------------- perf_copy_attr


def _with_size(attr: PerfEventAttr, size: int, tail: bytes = b"") -> bytearray:
    raw = bytearray(attr.to_bytes() + tail)
    struct.pack_into("<I", raw, 4, size)
    return raw


def test_copy_attr_accepts_the_current_size():
    a = PerfEventAttr(type=1, config=1, exclude_kernel=1)
    assert perf_copy_attr(a.to_bytes()) == a


def test_size_zero_means_ver0_and_later_fields_are_ignored():
    a = PerfEventAttr(type=1, config=1, config2=9)  # config2 is beyond VER0
    got = perf_copy_attr(_with_size(a, 0))
    assert got.size == uapi.PERF_ATTR_SIZE_VER0
    assert got.config == 1 and got.config2 == 0


@pytest.mark.parametrize("size", [1, 63])
def test_size_below_ver0_is_e2big_and_the_kernel_size_is_written_back(size):
    raw = _with_size(PerfEventAttr(), size)
    with pytest.raises(PerfError, match=r"^E2BIG: attr\.size \d+ is below PERF_ATTR_SIZE_VER0") as e:
        perf_copy_attr(raw)
    assert e.value.errno == errno.E2BIG
    assert struct.unpack_from("<I", raw, 4) == (136,)


def test_size_above_page_size_is_e2big():
    with pytest.raises(PerfError, match=r"^E2BIG: attr\.size 4097 is above PAGE_SIZE"):
        perf_copy_attr(_with_size(PerfEventAttr(), 4097, bytes(4097 - 136)))


def test_larger_struct_with_zero_tail_is_accepted():
    got = perf_copy_attr(_with_size(PerfEventAttr(config=3), 200, bytes(64)))
    assert got.size == 200 and got.config == 3


def test_nonzero_byte_beyond_the_kernel_struct_is_e2big():
    raw = _with_size(PerfEventAttr(), 144, bytes(7) + b"\x01")
    with pytest.raises(PerfError, match=r"^E2BIG: attr\.size 144: byte 143 beyond the kernel's 136-byte struct"):
        perf_copy_attr(raw)
    assert struct.unpack_from("<I", raw, 4) == (136,)


def test_an_older_kernel_refuses_config3():
    # a v5.17 kernel knows 128 bytes: a non-zero config3 is "too big" for it
    raw = PerfEventAttr(config3=1).to_bytes()
    with pytest.raises(PerfError, match="byte 128 beyond the kernel's 128-byte struct"):
        perf_copy_attr(raw, kernel_size=uapi.PERF_ATTR_SIZE_VER7)
    assert perf_copy_attr(PerfEventAttr().to_bytes(), kernel_size=128).size == 136


def test_read_only_input_is_not_written_back():
    raw = bytes(_with_size(PerfEventAttr(), 8))
    with pytest.raises(PerfError):
        perf_copy_attr(raw)


def test_short_user_memory_is_efault():
    with pytest.raises(PerfError, match="^EFAULT") as e:
        perf_copy_attr(PerfEventAttr().to_bytes()[:100])
    assert e.value.errno == errno.EFAULT
    with pytest.raises(PerfError, match="^EFAULT"):
        perf_copy_attr(b"\0" * 4)


@pytest.mark.parametrize("field, value", [("reserved_1", 1), ("reserved_2", 1), ("reserved_3", 1)])
def test_reserved_fields_are_einval(field, value):
    with pytest.raises(PerfError, match=rf"^EINVAL: attr\.__{field} is not zero") as e:
        perf_copy_attr(PerfEventAttr(**{field: value}).to_bytes())
    assert e.value.errno == errno.EINVAL


def test_unknown_sample_type_and_read_format_bits_are_einval():
    with pytest.raises(PerfError, match=r"^EINVAL: attr\.sample_type 0x2000000 has bits at or above PERF_SAMPLE_MAX"):
        perf_copy_attr(PerfEventAttr(sample_type=1 << 25).to_bytes())
    with pytest.raises(PerfError, match=r"^EINVAL: attr\.read_format 0x20 has bits at or above PERF_FORMAT_MAX"):
        perf_copy_attr(PerfEventAttr(read_format=1 << 5).to_bytes())
    assert perf_copy_attr(PerfEventAttr(read_format=0x1F, sample_type=(1 << 25) - 1).to_bytes())


def test_copy_attr_python_misuse():
    with pytest.raises(TypeError):
        perf_copy_attr("attr")
    with pytest.raises(ValueError):
        perf_copy_attr(PerfEventAttr().to_bytes(), kernel_size=0)


def test_copy_module_works_and_keeps_checks():
    import copy

    a = PerfEventAttr(config=5, exclude_kernel=1)
    b = copy.deepcopy(a)
    assert b == a and b is not a
    with pytest.raises(ValueError):
        b.config = -1
