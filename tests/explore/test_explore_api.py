"""The explorer's API: bad input, snapshots, canonical states, counterexample export, CLI."""

from __future__ import annotations

import argparse
import json

import pytest

from pmulab import sim
from pmulab.sim import explore_cli
from pmulab.sim.explore_ops import OP_KINDS, ExploreConfig, World, apply_op, enabled_ops
from pmulab.sim.explore_state import canonical, clone
from pmulab.sim.explorer import Counterexample, explore, explore_benchmark, replay
from pmulab.sim.invariants import INVARIANTS, check


def test_unknown_invariant_lists_valid_names():
    with pytest.raises(ValueError, match="valid names: .*accounting"):
        explore("v8", depth=1, invariants=["nope"])


def test_unknown_operation_lists_valid_names():
    with pytest.raises(ValueError, match="valid names: .*readloop"):
        explore("v8", depth=1, ops=("open", "teleport"))


def test_too_large_gives_the_estimate():
    with pytest.raises(ValueError, match=r"estimated .*states"):
        explore("v8", depth=20)
    with pytest.raises(ValueError, match=r"estimated .*states"):
        explore("v8", depth=12, ops="all", max_events=4)
    with pytest.raises(ValueError, match="tasks must be"):
        explore("v8", tasks=9)


def test_sim_explore_is_the_function_design_promises():
    r = sim.explore("v5.17", depth=1)
    assert r.states > 1 and r.levels[0] == 1


def test_clone_is_independent_and_equal():
    w = World(ExploreConfig(design="v8"))
    apply_op(w, ("open", "A", "A"))
    apply_op(w, ("mmap", "A", "A:A"))
    c = clone(w)
    assert canonical(c) == canonical(w)
    apply_op(c, ("switch", 0, "C"))
    assert canonical(c) != canonical(w)
    # the PMU's sched_task callback of the copy acts on the copy, not on the original
    assert c.m.pmus[0].sched_task.__closure__[0].cell_contents is c.m.pmus[0]
    apply_op(w, ("switch", 0, "C"))
    assert canonical(c) == canonical(w)


def test_equivalent_orders_hash_equal():
    """Opening on A then on B, or B then A, reaches one canonical state."""
    cfg = ExploreConfig(design="v5.17", max_events=2, targets=("self",))
    w1, w2 = World(cfg), World(cfg)
    for op in (("open", "A", "A"), ("open", "B", "B")):
        apply_op(w1, op)
    for op in (("open", "B", "B"), ("open", "A", "A")):
        apply_op(w2, op)
    assert canonical(w1) == canonical(w2)
    apply_op(w1, ("tick",))
    apply_op(w1, ("tick",))
    w3 = clone(w1)
    apply_op(w3, ("tick",))
    apply_op(w3, ("tick",))
    assert canonical(w3) == canonical(w1)  # time and counts are abstracted: the space is finite


def test_full_vocabulary_is_offered():
    cfg = ExploreConfig(design="v8", ops=OP_KINDS, max_events=2)
    w = World(cfg)
    for op in (("open", "A", "A"), ("mmap", "A", "A:A")):
        apply_op(w, op)
    kinds = {op[0] for op in enabled_ops(w)}
    assert kinds == set(OP_KINDS) - {"mmap", "close", "wake"}
    assert apply_op(w, ("irq", 0)) is None
    assert apply_op(w, ("open", "A", "B")) is None
    assert apply_op(w, ("open", "A", "cpu0")) == "EACCES"  # not root: the kernel refuses
    with pytest.raises(ValueError, match="unknown task"):
        apply_op(w, ("block", "Z"))


def test_invariants_hold_on_a_fresh_machine():
    assert check(World(ExploreConfig(design="v8"))) == {}
    assert set(INVARIANTS) >= {"accounting", "no_destroyed_counts", "no_foreign_reads", "read_self", "userpage",
                               "no_stale_access", "no_stale_reads"}


def test_counterexample_export_and_replay_from_steps():
    r = explore("v8", depth=2, invariants=["accounting"])
    cx = r.counterexamples["accounting"]
    d = json.loads(json.dumps(cx.to_dict()))
    world, msg = replay(d["config"], d["steps"], "accounting")
    assert msg == cx.message
    ol = cx.to_oplist()
    assert [s["op"] for s in ol.steps][:3] == ["spawn", "spawn", "spawn"]
    assert ol.steps[-1]["op"] == "mmap" and "attr" in ol.steps[3]
    assert "accounting violated" in cx.story()
    bad = Counterexample("accounting", "x", [("irq", 0)], cx.config)  # switch/migrate convert; irq cannot
    with pytest.raises(ValueError, match="no lock-step counterpart"):
        bad.to_oplist()


def test_summary_and_json():
    r = explore("v8", depth=2)
    s = r.summary()
    assert "states" in s and "accounting: VIOLATED in 2 operations" in s and "shortest counterexample" in s
    d = r.to_dict()
    assert d["violations"]["accounting"][-1]["op"] == "mmap"
    assert d["states"] == r.states and d["transitions"] == r.transitions


def test_cli_json(capsys):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    explore_cli.add_parser(sub)
    args = parser.parse_args(["explore", "--design", "v8", "--cpus", "2", "--tasks", "3", "--depth", "2",
                              "--invariant", "accounting", "--json", "--no-progress"])
    assert args.func(args) == 0
    out = json.loads(capsys.readouterr().out)
    assert set(out) >= {"states", "transitions", "seconds", "violations"}
    assert [s["op"] for s in out["violations"]["accounting"]] == ["open", "mmap"]


def test_cli_story_and_bad_input(capsys):
    parser = argparse.ArgumentParser()
    sub = parser.add_subparsers()
    explore_cli.add_parser(sub)
    args = parser.parse_args(["explore", "--design", "v5.17", "--depth", "2"])
    assert args.func(args) == 0
    captured = capsys.readouterr()
    assert "no_stale_access: VIOLATED" in captured.out and "1. " in captured.out
    assert "states" in captured.err  # the tqdm bar
    args = parser.parse_args(["explore", "--invariant", "bogus", "--no-progress"])
    assert args.func(args) == 2
    assert "valid names" in capsys.readouterr().err


def test_benchmark_rows():
    rows = explore_benchmark(["v8-efc"], depth=2)
    assert rows[0]["design"] == "v8-efc" and rows[0]["states"] > 1 and rows[0]["complete"]
    assert {"seconds", "states_per_second", "peak_rss_mib", "violated"} <= set(rows[0])
