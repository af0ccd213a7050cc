"""Live: boot real arm64 Linux under QEMU and compare with the model (marker ``oracle``).

Outside CI it is skipped, with the reason, when qemu-system-aarch64 or the oracle's kernel cache
is missing (``make oracle`` sets both up). Under CI=true it sets them up itself (about a minute
the first time) and never skips.
"""

from __future__ import annotations

import os
import shutil

import pytest

from pmulab.oracle import compare
from pmulab.oracle.env import find, setup
from pmulab.oracle.scenarios import scenario
from pmulab.oracle.truths import check, load, run_live

pytestmark = pytest.mark.oracle


@pytest.fixture(scope="module")
def toolchain():
    if os.environ.get("CI") == "true":
        return setup(log=lambda _: None)
    if shutil.which("qemu-system-aarch64") is None:
        pytest.skip("qemu-system-aarch64 is not installed (make oracle installs it)")
    tc = find()
    if tc is None:
        pytest.skip("no oracle kernel in the cache (run make oracle once)")
    return tc


def test_live_kernel_agrees_with_model_and_truth(toolchain):
    names = ["S13", "S16", "S14"]
    live = run_live(toolchain, [scenario(n) for n in names], log=lambda _: None)
    for n in names:
        o = scenario(n)
        result = check(n, {"oplist": o.to_dict(), "records": live[n]["records"]})
        assert result.ok, "\n" + compare.table(n, o.steps, result.mismatches)
        recorded = check(n)  # the same derived observations as the recorded truth
        assert [(c.field, c.kernel) for c in result.cells] == [(c.field, c.kernel) for c in recorded.cells]
        assert live[n]["meta"]["kernel"] == load(n)["kernel"]
