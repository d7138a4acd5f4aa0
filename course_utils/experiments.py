"""Stored experiments: train once with a script, read the result in the lesson (lessons 02-08).

A lesson never makes a learner wait for training. Instead, a script in
``benchmarks/`` (for example ``benchmarks/exp_aux_heads.py``) runs every arm of an
experiment for several seeds through :func:`run_experiment`, which writes
``data/results/<name>.json``: every run's metrics and curves, the recipe, wall
times and the machine it ran on. The notebook then loads that file with
:func:`load_result`, plots it with :func:`plot_curves` and states the effect with
its spread (:func:`summarize`, :func:`paired_difference`). Its ``RETRAIN``
switch calls the same function with the same recipe.

What one run returns is up to the experiment: a dict of JSON-ready values, by
convention scalars (``"test_acc": 0.95``) and per-epoch lists
(``"val_acc": [0.4, 0.8, 0.9]``). The stored file is never edited by hand; a
test reruns one short seed and checks that the result keeps the same shape
(:func:`same_shape`).

The layout of a result file::

    {"name": ..., "description": ..., "recipe": {...}, "seeds": [0, 1, 2],
     "arms": {"with aux": [{"seed": 0, "wall_s": 81.2, "test_acc": 0.96, "val_acc": [...]}, ...], ...},
     "machine": {...}, "created": "2026-11-25T21:40:00+00:00", "total_wall_s": ...}
"""
from __future__ import annotations

import argparse
import importlib.util
import json
import math
import os
import platform
import statistics
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timezone
from pathlib import Path
from types import ModuleType
from typing import Any, NamedTuple

import torch

from .paths import data_dir

#: Student's t quantile t(0.975, df), for 95% confidence intervals of a mean from a few seeds.
T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262,
         10: 2.228, 15: 2.131, 20: 2.086, 30: 2.042}


class ExperimentError(RuntimeError):
    """A stored experiment is missing, unreadable or not shaped as expected."""


def results_dir() -> Path:
    """``data/results/``, where stored experiments live (created on demand)."""
    path = data_dir() / "results"
    path.mkdir(parents=True, exist_ok=True)
    return path


def result_path(name: str) -> Path:
    if not isinstance(name, str) or not name or not name.replace("_", "").replace("-", "").isalnum():
        raise ValueError(f"An experiment name is letters, digits, '_' and '-', got {name!r}.")
    return results_dir() / f"{name}.json"


def benchmark_script(name: str) -> ModuleType:
    """The script ``benchmarks/<name>.py`` as a module, e.g. ``benchmark_script("exp_transfer").run()``.

    What a lesson's ``RETRAIN = True`` switch and the short rerun tests call: the stored
    experiment is rerun by the very code that wrote it. The scripts live in the course's
    repository (not in an installed package), so outside a checkout this says where to get them.
    """
    from .paths import REPO_ROOT

    if not isinstance(name, str) or not name.replace("_", "").isalnum():
        raise ValueError(f"name must be a script name such as 'exp_transfer', got {name!r}.")
    path = REPO_ROOT / "benchmarks" / f"{name}.py"
    if not path.is_file():
        found = sorted(p.stem for p in (REPO_ROOT / "benchmarks").glob("*.py"))
        raise ExperimentError(
            f"No script {path}. " + (f"Scripts here: {', '.join(found)}." if found else
                                     "The benchmarks/ folder is part of the course repository; clone it to rerun.")
        )
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pickling look a module up by name
    spec.loader.exec_module(module)
    return module


def machine_facts() -> dict[str, Any]:
    """What a measurement ran on: CPU, threads, torch version, device and the 1-minute load average.

    A load average near the number of cores means the machine was busy with this
    work alone; more means other programs slowed it down.
    """
    facts: dict[str, Any] = {
        "machine": platform.machine(),
        "cpu": platform.processor() or platform.machine(),
        "cpu_count": os.cpu_count(),
        "torch_threads": torch.get_num_threads(),
        "torch": torch.__version__,
        "python": platform.python_version(),
        "cuda": torch.cuda.get_device_name(0) if torch.cuda.is_available() else None,
    }
    try:
        facts["load_average_1min"] = round(os.getloadavg()[0], 2)
    except (AttributeError, OSError):  # Windows has no load average
        facts["load_average_1min"] = None
    return facts


def _jsonable(value: Any) -> Any:
    """Plain JSON types: tensors and numpy scalars become numbers/lists, tuples lists."""
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, torch.Tensor):
        return _jsonable(value.tolist())
    if hasattr(value, "item") and callable(value.item) and getattr(value, "ndim", 1) == 0:
        return value.item()
    if isinstance(value, float) and not math.isfinite(value):
        return None if math.isnan(value) else (1e308 if value > 0 else -1e308)
    return value


def run_experiment(
    name: str,
    run: Callable[..., Mapping[str, Any]],
    arms: Mapping[str, Mapping[str, Any]],
    seeds: Sequence[int],
    recipe: Mapping[str, Any],
    description: str = "",
    save: bool = True,
    progress: bool = True,
) -> dict[str, Any]:
    """Run ``run(seed=s, **recipe, **arm_kwargs)`` for every arm and seed; store and return the result.

    Args:
        name: the file name under ``data/results/`` (without ``.json``).
        run: trains one model and returns its metrics (scalars and per-epoch lists).
        arms: arm label -> the keyword arguments that make that arm differ
            (e.g. ``{"with aux": {"aux_logits": True}, "without aux": {"aux_logits": False}}``).
        seeds: the seeds; every arm runs with every seed, seeds in the outer loop so
            that a slow moment of the machine hits both arms of a pair alike.
        recipe: what every run shares (epochs, learning rate, ...), stored with the result.
        description: one or two sentences saying what is compared and why.
        save: write ``data/results/<name>.json`` (atomically); False for a dry run.
        progress: print one line per finished run.
    """
    if not arms:
        raise ValueError("arms must name at least one arm, e.g. {'baseline': {}}.")
    if not seeds:
        raise ValueError("seeds must list at least one seed; use three or more for a spread.")
    result: dict[str, Any] = {
        "name": name,
        "description": description,
        "recipe": _jsonable(dict(recipe)),
        "seeds": [int(s) for s in seeds],
        "arm_kwargs": _jsonable({label: dict(kwargs) for label, kwargs in arms.items()}),
        "arms": {label: [] for label in arms},
        "machine": machine_facts(),
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    start = time.perf_counter()
    for seed in seeds:
        for label, kwargs in arms.items():
            t0 = time.perf_counter()
            metrics = dict(run(seed=int(seed), **{**recipe, **kwargs}))
            wall = time.perf_counter() - t0
            entry = {"seed": int(seed), "wall_s": round(wall, 2), **_jsonable(metrics)}
            result["arms"][label].append(entry)
            if progress:
                shown = ", ".join(f"{k}={v:.4g}" for k, v in entry.items()
                                  if k not in ("seed", "wall_s") and isinstance(v, (int, float)))
                print(f"[{name}] {label}, seed {seed}: {shown} ({wall:.0f} s)", flush=True)
    result["total_wall_s"] = round(time.perf_counter() - start, 1)
    result["machine_after"] = {"load_average_1min": machine_facts()["load_average_1min"]}
    if save:
        write_result(result)
    return result


def experiment_runner(
    name: str,
    train: Callable[..., Mapping[str, Any]],
    arms: Mapping[str, Mapping[str, Any]],
    seeds: Sequence[int],
    recipe: Mapping[str, Any],
    description: str = "",
) -> Callable[..., dict[str, Any]]:
    """The ``run`` function of a ``benchmarks/exp_*.py`` script.

    ``run(seeds=seeds, save=True, progress=True, **recipe_changes)`` runs every arm and seed of
    ``train`` through :func:`run_experiment` with ``recipe`` updated by ``recipe_changes`` (short
    reruns in the tests, ``RETRAIN = True`` in a lesson, the script's command line) and
    writes ``data/results/<name>.json`` when ``save``.
    """
    def run(seeds: Sequence[int] = seeds, save: bool = True, progress: bool = True,
            **recipe_changes) -> dict[str, Any]:
        return run_experiment(name, train, arms, seeds, {**recipe, **recipe_changes},
                              description=description, save=save, progress=progress)

    run.__doc__ = f"Every arm x seed through ``run_experiment``; writes ``data/results/{name}.json`` when ``save``."
    return run


def write_result(result: Mapping[str, Any]) -> Path:
    """Write ``result`` to ``data/results/<result['name']>.json`` atomically (never half a file)."""
    path = result_path(result["name"])
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(_jsonable(dict(result)), f, indent=1)
            f.write("\n")
        os.chmod(tmp, 0o644)  # mkstemp makes the file private; a result is for everyone to read
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return path


def load_result(name: str) -> dict[str, Any]:
    """The stored experiment ``data/results/<name>.json``, with a clear error if it is missing or damaged."""
    path = result_path(name)
    if not path.exists():
        raise ExperimentError(
            f"No stored experiment {name!r} at {path}. Run the script in benchmarks/ that writes it "
            "(its name starts with exp_), or set RETRAIN = True in the lesson to run it here."
        )
    try:
        result = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError) as exc:
        raise ExperimentError(f"The stored experiment {path} cannot be read ({exc}); restore it with git.") from exc
    if not isinstance(result, dict) or not isinstance(result.get("arms"), dict):
        raise ExperimentError(f"{path} is not a stored experiment (no 'arms'); restore it with git.")
    return result


def metric(result: Mapping[str, Any], arm: str, key: str) -> list:
    """One metric of every seed of ``arm``, in seed order (a list of scalars or of curves)."""
    arms = result["arms"]
    if arm not in arms:
        raise KeyError(f"No arm {arm!r} in experiment {result.get('name')!r}; arms: {', '.join(arms)}.")
    runs = arms[arm]
    missing = [r["seed"] for r in runs if key not in r]
    if missing:
        keys = sorted(k for k in runs[0] if k not in ("seed",)) if runs else []
        raise KeyError(f"Metric {key!r} missing for seeds {missing} of arm {arm!r}; metrics: {', '.join(keys)}.")
    return [r[key] for r in runs]


class Summary(NamedTuple):
    """Mean, sample standard deviation, 95% confidence half-width of the mean, and n."""

    mean: float
    std: float
    ci95: float
    n: int

    def __str__(self) -> str:
        return f"{self.mean:.4g} +- {self.std:.2g} (n={self.n})"


def _t975(df: int) -> float:
    if df < 1:
        return math.nan
    known = max(k for k in T_975 if k <= df)
    return T_975[known] if df <= 30 else 1.96


def summarize(values: Sequence[float]) -> Summary:
    """Mean and spread of one number over seeds (std and CI need at least two values)."""
    values = [float(v) for v in values]
    if not values:
        raise ValueError("summarize needs at least one value.")
    n = len(values)
    mean = statistics.fmean(values)
    std = statistics.stdev(values) if n > 1 else math.nan
    return Summary(mean, std, _t975(n - 1) * std / math.sqrt(n) if n > 1 else math.nan, n)


class PairedDifference(NamedTuple):
    """``a - b`` paired by seed: mean, std, the 95% interval (Student's t) and the per-seed differences."""

    mean: float
    std: float
    low: float
    high: float
    differences: list[float]

    @property
    def excludes_zero(self) -> bool:
        """True when the 95% interval lies entirely on one side of zero."""
        return self.low > 0 or self.high < 0


def paired_difference(a: Sequence[float], b: Sequence[float]) -> PairedDifference:
    """Difference ``a - b`` of two arms run with the same seeds, with a 95% confidence interval."""
    if len(a) != len(b) or len(a) < 2:
        raise ValueError(f"paired_difference needs two equally long lists of at least 2 values, got {len(a)} and {len(b)}.")
    diffs = [float(x) - float(y) for x, y in zip(a, b)]
    s = summarize(diffs)
    return PairedDifference(s.mean, s.std, s.mean - s.ci95, s.mean + s.ci95, diffs)


def same_shape(stored: Mapping[str, Any], rerun: Mapping[str, Any]) -> list[str]:
    """What differs in structure between a stored result and a rerun (empty list: same shape).

    Compares the arms and, per run, the metric names and which are curves
    (lists) or scalars; the curves' lengths may differ (a short rerun trains
    fewer epochs).
    """
    problems = []
    if set(stored["arms"]) != set(rerun["arms"]):
        problems.append(f"arms differ: {sorted(stored['arms'])} vs {sorted(rerun['arms'])}")
        return problems
    for arm in stored["arms"]:
        if not stored["arms"][arm] or not rerun["arms"][arm]:
            problems.append(f"arm {arm!r} has no runs")
            continue
        s_run, r_run = stored["arms"][arm][0], rerun["arms"][arm][0]
        if set(s_run) != set(r_run):
            problems.append(f"arm {arm!r}: metrics differ: {sorted(set(s_run) ^ set(r_run))}")
            continue
        for key in s_run:
            if isinstance(s_run[key], list) != isinstance(r_run[key], list):
                problems.append(f"arm {arm!r}: {key!r} is a list in one and not the other")
    return problems


def plot_curves(
    result: Mapping[str, Any],
    key: str,
    ax=None,
    arms: Sequence[str] | None = None,
    x_key: str | None = None,
    ylabel: str | None = None,
    colors: Mapping[str, str] | None = None,
    show_runs: bool = True,
):
    """Per-epoch curve ``key`` of each arm: the mean over seeds as a line, min-max as a band.

    With ``show_runs`` every seed is drawn thinly, so a diverging run is seen,
    not averaged away. Non-finite values (a run that diverged) are left out of
    the mean and band. Returns the Axes.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    if ax is None:
        _, ax = plt.subplots(figsize=(5.5, 3.4))
    for i, arm in enumerate(arms or list(result["arms"])):
        curves = metric(result, arm, key)
        length = max(len(c) for c in curves)
        data = np.full((len(curves), length), np.nan)
        for row, curve in enumerate(curves):
            data[row, : len(curve)] = [np.nan if v is None else v for v in curve]
        xs = np.asarray(metric(result, arm, x_key)[0]) if x_key else np.arange(1, length + 1)
        color = (colors or {}).get(arm, f"C{i}")
        with np.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # an epoch where every seed diverged: no mean
            finite = np.where(np.isfinite(data), data, np.nan)
            mean = np.nanmean(finite, axis=0) if np.isfinite(finite).any() else np.full(length, np.nan)
            low, high = np.nanmin(finite, axis=0), np.nanmax(finite, axis=0)
        ax.plot(xs[: len(mean)], mean, "-o", color=color, label=f"{arm} (mean of {len(curves)})", markersize=3)
        ax.fill_between(xs[: len(mean)], low, high, color=color, alpha=0.18, linewidth=0)
        if show_runs:
            for row in data:
                ax.plot(xs[: len(row)], row, "-", color=color, alpha=0.35, linewidth=0.8)
    ax.set_xlabel(x_key or "epoch")
    ax.set_ylabel(ylabel or key)
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    return ax


def paired_line(result: Mapping[str, Any], arm: str, baseline: str, key: str = "test_acc", label: str = "") -> str:
    """One line: ``arm - baseline`` on ``key`` paired by seed, in points with its 95% interval."""
    d = paired_difference(metric(result, arm, key), metric(result, baseline, key))
    return (f"{arm} - {baseline}{f' ({label})' if label else ''}, paired by seed: {100 * d.mean:+.2f} points, "
            f"95% CI [{100 * d.low:+.2f}, {100 * d.high:+.2f}]")


def totals_line(result: Mapping[str, Any]) -> str:
    """The whole experiment's wall time and the machine's load before and after it."""
    return (f"total {result['total_wall_s']:.0f} s; load average {result['machine']['load_average_1min']} "
            f"-> {result['machine_after']['load_average_1min']}")


#: The recipe overrides every experiment script offers for a quick dry run (option -> type, help).
DRY_RUN_OVERRIDES: dict[str, tuple[type, str]] = {
    "epochs": (int, "override the recipe's epochs (dry runs)"),
    "train_images": (int, "train on the first n images (dry runs)"),
    "val_images": (int, "validate on the first n images (dry runs)"),
    "test_images": (int, "test on the first n images (dry runs)"),
}


def command_line(
    doc: str | None,
    name: str,
    seeds: Sequence[int],
    run: Callable[..., Mapping[str, Any]],
    report: Callable[[Mapping[str, Any]], str],
    argv: list[str] | None = None,
    threads: int = 2,
    overrides: Mapping[str, tuple[type, str]] = DRY_RUN_OVERRIDES,
) -> int:
    """The command line every ``benchmarks/exp_*.py`` script shares.

    ``--seeds``, ``--threads``, one option per recipe override (``--epochs``,
    ``--train-images``...) and ``--dry-run``; then ``run(seeds, save=..., **overrides)``
    and the printed ``report`` with the wall time and load average.
    """
    parser = argparse.ArgumentParser(description=doc, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(seeds))
    parser.add_argument("--threads", type=int, default=threads,
                        help="torch CPU threads (the course measures with 2; 1 is affordable on a busy machine)")
    for key, (kind, text) in overrides.items():
        parser.add_argument("--" + key.replace("_", "-"), type=kind, default=None, help=text)
    parser.add_argument("--dry-run", action="store_true", help=f"do not write data/results/{name}.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    changes = {key: getattr(args, key) for key in overrides if getattr(args, key)}
    result = run(args.seeds, save=not args.dry_run, **changes)
    print(report(result))
    print(totals_line(result))
    return 0
