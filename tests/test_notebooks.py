"""Notebook hygiene: what nbval does not check by itself (see COURSE_PLAN, notebook conventions)."""
import re
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

ROOT = Path(__file__).resolve().parents[1]
NOTEBOOKS = sorted(p for p in (ROOT / "notebooks").glob("[0-9][0-9]_*.ipynb") if not p.name.startswith("00_"))  # 00_index is the start page
sys.path.insert(0, str(ROOT / "notebooks" / ".src"))
import build  # noqa: E402  (notebooks/.src/build.py)


def _code(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


@pytest.fixture(params=NOTEBOOKS, ids=lambda p: p.stem)
def notebook(request):
    path = request.param
    nb = nbformat.read(path, as_version=4)
    return path, nb


def test_valid_with_unique_cell_ids_and_python3_kernel(notebook):
    path, nb = notebook
    nbformat.validate(nb)
    ids = [c.get("id") for c in nb.cells]
    assert all(ids) and len(set(ids)) == len(ids), f"{path.name}: cell ids missing or repeated"
    assert nb.metadata["kernelspec"]["name"] == "python3"
    assert nb.metadata["kernelspec"]["language"] == "python"


def test_every_code_cell_executed_in_order_without_errors_or_stderr(notebook):
    path, nb = notebook
    counts = []
    for cell in _code(nb):
        assert cell.execution_count is not None, f"{path.name}: a code cell was never executed:\n{cell.source[:200]}"
        counts.append(cell.execution_count)
        for out in cell.outputs:
            assert out.output_type != "error", f"{path.name}: stored error output in\n{cell.source[:200]}"
            assert out.get("name") != "stderr", f"{path.name}: stderr output ({out.text[:200]!r}) in\n{cell.source[:200]}"
    assert counts == list(range(1, len(counts) + 1)), f"{path.name}: cells were not run top to bottom once: {counts}"


def test_colab_badge_points_at_own_path_and_setup_cell_first(notebook):
    path, nb = notebook
    first_md = next(c for c in nb.cells if c.cell_type == "markdown")
    assert build.colab_url(path.name) in first_md.source, f"{path.name}: Colab badge missing or pointing elsewhere"
    assert f"notebooks/{path.name}" in first_md.source
    first_code = _code(nb)[0]
    assert 'if "google.colab" in sys.modules' in first_code.source
    installs = [line for line in first_code.source.splitlines() if '"pip", "install"' in line]
    assert installs, "the Colab cell must install course_utils"
    for line in installs:
        assert not re.search(r'"torch(vision)?[">=<]', line), "the Colab cell must not (re)install torch"
        assert build.COLAB_CLONE_DIR in line


def test_listed_in_readme_lesson_index(notebook):
    path, _ = notebook
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    assert f"notebooks/{path.name}" in readme, f"README.md's lesson index does not link {path.name}"


def test_ignore_output_marker_on_at_most_a_quarter_of_code_cells(notebook):
    path, nb = notebook
    code = _code(nb)
    ignored = [c for c in code if "NBVAL_IGNORE_OUTPUT" in c.source]
    assert len(ignored) * 4 <= len(code), f"{path.name}: {len(ignored)} of {len(code)} code cells ignore their output"
    assert not [c for c in code if "NBVAL_SKIP" in c.source], f"{path.name}: NBVAL_SKIP hides a cell from the tests"


def test_lesson_structure_goals_exercises_solutions_summary(notebook):
    path, nb = notebook
    text = "\n".join(c.source for c in nb.cells if c.cell_type == "markdown")
    assert "Learning goals" in text, f"{path.name}: no learning goals"
    assert re.search(r"^## Summary", text, re.M), f"{path.name}: no summary section"
    assert re.search(r"arxiv\.org/abs/\d{4}\.\d{4,5}", text), f"{path.name}: no paper link"
    checks = [c for c in _code(nb) if re.search(r"lesson\d\d\.check_\w+\(", c.source)]
    assert len(checks) >= 3, f"{path.name}: at least three checked exercises, found {len(checks)}"
    solutions = text.count("<details><summary>Solution</summary>")
    assert solutions >= len(checks), f"{path.name}: {len(checks)} exercises but {solutions} collapsed solutions"
    for cell in checks:  # exercises ship unanswered
        assert re.search(r"answer_\w+ = None", cell.source), f"{path.name}: exercise cell already answered:\n{cell.source}"


def test_notebooks_in_sync_with_their_sources():
    result = subprocess.run([sys.executable, str(ROOT / "notebooks" / ".src" / "build.py"), "--check"],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_source_has_a_notebook():
    sources = {p.stem for p in (ROOT / "notebooks" / ".src").glob("[0-9][0-9]_*.py")}
    assert sources == {p.stem for p in NOTEBOOKS}


WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def test_widget_state_saved_for_every_widget_shown(notebook):
    """A static page or a just-opened notebook draws the widgets from their saved state (build.py --execute)."""
    path, nb = notebook
    views = [out["data"][WIDGET_VIEW]["model_id"] for cell in _code(nb) for out in cell.outputs
             if WIDGET_VIEW in out.get("data", {})]
    state = nb.metadata.get("widgets", {}).get(WIDGET_STATE, {}).get("state", {})
    missing = [model_id for model_id in views if model_id not in state]
    assert not missing, f"{path.name}: widget state not saved for {len(missing)} widget(s): run `make execute-notebooks`"
    for model_id in views:  # the front end restores the whole tree from the view's model
        assert state[model_id]["model_name"].endswith("Model")


def test_index_links_every_lesson_with_a_measured_run_time():
    index = nbformat.read(ROOT / "notebooks" / "00_index.ipynb", as_version=4)
    text = "\n".join(c.source for c in index.cells)
    assert not _code(index), "the index is a page to read: no code cells"
    for path in NOTEBOOKS:
        row = next((line for line in text.splitlines() if f"]({path.name})" in line), None)
        assert row, f"00_index.ipynb does not link {path.name}: run `python notebooks/.src/build.py --index`"
        assert re.search(r"\| \d+(\.\d)? (s|min) \|", row), f"00_index.ipynb: no measured run time for {path.name}"


def test_exercise_checks_print_once_and_show_no_return_value(notebook):
    """A check prints its verdict and returns None: no stray True/False under it (see the lesson contract)."""
    path, nb = notebook
    for cell in _code(nb):
        if re.search(r"lesson\d\d\.check_\w+\(", cell.source):
            results = [out for out in cell.outputs if out.output_type == "execute_result"]
            assert not results, f"{path.name}: an exercise check shows a return value:\n{cell.source[:200]}"
            printed = "".join(out.get("text", "") for out in cell.outputs if out.get("name") == "stdout")
            assert printed.count("\n") == 1, f"{path.name}: a check should print one line:\n{printed}"
