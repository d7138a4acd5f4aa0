"""Stored experiment of lesson 06: a nonlinearity between the depthwise and the pointwise convolution?

    .venv/bin/python benchmarks/exp_separable_nonlinearity.py --threads 1       # seeds 0-2, writes data/results/separable_nonlinearity.json
    .venv/bin/python benchmarks/exp_separable_nonlinearity.py --dry-run --epochs 1 --train-images 500 --test-images 500   # quick check, nothing written

Xception's paper (Chollet 2017, Section 4.7 and Figure 10, https://arxiv.org/abs/1610.02357)
trains its network with no nonlinearity, a ReLU or an ELU between the depthwise and the
pointwise convolution of every separable conv, and reports that no nonlinearity converges
faster and ends better on ImageNet. Three arms, everything else equal
(``course_utils.separable.SeparableNet``: a 3x3/2 stem, five separable blocks on 24, 12 and
6 px grids, widths 24/48/96/160, depthwise 3x3 -> [arm] -> pointwise 1x1 -> BN -> ReLU):

* ``none``: nothing between them (Xception);
* ``ReLU`` and ``ELU``: that activation between them.

Same recipe (``separable.SEPARABLE_RECIPE``: AdamW, one-cycle, 5 epochs, batch 64, the first
5,000 training images of the embedded shapes, validation on 1,000, test on all 2,000) and the
same seeds, so the three runs of a seed see the same batches.
:func:`course_utils.experiments.run_experiment` writes every run's metrics, curves, wall time
and machine facts; lesson 06 loads the file, and its ``RETRAIN`` switch calls :func:`run`.
"""
from __future__ import annotations

import sys
from collections.abc import Mapping


from course_utils.experiments import command_line, experiment_runner, metric, paired_line, summarize
from course_utils.separable import SEPARABLE_RECIPE, train_separable_net

NAME = "separable_nonlinearity"
ARMS: dict[str, dict] = {
    "none": {"intermediate": "none"},
    "ReLU": {"intermediate": "relu"},
    "ELU": {"intermediate": "elu"},
}
SEEDS = (0, 1, 2)
DESCRIPTION = (
    "SeparableNet (3x3/2 stem, five depthwise-separable blocks at 24/12/6 px, widths 24/48/96/160) on the "
    "embedded shapes, with nothing, a ReLU or an ELU between each depthwise and pointwise conv (Xception, "
    "Figure 10); same recipe and seeds. Test accuracy, learning curves, training time."
)


#: ``run(seeds=SEEDS, save=True, progress=True, **recipe_changes)``: every arm x seed, stored as data/results/<NAME>.json.
run = experiment_runner(NAME, train_separable_net, ARMS, SEEDS, SEPARABLE_RECIPE, DESCRIPTION)


def report(result: Mapping) -> str:
    """Per-arm mean +- std and the paired differences against ``none``, as text."""
    lines = []
    for arm in result["arms"]:
        accs = metric(result, arm, "test_acc")
        s, t = summarize(accs), summarize(metric(result, arm, "train_time_s"))
        diverged = sum(bool(d) for d in metric(result, arm, "diverged"))
        lines.append(f"{arm:5s} test accuracy {100 * s.mean:.2f}% +- {100 * s.std:.2f} "
                     f"(runs {', '.join(f'{100 * a:.2f}' for a in accs)}); diverged {diverged}; "
                     f"train time {t.mean:.1f} s +- {t.std:.1f}")
    if all(len(r) >= 2 for r in result["arms"].values()):
        for arm in ("ReLU", "ELU"):
            lines.append(paired_line(result, arm, "none"))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return command_line(__doc__, NAME, SEEDS, run, report, argv, threads=1)


if __name__ == "__main__":
    sys.exit(main())
