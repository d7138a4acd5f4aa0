"""Build the lesson notebooks and the course index from their sources in notebooks/.src/.

Each lesson is written as a plain-text "percent" script (``# %%`` starts a code
cell, ``# %% [markdown]`` a markdown cell whose lines start with ``# ``), which
reviews well in git. jupytext reads it (the ``py:percent`` format, the same
reader as ``jupytext --to notebook``); this script then turns it into
``notebooks/<name>.ipynb``:

* the "Open in Colab" badge is added to the first markdown cell, pointing at
  the notebook's own path in the course repository;
* the Colab set-up cell is inserted as the first code cell;
* cell ids are derived from the notebook name and cell position (stable);
* with ``--execute`` the notebook is run top to bottom (nbclient, python3
  kernel, working directory notebooks/) and saved with its outputs, which
  is what ``pytest --nbval`` later compares against. The widgets' last state
  is saved in the notebook's metadata (so JupyterLab, nbviewer and other static
  pages draw the controls and their output before anything runs), with model
  ids made stable, and the run time is stored in ``metadata.course``;
* every run also rewrites ``notebooks/00_index.ipynb``, the course's start page
  (``make lab`` opens it): one row per built lesson with its title, what it
  teaches and how long it takes to run (measured, from the last ``--execute``)
  and to read.

What a lesson source must provide (``NN_snake_case_name.py``, NN = lesson number):

* the first cell is a markdown cell whose first line is the title,
  ``# Lesson NN — Title`` (the index shows the part after the dash);
* optionally, a jupytext header before the first cell with a one-line description
  for the index (what a learner will be able to do), for example::

      # ---
      # jupyter:
      #   course:
      #     description: derive params and MACs of a convolution; ...
      # ---

  Without it the index shows the first sentence of the title cell's first paragraph.

Usage (``make execute-notebooks`` runs the first form):

    python notebooks/.src/build.py --execute            # all lessons (and the index)
    python notebooks/.src/build.py --execute 01_*       # some lessons (and the index)
    python notebooks/.src/build.py --index              # the index only
    python notebooks/.src/build.py --check              # are the .ipynb in sync with .src/?
"""
from __future__ import annotations

import argparse
import fnmatch
import hashlib
import json
import math
import os
import platform
import re
import sys
import time
from pathlib import Path

import jupytext
import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

SOURCES = Path(__file__).resolve().parent
NOTEBOOKS = SOURCES.parent
INDEX = NOTEBOOKS / "00_index.ipynb"  # "00": first in the file browser, before the lessons
# The public repository learners open in Colab. Forks change this one line and rebuild.
COURSE_REPO = "inception-course/inception-from-1x1-to-xception"
BRANCH = "main"
COLAB_CLONE_DIR = "/content/inception-course"
READING_WORDS_PER_MINUTE = 180  # prose and code, read closely

COLAB_SETUP = f'''\
# Colab set-up. On Google Colab this fetches the course and installs course_utils
# (Colab's own torch and torchvision already satisfy it and are kept). Anywhere else
# it does nothing: `make lab` has installed everything already.
import sys

if "google.colab" in sys.modules:
    import os
    import subprocess

    if not os.path.isdir("{COLAB_CLONE_DIR}"):
        subprocess.run(["git", "clone", "--depth", "1", "https://github.com/{COURSE_REPO}.git",
                        "{COLAB_CLONE_DIR}"], check=True)
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "-e", "{COLAB_CLONE_DIR}"], check=True)
    sys.path.insert(0, "{COLAB_CLONE_DIR}")
    os.chdir("{COLAB_CLONE_DIR}/notebooks")'''


def colab_url(notebook_name: str) -> str:
    return f"https://colab.research.google.com/github/{COURSE_REPO}/blob/{BRANCH}/notebooks/{notebook_name}"


def colab_badge(notebook_name: str) -> str:
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({colab_url(notebook_name)})"


def read_source(source_path: Path) -> nbformat.NotebookNode:
    """The percent script as jupytext reads it: cells, and the header's metadata (if any)."""
    nb = jupytext.read(source_path, fmt="py:percent")
    if not nb.cells or nb.cells[0].cell_type != "markdown":
        raise ValueError(f"{source_path}: the first cell must be the markdown title cell ('# %% [markdown]').")
    return nb


def parse_source(text: str) -> list[tuple[str, str]]:
    """Split a percent-format script into (cell_type, source) pairs (jupytext's reader)."""
    nb = jupytext.reads(text, fmt="py:percent")
    return [(cell.cell_type, cell.source) for cell in nb.cells]


def cell_id(name: str, index: int) -> str:
    return hashlib.sha1(f"{name}:{index}".encode()).hexdigest()[:12]


def build_notebook(source_path: Path) -> nbformat.NotebookNode:
    """The unexecuted notebook for one source file."""
    name = source_path.stem + ".ipynb"
    cells = [(cell.cell_type, cell.source) for cell in read_source(source_path).cells]
    kind, title = cells[0]
    cells[0] = (kind, f"{colab_badge(name)}\n\n{title}")
    cells.insert(1, ("code", COLAB_SETUP))
    nb = new_notebook()
    for index, (kind, text) in enumerate(cells):
        cell = new_markdown_cell(text) if kind == "markdown" else new_code_cell(text)
        cell["id"] = cell_id(source_path.stem, index)
        nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    nb.metadata["colab"] = {"provenance": []}
    return nb


def stable_widget_ids(nb: nbformat.NotebookNode, name: str) -> nbformat.NotebookNode:
    """Replace the random widget model ids by ids derived from the notebook name and creation order.

    nbclient stores each widget's state under its model id (a random uuid per run) and the
    outputs refer to it; with stable ids a re-executed notebook differs only where a state did.
    """
    state = nb.metadata.get("widgets", {}).get("application/vnd.jupyter.widget-state+json", {}).get("state", {})
    if not state:
        return nb
    text = json.dumps(nb)
    for index, model_id in enumerate(list(state)):
        text = text.replace(model_id, hashlib.sha1(f"{name}:widget:{index}".encode()).hexdigest())
    return nbformat.from_dict(json.loads(text))


def execute(nb: nbformat.NotebookNode, name: str = "notebook", timeout: int = 600) -> nbformat.NotebookNode:
    """Run the notebook; keep its outputs and its widgets' last state."""
    from nbclient import NotebookClient

    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}},
        record_timing=False, store_widget_state=True,
    )
    start = time.perf_counter()
    client.execute()
    seconds = time.perf_counter() - start
    # Keep the stored file stable between runs: only what nbval compares, the widget state and the timing vary.
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    nb.metadata["course"] = {
        "run_seconds": round(seconds, 1),
        "load_average": round(os.getloadavg()[0], 1) if hasattr(os, "getloadavg") else None,
        "cpu_count": os.cpu_count(),
        "machine": platform.machine(),
    }
    return stable_widget_ids(nb, name)


def sources(patterns: list[str] | None = None) -> list[Path]:
    found = sorted(SOURCES.glob("[0-9][0-9]_*.py"))
    if patterns:
        found = [p for p in found if any(fnmatch.fnmatch(p.stem, pat.removesuffix(".ipynb")) for pat in patterns)]
    if not found:
        raise SystemExit(f"No notebook sources in {SOURCES} match {patterns or '*'}.")
    return found


# ---------------------------------------------------------------------------------------------
# The course index (notebooks/00_index.ipynb), generated from the lesson sources and the notebooks
# ---------------------------------------------------------------------------------------------

def lesson_title(source_nb: nbformat.NotebookNode) -> str:
    first_line = source_nb.cells[0].source.strip().splitlines()[0].lstrip("# ").strip()
    return re.split(r"\s+[—–-]\s+", first_line, maxsplit=1)[-1]


def lesson_description(source_nb: nbformat.NotebookNode) -> str:
    """The header's ``course.description``, else the first sentence of the title cell's first paragraph."""
    described = source_nb.metadata.get("course", {}).get("description")
    if described:
        return " ".join(str(described).split())
    paragraphs = [p for p in source_nb.cells[0].source.split("\n\n")[1:] if p.strip() and not p.lstrip().startswith("#")]
    if not paragraphs:
        return ""
    text = " ".join(paragraphs[0].split())
    return re.split(r"(?<=[.!?])\s", text, maxsplit=1)[0]


def reading_minutes(source_nb: nbformat.NotebookNode) -> int:
    words = sum(len(cell.source.split()) for cell in source_nb.cells)
    return max(1, round(words / READING_WORDS_PER_MINUTE))


def measured_run(notebook_path: Path) -> dict | None:
    """The run time ``--execute`` stored in the notebook, or None if it was never measured."""
    if not notebook_path.exists():
        return None
    return nbformat.read(notebook_path, as_version=4).metadata.get("course")


def _format_run(run: dict | None) -> str:
    if not run or run.get("run_seconds") is None:
        return "not measured"
    seconds = run["run_seconds"]
    return f"{seconds:.0f} s" if seconds < 100 else f"{seconds / 60:.1f} min"


def build_index() -> nbformat.NotebookNode:
    """The start page: every lesson with a link, what it teaches, run time (measured) and reading time."""
    rows, runs = [], []
    for path in sources():
        if not (NOTEBOOKS / f"{path.stem}.ipynb").exists():
            continue  # a lesson still being written: listed once its notebook is built
        source_nb = read_source(path)
        number = path.stem[:2]
        run = measured_run(NOTEBOOKS / f"{path.stem}.ipynb")
        if run and run.get("run_seconds") is not None:
            runs.append(run)
        rows.append(f"| {number} | [{lesson_title(source_nb)}]({path.stem}.ipynb) | {lesson_description(source_nb)} "
                    f"| {_format_run(run)} | ~{reading_minutes(source_nb)} min |")
    loads = sorted(r["load_average"] for r in runs if r.get("load_average") is not None)
    machine = ""
    if runs:
        cpus = sorted({r.get("cpu_count") for r in runs if r.get("cpu_count")})
        machine = (f" Run times were measured by `make execute-notebooks` on a {'/'.join(map(str, cpus))}-core CPU, no GPU,"
                   f" offline" + (f", with a load average of {loads[0]}" + (f"-{loads[-1]}" if loads[-1] != loads[0] else "") if loads else "")
                   + " (above the core count, other programs were running too: a quiet machine is faster).")
    intro = f"""\
# Inception, from 1x1 to Xception: the course

Welcome. Each lesson below is a notebook that explains, shows and lets you experiment: widgets,
small models trained on a built-in dataset, and exercises that check your answers. Everything runs on a
laptop CPU without internet.

**How to work through a lesson.** Open it from the table (or the file browser on the left), then run its
cells from top to bottom (*Run > Run All Cells*, or Shift+Enter cell by cell). The widgets show their last
saved state until the notebook runs; then they respond to you. Exercises ship unanswered: replace `None`
with your answer and run the cell again. Solutions are in collapsed *Solution* blocks below each exercise.

| # | lesson | you will | run time | reading |
|---|---|---|---:|---:|
""" + "\n".join(rows) + f"""

*Run time*: the whole notebook, top to bottom.{machine} *Reading*: an estimate from the word count
({READING_WORDS_PER_MINUTE} words a minute); the exercises take longer.

More lessons are on the way; the [course README](../README.md) lists the plan, the model zoo with its
measured costs, the shipped checkpoints and the instructor's notes."""
    nb = new_notebook()
    cell = new_markdown_cell(intro)
    cell["id"] = cell_id("index", 0)
    nb.cells.append(cell)
    nb.metadata["kernelspec"] = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    return nb


def write_index() -> None:
    nb = build_index()
    nbformat.validate(nb)
    nbformat.write(nb, INDEX)
    print(f"wrote {INDEX.relative_to(NOTEBOOKS.parent)}")


def _cells(nb: nbformat.NotebookNode) -> list[tuple]:
    return [(c.cell_type, c.source, c.get("id")) for c in nb.cells]


def in_sync(source_path: Path) -> bool:
    """Does notebooks/<name>.ipynb hold exactly the cells its source builds?"""
    target = NOTEBOOKS / (source_path.stem + ".ipynb")
    if not target.exists():
        return False
    return _cells(nbformat.read(target, as_version=4)) == _cells(build_notebook(source_path))


def index_in_sync() -> bool:
    return INDEX.exists() and _cells(nbformat.read(INDEX, as_version=4)) == _cells(build_index())


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("patterns", nargs="*", help="lesson names or globs, e.g. 01_* (default: all)")
    parser.add_argument("--execute", action="store_true", help="run each notebook and store its outputs")
    parser.add_argument("--check", action="store_true", help="exit 1 if a notebook differs from its source")
    parser.add_argument("--index", action="store_true", help="rewrite notebooks/00_index.ipynb only")
    args = parser.parse_args(argv)

    if args.check:
        stale = [p.stem for p in sources(args.patterns) if not in_sync(p)]
        for name in stale:
            print(f"{name}.ipynb is out of date with .src/{name}.py: run `make execute-notebooks NOTEBOOKS={name}`")
        if not index_in_sync():
            stale.append("index")
            print("00_index.ipynb is out of date with the lessons: run `python notebooks/.src/build.py --index`")
        return 1 if stale else 0

    if not args.index:
        for path in sources(args.patterns):
            nb = build_notebook(path)
            target = NOTEBOOKS / (path.stem + ".ipynb")
            if args.execute:
                nb = execute(nb, path.stem)
                print(f"executed {target.name} in {nb.metadata['course']['run_seconds']:.1f} s "
                      f"(load average {nb.metadata['course']['load_average']})")
            nbformat.validate(nb)
            nbformat.write(nb, target)
            print(f"wrote {target.relative_to(NOTEBOOKS.parent)}")
    write_index()
    return 0


if __name__ == "__main__":
    sys.exit(main())
