"""The explorer rediscovers the review's bugs from the vocabulary alone (issue 6, item 4).

Each test states the configuration and depth it needs; each counterexample is replayed on a
fresh machine and must reproduce its violation.
"""

from __future__ import annotations

import pytest

from pmulab.sim.explorer import explore


def _replays(cx) -> None:
    world, msg = cx.replay()
    assert msg is not None, f"replay of {cx.ops} did not reproduce {cx.invariant}"
    assert world.m.trace.to_json()  # the trace of the replay is there


def test_v8_accounting_S3_mmap_by_another_task():
    """S3/S4 (Mark's point 2): 2 CPUs x 3 tasks, depth 2: a task mmaps an event bound to another
    task; v8 enables user access on the caller's CPU, whose context has no user events."""
    r = explore("v8", cpus=2, tasks=3, depth=2, invariants=["accounting"])
    cx = r.counterexamples["accounting"]
    assert len(cx.ops) == 2
    (op1, a, b), (op2, caller, ev) = cx.ops
    assert op1 == "open" and a != b and not b.startswith("cpu")  # an event on ANOTHER task
    assert op2 == "mmap" and caller == a and ev == f"{a}:{b}"
    assert "grants EL0 access" in cx.message
    _replays(cx)


def test_v8_destroyed_count_S7():
    """S7: 2 CPUs x 3 tasks, two events, depth 3: v8's bitmap_xor zeroes a live counter."""
    r = explore("v8", depth=3, max_events=2, invariants=["no_destroyed_counts"], stop_when_found=True)
    cx = r.counterexamples["no_destroyed_counts"]
    assert len(cx.ops) == 3 and cx.ops[-1][0] == "mmap"
    assert "xor" in cx.message
    _replays(cx)


def test_v8_destroyed_count_S7_with_a_cpu_bound_event():
    """S7's worked example: a root CPU-bound counter and a task's own event only (no 'other' opens)."""
    r = explore("v8", depth=4, max_events=2, targets=("self", "cpu"), invariants=["no_destroyed_counts"],
                stop_when_found=True)
    cx = r.counterexamples["no_destroyed_counts"]
    assert any(op[0] == "open" and op[2].startswith("cpu") for op in cx.ops)
    _replays(cx)


def test_v8_efc_has_no_destroyed_count_where_v8_has():
    """AND-NOT clearing (v8-efc) never zeroes a live counter in the same search."""
    r = explore("v8-efc", depth=3, max_events=2, invariants=["no_destroyed_counts"])
    assert r.holds("no_destroyed_counts") and r.complete


def test_v517_stale_access_S13():
    """S13: depth 2: the owner's last counter is released (switched out at a tick, or closed) and
    armpmu_enable skips start(): PMUSERENR_EL0 stays ER|CR for a task with no user event."""
    r = explore("v5.17", depth=2, ops=("open", "tick", "switch", "block", "wake"), invariants=["no_stale_access"])
    cx = r.counterexamples["no_stale_access"]
    assert cx.ops[0][0] == "open" and len(cx.ops) == 2
    _replays(cx)
    r = explore("v5.17", depth=2, invariants=["no_stale_access"], ops=("open", "close"))
    assert [op[0] for op in r.counterexamples["no_stale_access"].ops] == ["open", "close"]


def test_v517_keeps_its_start_invariant():
    """v5.17's own promise (PMUSERENR right at every start()) holds in the default vocabulary."""
    r = explore("v5.17", depth=5, invariants=["accounting"])
    assert r.holds("accounting") and r.complete and r.states > 500


def test_v8_efc_has_no_accounting_violation():
    """Mark's fix: 2 CPUs x 3 tasks to depth 6 (default vocabulary), and two events to depth 4."""
    r = explore("v8-efc", depth=6, invariants=["accounting"])
    assert r.holds("accounting") and r.complete and r.states > 2000
    r = explore("v8-efc", depth=4, max_events=2, invariants=["accounting"])
    assert r.holds("accounting") and r.complete


@pytest.mark.parametrize("design", ["v5.17", "v8"])
def test_cpu_bound_leak_S1(design):
    """S1: a root CPU-bound count is readable by an unprivileged user-read task (depth 2-3)."""
    r = explore(design, depth=3, max_events=2, targets=("self", "cpu"), invariants=["no_foreign_reads"],
                stop_when_found=True)
    cx = r.counterexamples["no_foreign_reads"]
    assert "CPU-bound" in cx.message
    _replays(cx)


def test_pmuv3p9_has_no_foreign_reads_but_a_stale_window():
    """PMUACR_EL1/UEN hides live foreign counts (S1), but the S13 window still shows a frozen one."""
    r = explore("pmuv3p9", depth=4, max_events=2, targets=("self", "cpu"),
                invariants=["no_foreign_reads", "no_stale_reads"])
    assert r.holds("no_foreign_reads") and r.complete
    cx = r.counterexamples["no_stale_reads"]
    _replays(cx)


def test_reset_breaks_the_user_page_S14():
    """S14 on every design with user access: IOC_RESET republishes offset against a zero-extended
    prev_count (depth 3: open, mmap, reset); the read loop then returns count - 2^32."""
    ops = ("open", "mmap", "reset", "readloop")
    r = explore("v5.17", depth=3, ops=ops, invariants=["userpage"])
    cx = r.counterexamples["userpage"]
    assert [op[0] for op in cx.ops] == ["open", "mmap", "reset"]
    _replays(cx)
    r = explore("v5.17", depth=6, ops=ops, invariants=["read_self"], targets=("self",), tasks=1, cpus=1,
                stop_when_found=True)
    cx = r.counterexamples["read_self"]
    assert ("reset", "A", "A:A") in cx.ops and cx.ops[-1][0] == "readloop"
    _replays(cx)
