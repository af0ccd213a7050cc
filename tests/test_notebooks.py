"""Notebook hygiene: every notebooks/*.ipynb is stored clean and holds narrative plus calls only.

Logic belongs in the pmulab package, where it is tested and linted; a notebook code cell may
import, assign, call, display a name and assert. The notebooks themselves are executed by
nbval (``pytest --nbval-lax --nbval-current-env notebooks``) and in a browser (tests/browser).
"""

from __future__ import annotations

import ast
import json
from pathlib import Path

import pytest

NOTEBOOKS = sorted((Path(__file__).resolve().parent.parent / "notebooks").glob("*.ipynb"))

# Statements a cell may contain, and expressions that are logic rather than a call.
ALLOWED_STATEMENTS = (ast.Import, ast.ImportFrom, ast.Assign, ast.AnnAssign, ast.Expr, ast.Assert)
FORBIDDEN_EXPRESSIONS = (ast.Lambda, ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp, ast.IfExp,
                         ast.NamedExpr, ast.Await, ast.Yield, ast.YieldFrom)


def test_there_are_notebooks():
    assert NOTEBOOKS, "notebooks/ holds no .ipynb"


def load(path: Path) -> dict:
    return json.loads(path.read_text(encoding="utf-8"))


def source(cell: dict) -> str:
    src = cell.get("source", "")
    return "".join(src) if isinstance(src, list) else src


#: The one exception (design studio, notebook 13): a cell tagged "studio-exercise" is the student's
#: editor and may define a Design subclass (class and def statements, with any body).
STUDIO_TAG = "studio-exercise"


def studio_exercise(cell: dict) -> bool:
    return STUDIO_TAG in cell.get("metadata", {}).get("tags", [])


def logic_in(code: str, exercise: bool = False) -> list[str]:
    """Describe every construct of ``code`` that is more than import/assign/call/assert
    (plus class/def statements when ``exercise``: a studio-exercise cell)."""
    tree = ast.parse(code)
    if exercise:
        tree.body = [s for s in tree.body if not isinstance(s, (ast.ClassDef, ast.FunctionDef))]
    found = [f"line {s.lineno}: {type(s).__name__} statement" for s in tree.body
             if not isinstance(s, ALLOWED_STATEMENTS)]
    found += [f"line {n.lineno}: {type(n).__name__}" for n in ast.walk(tree) if isinstance(n, FORBIDDEN_EXPRESSIONS)]
    return found


def test_logic_detector_rejects_what_it_should():
    assert logic_in("import numpy as np\nx = f(1, k=2)\nx\nassert x == 3\nv.update(4)") == []
    for bad in ("def f():\n    pass", "class A:\n    pass", "for i in x:\n    f(i)", "while x:\n    f()",
                "if x:\n    f()", "try:\n    f()\nexcept E:\n    pass", "g = lambda: 1",
                "y = [i for i in x]", "with f():\n    pass", "x += 1"):
        assert logic_in(bad), bad
    assert logic_in("class A(B):\n    def f(self):\n        return [i for i in x]", exercise=True) == []
    assert logic_in("for i in x:\n    f(i)", exercise=True)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
class TestNotebook:
    def test_valid_nbformat_4(self, path):
        nb = load(path)
        assert nb.get("nbformat") == 4
        assert isinstance(nb.get("cells"), list) and nb["cells"]
        assert {c["cell_type"] for c in nb["cells"]} <= {"markdown", "code"}

    def test_stored_without_outputs(self, path):
        for i, cell in enumerate(load(path)["cells"]):
            if cell["cell_type"] == "code":
                assert cell.get("outputs") == [], f"cell {i} has stored outputs"
                assert cell.get("execution_count") is None, f"cell {i} has an execution count"

    def test_no_widget_state_in_metadata(self, path):
        assert "widgets" not in load(path).get("metadata", {})

    def test_first_cell_is_a_markdown_title(self, path):
        first = load(path)["cells"][0]
        assert first["cell_type"] == "markdown"
        assert source(first).lstrip().startswith("# "), "the first cell must start with a '# ' title"

    def test_code_cells_only_import_assign_call_assert(self, path):
        problems = []
        for i, cell in enumerate(load(path)["cells"]):
            if cell["cell_type"] == "code":
                problems += [f"cell {i}, {p}" for p in logic_in(source(cell), studio_exercise(cell))]
        assert not problems, "logic belongs in pmulab, not in notebook cells:\n" + "\n".join(problems)

    def test_has_assert_cells(self, path):
        codes = [ast.parse(source(c)) for c in load(path)["cells"] if c["cell_type"] == "code"]
        assert any(isinstance(s, ast.Assert) for tree in codes for s in tree.body), "no assert cell checks the text"

    def test_cells_have_ids(self, path):
        nb = load(path)
        assert (nb["nbformat"], nb["nbformat_minor"]) >= (4, 5)
        ids = [c.get("id") for c in nb["cells"]]
        assert all(ids) and len(set(ids)) == len(ids), "every cell needs a unique id (nbformat 4.5)"

    def test_has_the_house_shape(self, path):
        text = "\n".join(source(c) for c in load(path)["cells"] if c["cell_type"] == "markdown")
        assert "What this notebook answers" in text, "say under the title which review point it answers"
        assert "What to try" in text, "each widget needs a 'What to try' list"
