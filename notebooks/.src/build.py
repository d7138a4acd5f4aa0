"""Build the lesson notebooks from their sources in notebooks/.src/ and execute them.

Each lesson is written as a plain-text "percent" script (``# %%`` starts a code
cell, ``# %% [markdown]`` a markdown cell whose lines start with ``# ``), which
reviews well in git. This script turns a source into ``notebooks/<name>.ipynb``:

* the "Open in Colab" badge is added to the first markdown cell, pointing at
  the notebook's own path in the course repository;
* the Colab set-up cell is inserted as the first code cell;
* cell ids are derived from the notebook name and cell position (stable);
* with ``--execute`` the notebook is run top to bottom (nbclient, python3
  kernel, working directory notebooks/) and saved with its outputs, which
  is what ``pytest --nbval`` later compares against.

Usage (``make execute-notebooks`` runs the first form):

    python notebooks/.src/build.py --execute            # all lessons
    python notebooks/.src/build.py --execute 01_*       # some lessons
    python notebooks/.src/build.py --check              # are the .ipynb in sync with .src/?
"""
from __future__ import annotations

import argparse
import fnmatch
import hashlib
import sys
import time
from pathlib import Path

import nbformat
from nbformat.v4 import new_code_cell, new_markdown_cell, new_notebook

SOURCES = Path(__file__).resolve().parent
NOTEBOOKS = SOURCES.parent
# The public repository learners open in Colab. Forks change this one line and rebuild.
COURSE_REPO = "inception-course/inception-from-1x1-to-xception"
BRANCH = "main"
COLAB_CLONE_DIR = "/content/inception-course"

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


def parse_source(text: str) -> list[tuple[str, str]]:
    """Split a percent-format script into (cell_type, source) pairs."""
    cells: list[tuple[str, list[str]]] = []
    for line in text.splitlines():
        if line.startswith("# %%"):
            kind = "markdown" if "[markdown]" in line else "code"
            cells.append((kind, []))
            continue
        if not cells:
            if line.strip():
                raise ValueError("A notebook source must start with a '# %%' cell marker.")
            continue
        kind, lines = cells[-1]
        if kind == "markdown":
            if line.strip() and not line.startswith("#"):
                raise ValueError(f"Markdown lines must start with '# ': {line!r}")
            line = line[2:] if line.startswith("# ") else line[1:]
        lines.append(line)
    return [(kind, "\n".join(lines).strip("\n")) for kind, lines in cells]


def cell_id(name: str, index: int) -> str:
    return hashlib.sha1(f"{name}:{index}".encode()).hexdigest()[:12]


def build_notebook(source_path: Path) -> nbformat.NotebookNode:
    """The unexecuted notebook for one source file."""
    name = source_path.stem + ".ipynb"
    cells = parse_source(source_path.read_text(encoding="utf-8"))
    if not cells or cells[0][0] != "markdown":
        raise ValueError(f"{source_path}: the first cell must be the markdown title cell.")
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


def execute(nb: nbformat.NotebookNode, timeout: int = 600) -> None:
    from nbclient import NotebookClient

    client = NotebookClient(
        nb, timeout=timeout, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOKS)}},
        record_timing=False,
    )
    client.execute()
    # Keep the stored file stable between runs: only what nbval compares varies.
    nb.metadata["language_info"] = {"name": "python", "pygments_lexer": "ipython3"}
    nb.metadata.pop("widgets", None)


def sources(patterns: list[str]) -> list[Path]:
    found = sorted(SOURCES.glob("[0-9][0-9]_*.py"))
    if patterns:
        found = [p for p in found if any(fnmatch.fnmatch(p.stem, pat.removesuffix(".ipynb")) for pat in patterns)]
    if not found:
        raise SystemExit(f"No notebook sources in {SOURCES} match {patterns or '*'}.")
    return found


def in_sync(source_path: Path) -> bool:
    """Does notebooks/<name>.ipynb hold exactly the cells its source builds?"""
    target = NOTEBOOKS / (source_path.stem + ".ipynb")
    if not target.exists():
        return False
    stored = nbformat.read(target, as_version=4)
    built = build_notebook(source_path)
    strip = lambda nb: [(c.cell_type, c.source, c.get("id")) for c in nb.cells]  # noqa: E731
    return strip(stored) == strip(built)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("patterns", nargs="*", help="lesson names or globs, e.g. 01_* (default: all)")
    parser.add_argument("--execute", action="store_true", help="run each notebook and store its outputs")
    parser.add_argument("--check", action="store_true", help="exit 1 if a notebook differs from its source")
    args = parser.parse_args(argv)

    if args.check:
        stale = [p.stem for p in sources(args.patterns) if not in_sync(p)]
        for name in stale:
            print(f"{name}.ipynb is out of date with .src/{name}.py: run `make execute-notebooks NOTEBOOKS={name}`")
        return 1 if stale else 0

    for path in sources(args.patterns):
        nb = build_notebook(path)
        target = NOTEBOOKS / (path.stem + ".ipynb")
        if args.execute:
            start = time.perf_counter()
            execute(nb)
            print(f"executed {target.name} in {time.perf_counter() - start:.1f} s")
        nbformat.validate(nb)
        nbformat.write(nb, target)
        print(f"wrote {target.relative_to(NOTEBOOKS.parent)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
