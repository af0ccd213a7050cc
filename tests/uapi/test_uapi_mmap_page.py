"""struct perf_event_mmap_page: offsets of spec §3.8, capability bits, buffer views."""

import ctypes
import mmap
import struct

import pytest

from pmulab import uapi
from pmulab.uapi import MmapPage

# spec/kernel-model.md §3.8, transcribed
SPEC_OFFSETS = [
    (0, 4, "version"), (4, 4, "compat_version"), (8, 4, "lock"), (12, 4, "index"), (16, 8, "offset"),
    (24, 8, "time_enabled"), (32, 8, "time_running"), (40, 8, "capabilities"), (48, 2, "pmc_width"),
    (50, 2, "time_shift"), (52, 4, "time_mult"), (56, 8, "time_offset"), (64, 8, "time_zero"),
    (72, 4, "size"), (76, 4, "reserved_1"), (80, 8, "time_cycles"), (88, 8, "time_mask"),
    (96, 928, "reserved"),
    (1024, 8, "data_head"), (1032, 8, "data_tail"), (1040, 8, "data_offset"), (1048, 8, "data_size"),
    (1056, 8, "aux_head"), (1064, 8, "aux_tail"), (1072, 8, "aux_offset"), (1080, 8, "aux_size"),
]


@pytest.mark.parametrize("offset, size, name", SPEC_OFFSETS)
def test_offsets_match_the_spec_table(offset, size, name):
    field = getattr(MmapPage, name)
    assert (field.offset, field.size) == (offset, size)


def test_struct_size_and_header_size():
    assert ctypes.sizeof(MmapPage) == 1024 + 64
    assert uapi.MMAP_PAGE_HEADER_SIZE == 96  # offsetof(__reserved), what the kernel puts in .size


@pytest.mark.parametrize("name, bit", [
    ("cap_bit0", 0), ("cap_bit0_is_deprecated", 1), ("cap_user_rdpmc", 2), ("cap_user_time", 3),
    ("cap_user_time_zero", 4), ("cap_user_time_short", 5),
])
def test_capability_bits(name, bit):
    page = MmapPage.new()
    setattr(page, name, 1)
    assert page.capabilities == 1 << bit
    assert struct.unpack_from("<Q", page.raw, 40) == (1 << bit,)
    setattr(page, name, 0)
    assert page.capabilities == 0
    page.capabilities = 1 << bit
    assert getattr(page, name) == 1


def test_capability_bit_misuse():
    page = MmapPage.new()
    with pytest.raises(ValueError):
        page.cap_user_rdpmc = 2
    with pytest.raises(TypeError):
        page.cap_user_rdpmc = "1"


def test_page_is_a_live_view_of_its_buffer():
    buf = bytearray(4096)
    page = MmapPage.from_buffer(buf)
    page.lock, page.index, page.offset, page.pmc_width = 2, 32, -5, 32
    assert struct.unpack_from("<IIIIq", buf, 0) == (0, 0, 2, 32, -5)
    assert struct.unpack_from("<H", buf, 48) == (32,)
    struct.pack_into("<Q", buf, 1024, 77)
    assert page.data_head == 77
    buf[3000] = 9  # outside the struct, inside the page
    assert len(page.raw) == 4096 and page.raw[3000] == 9 and page.raw[:16] == bytes(buf[:16])


def test_page_over_a_real_anonymous_mmap():
    m = mmap.mmap(-1, 4096)
    page = MmapPage.from_buffer(m)
    page.time_enabled = 123
    assert struct.unpack_from("<Q", m, 24) == (123,)
    del page
    m.close()


def test_raw_of_an_unbacked_page_is_zero_padded():
    page = MmapPage()
    page.index = 3
    assert len(page.raw) == 4096 and page.raw[12] == 3 and not any(page.raw[1088:])


def test_new_and_snapshot():
    with pytest.raises(ValueError):
        MmapPage.new(512)
    page = MmapPage.new()
    page.cap_user_rdpmc, page.index = 1, 1
    snap = page.snapshot()
    assert snap["index"] == 1 and snap["cap_user_rdpmc"] == 1 and "reserved" not in snap
    page.index = 0
    assert snap["index"] == 1  # a copy
    assert "user_rdpmc" in repr(page)
