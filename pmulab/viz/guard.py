"""Make widget callback errors visible: shown in an Output widget next to the view, and kept.

Models: nothing of the PMU; a view-layer utility.
Omits: logging integration.
Pinned to: ipywidgets 8 ("Debugging errors in callbacks with the output widget": exceptions
raised in ``observe``/``on_click`` callbacks are otherwise displayed nowhere in JupyterLab).
"""

from __future__ import annotations

import functools
import traceback

import ipywidgets as widgets

__all__ = ["CallbackGuard"]


class CallbackGuard:
    """Wrap callbacks so an exception is shown in ``out`` (its traceback) and recorded in ``errors``.

    The exception does not propagate: the widget stays usable and whatever the failed callback
    did not get to redraw keeps showing its previous state. The traceback is written into the
    Output's outputs directly, so it is shown the same way in JupyterLab, in voila and in a
    headless test (where no IPython shell exists to capture it). A later successful callback
    clears the Output.
    """

    def __init__(self):
        self.out = widgets.Output(layout=widgets.Layout(max_height="16em", overflow="auto"))
        self.out.add_class("pmulab-errors")
        self.errors: list[BaseException] = []

    def wrap(self, fn):
        @functools.wraps(fn)
        def guarded(*args, **kwargs):
            try:
                result = fn(*args, **kwargs)
            except Exception as exc:
                self.errors.append(exc)
                self.out.outputs = ()
                self.out.append_stderr("".join(traceback.format_exception(exc)))
                return None
            if self.out.outputs:
                self.out.outputs = ()
            return result
        return guarded

    @property
    def last_error(self) -> str | None:
        """``repr`` of the most recent callback exception, or None if every callback succeeded."""
        return repr(self.errors[-1]) if self.errors else None

    @property
    def shown(self) -> str:
        """The text currently shown in the Output (the last traceback, or "")."""
        return "".join(o.get("text", "") for o in self.out.outputs)
