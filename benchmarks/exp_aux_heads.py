"""Stored experiment of lesson 02: does the mini GoogLeNet train better with its auxiliary classifiers?

    .venv/bin/python benchmarks/exp_aux_heads.py                 # seeds 0-3, writes data/results/aux_heads.json
    .venv/bin/python benchmarks/exp_aux_heads.py --seeds 0 1 2
    .venv/bin/python benchmarks/exp_aux_heads.py --jobs 4 --threads 1   # one process per seed (a busy machine)
    .venv/bin/python benchmarks/exp_aux_heads.py --dry-run --epochs 1 --train-images 500   # quick check, nothing written

GoogLeNet's paper (Szegedy et al. 2014, Section 5, https://arxiv.org/abs/1409.4842)
adds two auxiliary classifiers, on inception (4a) and (4d), whose losses join the
main loss with weight 0.3 during training, "to encourage discrimination in the
lower stages in the classifier, increase the gradient signal that gets propagated
back, and provide additional regularization". Two arms, everything else equal:

* ``with aux heads``: ``create_model("mini_googlenet", aux_logits=True)``, trained on
  ``loss(main) + 0.3 * (loss(aux1) + loss(aux2))`` (``course_utils.train.compute_loss``);
* ``without aux heads``: the same network without them (the shipped checkpoint's arm).

Both use the shared recipe of the shipped checkpoints (``course_utils.train.recipe_for
("mini_googlenet")``: AdamW, one-cycle, 3 epochs, batch 64, the embedded shapes of
dataset seed 0) and the same training seeds, so the two runs of a seed start from
the same main-network initialization order and see the same batches. At evaluation
the heads are off (eval mode), so both arms are measured on the same network shape.
:func:`course_utils.experiments.run_experiment` writes every run's curves, the recipe,
wall times and machine facts; lesson 02 loads the file, and its ``RETRAIN`` switch
calls :func:`run_aux_heads` through :func:`run` with the same recipe.
"""
from __future__ import annotations

import argparse
import sys
from collections.abc import Mapping, Sequence

import torch

from course_utils.experiments import paired_difference, run_experiment, summarize, totals_line
from course_utils.train import DATASET_SEED, evaluate, fit, recipe_for

NAME = "aux_heads"
MODEL = "mini_googlenet"
ARMS: dict[str, dict] = {
    "with aux heads": {"aux_logits": True},
    "without aux heads": {"aux_logits": False},
}
SEEDS = (0, 1, 2, 3)
DESCRIPTION = (
    "mini_googlenet on the embedded shapes, trained with and without GoogLeNet's two auxiliary classifiers "
    "(on inception4a and inception4d, loss weight 0.3, train mode only), same recipe and seeds; "
    "test accuracy of the main classifier."
)


def run_aux_heads(
    seed: int,
    aux_logits: bool,
    train_images: int | None = None,
    eval_images: int | None = None,
    device: str = "cpu",
    progress: bool = False,
    **recipe,
) -> dict:
    """Train one mini GoogLeNet (with or without aux heads) and return its metrics.

    The steps of ``course_utils.train.train_mini`` (seed, loaders, model, ``fit``,
    test evaluation), plus ``train_images`` / ``eval_images`` to use only the first n
    images of the training / validation and test splits (the unit test's short rerun;
    None: all of them, 10,000 / 2,000 / 2,000). ``recipe`` entries override
    ``recipe_for("mini_googlenet")``.
    """
    from course_utils.costs import count_params
    from course_utils.data import embedded_loaders
    from course_utils.models import create_model
    from course_utils.runtime import seed_everything

    recipe = recipe_for(MODEL, **recipe)
    seed_everything(seed)
    sizes = {"train": train_images, "val": eval_images, "test": eval_images}
    loaders = embedded_loaders(batch_size=recipe["batch_size"], seed=DATASET_SEED, sizes=sizes)
    model = create_model(MODEL, num_classes=10, aux_logits=aux_logits)
    fit_kwargs = {k: v for k, v in recipe.items() if k != "batch_size"}
    history = fit(model, loaders.train, loaders.val, device=device, progress=progress, **fit_kwargs)
    model.to(memory_format=torch.contiguous_format)
    test = evaluate(model, loaders.test, device)
    return {
        "test_acc": test.accuracy,
        "test_loss": test.loss,
        "train_params": count_params(model),  # aux heads included when present (they are trained)
        "train_time_s": history.total_train_time_s,
        "val_acc": history.val_acc,
        "val_loss": history.val_loss,
        "train_loss": history.train_loss,  # with aux heads: main + 0.3 x both aux losses
        "train_acc": history.train_acc,
    }


def run(
    seeds: Sequence[int] = SEEDS,
    save: bool = True,
    progress: bool = True,
    train_images: int | None = None,
    eval_images: int | None = None,
    **recipe_changes,
) -> dict:
    """Every arm x seed through ``run_experiment``; writes ``data/results/aux_heads.json`` when ``save``."""
    recipe = recipe_for(MODEL, **recipe_changes)
    subset = {k: v for k, v in (("train_images", train_images), ("eval_images", eval_images)) if v}
    shared: Mapping = {**recipe, **subset}
    return run_experiment(
        NAME, run_aux_heads, ARMS, seeds, shared, description=DESCRIPTION, save=save, progress=progress
    )


def _one_seed(seed: int, threads: int, kwargs: dict) -> dict:
    """One seed, every arm, in a worker process (``--jobs``): nothing written, the parent merges."""
    torch.set_num_threads(threads)
    return run([seed], save=False, **kwargs)


def run_parallel(seeds: Sequence[int] = SEEDS, jobs: int = 2, threads: int = 1, save: bool = True, **kwargs) -> dict:
    """:func:`run`, with the seeds shared out over ``jobs`` worker processes of ``threads`` torch threads each.

    On a machine shared with other work, two threads per process can spend more time
    waiting for each other than computing (OpenMP threads spin while their partner is
    descheduled); one thread per process and one process per seed keeps every core busy.
    Each worker runs every arm of its seed through ``run_experiment`` (both arms of a
    pair on the same process); the runs are merged in seed order into one result, whose
    ``machine`` facts say how it was run (``jobs``, ``torch_threads``), and written with
    ``experiments.write_result``. The runs' metrics are what :func:`run` would give with
    the same thread count.
    """
    import time
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    from course_utils.experiments import machine_facts, write_result

    start = time.perf_counter()
    with ProcessPoolExecutor(max_workers=jobs, mp_context=get_context("spawn")) as pool:
        parts = list(pool.map(_one_seed, seeds, [threads] * len(seeds), [dict(kwargs, progress=True)] * len(seeds)))
    result = dict(parts[0])
    result["seeds"] = [int(s) for s in seeds]
    result["arms"] = {arm: [run_ for part in parts for run_ in part["arms"][arm]] for arm in result["arms"]}
    result["machine"] = {**result["machine"], "jobs": jobs, "torch_threads": threads}
    result["total_wall_s"] = round(time.perf_counter() - start, 1)
    result["machine_after"] = {"load_average_1min": machine_facts()["load_average_1min"]}
    if save:
        write_result(result)
    return result


def report(result: Mapping) -> str:
    """Per-arm mean +- std and the paired difference (with - without), as text."""
    from course_utils.experiments import metric

    lines = []
    for arm in result["arms"]:
        accs = metric(result, arm, "test_acc")
        s = summarize(accs)
        runs = ", ".join(f"{100 * a:.2f}" for a in accs)
        lines.append(f"{arm:18s} test accuracy {100 * s.mean:.2f}% +- {100 * s.std:.2f} (runs {runs})")
    if all(len(runs) >= 2 for runs in result["arms"].values()):
        d = paired_difference(metric(result, "with aux heads", "test_acc"), metric(result, "without aux heads", "test_acc"))
        lines.append(f"with - without, paired by seed: {100 * d.mean:+.2f} points, 95% CI "
                     f"[{100 * d.low:+.2f}, {100 * d.high:+.2f}]")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=list(SEEDS))
    parser.add_argument("--threads", type=int, default=2, help="torch CPU threads (the course measures with 2)")
    parser.add_argument("--epochs", type=int, default=None, help="override the recipe's epochs (dry runs)")
    parser.add_argument("--train-images", type=int, default=None, help="train on the first n images (dry runs)")
    parser.add_argument("--eval-images", type=int, default=None, help="validate/test on the first n images (dry runs)")
    parser.add_argument("--jobs", type=int, default=1, help="worker processes, one seed each (default: 1, no workers)")
    parser.add_argument("--dry-run", action="store_true", help="do not write data/results/aux_heads.json")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    changes = {"epochs": args.epochs} if args.epochs else {}
    subset = dict(train_images=args.train_images, eval_images=args.eval_images, **changes)
    if args.jobs > 1:
        result = run_parallel(args.seeds, jobs=args.jobs, threads=args.threads, save=not args.dry_run, **subset)
    else:
        result = run(args.seeds, save=not args.dry_run, **subset)
    print(report(result))
    print(totals_line(result))
    return 0


if __name__ == "__main__":
    sys.exit(main())
