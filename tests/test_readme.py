"""The README's Python examples run, and print what their comments say they print."""

import contextlib
import io
import re
from pathlib import Path

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
BLOCKS = re.findall(r"```python\n(.*?)```", README.read_text(), re.S)


def _claims(block: str) -> list[str]:
    """What each commented ``print(...)`` line claims: the comment up to '...' or up to ': '."""
    out = []
    for line in block.splitlines():
        m = re.match(r"\s*print\(.*\)\s+#\s*(.+)$", line)
        if m:
            claim = m.group(1).split("...")[0].rstrip(" ;(")
            out.append(claim if "..." in m.group(1) else claim.split(": ")[0])
    return out


@pytest.mark.parametrize("block", BLOCKS, ids=[f"block{i}" for i in range(len(BLOCKS))])
def test_readme_example_prints_what_it_claims(block):
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        exec(compile(block, str(README), "exec"), {})
    printed = buf.getvalue().splitlines()
    claims = _claims(block)
    assert claims
    for got, want in zip(printed, claims, strict=True):
        assert got.startswith(want), (got, want)


def test_readme_has_examples():
    assert len(BLOCKS) >= 2
