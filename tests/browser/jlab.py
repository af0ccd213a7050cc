"""Drive a real JupyterLab in headless Chromium (recipe: shared/stack/jupyter-stack.md §3).

`LabServer` starts ``python -m jupyterlab`` on a free 127.0.0.1 port with a random token, in a
temporary copy of ``notebooks/``, and stops it (and its kernels) by its own process group.
`NotebookPage` wraps a Playwright page: open a notebook, wait until its kernel is really
connected and idle (the execution indicator turns idle before the kernel WebSocket opens),
Run All, and read outputs.
"""

from __future__ import annotations

import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

CHROMIUM = os.environ.get("PMULAB_CHROMIUM", "/usr/bin/chromium")  # Debian's; override for other systems
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
NOTIFICATION_SETTINGS = {"checkForUpdates": False, "fetchNews": "false"}

KERNEL_READY_JS = """() => { const a = window.jupyterapp; const w = a && a.shell.currentWidget;
  const k = w && w.sessionContext && w.sessionContext.session && w.sessionContext.session.kernel;
  return !!k && k.connectionStatus === 'connected' && k.status === 'idle'; }"""

# Every code cell has an execution count and the kernel is idle again: Run All has finished.
ALL_RUN_JS = """() => { const a = window.jupyterapp; const w = a && a.shell.currentWidget;
  if (!w || !w.content) return false;
  const k = w.sessionContext.session && w.sessionContext.session.kernel;
  const cells = w.content.widgets.filter(c => c.model.type === 'code');
  return !!k && k.status === 'idle' && cells.length > 0
    && cells.every(c => c.model.executionCount !== null); }"""

# Per bqplot figure in an output: how many drawn mark elements it has (axes, legend and background excluded).
FIGURE_MARKS_JS = """f => [...f.querySelectorAll('svg path, svg rect, svg circle, svg text.label')].filter(e =>
  !e.closest('.axis') && !e.closest('.legend') && !e.closest('.g-legend')
  && !['plotarea_background', 'plotarea_events', 'domain'].some(c => e.classList.contains(c))
  && (e.tagName !== 'path' || (e.getAttribute('d') || '').length > 2)).length"""
FIGURES = ".jp-OutputArea-output .bqplot.figure"
# The drawing of the figures under a selector: line paths and heat-map/bar cell fills.
DRAWING_JS = """s => [...document.querySelectorAll(s + ' .bqplot svg path.line, ' + s + ' .bqplot svg rect')]
  .filter(e => !e.closest('.axis') && !e.closest('.legend')
          && !['plotarea_background', 'plotarea_events'].some(c => e.classList.contains(c)))
  .map(e => e.tagName === 'path' ? e.getAttribute('d') : (e.getAttribute('x') + ',' + e.style.fill
       + e.getAttribute('fill'))).join('|')"""

# Tracebacks and stderr both render with this MIME type in JupyterLab 4.
STDERR_OUTPUTS = ".jp-OutputArea-output[data-mime-type='application/vnd.jupyter.stderr']"


def free_port() -> int:
    """Ask the OS for a free TCP port on 127.0.0.1."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LabServer:
    """A JupyterLab server of its own, in ``workdir`` (a temp dir), serving a copy of ``notebooks``."""

    def __init__(self, notebooks: Path, workdir: Path, log_path: Path):
        self.root = workdir / "root"
        shutil.copytree(notebooks, self.root / "notebooks",
                        ignore=shutil.ignore_patterns(".ipynb_checkpoints"))
        settings = workdir / "lab-settings" / "@jupyterlab" / "apputils-extension"
        settings.mkdir(parents=True)
        (settings / "notification.jupyterlab-settings").write_text(json.dumps(NOTIFICATION_SETTINGS))
        self.settings_dir = workdir / "lab-settings"
        self.data_dir = workdir / "jupyter-data"  # no stray user kernelspecs: the kernel is this venv's
        self.token = secrets.token_hex(24)
        self.port = free_port()
        self.base = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.proc: subprocess.Popen | None = None

    def url(self, path: str) -> str:
        sep = "&" if "?" in path else "?"
        return f"{self.base}/{path.lstrip('/')}{sep}token={self.token}"

    def start(self, timeout: float = 90.0) -> LabServer:
        env = dict(os.environ, JUPYTERLAB_SETTINGS_DIR=str(self.settings_dir), JUPYTER_DATA_DIR=str(self.data_dir))
        cmd = [sys.executable, "-m", "jupyterlab", "--no-browser", "--allow-root",
               f"--IdentityProvider.token={self.token}", "--ServerApp.password=",
               "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={self.port}", "--ServerApp.port_retries=0",
               "--LabApp.expose_app_in_browser=True", f"--ServerApp.root_dir={self.root}"]
        self._log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        self.proc = subprocess.Popen(cmd, stdout=self._log, stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                self.stop()
                raise RuntimeError(f"JupyterLab exited with {self.proc.returncode}; log: {self.log_path}")
            try:
                with urllib.request.urlopen(self.url("api/status"), timeout=2) as r:
                    if r.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                pass
            time.sleep(0.3)
        self.stop()
        raise RuntimeError(f"JupyterLab did not answer /api/status within {timeout:.0f} s; log: {self.log_path}")

    def stop(self) -> None:
        """SIGTERM the server's process group (server and kernels), SIGKILL it if it lingers."""
        if self.proc is not None and self.proc.poll() is None:
            pgid = os.getpgid(self.proc.pid)
            os.killpg(pgid, signal.SIGTERM)
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                os.killpg(pgid, signal.SIGKILL)
                self.proc.wait(timeout=5)
            # kernels are in the same session; make sure none outlives the server
            try:
                os.killpg(pgid, signal.SIGKILL)
            except ProcessLookupError:
                pass
        if getattr(self, "_log", None):
            self._log.close()


class NotebookPage:
    """One notebook open in JupyterLab, driven through Playwright's sync API."""

    def __init__(self, page, server: LabServer):
        self.page, self.server = page, server

    def open(self, name: str, timeout_ms: int = 90_000) -> NotebookPage:
        self.page.goto(self.server.url(f"lab/tree/notebooks/{name}?reset"))
        self.page.wait_for_function(KERNEL_READY_JS, timeout=timeout_ms)
        return self

    def run_all(self, timeout_ms: int = 120_000) -> NotebookPage:
        self.page.click("li.lm-MenuBar-item:has-text('Run')")
        self.page.click("li.lm-Menu-item[data-command='runmenu:run-all']")
        self.page.wait_for_function(ALL_RUN_JS, timeout=timeout_ms)
        return self

    def error_outputs(self) -> list[str]:
        """Texts of error outputs (tracebacks, anything naming an Error) anywhere in the notebook."""
        texts = self.page.locator(STDERR_OUTPUTS).all_inner_texts()
        return [t for t in texts if "Traceback" in t or "Error" in t]

    def figures_rendered(self, minimum: int = 1, timeout_ms: int = 30_000) -> int:
        """Scroll to every bqplot figure of the outputs and wait until each draws at least one mark.

        Returns how many figures there are; fails (TimeoutError / AssertionError) if fewer than
        ``minimum`` exist or one stays empty.
        """
        figures = self.page.locator(FIGURES)
        n = figures.count()
        assert n >= minimum, f"{n} bqplot figures in the outputs, expected at least {minimum}"
        for i in range(n):
            fig = figures.nth(i)
            fig.scroll_into_view_if_needed()
            handle = fig.element_handle()
            self.page.wait_for_function(f"f => ({FIGURE_MARKS_JS})(f) > 0", arg=handle, timeout=timeout_ms)
        return n

    def show_lab(self, selector: str, lines: int, timeout_ms: int = 60_000):
        """Scroll to the first widget matching ``selector`` and wait until it draws ``lines`` or more lines.

        JupyterLab skips painting off-screen cells and bqplot draws only once displayed, hence the scroll.
        """
        lab = self.page.locator(selector).first
        lab.wait_for(state="attached", timeout=timeout_ms)
        lab.scroll_into_view_if_needed()
        line = f"{selector} .bqplot svg path.line"
        self.page.wait_for_selector(line, state="attached", timeout=timeout_ms)
        self.page.wait_for_function(f"document.querySelectorAll('{line}').length >= {lines}", timeout=30_000)
        return lab

    def data(self, selector: str, attr: str) -> str | None:
        """The ``data-<attr>`` of the first element matching ``selector`` (a view's state in the DOM)."""
        return self.page.locator(selector).first.get_attribute(f"data-{attr}")

    def path_of(self, selector: str) -> str:
        """What the figures under ``selector`` draw: every line's ``d`` and every cell's fill, joined."""
        return self.page.evaluate(f"s => ({DRAWING_JS})(s)", selector)

    def wait_redrawn(self, selector: str, before: str, timeout_ms: int = 30_000) -> str:
        """Wait until the figures under ``selector`` draw something other than ``before``; return it."""
        self.page.wait_for_function(f"([s, d]) => ({DRAWING_JS})(s) !== d", arg=[selector, before],
                                    timeout=timeout_ms)
        return self.path_of(selector)

    def screenshot(self, path: Path) -> Path:
        # JupyterLab skips painting off-screen cells (content-visibility); let a scrolled-to cell paint
        self.page.wait_for_timeout(500)
        self.page.screenshot(path=str(path), full_page=False)
        return path
