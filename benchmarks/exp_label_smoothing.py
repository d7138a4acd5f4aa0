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

import sys
from collections.abc import Mapping


from course_utils.experiments import command_line, experiment_runner, metric, paired_line, summarize
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


#: ``run(seeds=SEEDS, save=True, progress=True, **recipe_changes)``: every arm x seed, stored as data/results/<NAME>.json.
run = experiment_runner(NAME, train_plain_net, ARMS, SEEDS, {**EXPERIMENT_RECIPE, "factorization": "asymmetric"},
                        DESCRIPTION)


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
            lines.append(paired_line(result, arms[1], arms[0], key, label=key))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return command_line(__doc__, NAME, SEEDS, run, report, argv, threads=2)


if __name__ == "__main__":
    sys.exit(main())
