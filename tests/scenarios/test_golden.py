"""Golden outcomes: every scenario x design agrees with its written expectation; concrete numbers."""

from __future__ import annotations

import dataclasses

import pytest

from pmulab.hw.sysregs import PMUSERENR
from pmulab.scenarios import SCENARIOS, leak_matrix, run_scenario
from pmulab.scenarios.base import DESIGN_NAMES, param_specs
from pmulab.scenarios.leaks import LEAK_KINDS

ER_CR = PMUSERENR.encode(ER=1, CR=1)


@pytest.mark.parametrize("design", DESIGN_NAMES)
@pytest.mark.parametrize("name", list(SCENARIOS))
def test_outcome_matches_expectation(name, design):
    o = run_scenario(name, design)
    assert set(o.expected) == set(o.checks)
    assert o.ok, o.mismatches


def test_registry_and_bad_input():
    assert list(SCENARIOS) == [f"S{i}" for i in range(1, 17)]
    assert DESIGN_NAMES == ("v8", "v8-efc", "x86-mm", "lazy-trap", "v5.17", "pmuv3p9")
    with pytest.raises(ValueError, match="valid names"):
        run_scenario("S99")
    with pytest.raises(ValueError, match="valid names.*v8-efc"):
        run_scenario("S1", "v9")
    with pytest.raises(ValueError, match=r"before.*out of range 1\.\.50"):
        run_scenario("S7", "v8", before=0)
    with pytest.raises(ValueError, match="off_before_open"):
        run_scenario("S10", "v8", off_before_open=2)


def test_params_metadata_builds_widgets():
    for sc in SCENARIOS.values():
        for spec in param_specs(sc.params):
            assert spec["label"]
            assert spec["options"] is not None or (spec["min"] is not None and spec["max"] is not None)
        assert dataclasses.is_dataclass(sc.params)


def test_s7_worked_example_numbers():
    o = run_scenario("S7", "v8")
    r, s, jump = o.obs["r"], o.obs["s"], o.obs["jump"]
    assert r > 0 and s > 0
    assert jump == 0x7FFFFFFF - r + s
    assert o.leak.counts["destroyed"] == 1 and o.leak.destroyed[0]["live"] == [1]
    for design in ("v8-efc", "v5.17"):
        other = run_scenario("S7", design)
        assert other.obs["jump"] == other.obs["s"]
        assert other.leak.counts["destroyed"] == 0


def test_s3_v8_caller_cpu_enabled_across_switches():
    o = run_scenario("S3", "v8")
    assert o.obs["caller_cpu_after_mmap"] and o.obs["caller_cpu_while_D_runs"]
    m = o.machine
    assert m.cpu(1).mrs("PMUSERENR_EL0") == ER_CR
    switches_on_c1 = [a for a in m.trace.actions("switch") if a["cpu"] == 1]
    assert len(switches_on_c1) >= 3  # B out for D, D's timeslices, B back for its mrs


def test_s10_v517_page_and_sigill():
    o = run_scenario("S10", "v5.17", off_before_open=1)
    assert o.obs["cap_user_rdpmc"] == 1 and o.obs["index"] == 0 and o.obs["raw_mrs"] == "SIGILL"
    assert o.machine.tasks[0].sigill >= 1


def test_s11_errnos_v517():
    o = run_scenario("S11", "v5.17")
    assert o.obs["inst64"] == "EOPNOTSUPP"
    assert o.obs["cpu_bound_user"] == "EINVAL"


def test_s14_two_to_the_32_error():
    for design in DESIGN_NAMES:
        o = run_scenario("S14", design)
        assert o.obs["sext_error"] == (1 << 64) - (1 << 32)
        assert o.obs["zext_error"] == 0


def test_story_and_leak_matrix_as_data():
    o = run_scenario("S1", "v5.17")
    assert any("root opens" in line for line in o.story)
    assert o.leak.kinds == {"cpu_bound"}
    lm = leak_matrix(scenarios=["S1", "S2", "S7", "S13"])
    assert set(lm) == set(DESIGN_NAMES)
    assert all(set(row) == set(LEAK_KINDS) for row in lm.values())
    assert lm["pmuv3p9"]["cpu_bound"] == 0 and lm["v5.17"]["cpu_bound"] == 1
    assert lm["v8"]["destroyed"] >= 1 and lm["v5.17"]["destroyed"] == 0
    assert lm["v5.17"]["stale"] == 1 and lm["v8"]["stale"] == 0
