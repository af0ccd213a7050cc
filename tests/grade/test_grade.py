"""pmulab.grade: built-in cards reproduce spec §7, reference answers earn their cards, broken designs are contained."""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import pytest
import student_designs as sd

import pmulab
from pmulab import Machine
from pmulab.studio import Budget, Card, cards, grade, readme_table
from pmulab.studio.cli import load_design, main

HERE = Path(__file__).resolve().parent


@pytest.fixture(scope="module")
def builtin() -> dict[str, Card]:
    return cards()


def test_public_entry_point():
    assert pmulab.grade is grade


def test_v8_fails_s3_s4_s7(builtin):
    v8 = builtin["v8"]
    for s in ("S3", "S4", "S7"):
        assert not v8.scenarios[s].ok, s
    assert "accounting_consistent" in v8.scenarios["S3"].violations
    assert "destroyed" in v8.scenarios["S7"].leak_kinds
    assert any("zeroed root's live count" in line for line in v8.scenarios["S7"].leak)
    assert v8.invariants["accounting"] is False and v8.invariants["no_destroyed_counts"] is False
    assert v8.counterexample and v8.explorer["invariant"] in ("accounting", "no_stale_access")


def test_v517_shows_s13_and_closes_v8s_bugs(builtin):
    c = builtin["v5.17"]
    assert not c.scenarios["S13"].ok
    assert c.scenarios["S13"].leak == [
        "U read T's stale count (counter released, not cleared) (PMEVCNTR0_EL0 on CPU 0)"]
    assert c.scenarios["S3"].ok and c.scenarios["S7"].ok
    assert c.invariants["no_stale_access"] is False and c.invariants["accounting"] is True


def test_pmuv3p9_closes_what_per_counter_control_can(builtin):
    p9, v517 = builtin["pmuv3p9"], builtin["v5.17"]
    for s in ("S1", "S2", "S5", "S11"):
        assert not v517.scenarios[s].ok and p9.scenarios[s].ok, s
    assert not p9.scenarios["S13"].ok  # per-counter control does not help a stale grant


def test_every_builtin_run_matches_the_spec(builtin):
    for name, card in builtin.items():
        assert all(s.matches_spec for s in card.scenarios.values()), name


def test_leaks_are_named_who_read_whose(builtin):
    assert builtin["v5.17"].scenarios["S1"].leak == ["T read root's CPU-bound count (PMEVCNTR0_EL0 on CPU 0)"]
    assert builtin["v5.17"].scenarios["S2"].leak == [
        "T read admin's count of T (no user read granted) (PMEVCNTR0_EL0 on CPU 0)"]


def test_costs_tell_the_designs_apart(builtin):
    c = {n: card.cost for n, card in builtin.items()}
    assert c["lazy-trap"]["el0_traps"] > 0 and all(c[n]["el0_traps"] == 0 for n in ("v8", "v5.17"))
    assert c["v8-efc"]["ipis"] > c["v8"]["ipis"]  # event_function_call signals the event's CPU
    assert c["v5.17"]["counter_clears_per_switch"] > c["v8-efc"]["counter_clears_per_switch"]
    assert c["v5.17"]["mmap_work"] == 0 and c["v8"]["mmap_work"] > 0
    assert all(card.self_read_rate == 1.0 for card in builtin.values())


def test_card_is_json(builtin):
    d = json.loads(json.dumps(builtin["v8"].to_dict()))
    assert d["scenarios"]["S7"]["ok"] is False and d["cost"]["switches"] > 0
    assert d["counterexample"][0]["text"]


def test_readme_table(builtin):
    table = readme_table(builtin)
    assert table.splitlines()[0].count("|") == len(builtin) + 2
    assert "| S7 " in table and "PMUSERENR writes / switch" in table
    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text()
    assert table.strip() in readme, "README's design cards are stale: regenerate them with readme_table(cards())"


def test_user_design_plugs_into_machine():
    m = Machine(design=sd.NoStale)
    assert isinstance(m.design, sd.NoStale)


# -- the notebook's reference answers ------------------------------------------------------------------
def test_a_and_not_fixes_s7_only():
    c = grade(sd.FixedDirty)
    assert c.scenarios["S7"].ok and not c.scenarios["S3"].ok and not c.scenarios["S4"].ok
    assert c.invariants["no_destroyed_counts"] is True


def test_b_event_function_call_fixes_s3_s4_at_an_ipi():
    c, v8 = grade(sd.SafeMmap), grade("v8", explorer=None)
    assert c.scenarios["S3"].ok and c.scenarios["S4"].ok and not c.scenarios["S7"].ok
    assert c.invariants["accounting"] is True
    assert c.cost["remote_mmap_work"] > v8.cost["remote_mmap_work"] and c.cost["ipis"] > v8.cost["ipis"]


def test_c_no_cpu_bound_fix_without_per_counter_control():
    clear = grade(sd.ClearForeign)
    assert not clear.scenarios["S1"].ok and "destroyed" in clear.scenarios["S1"].leak_kinds
    assert clear.invariants["no_destroyed_counts"] is False
    deny = grade(sd.DenyForeign, explorer=None)
    assert deny.scenarios["S1"].ok and not deny.scenarios["S2"].ok
    assert deny.self_read_rate == 0.0


def test_d_stop_closes_s13_at_a_price():
    c, v517 = grade(sd.NoStale), grade("v5.17", explorer=None)
    assert c.scenarios["S13"].ok and c.scenarios["S4"].ok
    assert c.invariants["no_stale_access"] is True
    assert c.cost["pmuserenr_writes_per_switch"] > v517.cost["pmuserenr_writes_per_switch"]


# -- broken designs ---------------------------------------------------------------------------------
FAST = {"scenarios": ["S1", "S13"], "explorer": None}


@pytest.mark.parametrize(("cls", "hook", "kind"), [
    (sd.Raises, "start", "exception"), (sd.WrongType, "user_event_idx", "return"), (sd.Recurses, "stop", "exception"),
    (sd.BadInit, "__init__", "exception")])
def test_broken_hook_is_named_not_raised(cls, hook, kind):
    c = grade(cls, **FAST)
    s1 = c.scenarios["S1"]
    assert not s1.ok and s1.status == "broken"
    assert s1.failure["hook"] == hook and s1.failure["kind"] == kind and s1.failure["scenario"] == "S1"
    assert hook in c.broken_hooks and f"broken hook {hook}" in c.summary()
    json.dumps(c.to_dict())


def test_looping_hook_times_out():
    c = grade(sd.Loops, scenarios=["S1"], explorer=None, budget=Budget(hook_seconds=0.1))
    assert c.scenarios["S1"].failure == {"hook": "start", "kind": "timeout", "scenario": "S1",
                                         "message": "still running after 0.1 s (an endless loop?)"}
    assert any(f["scenario"] == "cost workload" for f in c.failures)


def test_broken_hook_in_the_explorer_gives_no_verdict_with_a_reason():
    c = grade(sd.Raises, scenarios=["S1"])
    assert c.explorer["verdict"] is None and "hook start failed" in c.explorer["reason"]
    assert c.counterexample is None


def test_call_budget():
    c = grade("v5.17", scenarios=["S1"], explorer=None, budget=Budget(calls=5))
    assert c.scenarios["S1"].failure["kind"] == "budget"


def test_bad_arguments():
    with pytest.raises(ValueError, match="unknown design"):
        grade("v9")
    with pytest.raises(TypeError):
        grade(42)
    with pytest.raises(ValueError, match="unknown scenario"):
        grade("v8", scenarios=["S99"])


# -- CLI ----------------------------------------------------------------------------------------------
def _args(**kw):
    base = {"design": None, "json": False, "no_explore": True, "pmu": None, "table": False}
    return argparse.Namespace(**{**base, **kw})


def test_cli_module_class(capsys, monkeypatch):
    monkeypatch.syspath_prepend(str(HERE))
    assert main(_args(design="student_designs:NoStale", json=True)) == 0
    d = json.loads(capsys.readouterr().out)
    assert d["design"] == "NoStale" and d["scenarios"]["S13"]["ok"] is True


def test_cli_errors(capsys):
    assert main(_args(design="nosuchmodule:X")) == 2
    assert main(_args(design="pmulab.errors:PerfError")) == 2
    assert main(_args()) == 2
    assert "pmulab grade" in capsys.readouterr().err
    assert load_design("v8") == "v8"
