"""pmulab.user.host: the host kernel's real event through the model's ABI, refused or not."""

from __future__ import annotations

import errno

import pytest

from pmulab import uapi
from pmulab.user.host import busy_loop, open_host_event


def test_a_refusal_is_a_result_with_a_reason_not_an_exception():
    bogus = (("bogus", 0x7FFF0000, 0),)  # no PMU has this type: the host answers ENOENT
    ev = open_host_event(events=bogus)
    assert not ev.ok and ev.page is None and ev.fd == -1
    assert ev.tried == [("bogus", errno.errorcode[errno.ENOENT])]
    assert "ENOENT" in ev.reason and "perf_event_paranoid" in ev.reason
    with pytest.raises(ValueError, match="no host event"):
        ev.read_self()
    ev.close()  # nothing to close: still fine


def test_the_host_event_reads_through_the_model_page_and_loop():
    ev = open_host_event()
    if not ev.ok:  # the explanation is the result; it must name why
        assert ev.tried and "perf_event_paranoid" in ev.reason
        return
    with ev:
        assert ev.page.size == uapi.MMAP_PAGE_HEADER_SIZE and ev.page.cap_bit0_is_deprecated == 1
        first, second = ev.sample(2, 20_000)
        assert first.steps[:3] == ("lock", "times", "index") and first.lock % 2 == 0
        assert second.time_enabled > first.time_enabled and second.value >= first.value
        if ev.page.index == 0:
            assert first.result is None and "fall back to read()" in first.reason
    assert ev.fd == -1 and ev.page is None


@pytest.mark.parametrize("bad", [-1, 1.5, True, "3"])
def test_busy_loop_rejects_bad_lengths(bad):
    with pytest.raises(ValueError):
        busy_loop(bad)


def test_busy_loop_is_deterministic():
    assert busy_loop(0) == 0 and busy_loop(1000) == busy_loop(1000) > 0
