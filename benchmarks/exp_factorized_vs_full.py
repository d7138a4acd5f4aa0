"""Stored experiment of lesson 04: does factorizing n x n convolutions into 1 x n + n x 1 cost accuracy?

    .venv/bin/python benchmarks/exp_factorized_vs_full.py            # seeds 0-2, writes data/results/factorized_vs_full.json
    .venv/bin/python benchmarks/exp_factorized_vs_full.py --dry-run --epochs 1 --train-images 500 --test-images 500   # quick check, nothing written

Inception v3's paper (Szegedy et al. 2015, Section 3.2, https://arxiv.org/abs/1512.00567)
replaces n x n convolutions by a 1 x n followed by an n x 1 and reports that the
network keeps its accuracy on medium grids. Two arms, everything else equal
(``course_utils.factorization_nets.PlainNet``: a 3x3/2 stem and three blocks at
12, 6 and 6 px, widths 16/24/32/48, the same pools and head):

* ``full 5x5``: every block is one 5x5 conv-BN-ReLU;
* ``1x5 + 5x1``: every block is a 1x5 conv-BN-ReLU then a 5x1 conv-BN-ReLU
  (the input's width in between, as in v3's Mixed_6b-6e).

Same recipe (``factorization_nets.EXPERIMENT_RECIPE``: AdamW, one-cycle, 3 epochs,
batch 64, embedded shapes of dataset seed 0) and the same seeds, so the two runs of
a seed see the same batches. :func:`course_utils.experiments.run_experiment` writes
every run's metrics, curves, wall time and machine facts; lesson 04 loads the file,
and its ``RETRAIN`` switch calls :func:`run` with the same recipe.
"""
from __future__ import annotations

import sys
from collections.abc import Mapping


from course_utils.experiments import command_line, experiment_runner, metric, paired_line, summarize
from course_utils.factorization_nets import EXPERIMENT_RECIPE, train_plain_net

NAME = "factorized_vs_full"
ARMS: dict[str, dict] = {
    "full 5x5": {"factorization": "full"},
    "1x5 + 5x1": {"factorization": "asymmetric"},
}
SEEDS = (0, 1, 2)
DESCRIPTION = (
    "PlainNet (3x3/2 stem, blocks at 12/6/6 px, widths 16/24/32/48) on the embedded shapes, every block "
    "a full 5x5 conv or a 1x5 then 5x1 pair (BN-ReLU after each conv); same recipe and seeds. "
    "Test accuracy, parameters, MACs per 48x48 image, training time."
)


#: ``run(seeds=SEEDS, save=True, progress=True, **recipe_changes)``: every arm x seed, stored as data/results/<NAME>.json.
run = experiment_runner(NAME, train_plain_net, ARMS, SEEDS, EXPERIMENT_RECIPE, DESCRIPTION)


def report(result: Mapping) -> str:
    """Per-arm mean +- std and the paired difference (factorized - full), as text."""
    lines = []
    for arm in result["arms"]:
        accs = metric(result, arm, "test_acc")
        s, t = summarize(accs), summarize(metric(result, arm, "train_time_s"))
        lines.append(f"{arm:10s} test accuracy {100 * s.mean:.2f}% +- {100 * s.std:.2f} "
                     f"(runs {', '.join(f'{100 * a:.2f}' for a in accs)}); params {metric(result, arm, 'params')[0]:,}; "
                     f"MACs {metric(result, arm, 'macs')[0]:,}; train time {t.mean:.1f} s +- {t.std:.1f}")
    arms = list(result["arms"])
    if all(len(r) >= 2 for r in result["arms"].values()):
        lines.append(paired_line(result, arms[1], arms[0]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return command_line(__doc__, NAME, SEEDS, run, report, argv, threads=2)


if __name__ == "__main__":
    sys.exit(main())
