"""The explorer's counterexamples as op lists (switch, migrate, folded read loops), their probes and
verdicts, and the recorded explore-S13 truths. No QEMU needed."""

from __future__ import annotations

import pytest

from pmulab.oracle import known, replay
from pmulab.oracle.guest import compile_script
from pmulab.sim.explorer import Counterexample, explore
from pmulab.sim.ops import OpList
from pmulab.sim.ops_exec import execute

CYC = {"type": 0, "config": 0, "config1": 2, "exclude_kernel": 1}
ON = {"kernel.perf_user_access": 1, "kernel.perf_event_paranoid": 2}
SCHED = ("open", "switch", "migrate", "block", "wake")


def _trace_kinds(m, kind):
    acts = m.trace._actions
    return [(acts["cpu"][i], acts["details"][i]) for i in range(len(acts["kind"])) if acts["kind"][i] == kind]


def test_switch_runs_the_task_on_its_cpu_and_migrate_moves_a_sleeping_task():
    from pmulab.sim.machine import Machine

    m = Machine(cpus=2, counters=6, perf_user_access=1, seed=0)
    ol = OpList("sm", machine={"cpus": 2}, sysctl=ON, steps=[
        {"op": "spawn", "task": "A", "cpu": 0}, {"op": "spawn", "task": "C", "cpu": 0},
        {"op": "open", "task": "A", "ev": "e", "attr": CYC}, {"op": "migrate", "task": "A", "cpu": 1},
        {"op": "switch", "task": "C"}, {"op": "mrs", "task": "C", "reg": "PMUSERENR_EL0"},
        {"op": "switch", "task": "A"}, {"op": "mrs", "task": "A", "reg": "PMUSERENR_EL0"}])
    recs = execute(ol, m)
    assert ol.steps[4]["cpu"] == 0 and ol.steps[6]["cpu"] == 1  # switch defaults to the task's (new) CPU
    assert recs[5]["value"] == 12 and recs[7]["value"] == 12  # stale on CPU 0, granted on CPU 1
    assert [cpu for cpu, _ in _trace_kinds(m, "migrate")] == [0]
    switches_in = [(cpu, d) for cpu, d in _trace_kinds(m, "perf_sched_in")]
    assert any(cpu == 1 for cpu, _ in switches_in)  # A's events were scheduled in on CPU 1 by the switch


def test_switch_and_migrate_validation():
    base = [{"op": "spawn", "task": "A", "cpu": 0}]
    with pytest.raises(ValueError, match="pinned to CPU 0, not 1"):
        OpList("x", machine={"cpus": 2}, steps=[*base, {"op": "switch", "task": "A", "cpu": 1}])
    with pytest.raises(ValueError, match="cpu 2 outside"):
        OpList("x", machine={"cpus": 2}, steps=[*base, {"op": "migrate", "task": "A", "cpu": 2}])
    with pytest.raises(ValueError, match="missing field 'cpu'"):
        OpList("x", machine={"cpus": 2}, steps=[*base, {"op": "migrate", "task": "A"}])
    # a blocked task may be migrated (the controller's sched_setaffinity), not switched to
    ol = OpList("x", machine={"cpus": 2}, steps=[*base, {"op": "block", "task": "A"},
                                                 {"op": "migrate", "task": "A", "cpu": 1}, {"op": "wake", "task": "A"},
                                                 {"op": "fork", "task": "A", "child": "K"}])
    assert "4 fork task=A child=K slot=1 cpu=1" in compile_script(ol).splitlines()  # fork follows the migration
    with pytest.raises(ValueError, match="blocked"):
        OpList("x", steps=[*base, {"op": "block", "task": "A"}, {"op": "switch", "task": "A"}])


def test_compile_switch_and_migrate():
    steps = [{"op": "spawn", "task": "A", "cpu": 0}, {"op": "switch", "task": "A"},
             {"op": "migrate", "task": "A", "cpu": 1}]
    ol = OpList("c", machine={"cpus": 2}, steps=steps)
    lines = compile_script(ol).splitlines()
    assert "1 switch task=A cpu=0" in lines and "2 migrate task=A cpu=1" in lines


def test_to_oplist_switch_migrate_and_paranoid():
    r = explore("v5.17", depth=3, ops=SCHED)
    acc = r.counterexamples["no_stale_access"].to_oplist()
    assert acc.steps[-1] == {"op": "migrate", "task": "A", "cpu": 1}
    reads = r.counterexamples["no_stale_reads"].to_oplist()
    assert reads.steps[-1] == {"op": "switch", "task": "A", "cpu": 0}
    assert acc.sysctl == {"kernel.perf_user_access": 1, "kernel.perf_event_paranoid": 2}  # Debian boots with 3


def test_to_oplist_folds_a_read_loop_and_its_reset():
    r = explore("v5.17", depth=6, ops=("open", "mmap", "reset", "readloop"), invariants=["read_self"],
                targets=("self",), tasks=1, cpus=1, stop_when_found=True)
    cx = r.counterexamples["read_self"]
    assert [op[0] for op in cx.ops].count("readloop") >= 2
    ol = cx.to_oplist()
    assert ol.steps[-1]["op"] == "read_self" and "reset" in ol.steps[-1]["prelude"]
    assert not any(s["op"] in ("readloop", "ioctl") for s in ol.steps)
    rec = execute(ol)[-1]
    assert rec["result"] == "value" and (rec["self"] - rec["read_before"]) % (1 << 64) > 1 << 63  # -2^32


def test_to_oplist_refuses_irq_and_an_interleaved_read_loop():
    cfg = explore("v5.17", depth=0, tasks=2, cpus=1, targets=("self",)).config
    with pytest.raises(ValueError, match="irq"):
        Counterexample("x", "m", [("open", "A", "A"), ("irq", 0)], cfg).to_oplist()
    ops = [("open", "A", "A"), ("mmap", "A", "A:A"), ("readloop", "A", "A:A"), ("open", "B", "B"),
           ("readloop", "A", "A:A")]
    with pytest.raises(ValueError, match="interleaved"):
        Counterexample("x", "m", ops, cfg).to_oplist()
    assert "irq" in known.INEXPRESSIBLE and "readloop (interleaved)" in known.INEXPRESSIBLE


def test_probes_and_model_verdicts():
    r = explore("v5.17", depth=4, ops="all")
    got = {}
    for inv, cx in r.counterexamples.items():
        oplist, pr = replay.probe(cx)
        got[inv] = pr.happens(execute(oplist))
    # S13 access and read, S14 page: the model's lock-step run shows them; the accounting denial does not
    assert got == {"no_stale_access": True, "no_stale_reads": True, "userpage": True, "accounting": False}
    assert "accounting" in known.LOCKSTEP_LIMITS
    oplist, pr = replay.probe(r.counterexamples["userpage"])
    assert oplist.steps[-1] == {"op": "read_self", "task": "A", "ev": "A:A", "prelude": ["reset"]}
    assert oplist.machine["counters"] == 6  # QEMU's cortex-a72


def test_probe_refuses_other_designs():
    cx = explore("v8", depth=2, invariants=["accounting"]).counterexamples["accounting"]
    with pytest.raises(ValueError, match="only v5.17"):
        replay.probe(cx)


def test_replay_without_booting():
    cx = explore("v5.17", depth=2, ops=SCHED, invariants=["no_stale_reads"]).counterexamples["no_stale_reads"]
    r = replay.replay_counterexample(cx, live=False)
    assert r.kernel is None and r.model_happens and "not booted" in r.verdict


@pytest.mark.parametrize("rep", replay.recorded_replays(), ids=lambda r: r.oplist.name)
def test_recorded_explore_s13_happens_on_linux_as_the_model_says(rep):
    assert rep.agree, "\n" + rep.table(all_cells=False)
    assert rep.kernel_happens and rep.model_happens
    assert rep.verdict.startswith(f"{rep.invariant}: {replay.HAPPENS} (as the model says")
    assert {op[0] for op in rep.explore_ops} & {"switch", "migrate"}  # the explorer's scheduling ops, on Linux
    assert rep.meta["kernel"].startswith("6.1.")


def test_recorded_s13_access_is_er_cr_for_a_task_without_events():
    rep = {r.invariant: r for r in replay.recorded_replays()}["no_stale_access"]
    rec = rep.kernel[rep.probe.step]
    assert rec["task"] == "C" and rec["value"] == 12  # ER|CR, from the kernel itself
