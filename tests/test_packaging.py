"""The two commands and the three install routes stay in agreement."""
import re
import subprocess
import sys
from pathlib import Path

import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

ROOT = Path(__file__).resolve().parents[1]
CONDA_NAMES = {"torch": "pytorch"}  # PyPI name -> conda-forge name where they differ


def _name(requirement: str) -> str:
    return re.split(r"[<>=!~;\[ ]", requirement, maxsplit=1)[0].strip().lower()


def _pyproject():
    return tomllib.loads((ROOT / "pyproject.toml").read_text())


def test_environment_yml_mirrors_pyproject():
    project = _pyproject()["project"]
    extras = project["optional-dependencies"]
    pip_names = {_name(r) for r in project["dependencies"] + extras["lab"] + extras["test"]
                 if "python_version" not in r}
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    assert env["channels"] == ["conda-forge"]
    conda = {}
    for dep in env["dependencies"]:
        if isinstance(dep, str) and _name(dep) not in ("python", "pip"):
            conda[_name(dep)] = dep
    assert {CONDA_NAMES.get(n, n) for n in pip_names} == set(conda), "environment.yml and pyproject.toml list different packages"
    for req in project["dependencies"] + extras["lab"] + extras["test"]:
        if "python_version" in req:  # back-ports for old Pythons; conda pins python instead
            continue
        lower = re.search(r">=\s*([\d.]+)", req)
        if lower:
            assert f">={lower.group(1)}" in conda[CONDA_NAMES.get(_name(req), _name(req))], f"lower bound of {req} differs"


def test_constraints_pin_every_dependency_exactly():
    project = _pyproject()["project"]
    extras = project["optional-dependencies"]
    pins = {}
    for line in (ROOT / ".ci" / "constraints.txt").read_text().splitlines():
        if line and not line.startswith("#"):
            name, _, version = line.partition("==")
            assert version, f"constraint {line!r} is not an exact pin"
            pins[name.lower().replace("_", "-")] = version
    for req in project["dependencies"] + extras["lab"] + extras["test"]:
        if "python_version" in req:
            continue
        assert _name(req).replace("_", "-") in pins, f"{req} has no pin in .ci/constraints.txt"
    assert pins["torch"] == "2.14.1" and pins["torchvision"] == "0.29.1"


def test_dependencies_use_open_ranges():
    project = _pyproject()["project"]
    for req in project["dependencies"]:
        assert "==" not in req, f"{req}: pyproject keeps open ranges; exact pins belong in .ci/constraints.txt"


def test_make_targets_and_ci_entry():
    makefile = (ROOT / "Makefile").read_text()
    for target in ("lab:", "test:", "execute-notebooks:", "benchmarks:"):
        assert re.search(rf"^{target}", makefile, re.M), f"Makefile lacks {target}"
    assert "-c $(CONSTRAINTS)" in makefile and "--nbval" in makefile
    ci = (ROOT / ".ci" / "run").read_text()
    assert "make test" in ci


def test_the_package_docstring_lists_the_modules_that_exist():
    import course_utils

    listed = set(re.findall(r"^\* ``(\w+)``", course_utils.__doc__, re.M))
    # The committed modules (a module still being written, not yet in git, is not held against the list).
    tracked = subprocess.run(["git", "ls-files", "course_utils"], cwd=ROOT, capture_output=True, text=True).stdout
    files = [Path(f) for f in tracked.split()] or [p.relative_to(ROOT) for p in (ROOT / "course_utils").rglob("*.py")]
    modules = {f.stem for f in files if len(f.parts) == 2 and f.suffix == ".py" and f.stem != "__init__"}
    modules |= {f.parts[1] for f in files if len(f.parts) == 3 and f.name == "__init__.py"}
    assert listed == modules, f"course_utils/__init__.py: add {sorted(modules - listed)}, drop {sorted(listed - modules)}"
