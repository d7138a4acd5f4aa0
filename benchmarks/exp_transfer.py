"""Stored experiment of lesson 08: what do features learnt on synthetic shapes buy on real handwritten digits?

    .venv/bin/python benchmarks/exp_transfer.py --threads 1     # seeds 0-2, writes data/results/transfer_learning.json
    .venv/bin/python benchmarks/exp_transfer.py --dry-run --steps 5 --train-images 100 --test-images 100   # quick check

The source: the shipped ``mini_inception_v3`` checkpoint, trained on the embedded
shapes (48 px, ten shape classes; it has Inception v3's auxiliary classifier as an
option, but was trained without it). The target: scikit-learn's bundled handwritten
digits (1,797 real 8 x 8 scans, upsampled to 48 px; ``course_utils.data.digits``), a
fixed stratified split of 1,257 training and 540 test images. Three methods
(``course_utils.transfer``), each with 5, 20, 100 and all (about 126) labelled images
per class:

* ``linear probe``: the pretrained backbone frozen, a new classifier trained on its features
  (computed once; ``probe_steps`` steps at ``probe_lr``, enough to converge);
* ``fine-tune``: the pretrained network, new classifier, everything trained at the same
  learning rate (``backbone_lr_factor`` 1), BatchNorm statistics updating;
* ``scratch``: the same architecture freshly initialized, trained the same way.

and two variants of fine-tuning, each paired by seed with plain fine-tuning at the same size:

* ``fine-tune, BN frozen``: every BatchNorm layer keeps the shapes' running statistics
  (eval mode; scale and shift still train), at 5 and 20 per class;
* ``fine-tune, aux reset``: a freshly initialized auxiliary classifier added (its loss
  weighted 0.4, Inception v3's), at 20 per class;
* ``fine-tune, backbone lr x0.1``: the pretrained layers at a tenth of the head's learning
  rate (the usual advice when source and target are alike), at 20 per class.

The pilot that set the recipe (seed 0, 20 per class, 100-150 steps of 32 images): a backbone
at 0.1x the head's rate fell behind training from scratch (79% vs 94% after 150 steps), at 1x
it did not (93% vs 91% after 100); a plain-gradient linear probe stalled on the raw features
(46% with all labels, where scikit-learn's logistic regression on standardized features reaches
61-65%), so the probe standardizes them (folded into the classifier afterwards) and takes 1,000
cheap steps (58%). The recipe's 60 steps were sized so that the 48 runs fit in half an hour
on one thread of the busy 2-core machine (up to about 1 s a step under a load of 6); the
stored run took 12 minutes as the load fell. With 100-150 steps the pilot's numbers were a few
points higher.

Every backpropagating run takes the same number of optimization steps (:data:`RECIPE`), so
5 and 126 images per class cost the same compute; a seed picks the labelled images (the same
ones for every method), the new weights and the batch order. Yosinski et al. 2014
(https://arxiv.org/abs/1411.1792) and Kornblith et al. 2019
(https://arxiv.org/abs/1805.08974) are the papers the lesson measures this against.
"""
from __future__ import annotations

import sys
from collections.abc import Mapping

from course_utils.experiments import DRY_RUN_OVERRIDES, command_line, experiment_runner, metric, paired_line, summarize
from course_utils.transfer import METHODS, arm_label, comparison_lines, train_transfer

NAME = "transfer_learning"
SIZES: tuple[int | None, ...] = (5, 20, 100, None)  # labelled images per class; None: all (about 126)
ARMS: dict[str, dict] = {
    **{arm_label(method, k): {"method": method, "labels_per_class": k} for method in METHODS for k in SIZES},
    **{arm_label("fine-tune", k, "BN frozen"): {"method": "fine-tune", "labels_per_class": k, "bn": "frozen"}
       for k in (5, 20)},
    **{arm_label("fine-tune", k, "aux reset"): {"method": "fine-tune", "labels_per_class": k, "aux": "reset"}
       for k in (20,)},
    **{arm_label("fine-tune", k, "backbone lr x0.1"): {"method": "fine-tune", "labels_per_class": k,
                                                        "backbone_lr_factor": 0.1} for k in (20,)},
}
SEEDS = (0, 1, 2)
#: What every run shares (set by a pilot on the 2-core CPU, see the lesson's closing note).
RECIPE: dict = dict(backbone="mini_inception_v3", steps=60, lr=3e-3, backbone_lr_factor=1.0, weight_decay=0.05,
                    batch_size=32, eval_every=None, probe_steps=1000, probe_lr=1e-2, test_images=None)
DESCRIPTION = (
    "mini_inception_v3 pretrained on the embedded shapes, transferred to scikit-learn's handwritten digits "
    "(upsampled to 48 px; fixed split, 540 test images): linear probe vs fine-tune vs scratch at 5, 20, 100 "
    "and all labelled images per class, a fixed number of AdamW steps each; plus fine-tuning with frozen "
    "BatchNorm (5, 20 per class), with a freshly initialized auxiliary classifier (20 per class) and with the "
    "backbone at 0.1x the head's learning rate (20 per class)."
)


#: ``run(seeds=SEEDS, save=True, progress=True, **recipe_changes)``: every arm x seed, stored as data/results/<NAME>.json.
run = experiment_runner(NAME, train_transfer, ARMS, SEEDS, RECIPE, DESCRIPTION)


def report(result: Mapping) -> str:
    """Per-arm mean +- std of the test accuracy, then the paired differences, as text."""
    lines = [f"{'arm':38s} test accuracy (mean +- std over seeds)  runs"]
    for arm in result["arms"]:
        accs = metric(result, arm, "test_acc")
        s = summarize(accs)
        lines.append(f"{arm:38s} {100 * s.mean:6.2f}% +- {100 * s.std:5.2f}   "
                     f"({', '.join(f'{100 * a:.1f}' for a in accs)}; {metric(result, arm, 'train_time_s')[0]:.0f} s)")
    if all(len(r) >= 2 for r in result["arms"].values()):
        for k in SIZES:
            for other in ("scratch", "linear probe"):
                arm, base = arm_label("fine-tune", k), arm_label(other, k)
                if arm in result["arms"] and base in result["arms"]:
                    lines.append(paired_line(result, arm, base))
        lines.extend(comparison_lines(result))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    overrides = {"steps": (int, "override the recipe's optimization steps (dry runs)"),
                 "train_images": DRY_RUN_OVERRIDES["train_images"],
                 "test_images": DRY_RUN_OVERRIDES["test_images"],
                 "lr": (float, "override the recipe's learning rate")}
    return command_line(__doc__, NAME, SEEDS, run, report, argv, threads=2, overrides=overrides)


if __name__ == "__main__":
    sys.exit(main())
