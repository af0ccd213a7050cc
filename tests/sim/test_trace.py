from __future__ import annotations

import enum
import json

import numpy as np
import pytest

from pmulab.sim.trace import Trace, plain


class Color(enum.Enum):
    RED = 1


class Tsk:
    pid = 42


def test_plain_normalises_model_objects():
    assert plain(Tsk()) == 42
    assert plain(Color.RED) == "RED"
    assert plain(np.uint64(5)) == 5 and type(plain(np.uint64(5))) is int
    assert plain({"a": (1, b"\x01")}) == {"a": [1, "01"]}
    assert plain(object()) == "object"  # never a repr with an address


def test_columns_records_and_json():
    tr = Trace(2)
    tr.action(0, 0, "switch", {"cpu": 0, "task": Tsk(), "prev": None})
    counters = np.arange(64, dtype=np.uint64).reshape(2, 32)
    tr.tick(1, 4_000_000, [Tsk(), None], counters, np.array([0xC, 0]), [(7, Tsk(), {"index": 2, "lock": 4})])
    tr.action(1, 4_000_000, "ipi", {"cpu": 1, "source": 0})
    cols = tr.columns()
    assert cols["counters"].shape == (1, 2, 32) and cols["counters"][0, 1, 31] == 63
    assert cols["pmuserenr"].tolist() == [[0xC, 0]]
    recs = tr.to_records()
    assert [r["kind"] for r in recs] == ["switch", "tick", "ipi"]
    assert recs[1]["pages"] == {7: {"owner": 42, "lock": 4, "index": 2, "offset": None, "time_enabled": None,
                                    "time_running": None, "pmc_width": None, "cap_user_rdpmc": None}}
    assert tr.actions("switch", task=42)[0]["prev"] is None
    doc = json.loads(tr.to_json())
    assert doc["actions"]["kind"] == ["switch", "ipi"]
    assert "tick" in tr.format() and "ipi" in tr.format()


def test_bad_kind():
    with pytest.raises(TypeError):
        Trace(1).action(0, 0, "", {})
