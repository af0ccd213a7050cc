"""Operation lists (pmulab.sim.ops): validation names the step; the executor runs any list."""

from __future__ import annotations

import json

import pytest

from pmulab.sim.ops import OPS, OpList, validate
from pmulab.sim.ops_exec import execute

CYC_USER = {"type": 0, "config": 0, "config1": 2, "exclude_kernel": 1}


def _ol(steps, **kw):
    return OpList("t", steps=steps, sysctl={"kernel.perf_user_access": 1}, **kw)


@pytest.mark.parametrize("steps, pattern", [
    ([{"op": "frobnicate"}], r"step 0: unknown operation 'frobnicate'"),
    ([{"task": "T"}], r"step 0: unknown operation None"),
    (["spawn"], r"step 0: a step must be a dict"),
    ([{"op": "spawn"}], r"step 0 \(spawn\): missing field 'task'"),
    ([{"op": "spawn", "task": "T", "colour": 1}], r"step 0 \(spawn\): unknown field"),
    ([{"op": "spawn", "task": "T", "uid": "root"}], r"step 0 \(spawn\): field 'uid' must be int"),
    ([{"op": "spawn", "task": "T", "cpu": 3}], r"step 0 \(spawn\): cpu 3 outside"),
    ([{"op": "mrs", "task": "T", "reg": "PMUSERENR_EL0"}], r"step 0 \(mrs\): unknown or exited task 'T'"),
    ([{"op": "spawn", "task": "T"}, {"op": "mmap", "task": "T", "ev": "e"}], r"step 1 \(mmap\): task 'T' has no event"),
    ([{"op": "spawn", "task": "T"}, {"op": "open", "task": "T", "ev": "e", "attr": {"bogus": 1}}],
     r"step 1 \(open\): bad attr"),
    ([{"op": "spawn", "task": "T"}, {"op": "mrs", "task": "T", "reg": "PMFOO_EL0"}], r"step 1 \(mrs\): unknown PMU"),
    ([{"op": "spawn", "task": "T"}, {"op": "block", "task": "T"}, {"op": "read", "task": "T", "ev": "e"}],
     r"step 2 \(read\): task 'T' is blocked"),
    ([{"op": "spawn", "task": "T"}, {"op": "open", "task": "T", "ev": "e", "attr": CYC_USER},
      {"op": "ioctl", "task": "T", "ev": "e", "request": "FROB"}], r"step 2 \(ioctl\): unknown ioctl"),
    ([{"op": "spawn", "task": "T"}, {"op": "exit", "task": "T"}, {"op": "exec", "task": "T"}],
     r"step 2 \(exec\): unknown or exited task"),
    ([{"op": "spawn", "task": "T"}, {"op": "read_self", "task": "T", "ev": "e", "prelude": ["jump"]}],
     r"step 1 \(read_self\): field 'prelude'"),
])
def test_malformed_lists_name_the_step(steps, pattern):
    with pytest.raises(ValueError, match=pattern):
        validate(steps, cpus=1)


def test_oplist_errors_name_the_scenario():
    with pytest.raises(ValueError, match=r"^myscen: step 0: unknown operation"):
        OpList("myscen", steps=[{"op": "nope"}])
    with pytest.raises(ValueError, match="not valid JSON"):
        OpList.from_json("{")
    with pytest.raises(ValueError, match="unknown machine key"):
        OpList("x", machine={"gpus": 1})


def test_json_round_trip_and_defaults():
    ol = _ol([{"op": "spawn", "task": "T"}, {"op": "open", "task": "T", "ev": "e", "attr": CYC_USER}])
    again = OpList.from_json(ol.to_json())
    assert again.to_dict() == ol.to_dict()
    assert again.steps[0] == {"op": "spawn", "task": "T", "uid": 1000, "cpu": 0}
    assert again.steps[1]["pid"] == "self" and again.steps[1]["cpu"] == -1
    assert json.loads(ol.to_json())["machine"]["pmu"] == "v3p4"


def test_every_op_has_a_schema_and_runs():
    steps = [
        {"op": "spawn", "task": "T"}, {"op": "spawn", "task": "U", "uid": 1001},
        {"op": "open", "task": "T", "ev": "e", "attr": CYC_USER}, {"op": "mmap", "task": "T", "ev": "e"},
        {"op": "page", "task": "T", "ev": "e"}, {"op": "read_self", "task": "T", "ev": "e"},
        {"op": "ioctl", "task": "T", "ev": "e", "request": "PERF_EVENT_IOC_DISABLE"},
        {"op": "ioctl", "task": "T", "ev": "e", "request": "ENABLE"}, {"op": "read", "task": "T", "ev": "e"},
        {"op": "mrs", "task": "T", "reg": "PMUSERENR_EL0"}, {"op": "msr", "task": "T", "reg": "PMSELR_EL0", "value": 1},
        {"op": "run", "ticks": 2}, {"op": "fork", "task": "T", "child": "C"}, {"op": "exec", "task": "C"},
        {"op": "block", "task": "U"}, {"op": "run", "ticks": 1}, {"op": "wake", "task": "U"},
        {"op": "sysctl", "name": "kernel.perf_user_access", "value": 0}, {"op": "munmap", "task": "T", "ev": "e"},
        {"op": "close", "task": "T", "ev": "e"}, {"op": "exit", "task": "C"},
        {"op": "switch", "task": "T"}, {"op": "migrate", "task": "U", "cpu": 0},
    ]
    assert {s["op"] for s in steps} == set(OPS)
    recs = execute(_ol(steps))
    assert [r["step"] for r in recs] == list(range(len(steps)))
    assert all(r.get("errno") is None for r in recs if "errno" in r)
    by = {r["step"]: r for r in recs}
    assert by[3]["index"] == 32 and by[3]["cap_user_rdpmc"] == 1 and by[3]["pmc_width"] == 32
    assert by[5]["result"] == "value" and by[5]["read_before"] <= by[5]["self"] <= by[5]["read_after"]
    assert by[9] == {"step": 9, "op": "mrs", "task": "T", "trap": False, "value": 12}  # ER|CR
    assert by[10]["trap"] is False  # ER allows EL0 writes of PMSELR_EL0


def test_kernel_errors_become_records():
    recs = execute(_ol([{"op": "spawn", "task": "T"},
                        {"op": "open", "task": "T", "ev": "e", "attr": {**CYC_USER, "config1": 0}, "pid": -1,
                         "cpu": 0},
                        {"op": "read", "task": "T", "ev": "e"},
                        {"op": "open", "task": "T", "ev": "w", "attr": {**CYC_USER, "config": 1, "config1": 3}},
                        {"op": "mrs", "task": "T", "reg": "PMCCNTR_EL0"}]))
    assert recs[1]["errno"] == "EACCES"  # unprivileged CPU-bound at paranoid 2 (perf_allow_cpu)
    assert recs[2]["errno"] == "EBADF"  # the open failed, so the handle is not bound
    assert recs[3]["errno"] == "EOPNOTSUPP"  # 64-bit INST_RETIRED without PMUv3p5
    assert recs[4] == {"step": 4, "op": "mrs", "task": "T", "trap": True, "value": 0}


def test_bare_list_is_accepted_for_replay():
    recs = execute([{"op": "spawn", "task": "T"}, {"op": "mrs", "task": "T", "reg": "PMUSERENR_EL0"}])
    assert recs[1]["value"] == 0 and recs[1]["trap"] is False


def test_parking_is_what_makes_the_sysctl_take_effect():
    """With park (the guest's way) T sleeps while the sysctl is written and its next switch-in runs
    armv8pmu_start(); with park=False T stays current and keeps the old PMUSERENR_EL0."""
    steps = [{"op": "spawn", "task": "T"}, {"op": "open", "task": "T", "ev": "e", "attr": CYC_USER},
             {"op": "sysctl", "name": "kernel.perf_user_access", "value": 1},
             {"op": "mrs", "task": "T", "reg": "PMUSERENR_EL0"}]
    off = {"kernel.perf_user_access": 0}
    parked = execute(OpList("p", steps=steps, sysctl=off))
    stay = execute(OpList("p", steps=steps, sysctl=off), park=False)
    assert parked[3]["value"] == 12
    assert stay[3]["value"] == 0


def test_execute_rejects_non_lists():
    with pytest.raises(TypeError):
        execute("S13")
