"""Make widget callback errors visible: shown in an Output widget and kept on the view.

Models: nothing of the PMU; a view-layer utility.
Omits: logging integration.
Pinned to: ipywidgets 8 ("Debugging errors in callbacks with the output widget": exceptions
raised in ``observe``/``on_click`` callbacks are otherwise displayed nowhere in JupyterLab).
"""

from __future__ import annotations

import functools

import ipywidgets as widgets

__all__ = ["CallbackGuard"]


class CallbackGuard:
    """Wrap callbacks so an exception is shown in ``out`` and recorded in ``errors``.

    Inside IPython the ``Output`` context shows the traceback and swallows the exception (the
    widget stays usable); outside IPython (plain pytest) it propagates as usual.
    """

    def __init__(self):
        self.out = widgets.Output(layout=widgets.Layout(max_height="16em", overflow="auto"))
        self.errors: list[BaseException] = []

    def wrap(self, fn):
        @functools.wraps(fn)
        def guarded(*args, **kwargs):
            with self.out:
                try:
                    return fn(*args, **kwargs)
                except Exception as exc:
                    self.errors.append(exc)
                    raise
        return guarded

    @property
    def last_error(self) -> str | None:
        """``repr`` of the most recent callback exception, or None if every callback succeeded."""
        return repr(self.errors[-1]) if self.errors else None
