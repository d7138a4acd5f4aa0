"""Time-to-accuracy on 2 CPU cores: the embedded dataset and the mini models.

    .venv/bin/python benchmarks/bench_train.py            # all budgets
    .venv/bin/python benchmarks/bench_train.py --skip-throughput

Budgets (exit status 1 when one is missed):

1. generating the embedded dataset from scratch (all three splits, no cache,
   as in a fresh clone) takes at most 30 s;
2. mini_googlenet, trained with ``course_utils.train.EMBEDDED_RECIPE``, reaches
   at least 90% test accuracy in at most 120 s of training (evaluation excluded).

It also prints training and inference images/s for every mini model (no budget:
they are there to compare). The process is restricted to 2 CPU cores and 2
threads; other programs running at the same time slow it down, so measure on a
quiet machine.
"""
from __future__ import annotations

import argparse
import os
import sys
import time

import torch

from course_utils.data import DEFAULT_SIZE, SPLIT_SIZES, generate_shapes
from course_utils.models import create_model, list_models
from course_utils.runtime import describe_runtime
from course_utils.train import EMBEDDED_RECIPE, train_mini, training_throughput

GENERATION_BUDGET_S = 30.0
TRAIN_BUDGET_S = 120.0
ACCURACY_TARGET = 0.90
CORES = 2


def use_two_cores() -> str:
    """Pin the process to 2 cores where the OS allows it, and use 2 threads."""
    note = "2 threads"
    if hasattr(os, "sched_setaffinity"):
        cpus = sorted(os.sched_getaffinity(0))
        if len(cpus) > CORES:
            os.sched_setaffinity(0, cpus[:CORES])
        note = f"{min(len(cpus), CORES)} cores pinned, 2 threads"
    torch.set_num_threads(CORES)
    return note


@torch.no_grad()
def inference_throughput(model: torch.nn.Module, batch_size: int = 256, steps: int = 3) -> float:
    model.eval()
    x = torch.randn(batch_size, 3, DEFAULT_SIZE, DEFAULT_SIZE)
    model(x)
    start = time.perf_counter()
    for _ in range(steps):
        model(x)
    return batch_size * steps / (time.perf_counter() - start)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seed", type=int, default=0, help="training seed of the time-to-accuracy run")
    parser.add_argument("--skip-throughput", action="store_true", help="skip the images/s table")
    args = parser.parse_args(argv)
    print(f"bench_train: {use_two_cores()}; {describe_runtime()}")
    failures = []

    # 1. Dataset generation, as in a fresh clone (no cache).
    start = time.perf_counter()
    for split, n in SPLIT_SIZES.items():
        generate_shapes(n, seed=0, size=DEFAULT_SIZE, split=split)
    generation_s = time.perf_counter() - start
    ok = generation_s <= GENERATION_BUDGET_S
    print(f"\ndataset generation ({sum(SPLIT_SIZES.values()):,} images, {DEFAULT_SIZE} px): "
          f"{generation_s:.1f} s (budget {GENERATION_BUDGET_S:.0f} s) {'OK' if ok else 'MISSED'}")
    if not ok:
        failures.append("dataset generation")

    # 2. Images per second of every mini model.
    if not args.skip_throughput:
        print("\n| model | params | train images/s (batch 64) | inference images/s (batch 256) |")
        print("|---|---:|---:|---:|")
        for name in list_models("mini_*"):
            torch.manual_seed(0)
            model = create_model(name, num_classes=10)
            params = sum(p.numel() for p in model.parameters())
            train_ips = training_throughput(model, (3, DEFAULT_SIZE, DEFAULT_SIZE), batch_size=64, steps=5,
                                            device="cpu", channels_last=EMBEDDED_RECIPE["channels_last"])
            model.to(memory_format=torch.contiguous_format)
            infer_ips = inference_throughput(model)
            print(f"| {name} | {params:,} | {train_ips:.0f} | {infer_ips:.0f} |", flush=True)

    # 3. Time to accuracy of mini_googlenet.
    print(f"\ntime to accuracy: mini_googlenet, recipe {EMBEDDED_RECIPE}, seed {args.seed}")
    trained = train_mini("mini_googlenet", seed=args.seed, device="cpu", progress=False)
    h = trained.history
    for epoch, t, val, ips in zip(h.epoch, h.train_time_s, h.val_acc, h.images_per_s):
        print(f"  epoch {epoch}: {t:6.1f} s of training, val accuracy {100 * val:5.2f}%, {ips:.0f} train images/s")
    test_acc, train_s = trained.test.accuracy, h.total_train_time_s
    ok = test_acc >= ACCURACY_TARGET and train_s <= TRAIN_BUDGET_S
    print(f"mini_googlenet: test accuracy {100 * test_acc:.2f}% (target >= {100 * ACCURACY_TARGET:.0f}%) "
          f"after {train_s:.1f} s of training (budget {TRAIN_BUDGET_S:.0f} s) {'OK' if ok else 'MISSED'}")
    if not ok:
        failures.append("mini_googlenet time to accuracy")

    if failures:
        print(f"\nbench_train: MISSED {', '.join(failures)}")
        return 1
    print("\nbench_train: all budgets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
