"""An honest experiment: do Inception modules beat one kernel size at equal cost?

    .venv/bin/python benchmarks/bench_inception_vs_single.py            # 4 seeds
    .venv/bin/python benchmarks/bench_inception_vs_single.py --seeds 0 1 2 3 4 --json results.json

Two small networks share everything but their blocks:

* **inception**: the GoogLeNet module of lesson 02 (``course_utils.models.googlenet.Inception``:
  1x1, 1x1->3x3, 1x1->5x5 and pool->1x1 branches side by side, Figure 2(b) of the paper);
* **single**: one 3x3 conv-BN-ReLU per block, with the same channel progression
  scaled by one factor so that the network costs the same multiply-accumulates (MACs).

Same stem, same pools, same head, same training recipe, same data (the embedded
shapes, whose objects range from a few pixels to the whole image, the situation
the paper's multi-scale argument is about). Each pair is trained with the same
seeds; the script reports every run, the mean and spread of each network and the
paired difference with a 95% confidence interval, whatever it turns out to be.
No budget: the exit status is 0 unless something fails to run.
"""
from __future__ import annotations

import argparse
import json
import math
import statistics
import sys
import time

import torch
from torch import nn

from course_utils.costs import count_macs, count_params
from course_utils.data import DEFAULT_SIZE, embedded_loaders
from course_utils.models.base import GlobalAvgPool
from course_utils.models.blocks import BasicConv2d
from course_utils.models.googlenet import Inception
from course_utils.runtime import seed_everything
from course_utils.train import DATASET_SEED, EMBEDDED_RECIPE, evaluate, fit

# Inception modules of the experiment, in Table 1's column order
# (#1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj), grouped by grid size.
# The proportions follow GoogLeNet's inception3a-4a rows at about a quarter of the width.
STAGES: tuple[tuple[tuple[int, ...], ...], ...] = (
    ((16, 24, 32, 4, 8, 8),),  # 24 x 24, out 64
    ((32, 32, 48, 8, 24, 24), (40, 40, 64, 8, 24, 32)),  # 12 x 12, out 128 then 160
    ((48, 48, 96, 12, 32, 32),),  # 6 x 6, out 208
)
STEM_CHANNELS = 32
#: Student's t quantile t(0.975, df) for the 95% interval of the mean paired difference.
T_975 = {1: 12.706, 2: 4.303, 3: 3.182, 4: 2.776, 5: 2.571, 6: 2.447, 7: 2.365, 8: 2.306, 9: 2.262, 10: 2.228}


class SmallNet(nn.Module):
    """stem (3x3 conv, max pool) -> stages of blocks with a max pool between them -> GAP -> linear."""

    def __init__(self, stages: list[list[nn.Module]], num_classes: int = 10) -> None:
        super().__init__()
        self.stem = nn.Sequential(BasicConv2d(3, STEM_CHANNELS, 3, padding=1), nn.MaxPool2d(3, 2, ceil_mode=True))
        layers = []
        for i, blocks in enumerate(stages):
            if i > 0:
                layers.append(nn.MaxPool2d(3, 2, ceil_mode=True))
            layers.extend(blocks)
        self.blocks = nn.Sequential(*layers)
        self.num_classes = num_classes
        self.num_features = _out_channels(stages[-1][-1])
        self.global_pool = GlobalAvgPool()
        self.fc = nn.Linear(self.num_features, num_classes)

    def forward(self, x):
        # N x 3 x 48 x 48
        x = self.stem(x)
        # N x 32 x 24 x 24
        x = self.blocks(x)
        # N x C x 6 x 6
        return self.fc(self.global_pool(x))


def _out_channels(block: nn.Module) -> int:
    return block.out_channels if isinstance(block, Inception) else block.conv.out_channels


def inception_net() -> SmallNet:
    stages, channels = [], STEM_CHANNELS
    for stage in STAGES:
        blocks = []
        for columns in stage:
            block = Inception(channels, *columns)  # 5x5 kernels, BatchNorm: the mini GoogLeNet's module
            blocks.append(block)
            channels = block.out_channels
        stages.append(blocks)
    return SmallNet(stages)


def single_kernel_net(kernel: int = 3) -> SmallNet:
    """The same channel progression as :func:`inception_net`, one kxk conv per block, scaled to equal MACs.

    Block ``i`` outputs ``round(k * c_i)`` channels, where ``c_i`` is the
    Inception module's output and the one factor ``k`` is found by bisection so
    that the whole network costs the same MACs as the Inception network.
    """
    outs = [sum(columns[i] for i in (0, 2, 4, 5)) for stage in STAGES for columns in stage]
    target = count_macs(inception_net(), (1, 3, DEFAULT_SIZE, DEFAULT_SIZE))

    def build(k: float) -> SmallNet:
        widths, stages, channels = iter(max(8, round(k * c)) for c in outs), [], STEM_CHANNELS
        for stage in STAGES:
            blocks = []
            for _ in stage:
                width = next(widths)
                blocks.append(BasicConv2d(channels, width, kernel, padding=kernel // 2))
                channels = width
            stages.append(blocks)
        return SmallNet(stages)

    lo, hi = 0.05, 4.0  # MACs grow with k: bisect for the k that matches the target
    for _ in range(30):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if count_macs(build(mid), (1, 3, DEFAULT_SIZE, DEFAULT_SIZE)) < target else (lo, mid)
    return build((lo + hi) / 2)


def train_once(build, seed: int, epochs: int) -> tuple[float, float]:
    seed_everything(seed)
    model = build()
    recipe = {k: v for k, v in EMBEDDED_RECIPE.items() if k not in ("batch_size", "epochs")}
    loaders = embedded_loaders(batch_size=EMBEDDED_RECIPE["batch_size"], seed=DATASET_SEED)
    history = fit(model, loaders.train, None, epochs=epochs, device="cpu", progress=False, **recipe)
    model.to(memory_format=torch.contiguous_format)
    return evaluate(model, loaders.test, device="cpu").accuracy, history.total_train_time_s


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2, 3])
    parser.add_argument("--epochs", type=int, default=EMBEDDED_RECIPE["epochs"])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--json", help="also write the results to this JSON file")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)

    builders = {"inception": inception_net, "single 3x3": single_kernel_net}
    shape = (1, 3, DEFAULT_SIZE, DEFAULT_SIZE)
    print("| network | params | MACs per 48x48 image | blocks |")
    print("|---|---:|---:|---|")
    costs = {}
    for name, build in builders.items():
        model = build()
        costs[name] = {"params": count_params(model), "macs": count_macs(model, shape)}
        widths = [_out_channels(m) for m in model.blocks if not isinstance(m, nn.MaxPool2d)]
        print(f"| {name} | {costs[name]['params']:,} | {costs[name]['macs'] / 1e6:.2f} M | out channels {widths} |")
    ratio = costs["single 3x3"]["macs"] / costs["inception"]["macs"]
    print(f"MACs ratio single/inception: {ratio:.3f}\n")

    results = {name: [] for name in builders}
    for seed in args.seeds:
        for name, build in builders.items():
            start = time.perf_counter()
            accuracy, train_s = train_once(build, seed, args.epochs)
            results[name].append(accuracy)
            print(f"seed {seed}: {name:10s} test accuracy {100 * accuracy:.2f}% ({train_s:.0f} s training, "
                  f"{time.perf_counter() - start:.0f} s in all)", flush=True)

    print(f"\n| network | test accuracy, mean +- std over {len(args.seeds)} seeds | runs |")
    print("|---|---:|---|")
    for name, accs in results.items():
        spread = statistics.stdev(accs) if len(accs) > 1 else float("nan")
        print(f"| {name} | {100 * statistics.mean(accs):.2f}% +- {100 * spread:.2f} | "
              f"{', '.join(f'{100 * a:.2f}' for a in accs)} |")
    diffs = [a - b for a, b in zip(results["inception"], results["single 3x3"])]
    mean = statistics.mean(diffs)
    summary = {"seeds": args.seeds, "epochs": args.epochs, "costs": costs, "accuracy": results,
               "difference_mean": mean}
    if len(diffs) > 1:
        sd = statistics.stdev(diffs)
        half = T_975.get(len(diffs) - 1, 1.96) * sd / math.sqrt(len(diffs))
        verdict = ("the interval excludes 0" if abs(mean) > half else
                   "the interval includes 0: no difference shown at this number of seeds")
        print(f"\ninception - single 3x3 (paired by seed): {100 * mean:+.2f} points, std {100 * sd:.2f}, "
              f"95% CI [{100 * (mean - half):+.2f}, {100 * (mean + half):+.2f}] -- {verdict}")
        summary.update(difference_std=sd, ci95=[mean - half, mean + half], verdict=verdict)
    if args.json:
        with open(args.json, "w") as f:
            json.dump(summary, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
