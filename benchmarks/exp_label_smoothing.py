"""Stored experiment of lesson 04: label smoothing (eps = 0 against eps = 0.1): accuracy and calibration.

    .venv/bin/python benchmarks/exp_label_smoothing.py            # seeds 0-2, writes data/results/label_smoothing.json
    .venv/bin/python benchmarks/exp_label_smoothing.py --dry-run --epochs 1 --train-images 500 --test-images 500   # quick check, nothing written

Inception v3's paper (Szegedy et al. 2015, Section 7, https://arxiv.org/abs/1512.00567)
trains against q' = (1 - eps) one_hot + eps / K with eps = 0.1 and reports about
0.2 points better top-1 on ImageNet. Two arms, everything else equal: the factorized
``course_utils.factorization_nets.PlainNet`` (1x5 + 5x1 blocks) trained with
``label_smoothing`` 0 and 0.1 (``nn.CrossEntropyLoss(label_smoothing=eps)`` in
``course_utils.train.fit``), the same recipe and seeds. Besides test accuracy each run
records the mean confidence (largest softmax probability), the expected calibration
error (10 equal-width bins) and the reliability diagram's bins on the test split.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence

import torch

from course_utils.experiments import metric, paired_difference, run_experiment, summarize
from course_utils.factorization_nets import EXPERIMENT_RECIPE, train_plain_net

NAME = "label_smoothing"
ARMS: dict[str, dict] = {
    "eps = 0": {"label_smoothing": 0.0},
    "eps = 0.1": {"label_smoothing": 0.1},
}
SEEDS = (0, 1, 2)
DESCRIPTION = (
    "PlainNet with 1x5 + 5x1 blocks on the embedded shapes, trained with label smoothing eps = 0 and eps = 0.1 "
    "(uniform smoothing), same recipe and seeds. Test accuracy, mean confidence, expected calibration error "
    "(10 bins) and the reliability diagram's bins."
)


def run(
    seeds: Sequence[int] = SEEDS,
    save: bool = True,
    progress: bool = True,
    **recipe_changes,
) -> dict:
    """Every arm x seed through ``run_experiment``; writes ``data/results/label_smoothing.json`` when ``save``."""
    recipe = {**EXPERIMENT_RECIPE, "factorization": "asymmetric", **recipe_changes}
    return run_experiment(NAME, train_plain_net, ARMS, seeds, recipe,
                          description=DESCRIPTION, save=save, progress=progress)


def report(result: Mapping) -> str:
    """Per-arm accuracy, confidence and ECE (mean +- std), and the paired differences (0.1 - 0), as text."""
    lines = []
    for arm in result["arms"]:
        parts = []
        for key in ("test_acc", "mean_confidence", "ece"):
            s = summarize(metric(result, arm, key))
            parts.append(f"{key} {100 * s.mean:.2f}% +- {100 * s.std:.2f}")
        lines.append(f"{arm:10s} " + "; ".join(parts))
    arms = list(result["arms"])
    if all(len(r) >= 2 for r in result["arms"].values()):
        for key in ("test_acc", "mean_confidence", "ece"):
            d = paired_difference(metric(result, arms[1], key), metric(result, arms[0], key))
            lines.append(f"{arms[1]} - {arms[0]} ({key}), paired by seed: {100 * d.mean:+.2f} points, "
                         f"95% CI [{100 * d.low:+.2f}, {100 * d.high:+.2f}]")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (the course measures with 2)")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs (dry runs)")
    parser.add_argument("--train-images", type=int, default=None, help="train on the first n images (dry runs)")
    parser.add_argument("--val-images", type=int, default=None, help="validate on the first n images (dry runs)")
    parser.add_argument("--test-images", type=int, default=None, help="test on the first n images (dry runs)")
    parser.add_argument("--dry-run", action="store_true", help="do not write data/results/label_smoothing.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    changes = {key: value for key, value in (("epochs", args.epochs), ("train_images", args.train_images),
                                             ("val_images", args.val_images), ("test_images", args.test_images)) if value}
    result = run(args.seeds, save=not args.dry_run, **changes)
    print(report(result))
    print(f"total {result['total_wall_s']:.0f} s; load average {result['machine']['load_average_1min']} "
          f"-> {result['machine_after']['load_average_1min']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
