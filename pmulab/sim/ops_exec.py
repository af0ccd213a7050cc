"""The executor of operation lists: runs an ``OpList`` (``pmulab.sim.ops``) on a Machine and
returns one observation record per step, the records the oracle's guest produces on Linux.

Observation records (one per step, ``execute`` returns the list): ``{"step", "op", "task", "errno"}``
plus per op: ``open``/``mmap``/``munmap``/``close``/``ioctl``: errno name or None; ``mmap``/``page``:
the page fields ``cap_user_rdpmc index pmc_width offset lock lock_even time_enabled time_running
te_ge_tr``; ``mrs``: ``trap`` and ``value`` (0 when trapped); ``msr``: ``trap``; ``read``:
``value``; ``read_self``: ``result`` ("value", "fallback" or "trap"), ``self``, ``read_before``,
``read_after``; ``fork``: ``errno``.

Models: each step as the Task/Machine calls of design.md §2 (a system call or an instruction executed
by the task on its CPU); with ``park`` (the default) a task sleeps between its steps and is woken and
switched in by its next one, as the guest's workers are (blocked in read() on their command pipe).
Omits: what ``pmulab.sim.ops`` omits.
Pinned to: Linux v5.17 system-call semantics; the guest program oracle/guest/pmulab_guest.c.
"""

from __future__ import annotations

from typing import Any

from pmulab.errors import errno_name

from .ops import _EV_OPS, DEFAULT_WORKLOAD, OpList, ioctl_request

__all__ = ["execute", "errname"]


class _Run:
    """State of one execution: the Machine, tasks by name, fds and pages by (task, ev)."""

    def __init__(self, oplist: OpList, machine: Any, park: bool):
        self.ops, self.m, self.park = oplist, machine, park
        self.tasks: dict[str, Any] = {}
        self.fds: dict[str, dict[str, int]] = {}
        self.pages: dict[str, dict[str, Any]] = {}
        self.asleep: set[str] = set()  # blocked by a "block" step (not only parked)


def _new_machine(oplist: OpList) -> Any:
    from .machine import Machine

    mc = oplist.machine
    sc = oplist.sysctl
    return Machine(cpus=mc["cpus"], counters=mc["counters"], pmu=mc["pmu"], design=mc["design"],
                   perf_user_access=sc.get("kernel.perf_user_access", 0),
                   perf_event_paranoid=sc.get("kernel.perf_event_paranoid", 2), seed=0)


def execute(oplist: OpList | dict | list, machine: Any = None, *, park: bool = True) -> list[dict[str, Any]]:
    """Run ``oplist`` on ``machine`` (default: a fresh Machine from the list's header) and return
    one observation record per step.

    ``oplist`` may be an OpList, its dict form, or a bare step list (run on a 1-CPU machine), so
    any list (a test's, the explorer's) can be replayed. Errors the kernel returns become
    records (``errno``); misuse raises ValueError naming the step.

    ``park=True`` (the default) runs every task as the oracle's guest does: a task sleeps
    between its steps (a worker blocked in read() on its command pipe), is woken for its next
    step and switched in by it (Kernel: try_to_wake_up, then __schedule -> perf_event_task_sched_in);
    a "run" wakes every task not blocked by a "block" step, lets time pass, and puts them back
    to sleep. ``park=False`` leaves a task current on its CPU after its step, as plain Task
    calls do.
    """
    if isinstance(oplist, list):
        oplist = OpList(name="ops", steps=oplist)
    elif isinstance(oplist, dict):
        oplist = OpList.from_dict(oplist)
    elif not isinstance(oplist, OpList):
        raise TypeError(f"execute needs an OpList, dict or list, not {type(oplist).__name__}")
    run = _Run(oplist, machine if machine is not None else _new_machine(oplist), park)
    if machine is not None:
        for name, value in oplist.sysctl.items():
            machine.sysctl(name, value)
    records = []
    for i, step in enumerate(oplist.steps):
        rec = {"step": i, "op": step["op"], "task": step.get("task")}
        name = step.get("task") if step["op"] not in ("spawn", "block", "wake", "migrate") else None
        if name is not None:
            _unpark(run, name)
        rec.update(_do(run, step))
        if name is not None:
            _park(run, name)
        if step["op"] in ("spawn", "fork"):
            _park(run, step["task"] if step["op"] == "spawn" else step["child"])
        records.append(rec)
    return records


def _unpark(run: _Run, name: str) -> None:
    from .sched import BLOCKED

    t = run.tasks.get(name)
    if run.park and t is not None and t.state == BLOCKED:
        t.wake()


def _park(run: _Run, name: str) -> None:
    """The worker answers and blocks in read() on its pipe (Kernel: __schedule, task not runnable)."""
    from .sched import RUNNABLE

    t = run.tasks.get(name)
    if run.park and t is not None and t.state == RUNNABLE:
        t.block()


def _run_ticks(run: _Run, ticks: int) -> None:
    if not run.park:
        run.m.run(ticks)
        return
    awake = [n for n in run.tasks if n not in run.asleep]
    for n in awake:
        _unpark(run, n)
    run.m.run(ticks)
    for n in awake:
        _park(run, n)


def errname(exc: Exception) -> str:
    """The errno's kernel name (EOPNOTSUPP, not the C library's alias ENOTSUP)."""
    n = getattr(exc, "errno", None)
    return errno_name(n) if isinstance(n, int) else "EINVAL"


def _page_fields(page: Any) -> dict[str, Any]:
    """What a task sees in its user page (struct perf_event_mmap_page, include/uapi/linux/perf_event.h)."""
    return {"cap_user_rdpmc": int(page.cap_user_rdpmc), "index": int(page.index), "pmc_width": int(page.pmc_width),
            "offset": int(page.offset), "lock": int(page.lock), "lock_even": page.lock % 2 == 0,
            "time_enabled": int(page.time_enabled), "time_running": int(page.time_running),
            "te_ge_tr": page.time_enabled >= page.time_running, "cap_user_time": int(page.cap_user_time),
            "cap_user_time_zero": int(page.cap_user_time_zero), "cap_user_time_short": int(page.cap_user_time_short)}


def _value(data: bytes) -> int:
    return int.from_bytes(data[:8], "little") if len(data) >= 8 else 0


def _do(run: _Run, step: dict[str, Any]) -> dict[str, Any]:
    from pmulab.errors import IllegalInstruction, PerfError

    op, m = step["op"], run.m
    if op == "sysctl":
        try:
            m.sysctl(step["name"], step["value"])
        except (ValueError, KeyError) as exc:
            return {"errno": "EINVAL", "why": str(exc)}
        return {"errno": None}
    if op == "run":
        _run_ticks(run, step["ticks"])
        return {"errno": None}
    if op == "spawn":
        from .workload import Workload

        t = m.spawn(step["task"], uid=step["uid"], cpu=step["cpu"], workload=Workload(el0=dict(DEFAULT_WORKLOAD)),
                    affinity=[step["cpu"]])
        run.tasks[step["task"]], run.fds[step["task"]], run.pages[step["task"]] = t, {}, {}
        return {"errno": None}
    name = step["task"]
    t = run.tasks[name]
    fds, pages = run.fds[name], run.pages[name]
    try:
        if op == "open":
            return _open(run, t, step)
        if op in _EV_OPS:
            if step["ev"] not in fds:
                return {"errno": "EBADF"}
            return _ev_op(run, t, step, fds[step["ev"]])
        if op == "mrs":
            try:
                return {"trap": False, "value": int(t.mrs(step["reg"]))}
            except IllegalInstruction:
                return {"trap": True, "value": 0}
        if op == "msr":
            try:
                t.msr(step["reg"], step["value"])
                return {"trap": False}
            except IllegalInstruction:
                return {"trap": True}
        if op == "fork":
            cpu = t.cpu if step["cpu"] is None else step["cpu"]
            child = t.fork(cpu=t.cpu, name=step["child"])
            child.set_affinity([cpu])  # the child pins itself (sched_setaffinity), as the guest's does
            run.tasks[step["child"]] = child
            run.fds[step["child"]] = dict(fds)
            run.pages[step["child"]] = {}  # perf mappings are VM_DONTCOPY
            return {"errno": None}
        if op == "exec":
            t.exec()
            pages.clear()
            return {"errno": None}
        if op == "exit":
            t.exit()
            del run.tasks[name]
            return {"errno": None}
        if op == "block":
            run.asleep.add(name)
            if not run.park:
                t.block()
            return {"errno": None}
        if op == "wake":
            run.asleep.discard(name)
            if not run.park:
                t.wake()
            return {"errno": None}
        if op == "switch":
            m.switch_to(t.cpu if step["cpu"] is None else step["cpu"], t)  # parked: already current after wake
            return {"errno": None}
        if op == "migrate":
            t.set_affinity([step["cpu"]])  # Kernel: sched_setaffinity; a sleeping task is only re-placed
            return {"errno": None}
    except PerfError as exc:
        return {"errno": errname(exc)}
    raise AssertionError(f"unhandled op {op}")


def _open(run: _Run, t: Any, step: dict[str, Any]) -> dict[str, Any]:
    from pmulab.errors import PerfError
    from pmulab.uapi import PerfEventAttr

    pid = step["pid"]
    if pid == "self":
        pid = 0
    elif isinstance(pid, str):
        target = run.tasks.get(pid)
        pid = target.pid if target is not None else 999999
    fds = run.fds[step["task"]]
    group = fds.get(step["group"], -1) if step["group"] is not None else -1
    try:
        fd = t.perf_event_open(PerfEventAttr(**step["attr"]), pid=pid, cpu=step["cpu"], group_fd=group,
                               flags=step["flags"])
    except PerfError as exc:
        return {"errno": errname(exc)}
    fds[step["ev"]] = fd
    return {"errno": None}


def _ev_op(run: _Run, t: Any, step: dict[str, Any], fd: int) -> dict[str, Any]:
    from pmulab.errors import IllegalInstruction
    from pmulab.user import read_self

    op, m, name = step["op"], run.m, step["task"]
    pages = run.pages[name]
    if op == "mmap":
        page = t.mmap(fd, pages=step["pages"], write=step["write"])
        pages[step["ev"]] = page
        with m.enter(t, "page", record=False):
            return {"errno": None, **_page_fields(page)}
    if op == "munmap":
        try:
            t.munmap(fd)
        except ValueError:
            return {"errno": "EINVAL"}
        pages.pop(step["ev"], None)
        return {"errno": None}
    if op == "close":
        t.close(fd)
        del run.fds[name][step["ev"]]
        return {"errno": None}
    if op == "ioctl":
        t.ioctl(fd, ioctl_request(step["request"]), step["arg"])
        return {"errno": None}
    if op == "read":
        data = t.read(fd)
        return {"errno": None, "value": _value(data), "nbytes": len(data)}
    if op == "read_self":
        for action in step["prelude"]:
            if action == "reset":
                t.ioctl(fd, ioctl_request("RESET"))
            elif action == "read":
                t.read(fd)
            else:
                pages[step["ev"]] = t.mmap(fd)
    page = pages.get(step["ev"])
    if page is None:
        return {"errno": "unmapped"}
    if op == "page":
        with m.enter(t, "page", record=False):
            return {"errno": None, **_page_fields(page)}
    # read_self: read() before, the documented loop, read() after (all as t on its CPU)
    before = _value(t.read(fd))
    with m.enter(t, "read_self", record=False):
        try:
            value = read_self(t, page, variant="documented", clock=None, scale=False)
            result = "fallback" if value is None else "value"
        except IllegalInstruction:
            value, result = None, "trap"
    after = _value(t.read(fd))
    return {"errno": None, "result": result, "self": 0 if value is None else int(value), "read_before": before,
            "read_after": after}
