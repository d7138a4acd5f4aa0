"""Stored experiment of lesson 05: does scaling the residuals keep a deep Inception-ResNet stack trainable?

    .venv/bin/python benchmarks/exp_residual_scaling.py --threads 1     # seeds 0-2, writes data/results/residual_scaling.json
    .venv/bin/python benchmarks/exp_residual_scaling.py --dry-run --epochs 1 --train-images 500 --test-images 500   # quick check

The Inception-v4 paper (Szegedy et al. 2016, Section 3.3, https://arxiv.org/abs/1602.07261)
reports that residual Inception networks with more than about 1000 filters "died"
early in training (the last layers produced only zeros) and that scaling every
residual by 0.1-0.3 before the addition stabilized them. Our networks are far smaller,
so this asks the question at our size. Two arms, everything else equal:

* ``scale 1``: ``course_utils.explorers.residual_scaling.ResidualInceptionStack`` with
  16 Inception-ResNet-A blocks (``Block35``, Figure 16's widths / 4, 32 channels on a
  12 x 12 grid) and unscaled residuals;
* ``scale 0.2``: the same stack, every residual multiplied by 0.2.

Both train with plain SGD (Nesterov momentum 0.9) at a constant, deliberately high
learning rate (:data:`RECIPE`) on the embedded shapes, the same seeds (so the two runs
of a seed start from the same weights and see the same batches). When the loss explodes
or turns NaN, ``course_utils.train.fit`` raises ``TrainingDivergedError``; the run then
records where it diverged instead of crashing. Besides accuracy each run records the
activation growth and stem gradient at initialization and the fraction of "dead"
channels (zero for every test image) after the last block, the paper's symptom.
"""
from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Mapping

import torch

from course_utils.experiments import DRY_RUN_OVERRIDES, command_line, experiment_runner, metric, paired_line, summarize

NAME = "residual_scaling"
ARMS: dict[str, dict] = {
    "scale 1": {"scale": 1.0},
    "scale 0.2": {"scale": 0.2},
}
SEEDS = (0, 1, 2)
#: What every run shares: a 16-block stack, SGD at a high constant learning rate, 2 epochs on 5,000 images.
RECIPE: dict = dict(depth=16, channels=32, epochs=2, batch_size=64, optimizer="sgd", lr=0.5, weight_decay=5e-4,
                    schedule=None, grad_clip=None, train_images=5000, val_images=1000, test_images=2000)
DESCRIPTION = (
    "ResidualInceptionStack (3x3/2 stem, 16 Inception-ResNet-A blocks at Figure 16's widths / 4, 32 channels on "
    "12 x 12) on the embedded shapes, residual scale 1 vs 0.2, SGD at a high constant learning rate, same seeds. "
    "Test accuracy, divergence, dead channels after the last block, activation growth and stem gradient at init."
)


def train_residual_stack(
    seed: int,
    scale: float,
    depth: int = 16,
    channels: int = 32,
    train_images: int | None = None,
    val_images: int | None = None,
    test_images: int | None = None,
    device: str = "cpu",
    progress: bool = False,
    **recipe,
) -> dict:
    """Train one stack on the embedded shapes; return accuracy, divergence, dead channels and the curves.

    ``recipe`` holds :func:`course_utils.train.fit` arguments plus ``batch_size``. A run that
    diverges (``TrainingDivergedError``) records ``diverged = 1`` and the step where it happened
    (``diverged_step``, counted over the whole run, -1 when it did not diverge); its curves hold
    the epochs completed before, and its test accuracy is that of the weights it stopped with.
    """
    from course_utils.data import embedded_loaders
    from course_utils.explorers.residual_scaling import ResidualInceptionStack, scaling_profile
    from course_utils.runtime import seed_everything
    from course_utils.train import DATASET_SEED, TrainingDivergedError, evaluate, fit

    recipe = {**{k: v for k, v in RECIPE.items() if k not in ("depth", "channels", "train_images", "val_images",
                                                            "test_images")}, **recipe}
    batch_size = recipe.pop("batch_size")
    init = scaling_profile(scale, depth, channels, batch_size=32, image_size=48, seed=seed)
    seed_everything(seed)
    sizes = {"train": train_images, "val": val_images, "test": test_images}
    loaders = embedded_loaders(batch_size=batch_size, seed=DATASET_SEED, sizes=sizes)
    model = ResidualInceptionStack(depth, scale, channels)
    steps_per_epoch = len(loaders.train)
    diverged, diverged_step = 0, -1
    try:
        history = fit(model, loaders.train, loaders.val, device=device, progress=progress, **recipe)
    except TrainingDivergedError as err:
        history = err.history
        diverged = 1
        where = re.search(r"epoch (\d+), batch (\d+)", str(err))
        if where:
            diverged_step = (int(where.group(1)) - 1) * steps_per_epoch + int(where.group(2))
    model.to(memory_format=torch.contiguous_format)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # a diverged model's NaN outputs are reported by the numbers themselves
        test = evaluate(model, loaders.test, device)
        dead = _dead_channel_fraction(model, loaders.test, device)
    return {
        "test_acc": test.accuracy,
        "diverged": diverged,
        "diverged_step": diverged_step,
        "steps": recipe["epochs"] * steps_per_epoch,
        "dead_channel_fraction": dead,
        "init_growth": init.growth,
        "init_stem_grad_norm": init.stem_grad_norm,
        "init_block_std": list(init.block_std),
        "train_time_s": history.total_train_time_s if history.epoch else 0.0,
        "val_acc": history.val_acc,
        "train_loss": history.train_loss,
        "train_acc": history.train_acc,
    }


@torch.no_grad()
def _dead_channel_fraction(model, loader, device) -> float:
    """Share of the last block's output channels that are zero (or not finite) for every test image."""
    model.to(device).eval()
    alive = None
    for images, _ in loader:
        out = model.blocks(model.forward_stem(images.to(device)))
        active = (torch.isfinite(out) & (out > 0)).flatten(2).any(2).any(0)
        alive = active if alive is None else alive | active
    return 1.0 - alive.float().mean().item()


#: ``run(seeds=SEEDS, save=True, progress=True, **recipe_changes)``: every arm x seed, stored as data/results/<NAME>.json.
run = experiment_runner(NAME, train_residual_stack, ARMS, SEEDS, RECIPE, DESCRIPTION)


def report(result: Mapping) -> str:
    """Per-arm mean +- std and the paired difference (scale 0.2 - scale 1), as text."""
    lines = []
    for arm in result["arms"]:
        accs = metric(result, arm, "test_acc")
        s = summarize(accs)
        lines.append(f"{arm:10s} test accuracy {100 * s.mean:.2f}% +- {100 * s.std:.2f} "
                     f"(runs {', '.join(f'{100 * a:.2f}' for a in accs)}); diverged {sum(metric(result, arm, 'diverged'))}"
                     f"/{len(accs)}; dead channels {[round(d, 3) for d in metric(result, arm, 'dead_channel_fraction')]}; "
                     f"init growth {metric(result, arm, 'init_growth')[0]:.2f}x")
    arms = list(result["arms"])
    if all(len(r) >= 2 for r in result["arms"].values()):
        lines.append(paired_line(result, arms[1], arms[0]))
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return command_line(__doc__, NAME, SEEDS, run, report, argv, threads=2, overrides={**DRY_RUN_OVERRIDES, "lr": (float, "override the recipe's learning rate")})


if __name__ == "__main__":
    sys.exit(main())
