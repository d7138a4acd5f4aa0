"""The course's CUDA paths, checked and timed on a GPU (the course never needs one; it uses one when present).

    python benchmarks/bench_cuda.py                     # on a machine with CUDA: checks, a table, data/results/cuda_check.json
    python benchmarks/bench_cuda.py --output /tmp/x.json

On a machine without CUDA it says so and exits 0: there is nothing to check. With CUDA:

1. **device selection**: ``pick_device("auto")`` picks CUDA; a model loaded with
   ``load_checkpoint(name, device="auto")`` lands there;
2. **the shipped checkpoints on the GPU**: each mini's test accuracy on the embedded data,
   evaluated on CUDA, matches the accuracy its checkpoint records (measured on a CPU)
   within 0.3 points (float rounding differs between the two);
3. **mixed precision**: ``train.fit`` on CUDA with ``amp=True`` (float16 autocast and a
   GradScaler) trains the GoogLeNet mini with its shipped recipe (3 epochs of the embedded
   data) to over 80% validation accuracy, as ``amp=False`` does; training throughput with and without AMP (``training_throughput``)
   for a mini at 48 px and the full Inception v3 at 299 px;
4. **transfer on the GPU**: lesson 08's ``transfer.fine_tune`` runs on CUDA with AMP.

Exit status 1 when a check fails. Results (with the GPU's name and the torch version) are
written to ``data/results/cuda_check.json`` so that the README can quote the GPU figures.
"""
from __future__ import annotations

import argparse
import json
import math
import sys
import time
from pathlib import Path

import torch

from course_utils.checkpoints import list_checkpoints, load_checkpoint
from course_utils.data import embedded_loaders
from course_utils.experiments import machine_facts, result_path
from course_utils.models import create_model
from course_utils.runtime import pick_device, seed_everything
from course_utils.train import evaluate, fit, training_throughput

ACCURACY_TOLERANCE = 0.003  # GPU vs CPU float rounding may flip a handful of the 2,000 test images


def check_devices(report: dict) -> bool:
    device = pick_device("auto")
    model, _ = load_checkpoint("mini_googlenet", device="auto")
    placed = next(model.parameters()).device.type
    report["device_selection"] = {"auto": str(device), "checkpoint_lands_on": placed}
    print(f"pick_device('auto') -> {device}; load_checkpoint(device='auto') -> {placed}")
    return device.type == "cuda" and placed == "cuda"


def check_checkpoints(report: dict) -> bool:
    loaders = embedded_loaders(batch_size=256)
    ok, rows = True, {}
    print(f"{'checkpoint':<26}{'recorded (CPU)':>15}{'CUDA':>9}{'eval img/s':>12}")
    for name in list_checkpoints():
        model, meta = load_checkpoint(name, device="cuda")
        torch.cuda.synchronize()
        start = time.perf_counter()
        result = evaluate(model, loaders.test, device="cuda")
        torch.cuda.synchronize()
        seconds = time.perf_counter() - start
        images = len(loaders.test.dataset)
        good = abs(result.accuracy - meta["accuracy"]) <= ACCURACY_TOLERANCE
        ok &= good
        rows[name] = {"recorded": meta["accuracy"], "cuda": result.accuracy, "eval_images_per_s": images / seconds}
        print(f"{name:<26}{100 * meta['accuracy']:>14.2f}%{100 * result.accuracy:>8.2f}%{images / seconds:>12,.0f}"
              f"{'' if good else '   MISMATCH'}")
    report["checkpoints"] = rows
    return ok


def check_amp_training(report: dict) -> bool:
    ok, rows = True, {}
    for amp in (False, True):
        seed_everything(0)
        loaders = embedded_loaders(batch_size=64)
        model = create_model("mini_googlenet")
        start = time.perf_counter()
        history = fit(model, loaders.train, loaders.val, epochs=3, lr=0.006, optimizer="adamw", weight_decay=0.05,
                      device="cuda", amp=amp, channels_last=True, progress=False)
        seconds = time.perf_counter() - start
        loss, acc = history.train_loss[-1], history.val_acc[-1]
        good = math.isfinite(loss) and acc > 0.8
        ok &= good
        rows[f"amp={amp}"] = {"train_loss": loss, "val_acc": acc, "seconds": seconds}
        print(f"fit(mini_googlenet, 3 epochs of 10,000 images, amp={amp}): loss {loss:.3f}, val acc {100 * acc:.1f}%, "
              f"{seconds:.1f} s{'' if good else '   FAILED'}")
    report["fit"] = rows
    return ok


def throughput(report: dict) -> bool:
    rows = {}
    print(f"{'training throughput':<34}{'fp32 img/s':>12}{'AMP img/s':>12}{'AMP speed-up':>14}")
    for name, size, batch in (("mini_inception_v3", 48, 256), ("inception_v3", 299, 64)):
        rates = {}
        for amp in (False, True):
            model = create_model(name, aux_logits=False)
            with torch.autocast("cuda", dtype=torch.float16, enabled=amp):
                rates[amp] = training_throughput(model, (3, size, size), batch_size=batch, steps=10, warmup=3,
                                                 device="cuda", channels_last=True)
        rows[name] = {"input": size, "batch": batch, "fp32_images_per_s": rates[False],
                      "amp_images_per_s": rates[True]}
        print(f"{f'{name} ({size} px, batch {batch})':<34}{rates[False]:>12,.0f}{rates[True]:>12,.0f}"
              f"{rates[True] / rates[False]:>13.2f}x")
    report["training_throughput"] = rows
    return all(r["fp32_images_per_s"] > 0 and r["amp_images_per_s"] > 0 for r in rows.values())


def check_transfer(report: dict) -> bool:
    try:
        from course_utils.data.digits import digits_splits, digits_subset
        from course_utils.transfer import fine_tune, transfer_model
    except ImportError as exc:  # lesson 08's module not there: say so, do not fail the CUDA checks
        print(f"transfer: skipped ({exc})")
        return True
    from torch.utils.data import DataLoader

    seed_everything(0)
    splits = digits_splits()
    train = DataLoader(digits_subset(splits.train, 20, seed=0), batch_size=32, shuffle=True)
    test = DataLoader(splits.test, batch_size=256)
    model = transfer_model("mini_inception_v3", "fine-tune")
    start = time.perf_counter()
    result = fine_tune(model, train, test, steps=100, lr=3e-3, device="cuda")
    seconds = time.perf_counter() - start
    acc = result["test_acc"]
    report["transfer"] = {"method": "fine-tune", "labels_per_class": 20, "steps": 100, "test_acc": acc,
                          "seconds": seconds}
    print(f"fine_tune(mini_inception_v3, 20 digits per class, 100 steps, CUDA): test acc {100 * acc:.1f}%, "
          f"{seconds:.1f} s")
    return acc > 0.2


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--output", type=Path, default=None, help="where to write the JSON (default data/results/cuda_check.json)")
    args = parser.parse_args(argv)
    if not torch.cuda.is_available():
        print("No CUDA device on this machine: nothing to check (the course runs on the CPU).")
        return 0
    report: dict = {"gpu": torch.cuda.get_device_name(0), "machine": machine_facts()}
    print(f"GPU: {report['gpu']}; torch {torch.__version__}")
    checks = {"device selection": check_devices, "checkpoints on CUDA": check_checkpoints,
              "AMP training": check_amp_training, "throughput": throughput, "transfer on CUDA": check_transfer}
    failed = []
    for label, check in checks.items():
        try:
            good = check(report)
        except Exception as exc:  # report every check, not just the first failure
            print(f"{label}: ERROR {type(exc).__name__}: {exc}")
            good = False
        if not good:
            failed.append(label)
    report["failed"] = failed
    path = args.output or result_path("cuda_check")
    path.write_text(json.dumps(report, indent=1, default=str) + "\n")
    print(f"wrote {path}; {'all checks passed' if not failed else 'FAILED: ' + ', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
