"""Stored experiment of lesson 03: what does batch normalization buy at a normal and at a high learning rate?

    .venv/bin/python benchmarks/exp_bn_learning_rate.py            # seeds 0 1 2, writes data/results/bn_learning_rate.json
    .venv/bin/python benchmarks/exp_bn_learning_rate.py --dry-run --epochs 1 --train-images 512   # quick check, nothing written

Ioffe & Szegedy (2015, https://arxiv.org/abs/1502.03167, Section 3.3) claim that
batch normalization "enables higher learning rates": without it, a high rate makes
activations and gradients explode or vanish; with it, a layer's output does not
depend on the scale of its weights. The experiment tests that on a small plain CNN
(``course_utils.batchnorm.plain_cnn``: eight 3x3 conv [-> BN] -> ReLU layers, He
initialization, global average pooling; the same network with and without
``nn.BatchNorm2d``) trained on the embedded shapes with SGD (Nesterov momentum 0.9,
constant learning rate, no clipping) at a baseline rate and a 10x higher one,
three seeds per arm (``course_utils.batchnorm.BN_LR_ARMS``, ``BN_LR_RECIPE``).

A run whose batch loss becomes non-finite stops and is recorded as diverged.
Every run stores its per-epoch train loss and validation accuracy, the loss every
10 steps, its test accuracy and what each layer's ReLU sees (mean, std, fraction
positive, histogram) at step 0 and after every epoch. The runs go through
:func:`course_utils.experiments.run_experiment` (machine facts, wall times, atomic
write); lesson 03 loads the file, and its ``RETRAIN`` switch calls
:func:`course_utils.batchnorm.run_bn_lr_experiment` with the same recipe.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping

import torch

from course_utils.batchnorm import BN_LR_SEEDS, run_bn_lr_experiment
from course_utils.experiments import metric, summarize


def report(result: Mapping) -> str:
    """Per arm: final test accuracy mean +- std over seeds, the runs, and how many diverged."""
    lines = []
    for arm in result["arms"]:
        accs = metric(result, arm, "test_acc")
        diverged = sum(bool(d) for d in metric(result, arm, "diverged"))
        s = summarize(accs)
        spread = f" +- {100 * s.std:.2f}" if s.n > 1 else ""
        runs = ", ".join(f"{100 * a:.2f}" for a in accs)
        lines.append(f"{arm:16s} test accuracy {100 * s.mean:6.2f}%{spread} (runs {runs}); "
                     f"diverged {diverged} of {len(accs)}")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(BN_LR_SEEDS))
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (the course measures with 2)")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs (dry runs)")
    parser.add_argument("--train-images", type=int, default=None, help="train on the first n images (dry runs)")
    parser.add_argument("--dry-run", action="store_true", help="do not write data/results/bn_learning_rate.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    changes = {k: v for k, v in (("epochs", args.epochs), ("train_images", args.train_images)) if v}
    result = run_bn_lr_experiment(args.seeds, save=not args.dry_run, **changes)
    print(report(result))
    print(f"total {result['total_wall_s']:.0f} s; load average {result['machine']['load_average_1min']} "
          f"-> {result['machine_after']['load_average_1min']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
