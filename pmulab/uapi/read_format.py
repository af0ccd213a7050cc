"""What read() on a perf fd returns: the ``read_format`` layouts, parsed and packed.

Models: ``struct read_format`` of include/uapi/linux/perf_event.h, little-endian u64 words:
without PERF_FORMAT_GROUP ``value, [time_enabled], [time_running], [id], [lost]``; with it
``nr, [time_enabled], [time_running], {value, [id], [lost]} x nr``. ``pack_read`` is the
kernel side (perf_read_one / perf_read_group write these words), ``parse_read`` the user side;
the same parser reads the bytes of a real perf fd.
Omits: the buffer-size check of read() (``count < event->read_size`` -> ENOSPC), which the
perf core does.
Pinned to: Linux v6.0+ (PERF_FORMAT_LOST).
"""

from __future__ import annotations

import operator
import struct
from dataclasses import dataclass, field

from pmulab.uapi.constants import (
    PERF_FORMAT_GROUP,
    PERF_FORMAT_ID,
    PERF_FORMAT_LOST,
    PERF_FORMAT_MAX,
    PERF_FORMAT_TOTAL_TIME_ENABLED,
    PERF_FORMAT_TOTAL_TIME_RUNNING,
)

__all__ = ["ReadValue", "ReadResult", "parse_read", "pack_read", "read_size"]

_MASK64 = (1 << 64) - 1


@dataclass(frozen=True)
class ReadValue:
    """One counter in a read() result: ``value`` and, when requested, ``id`` and ``lost``."""

    value: int
    id: int | None = None
    lost: int | None = None


@dataclass(frozen=True)
class ReadResult:
    """A decoded read(): ``values`` has one entry (single) or ``nr`` entries (GROUP).

    ``value``/``id``/``lost`` are those of the first (or only) counter; ``time_enabled`` and
    ``time_running`` are None unless requested. ``scaled()`` applies the usual
    ``value * time_enabled / time_running`` estimate.
    """

    read_format: int
    values: tuple[ReadValue, ...]
    time_enabled: int | None = None
    time_running: int | None = None
    group: bool = field(default=False)

    @property
    def nr(self) -> int:
        return len(self.values)

    @property
    def value(self) -> int:
        return self.values[0].value

    @property
    def id(self) -> int | None:
        return self.values[0].id

    @property
    def lost(self) -> int | None:
        return self.values[0].lost

    def scaled(self, index: int = 0) -> int:
        """``value * enabled // running`` (the value itself when times are absent or equal;
        0 when the event never ran)."""
        v = self.values[index].value
        if self.time_enabled is None or self.time_running is None or self.time_enabled == self.time_running:
            return v
        if self.time_running == 0:
            return 0
        return v * self.time_enabled // self.time_running


def _check_format(read_format) -> int:
    read_format = operator.index(read_format)
    if read_format < 0 or read_format & ~(PERF_FORMAT_MAX - 1):
        raise ValueError(f"read_format {read_format:#x} has bits outside PERF_FORMAT_* ({PERF_FORMAT_MAX - 1:#x})")
    return read_format


def _per_value_words(read_format: int) -> int:
    return 1 + bool(read_format & PERF_FORMAT_ID) + bool(read_format & PERF_FORMAT_LOST)


def read_size(read_format: int, nr: int = 1) -> int:
    """Bytes read() returns for ``read_format`` and ``nr`` group members (perf_event__read_size)."""
    read_format = _check_format(read_format)
    header = bool(read_format & PERF_FORMAT_TOTAL_TIME_ENABLED) + bool(read_format & PERF_FORMAT_TOTAL_TIME_RUNNING)
    if read_format & PERF_FORMAT_GROUP:
        return 8 * (1 + header + nr * _per_value_words(read_format))
    return 8 * (header + _per_value_words(read_format))


def parse_read(data: bytes | bytearray | memoryview, read_format: int) -> ReadResult:
    """Decode the bytes read() returned under ``read_format``. Short or ragged data -> ValueError."""
    read_format = _check_format(read_format)
    raw = bytes(data)
    if len(raw) % 8:
        raise ValueError(f"read() data of {len(raw)} bytes is not a whole number of u64 words")
    words = list(struct.unpack(f"<{len(raw) // 8}Q", raw))
    pos = 0

    def take(what: str) -> int:
        nonlocal pos
        if pos >= len(words):
            raise ValueError(f"read() data too short for {what} (read_format {read_format:#x})")
        pos += 1
        return words[pos - 1]

    group = bool(read_format & PERF_FORMAT_GROUP)
    if group:  # nr, [time_enabled], [time_running], {value, [id], [lost]} x nr
        nr = take("nr")
        enabled = take("time_enabled") if read_format & PERF_FORMAT_TOTAL_TIME_ENABLED else None
        running = take("time_running") if read_format & PERF_FORMAT_TOTAL_TIME_RUNNING else None
        if nr * _per_value_words(read_format) > len(words) - pos:
            raise ValueError(f"read() data too short for nr={nr} group values (read_format {read_format:#x})")
        values = []
        for _ in range(nr):
            value = take("value")
            ident = take("id") if read_format & PERF_FORMAT_ID else None
            lost = take("lost") if read_format & PERF_FORMAT_LOST else None
            values.append(ReadValue(value, ident, lost))
    else:  # value, [time_enabled], [time_running], [id], [lost]
        value = take("value")
        enabled = take("time_enabled") if read_format & PERF_FORMAT_TOTAL_TIME_ENABLED else None
        running = take("time_running") if read_format & PERF_FORMAT_TOTAL_TIME_RUNNING else None
        ident = take("id") if read_format & PERF_FORMAT_ID else None
        lost = take("lost") if read_format & PERF_FORMAT_LOST else None
        values = [ReadValue(value, ident, lost)]
    if pos != len(words):
        raise ValueError(f"read() data has {len(words) - pos} trailing words (read_format {read_format:#x})")
    return ReadResult(read_format, tuple(values), enabled, running, group)


def pack_read(
    read_format: int,
    values: list[ReadValue] | tuple[ReadValue, ...] | list[int],
    time_enabled: int = 0,
    time_running: int = 0,
) -> bytes:
    """The bytes the kernel writes for read(): ``values`` are ReadValue (or plain ints); a
    single-event format needs exactly one. Missing id/lost are written as 0."""
    read_format = _check_format(read_format)
    vals = [v if isinstance(v, ReadValue) else ReadValue(operator.index(v)) for v in values]
    group = bool(read_format & PERF_FORMAT_GROUP)
    if not group and len(vals) != 1:
        raise ValueError(f"a read_format without PERF_FORMAT_GROUP carries one value, got {len(vals)}")
    times = []
    if read_format & PERF_FORMAT_TOTAL_TIME_ENABLED:
        times.append(time_enabled)
    if read_format & PERF_FORMAT_TOTAL_TIME_RUNNING:
        times.append(time_running)
    words = [len(vals), *times] if group else []
    for v in vals:
        words.append(v.value)
        if not group:
            words.extend(times)
        if read_format & PERF_FORMAT_ID:
            words.append(v.id or 0)
        if read_format & PERF_FORMAT_LOST:
            words.append(v.lost or 0)
    return struct.pack(f"<{len(words)}Q", *(operator.index(w) & _MASK64 for w in words))
