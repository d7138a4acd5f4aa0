"""Latency of the eight full-size Inception models, eager and with BN folded, in one interleaved run (lesson 08).

Runs :func:`course_utils.family.measure_family_latency`: every model at its own input size
(224 or 299, batch 1), random weights, eval mode, eager and BN-folded
(``fuse_for_inference``: also channels_last), the sixteen variants taking turns pass by pass
in an order that shifts each round, so a busy moment of a shared machine slows all alike.
Writes ``data/results/family_latency.json`` (``family_latency_cuda.json`` on a GPU), which
``course_utils.family.family_table()`` and lesson 08 read, and prints a table: model, GMACs,
median ms eager and folded with their quartiles (min and max are stored), folded / eager (median of the
per-round ratios, paired), achieved GMAC/s.

Budgets (exit status 1 when one is missed; a dry run checks none):

* folded / eager <= 1.10 for every model (paired median): folding BN must never make a
  model noticeably slower; on the CPU it is expected to make each one faster;
* the whole run within the wall budget (CPU 420 s, CUDA 120 s): a round (16 passes) takes about
  1.8 s on a quiet 2-core CPU at 2 threads (rounds 40-100 of the stored run, once other jobs had
  stopped), so the default 100 rounds take about 3 minutes there; its first 40 rounds, next to
  training jobs, took 3-35 s each. An H200 ran 30 rounds with float16 autocast in 14 s.

On a GPU, batch 1 is bound by kernel launches, not arithmetic: on one H200 (torch 2.11,
2026-11-26) every model took 3-15 ms in float32 and *longer* under ``--amp`` (Inception-v4
10.1 vs 12.3 ms eager; autocast adds a cast per op), folding still saved 10-27%. Use
``--batch-size`` to see the arithmetic.

Usage::

    python benchmarks/bench_family.py                       # CPU, 2 threads, 100 rounds
    python benchmarks/bench_family.py --device cuda --amp   # a GPU, float16 autocast
    python benchmarks/bench_family.py --dry-run             # two minis, one round, nothing written
"""
from __future__ import annotations

import argparse
import json
import sys
import time
from pathlib import Path

import torch

from course_utils.experiments import write_result
from course_utils.family import FAMILY, measure_family_latency

FOLDED_BUDGET = 1.10  # folded / eager, paired median, every model
WALL_BUDGET_S = {"cpu": 420.0, "cuda": 120.0}
DRY_RUN_MODELS = ("mini_googlenet", "mini_xception")


def table(result: dict) -> str:
    """The printed table: one line per model."""
    batch = result["recipe"]["batch_size"]
    head = (f"{'model':<22}{'GMACs':>7}{'eager ms (q1-q3)':>24}{'folded ms (q1-q3)':>24}{'folded/eager':>13}"
            f"{'GMAC/s eager':>13}{'folded':>8}")
    lines = [head, "-" * len(head)]
    for name, info in result["models"].items():
        e, f = result["arms"]["eager"][name], result["arms"]["folded"][name]
        gmacs = info["macs"] / 1e9
        lines.append(
            f"{name:<22}{gmacs:>7.2f}"
            f"{e['median_ms']:>9.1f} ({e['q1_ms']:>6.1f}-{e['q3_ms']:>6.1f})"
            f"{f['median_ms']:>9.1f} ({f['q1_ms']:>6.1f}-{f['q3_ms']:>6.1f})"
            f"{info['folded_over_eager']:>13.2f}"
            f"{batch * gmacs / (e['median_ms'] / 1e3):>13.1f}{batch * gmacs / (f['median_ms'] / 1e3):>8.1f}")
    slowest = max(((t["max_ms"] / t["median_ms"], name, arm) for arm, models in result["arms"].items()
                   for name, t in models.items()))
    lines.append(f"slowest single pass: {slowest[0]:.1f} x its median ({slowest[1]}, {slowest[2]}); a burst of a busy "
                 "machine shows in min-max (stored), not in the median and quartiles shown")
    return "\n".join(lines)


def budget_failures(result: dict, wall_s: float) -> list[str]:
    failures = [f"{name}: folded / eager = {info['folded_over_eager']:.2f} > {FOLDED_BUDGET}"
                for name, info in result["models"].items() if info["folded_over_eager"] > FOLDED_BUDGET]
    wall_budget = WALL_BUDGET_S[result["recipe"]["device"]]
    if wall_s > wall_budget:
        failures.append(f"the run took {wall_s:.0f} s > the {wall_budget:.0f} s budget")
    return failures


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (default 2, the course's machine)")
    parser.add_argument("--rounds", type=int, default=100, help="timed passes per model and variant (default 100)")
    parser.add_argument("--batch-size", type=int, default=1)
    parser.add_argument("--device", choices=("cpu", "cuda"), default="cpu")
    parser.add_argument("--amp", action="store_true", help="float16 autocast (CUDA only)")
    parser.add_argument("--output", type=Path, default=None,
                        help="where to write the result (default data/results/family_latency.json, "
                             "family_latency_cuda.json with --device cuda)")
    parser.add_argument("--dry-run", action="store_true",
                        help=f"{' and '.join(DRY_RUN_MODELS)}, one round, nothing written, no budgets")
    args = parser.parse_args(argv)
    if args.amp and args.device != "cuda":
        parser.error("--amp is float16 autocast on a CUDA GPU; add --device cuda")
    if args.device == "cuda" and not torch.cuda.is_available():
        parser.error("--device cuda, but torch sees no CUDA GPU here")

    names = DRY_RUN_MODELS if args.dry_run else tuple(m.name for m in FAMILY)
    rounds = 1 if args.dry_run else args.rounds
    print(f"bench_family: {len(names)} models x (eager, folded), {rounds} interleaved rounds, batch {args.batch_size}, "
          f"{args.device}{' float16 autocast' if args.amp else ''}"
          f"{f', {args.threads} threads' if args.device == 'cpu' else ''}", flush=True)
    start = time.perf_counter()
    result = measure_family_latency(names, threads=args.threads, rounds=rounds, batch_size=args.batch_size,
                                    device=args.device, amp=args.amp, warmup=1 if args.dry_run else 2,
                                    progress=not args.dry_run)
    wall_s = time.perf_counter() - start
    result["total_wall_s"] = round(wall_s, 1)
    if args.device == "cuda":
        result["name"] = "family_latency_cuda"
    print(table(result))
    m, after = result["machine"], result["machine_after"]
    print(f"{m['cpu']} ({m['cpu_count']} cores), torch {m['torch']}, cuda {m['cuda']}; load average "
          f"{m['load_average_1min']} before the timing, {after['load_average_1min']} after; "
          f"models built in {result['build_s']:.0f} s, total {wall_s:.0f} s")

    if args.dry_run:
        print("dry run: nothing written, budgets not checked")
        return 0
    if args.output is None:
        path = write_result(result)
    else:
        path = args.output
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {path}")
    failures = budget_failures(result, wall_s)
    for failure in failures:
        print(f"BUDGET MISSED: {failure}")
    if not failures:
        print(f"budgets met: folded / eager <= {FOLDED_BUDGET} for every model, "
              f"wall {wall_s:.0f} s <= {WALL_BUDGET_S[args.device]:.0f} s")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
