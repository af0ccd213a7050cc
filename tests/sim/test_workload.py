from __future__ import annotations

import numpy as np
import pytest

from pmulab.hw import events
from pmulab.sim.workload import Workload, occurrences


def test_rates_land_on_event_numbers_and_els():
    wl = Workload(el0={"INST_RETIRED": 800, "CPU_CYCLES": 1000}, el1={"EXC_TAKEN": 3})
    occ = occurrences([wl, None], np.random.default_rng(0))
    assert occ.dtype == np.uint64 and occ.shape == (2, 2, events.NUM_EVENTS)
    assert occ[0, 0, events.ArmEvent.INST_RETIRED] == 800
    assert occ[0, 0, events.ArmEvent.CPU_CYCLES] == 1000
    assert occ[0, 1, events.ArmEvent.EXC_TAKEN] == 3
    assert occ[0].sum() == 1803
    assert occ[1].sum() == 0  # idle CPU: nothing, not even cycles


def test_jitter_is_seeded_and_bounded():
    wl = Workload(el0={"INST_RETIRED": 1000}, jitter=0.2)
    a = [occurrences([wl], np.random.default_rng(7))[0, 0, 8] for _ in range(3)]
    b = [occurrences([wl], np.random.default_rng(7))[0, 0, 8] for _ in range(3)]
    assert a == b
    rng = np.random.default_rng(1)
    draws = np.array([occurrences([wl], rng)[0, 0, 8] for _ in range(200)])
    assert draws.min() >= 800 and draws.max() <= 1200 and len(set(draws.tolist())) > 50


def test_numbers_and_names_equal():
    assert Workload(el0={8: 5}) == Workload(el0={"INST_RETIRED": 5})
    assert Workload(el0={8: 5}).el0 == {"INST_RETIRED": 5.0}


@pytest.mark.parametrize("kw, exc, msg", [
    ({"el0": {"INST_RETIRD": 1}}, ValueError, "INST_RETIRED"),
    ({"el0": {"CHAIN": 1}}, ValueError, "not an instruction-stream"),
    ({"el0": {"SW_INCR": 1}}, ValueError, "not an instruction-stream"),
    ({"el0": {"INST_RETIRED": -1}}, ValueError, ">= 0"),
    ({"el0": {"INST_RETIRED": "1"}}, TypeError, "number"),
    ({"el0": [("INST_RETIRED", 1)]}, TypeError, "mapping"),
    ({"jitter": 2}, ValueError, r"\[0, 1\]"),
    ({"jitter": "x"}, TypeError, "number"),
    ({"el0": {"INST_RETIRED": 1, 8: 2}}, ValueError, "twice"),
])
def test_bad_input(kw, exc, msg):
    with pytest.raises(exc, match=msg):
        Workload(**kw)
