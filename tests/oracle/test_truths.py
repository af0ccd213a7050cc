"""The model against the real kernel's recorded observations (oracle/truths/*.json). No QEMU needed."""

from __future__ import annotations

import pytest

from pmulab.oracle import compare, known, replay
from pmulab.oracle.scenarios import scenarios
from pmulab.oracle.truths import check, load, load_all

TRUTHS = load_all()


def test_every_library_scenario_has_a_truth():
    assert set(scenarios()) <= set(TRUTHS), sorted(set(scenarios()) - set(TRUTHS))


@pytest.mark.parametrize("name", sorted(TRUTHS))
def test_truth_is_documented(name):
    t = TRUTHS[name]
    assert t["kernel"].startswith("6.1.") and "QEMU emulator version" in t["qemu"]
    assert t["qemu_cpu"] == "cortex-a72" and t["cpu_part"] == "0xd08"  # MIDR part of Cortex-A72
    assert len(t["records"]) == len(t["oplist"]["steps"])
    if name.startswith("explore-"):  # an explorer counterexample: today's conversion of today's search
        et = {e.name: e for e in replay.EXPLORE_TRUTHS}[name]
        want = replay.probe(et.counterexample(), name)[0].to_dict()
    else:
        want = scenarios()[name].to_dict()
    assert t["oplist"] == want, "op list changed: re-record with make oracle (pmulab oracle --record-explore)"


@pytest.mark.parametrize("name", sorted(TRUTHS))
def test_model_matches_kernel(name):
    result = check(name)
    assert result.cells, "nothing compared"
    assert result.ok, "\n" + compare.table(name, result.oplist.steps, result.mismatches)


def test_known_differences_point_at_real_cells():
    for (scen, step, field), reason in known.KNOWN_DIFFERENCES.items():
        assert reason
        cells = [c for c in check(scen).cells if c.step == step and c.field == field]
        assert cells and not cells[0].match, f"{scen} step {step} {field} is listed but matches"


def test_s13_story_is_in_the_kernel_record():
    """The kernel's own PMUSERENR_EL0: ER|CR (0xc) for U, which has no events, after T's event is gone."""
    recs = load("S13")["records"]
    steps = load("S13")["oplist"]["steps"]
    pmu = [(s["task"], r["value"]) for s, r in zip(steps, recs, strict=True) if s.get("reg") == "PMUSERENR_EL0"]
    assert pmu[0] == ("U", 0)  # before anything: 0
    assert ("U", 12) in pmu  # stale ER|CR seen by another uid
    assert pmu[-1] == ("U", 0)  # after sysctl 0 (the IPI)
    frozen = [r["value"] for s, r in zip(steps, recs, strict=True) if s.get("reg") == "PMCCNTR_EL0" and not r["trap"]]
    assert frozen[-1] == frozen[-2]  # after close, T and U read the same frozen count


def test_s14_kernel_reader_is_off_by_2_to_the_32():
    recs = load("S14")["records"]
    errors = [compare.derive(r)["error"] for r in recs if r["op"] == "read_self"]
    assert errors == ["ok", "-2^32", "ok", "-2^32", "ok", "ok"]


def test_value_classes():
    assert compare.value_class(0) == "0"
    assert compare.value_class(0xFFFFFFFF80000001) == "bias+n"
    assert compare.value_class(0x80000001) == "2^31+n"
    assert compare.value_class(5) == "small"
    assert compare.value_class(1 << 40) == "large"


def test_a_changed_observation_is_a_mismatch():
    t = load("S13")
    recs = [dict(r) for r in t["records"]]
    recs[8]["value"] = 0  # pretend the kernel cleared PMUSERENR_EL0 for U
    result = check("S13", t, kernel_records=recs)
    assert [(c.step, c.field) for c in result.mismatches] == [(8, "value")]
    assert "X" in result.table()
