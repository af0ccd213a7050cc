"""Leak-matrix heat map and the host/model time_enabled plot, headless."""

from __future__ import annotations

import numpy as np
import pytest

from pmulab.user.host import open_host_event
from pmulab.viz import host_times, leak_matrix
from pmulab.viz.hosttimes import model_times

DESIGNS = ["v8", "v8-efc", "v5.17"]
KINDS = ["CPU-bound event", "foreign task", "dirty counter"]
MATRIX = [[1, 1, 1], [1, 1, 0], [0, 0, 0]]


def test_leak_matrix_draws_the_data_it_is_given():
    lm = leak_matrix(MATRIX, DESIGNS, KINDS)
    assert list(lm.grid.row) == DESIGNS and list(lm.grid.column) == KINDS
    np.testing.assert_array_equal(lm.grid.color, MATRIX)
    assert lm.leaks("v8-efc") == ["CPU-bound event", "foreign task"] and lm.leaks("v5.17") == []
    lm.update([[1, 0, 0], [0, 0, 0], [0.5, 0, 0]])
    assert lm.grid.color[2, 0] == 0.5 and lm.leaks("v5.17") == ["CPU-bound event"]


@pytest.mark.parametrize("bad, match", [([[1, 0]], "shape"), ([[2, 0, 0]] * 3, r"\[0, 1\]"),
                                        ([[np.nan, 0, 0]] * 3, r"\[0, 1\]")])
def test_leak_matrix_rejects_bad_data_and_keeps_what_it_shows(bad, match):
    lm = leak_matrix(MATRIX, DESIGNS, KINDS)
    with pytest.raises(ValueError, match=match):
        lm.update(bad)
    np.testing.assert_array_equal(lm.grid.color, MATRIX)


def test_model_times_grow_with_ticks():
    a, b = np.diff(model_times(4, 2)), np.diff(model_times(4, 5))
    assert np.all(a == 2 * 4_000_000) and np.all(b == 5 * 4_000_000)  # 4 ms per tick, fully enabled


def test_host_times_with_a_refusing_host_draws_the_model_only():
    refused = open_host_event(events=())
    assert not refused.ok and "refused" in refused.reason
    w = host_times(refused, reads=5, length=40)
    y0 = np.atleast_2d(w.values).copy()
    assert y0.shape == (1, 5) and list(w.lines.labels) == ["model (ticks of 4 ms)"]
    assert "refused" in w.note.value
    w.length.value = 200
    assert np.atleast_2d(w.values)[0, 0] > y0[0, 0]
    np.testing.assert_array_equal(np.atleast_2d(w.lines.y), np.atleast_2d(w.values))


def test_host_times_on_this_host_either_way():
    host = open_host_event()
    try:
        w = host_times(host, reads=4, length=20)
        if host.ok:  # both lines; the host's time_enabled grows between reads
            assert w.values.shape == (2, 4) and np.all(w.values[0] > 0)
            assert "fall back to read()" in w.note.value or "host counter" in w.note.value
        else:
            assert w.values.shape == (1, 4) and host.reason in w.note.value.replace("&#x27;", "'")
    finally:
        host.close()


def test_a_failing_refresh_is_shown_and_the_plot_stays(monkeypatch):
    w = host_times(open_host_event(events=()), reads=3, length=40)
    y = np.array(w.lines.y)
    monkeypatch.setattr("pmulab.viz.hosttimes.model_times", lambda *a, **k: 1 / 0)
    w.length.value = 100
    assert "ZeroDivisionError" in w.guard.shown
    np.testing.assert_array_equal(w.lines.y, y)
