"""User steps: small pieces of user-space work queued into phase 5 of every tick.

Models: nothing in Linux; this is how a notebook interleaves user code with time (e.g. one
step of ``pmulab.user.ReadLoop`` per tick, so the scheduler can preempt or migrate the reader
between the loop's page reads and its ``mrs``). Steps run in registration order.
Omits: user code running concurrently within a tick (a tick is the model's unit of time).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["UserStep", "make_step", "run_steps"]


class UserStep:
    """A callable run in phase 5 of every ``every``-th tick, ``count`` times (None: forever).

    ``results`` collects what each call returned; ``cancel()`` stops it.
    """

    def __init__(self, fn: Callable[[], Any], every: int, count: int | None, name: str):
        self.fn, self.every, self.count, self.name = fn, every, count, name
        self.calls = 0
        self.results: list = []
        self.active = True

    def __repr__(self) -> str:
        return f"<UserStep {self.name} every={self.every} calls={self.calls}{'' if self.active else ' done'}>"

    def cancel(self) -> None:
        self.active = False


def make_step(fn: Callable[[], Any], every: int, count: int | None, name: str | None) -> UserStep:
    """Validate the arguments of ``Machine.user_step``."""
    if not callable(fn):
        raise TypeError("user_step needs a callable")
    if isinstance(every, bool) or not isinstance(every, int) or every < 1:
        raise ValueError(f"every must be an int >= 1, got {every!r}")
    if count is not None and (isinstance(count, bool) or not isinstance(count, int) or count < 1):
        raise ValueError(f"count must be None or an int >= 1, got {count!r}")
    return UserStep(fn, every, count, name or getattr(fn, "__qualname__", "step"))


def run_steps(steps: list[UserStep], tick: int) -> list[UserStep]:
    """Run the steps due at ``tick``; return those still active."""
    for step in list(steps):
        if step.active and tick % step.every == 0:
            step.results.append(step.fn())
            step.calls += 1
            if step.count is not None and step.calls >= step.count:
                step.active = False
    return [s for s in steps if s.active]
