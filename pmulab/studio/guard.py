"""The hook guard: run a student's design so that a broken hook fails the card, never the lab.

Models: nothing in Linux (a real kernel with a broken PMU driver oopses or hangs); this is the
studio's sandbox. Every hook of ``pmulab.drivers.user_access.Design`` that the design's class
defines is replaced, on that one instance, by a ``GuardedHook`` that

- runs the class's method and turns any exception into a ``HookFailure`` naming the hook
  (``map_event`` may still raise ``PerfError``: refusing an event is its documented job);
- checks the return value against the hook's contract (``HOOK_RETURNS``): an int perf idx
  from ``get_event_idx``/``allocate``, a user index 0..32 from ``user_event_idx``, a bool from
  ``el0_trap``, a bool or None from ``expected_access``, None from the rest;
- enforces a step budget: at most ``Budget.calls`` hook calls per guarded run, at most
  ``Budget.run_seconds`` of wall time per run, and at most ``Budget.hook_seconds`` inside one
  outermost hook call. The per-call limit is a real-time interval timer (``signal.setitimer``,
  SIGALRM, main thread only) whose handler raises ``HookTimeout`` -- a ``BaseException``, so a
  ``while True`` loop with ``except Exception`` inside still stops; the timer re-fires every
  ``Budget.refire`` seconds until the hook returns.
The first failure is also kept in ``Guard.failures`` so a failure that some code swallowed
still reaches the card.

The guarded instance stays an instance of the student's class (``isinstance`` checks in the
scenarios still hold) and stays picklable (the explorer snapshots it): a ``GuardedHook`` holds
the hook name, the instance and the shared ``Guard`` in ``__slots__`` and looks the method up
on the class at call time, so the explorer's canonical state (``vars(design)``) sees only a
constant ``GuardedHook`` label per hook.
Omits: memory limits; hooks run in-process (no subprocess isolation) and off the main thread
only the call and time budgets apply.
"""

from __future__ import annotations

import signal
import threading
import time
from dataclasses import dataclass
from typing import Any

from pmulab.drivers.user_access import DESIGNS, Design
from pmulab.errors import PerfError

__all__ = ["Budget", "Guard", "GuardedHook", "HookFailure", "HookTimeout", "HOOK_RETURNS", "guarded_design",
           "design_class"]


def _none(v: Any) -> bool:
    return v is None


def _int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _user_index(v: Any) -> bool:
    return _int(v) and 0 <= v <= 32


def _bool(v: Any) -> bool:
    return isinstance(v, bool)


def _bool_or_none(v: Any) -> bool:
    return v is None or isinstance(v, bool)


#: hook -> (predicate on the return value, what the contract says). The kernel's hook points.
HOOK_RETURNS = {
    "map_event": (_none, "None (raise PerfError to refuse the event)"),
    "get_event_idx": (_int, "an int perf idx or -EAGAIN"),
    "allocate": (_int, "an int perf idx or -EAGAIN"),
    "clear_event_idx": (_none, "None"),
    "release": (_none, "None"),
    "event_mapped": (_none, "None"),
    "event_unmapped": (_none, "None"),
    "sched_task": (_none, "None"),
    "start": (_none, "None"),
    "stop": (_none, "None"),
    "user_event_idx": (_user_index, "an int user page index 0..32"),
    "arch_update_userpage": (_none, "None"),
    "sysctl_write": (_none, "None"),
    "el0_trap": (_bool, "a bool (True: handled, retry the instruction; False: SIGILL)"),
    "expected_access": (_bool_or_none, "a bool, or None for no promise"),
}


@dataclass(frozen=True)
class Budget:
    """Limits of one guarded run (a scenario, the cost workload, or an explorer search)."""

    hook_seconds: float = 0.5
    run_seconds: float = 20.0
    calls: int = 200_000
    refire: float = 0.05


class HookFailure(Exception):
    """A design hook raised, returned the wrong type, or ran out of budget."""

    def __init__(self, hook: str, kind: str, message: str):
        super().__init__(f"{hook}: {message}")
        self.hook, self.kind, self.message = hook, kind, message

    def to_dict(self) -> dict:
        return {"hook": self.hook, "kind": self.kind, "message": self.message}


class HookTimeout(BaseException):
    """Raised by the interval timer inside a hook that outlived ``Budget.hook_seconds``."""


def _on_alarm(signum, frame):
    raise HookTimeout()


class Guard:
    """Shared counters of one guarded design instance (slots only: invisible to the explorer)."""

    __slots__ = ("budget", "depth", "calls", "t0", "failures", "per_hook", "_old")

    def __init__(self, budget: Budget):
        self.budget = budget
        self.depth = 0
        self.calls = 0
        self.t0 = time.monotonic()
        self.failures: list[HookFailure] = []
        self.per_hook: dict[str, int] = {}
        self._old = None

    def restart(self) -> None:
        """A new run: the call and time budgets start again (failures are kept)."""
        self.calls, self.t0, self.depth = 0, time.monotonic(), 0

    def fail(self, hook: str, kind: str, message: str) -> HookFailure:
        exc = HookFailure(hook, kind, message)
        self.failures.append(exc)
        return exc

    # -- the timer --------------------------------------------------------------------------------
    @staticmethod
    def _can_time() -> bool:
        return hasattr(signal, "setitimer") and threading.current_thread() is threading.main_thread()

    def arm(self) -> None:
        if self._can_time():
            self._old = signal.signal(signal.SIGALRM, _on_alarm)
            signal.setitimer(signal.ITIMER_REAL, self.budget.hook_seconds, self.budget.refire)

    def disarm(self) -> None:
        if self._old is not None:
            signal.setitimer(signal.ITIMER_REAL, 0, 0)
            signal.signal(signal.SIGALRM, self._old)
            self._old = None

    def call(self, hook: str, func, *args):
        """Run ``func(*args)`` as hook ``hook`` under the budget; translate failures."""
        self.calls += 1
        self.per_hook[hook] = self.per_hook.get(hook, 0) + 1
        b = self.budget
        if self.calls > b.calls:
            raise self.fail(hook, "budget", f"more than {b.calls} hook calls in one run (a hook that loops "
                                            f"through the kernel?)")
        if time.monotonic() - self.t0 > b.run_seconds:
            raise self.fail(hook, "budget", f"the run exceeded {b.run_seconds} s of hook time budget")
        outer = self.depth == 0
        if outer:
            self.arm()
        self.depth += 1
        try:
            return func(*args)
        except HookFailure:
            raise
        except HookTimeout:
            raise self.fail(hook, "timeout", f"still running after {b.hook_seconds} s (an endless loop?)") from None
        except PerfError as exc:
            if hook == "map_event":
                raise
            raise self.fail(hook, "exception", f"raised PerfError ({exc}), but only map_event may refuse "
                                               f"with an errno") from exc
        except RecursionError:
            raise self.fail(hook, "exception", "RecursionError: the hook calls itself without end") from None
        except Exception as exc:  # noqa: BLE001 - any bug in a student's hook becomes a card entry
            raise self.fail(hook, "exception", f"{type(exc).__name__}: {exc}") from exc
        finally:
            self.depth -= 1
            if outer:
                self.disarm()


class GuardedHook:
    """One hook of one guarded instance: ``instance.<hook>(...)`` lands here."""

    __slots__ = ("hook", "design", "guard")

    def __init__(self, hook: str, design: Design, guard: Guard):
        self.hook, self.design, self.guard = hook, design, guard

    def __repr__(self) -> str:
        return f"<guarded {self.hook} of {type(self.design).__name__}>"

    def __call__(self, *args):
        method = getattr(type(self.design), self.hook)
        result = self.guard.call(self.hook, method, self.design, *args)
        ok, contract = HOOK_RETURNS[self.hook]
        if not ok(result):
            raise self.guard.fail(self.hook, "return", f"returned {result!r} ({type(result).__name__}); "
                                                       f"the kernel expects {contract}")
        return result


def design_class(design: Any) -> type[Design]:
    """The Design subclass for a registered name, a Design subclass, or an instance (its class)."""
    if isinstance(design, str):
        if design not in DESIGNS:
            raise ValueError(f"unknown design {design!r}; valid names: {list(DESIGNS)}")
        return DESIGNS[design]
    if isinstance(design, Design):
        return type(design)
    if isinstance(design, type) and issubclass(design, Design):
        return design
    raise TypeError(f"a design is a name in {list(DESIGNS)} or a pmulab.drivers.user_access.Design subclass, "
                    f"not {design!r}")


def guarded_design(cls: type[Design], guard: Guard) -> Design:
    """A fresh instance of ``cls`` whose hooks all run through ``guard`` (its __init__ too)."""
    inst = guard.call("__init__", cls)
    if not isinstance(inst, Design):  # pragma: no cover - cls() of a Design subclass
        raise guard.fail("__init__", "return", f"{cls.__name__}() did not build a Design")
    for hook in HOOK_RETURNS:
        if callable(getattr(cls, hook, None)):
            inst.__dict__[hook] = GuardedHook(hook, inst, guard)
    return inst
