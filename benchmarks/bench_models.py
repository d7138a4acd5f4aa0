"""CPU latency of the course models against their reference implementations, same weights.

For each model: build the reference (torchvision or timm, the library its pretrained
weights come from), convert its state dict into our model with the registered converter
(so both compute the same function, checked before timing), fold BN into the convs for a
third, fused copy (``fuse_for_inference``), and time all three in eval mode under
``torch.inference_mode`` with ``torch.utils.benchmark.Timer``: warm-up first, then
rounds of one forward pass each, the three taking turns pass by pass in an order that
rotates each round (at least ``--repeats`` rounds and 4 s per model), so that the
bursts in which a shared machine slows down hit all three alike. Reported: the median
time of each, and as ratios the medians of the ratios within each round (paired), on
which the budgets are checked.

Budgets (exit status 1 when one is missed):

* ours eager <= 1.05 x the reference's time: the teaching code costs nothing at run time;
* reference / fused >= 1.2: folding BN into the convs (and channels_last) is worth it.

Usage::

    python benchmarks/bench_models.py                      # all models, batch 1 and 8
    python benchmarks/bench_models.py --models inception_v4 legacy_xception --batch-sizes 1
"""
from __future__ import annotations

import argparse
import logging
import math
import statistics
import sys
import time

import torch

# torch.utils.benchmark imports cpp_extension, which warns that no CUDA runtime exists on a
# CPU-only machine; that is expected here, so keep the table free of it.
logging.getLogger("torch.utils.cpp_extension").setLevel(logging.ERROR)
from torch.utils import benchmark  # noqa: E402

from course_utils.models import create_model, fuse_for_inference, list_models  # noqa: E402
from course_utils.models.registry import weight_source  # noqa: E402

# Our registered name -> the name people know the reference by.
REFERENCE_NAMES = {
    "googlenet": "googlenet",
    "inception_v3": "inception_v3",
    "inception_v4": "inception_v4",
    "inception_resnet_v2": "inception_resnet_v2",
    "xception": "legacy_xception",
}
EAGER_BUDGET = 1.05  # ours / reference
FUSED_BUDGET = 1.2  # reference / fused
MIN_TOTAL_S = 4.0  # each model runs at least this long in all, per batch size


def build_reference(name: str) -> torch.nn.Module:
    """The reference model our ``name`` converts from, with random weights."""
    source = weight_source(name)
    if source.library == "torchvision":
        import torchvision

        kwargs = {"init_weights": False, **source.reference_kwargs}
        return torchvision.models.get_model(source.model_name, weights=None, **kwargs)
    import timm

    return timm.create_model(source.model_name, **source.reference_kwargs)


def build_trio(name: str) -> tuple[torch.nn.Module, torch.nn.Module, torch.nn.Module, int]:
    """(reference, ours with the reference's weights, ours fused) in eval mode, and the input size."""
    torch.manual_seed(0)
    reference = build_reference(name).eval()
    with torch.no_grad():  # non-trivial BN statistics, as in a trained network
        for m in reference.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    ours = create_model(name).eval()
    ours.load_state_dict(weight_source(name).convert(reference.state_dict()), strict=True)
    fused = fuse_for_inference(ours)
    return reference, ours, fused, ours.preprocess.input_size[1]


def run(model: torch.nn.Module, x: torch.Tensor) -> torch.Tensor:
    with torch.inference_mode():
        return model(x)


def check_same_function(reference, ours, fused, x) -> float:
    """Max |difference| of the logits: the three must compute the same thing."""
    ref_out, our_out, fused_out = run(reference, x), run(ours, x), run(fused, x)
    worst = max((ref_out - our_out).abs().max().item(), (ref_out - fused_out).abs().max().item())
    scale = max(1.0, ref_out.abs().max().item())
    if worst > 1e-3 * scale:
        raise SystemExit(f"outputs differ by {worst:.2e}: the converted models do not compute the same function")
    return worst


def time_interleaved(models: dict, x: torch.Tensor, repeats: int, threads: int) -> dict[str, list[float]]:
    """Seconds of single forward passes of each model, the models taking turns pass by pass.

    The models alternate after every forward pass, in an order that rotates each round,
    for at least ``repeats`` rounds and at least ``MIN_TOTAL_S`` seconds per model. On a
    shared (virtual) machine other tenants slow the host down in bursts of a second or
    more; taking turns this finely makes every burst hit all the models alike, where
    timing one model for a while and then the next would charge it to one of them.
    """
    for model in models.values():  # warm-up: oneDNN builds its kernels on first use
        run(model, x)
    start = time.perf_counter()
    run(next(iter(models.values())), x)
    rounds = max(repeats, math.ceil(MIN_TOTAL_S / max(time.perf_counter() - start, 1e-6)))
    timers = {
        label: benchmark.Timer(
            stmt="run(model, x)", globals={"run": run, "model": model, "x": x}, num_threads=threads
        )
        for label, model in models.items()
    }
    samples: dict[str, list[float]] = {label: [] for label in models}
    labels = list(models)
    for r in range(rounds):
        for label in labels[r % len(labels):] + labels[: r % len(labels)]:
            samples[label].append(timers[label].timeit(1).median)
    return samples


def main(argv: list[str] | None = None) -> int:
    available = [n for n in REFERENCE_NAMES if n in list_models(pretrained=True)]
    aliases = {ref: ours for ours, ref in REFERENCE_NAMES.items()}
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--models",
        nargs="+",
        default=available,
        help=f"models to time (ours or the reference's name); default: {' '.join(available)}",
    )
    parser.add_argument("--batch-sizes", nargs="+", type=int, default=[1, 8])
    parser.add_argument("--repeats", type=int, default=9, help="at least this many rounds per model and batch size")
    parser.add_argument("--threads", type=int, default=torch.get_num_threads(), help="CPU threads for torch")
    args = parser.parse_args(argv)

    names = []
    for requested in args.models:
        name = aliases.get(requested, requested)
        if name not in available:
            parser.error(f"unknown model {requested!r}; choose from {', '.join(available)} (or legacy_xception)")
        names.append(name)
    if args.repeats < 1 or args.threads < 1 or any(b < 1 for b in args.batch_sizes):
        parser.error("--repeats, --threads and --batch-sizes must be positive")
    torch.set_num_threads(args.threads)

    print(
        f"torch {torch.__version__}, {args.threads} CPU threads; one forward pass per turn, at least "
        f"{args.repeats} rounds and {MIN_TOTAL_S:.0f} s per model; median times, medians of the per-round ratios"
    )
    labels = {n: f"{n} ({weight_source(n).library} {weight_source(n).model_name})" for n in names}
    width = max(len(label) for label in labels.values())
    header = (
        f"{'model':<{width}} {'batch':>5} {'ref ms':>9} {'ours ms':>9} {'ours/ref':>8} {'fused ms':>9} {'ref/fused':>9}"
    )
    print(header)
    print("-" * len(header))
    failures = []
    for name in names:
        reference, ours, fused, size = build_trio(name)
        label = labels[name]
        for batch in args.batch_sizes:
            x = torch.randn(batch, 3, size, size)
            check_same_function(reference, ours, fused, x)
            samples = time_interleaved({"ref": reference, "ours": ours, "fused": fused}, x, args.repeats, args.threads)
            t = {label: statistics.median(values) for label, values in samples.items()}
            eager_ratio = statistics.median(o / r for o, r in zip(samples["ours"], samples["ref"]))
            fused_speedup = statistics.median(r / f for r, f in zip(samples["ref"], samples["fused"]))
            marks = ""
            if eager_ratio > EAGER_BUDGET:
                failures.append(f"{name} batch {batch}: ours/ref = {eager_ratio:.2f} > {EAGER_BUDGET}")
                marks += " <- eager budget"
            if fused_speedup < FUSED_BUDGET:
                failures.append(f"{name} batch {batch}: ref/fused = {fused_speedup:.2f} < {FUSED_BUDGET}")
                marks += " <- fused budget"
            print(
                f"{label:<{width}} {batch:>5} {t['ref'] * 1e3:>9.1f} {t['ours'] * 1e3:>9.1f} {eager_ratio:>8.2f} "
                f"{t['fused'] * 1e3:>9.1f} {fused_speedup:>9.2f}{marks}",
                flush=True,
            )
    print(f"\nbudgets: ours/ref <= {EAGER_BUDGET}, ref/fused >= {FUSED_BUDGET}")
    if failures:
        print("MISSED:\n  " + "\n  ".join(failures))
        return 1
    print("all budgets met")
    return 0


if __name__ == "__main__":
    sys.exit(main())
