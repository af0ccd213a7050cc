"""`make app`: voila serves notebooks/00-tour.ipynb as an app; it renders and its widgets respond."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request

import pytest
from jlab import free_port

pytestmark = pytest.mark.browser

TABLE = ".pmulab-truthtable table.pmulab-truth"


@pytest.fixture(scope="module")
def voila(notebooks_dir, artifacts_dir, missing_tool):
    voila_bin = os.path.join(os.path.dirname(sys.executable), "voila")
    if not os.access(voila_bin, os.X_OK):
        missing_tool("voila is not installed (pip install -e '.[test]')")
    port = free_port()
    log = open(artifacts_dir / "voila.log", "w")  # noqa: SIM115 - closed below
    # the same command as `make app`, on a free port
    proc = subprocess.Popen([voila_bin, str(notebooks_dir / "00-tour.ipynb"), "--no-browser", f"--port={port}",
                             "--Voila.ip=127.0.0.1"], stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}/"
    try:
        deadline = time.monotonic() + 60
        while True:  # any HTTP answer (even 404 from voila's API) means the server is listening
            assert proc.poll() is None, "voila exited; see test-artifacts/voila.log"
            assert time.monotonic() < deadline, "voila did not answer within 60 s; see test-artifacts/voila.log"
            try:
                with urllib.request.urlopen(base + "api/kernels", timeout=2):
                    break
            except urllib.error.HTTPError:
                break
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.2)
        yield base
    finally:
        os.killpg(os.getpgid(proc.pid), signal.SIGTERM)
        proc.wait(timeout=15)
        log.close()


def test_voila_app_renders_and_responds(voila, chromium_browser, artifacts_dir):
    context = chromium_browser.new_context(viewport={"width": 1280, "height": 1000})
    page = context.new_page()
    try:
        page.goto(voila, timeout=120_000)
        table = page.locator(TABLE)
        table.wait_for(timeout=120_000)
        assert table.get_attribute("data-pmuserenr") == "0xc"
        page.locator(".pmulab-strip td[data-kind='leak']").first.wait_for(timeout=30_000)
        assert page.locator(".cm-editor").count() == 0  # an app: no code editors
        en = page.locator(".pmulab-truthtable button.widget-toggle-button", has_text="EN").first
        en.click()
        page.wait_for_function(f"document.querySelector(\"{TABLE}\").dataset.pmuserenr === '0xd'", timeout=30_000)
        page.wait_for_timeout(300)
        page.screenshot(path=str(artifacts_dir / "voila-00-tour.png"))
    except Exception:
        page.screenshot(path=str(artifacts_dir / "voila-00-tour-FAILED.png"))
        raise
    finally:
        context.close()
