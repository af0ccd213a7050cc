"""read() layouts: single and group, every read_format combination."""

import itertools
import struct

import pytest

from pmulab import uapi
from pmulab.uapi import ReadValue, pack_read, parse_read, read_size

TE, TR, ID, GROUP, LOST = 1, 2, 4, 8, 16  # PERF_FORMAT_* as in the header


def test_single_full_layout_word_order():
    data = struct.pack("<5Q", 1000, 50, 40, 7, 3)
    r = parse_read(data, TE | TR | ID | LOST)
    assert (r.value, r.time_enabled, r.time_running, r.id, r.lost, r.nr, r.group) == (1000, 50, 40, 7, 3, 1, False)
    assert r.scaled() == 1000 * 50 // 40


def test_group_layout_word_order():
    data = struct.pack("<9Q", 2, 50, 40, 10, 101, 0, 20, 102, 1)
    r = parse_read(data, GROUP | TE | TR | ID | LOST)
    assert r.nr == 2 and r.group
    assert r.values == (ReadValue(10, 101, 0), ReadValue(20, 102, 1))
    assert (r.time_enabled, r.time_running) == (50, 40)


def test_plain_value():
    r = parse_read(struct.pack("<Q", 42), 0)
    assert r.value == 42 and r.time_enabled is None and r.id is None and r.scaled() == 42


ALL_FORMATS = [sum(c) for n in range(6) for c in itertools.combinations([TE, TR, ID, GROUP, LOST], n)]


@pytest.mark.parametrize("fmt", ALL_FORMATS)
def test_pack_parse_round_trip_for_every_format(fmt):
    nr = 3 if fmt & GROUP else 1
    vals = [ReadValue(100 + i, 200 + i if fmt & ID else None, i if fmt & LOST else None) for i in range(nr)]
    data = pack_read(fmt, vals, time_enabled=9, time_running=8)
    assert len(data) == read_size(fmt, nr)
    r = parse_read(data, fmt)
    assert r.values == tuple(vals)
    assert r.time_enabled == (9 if fmt & TE else None) and r.time_running == (8 if fmt & TR else None)


def test_single_layout_puts_value_first_group_layout_puts_nr_first():
    assert pack_read(TE | TR, [7], time_enabled=5, time_running=4) == struct.pack("<3Q", 7, 5, 4)
    assert pack_read(GROUP | TE, [7], time_enabled=5) == struct.pack("<3Q", 1, 5, 7)


def test_read_size_matches_kernel_formula():
    assert read_size(0) == 8
    assert read_size(TE | TR | ID | LOST) == 40
    assert read_size(GROUP, nr=2) == 8 + 16
    assert read_size(GROUP | TE | TR | ID, nr=2) == 8 * (1 + 2 + 2 * 2)


@pytest.mark.parametrize("data, fmt", [
    (b"\0" * 7, 0),                                  # ragged
    (struct.pack("<Q", 1), TE),                      # missing time_enabled
    (struct.pack("<2Q", 1, 2), 0),                   # trailing word
    (struct.pack("<2Q", 5, 1), GROUP),               # nr=5 but one value
])
def test_malformed_data_is_valueerror(data, fmt):
    with pytest.raises(ValueError):
        parse_read(data, fmt)


def test_format_bits_outside_the_abi_are_refused():
    with pytest.raises(ValueError):
        parse_read(b"\0" * 8, 32)
    with pytest.raises(ValueError):
        pack_read(0, [1, 2])  # a single-event layout has one value


def test_scaled_edge_cases():
    r = parse_read(pack_read(TE | TR, [10], time_enabled=5, time_running=0), TE | TR)
    assert r.scaled() == 0
    assert uapi.PERF_FORMAT_GROUP == GROUP
