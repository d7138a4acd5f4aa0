"""Train every mini model on the embedded dataset and write data/checkpoints/.

    .venv/bin/python data/make_checkpoints.py                  # all mini_* models
    .venv/bin/python data/make_checkpoints.py mini_googlenet   # just one (the summary keeps the others)

Each model is trained with ``course_utils.train.recipe_for(name)`` (the shared
``EMBEDDED_RECIPE`` with the model's ``RECIPE_OVERRIDES``; seed 0, two CPU
threads), its weights are rounded to float16 (the checkpoints must stay under
20 MB in total), and the test accuracy recorded in the checkpoint is that of
the rounded weights, so that tests/test_checkpoints.py reproduces it exactly.
``summary.json`` and ``summary.md`` list accuracy, training time and size per
checkpoint (the README's table is copied from summary.md).
"""
from __future__ import annotations

import argparse
import json
import os
import sys
import time
from pathlib import Path

import torch

from course_utils.checkpoints import save_checkpoint
from course_utils.data import DEFAULT_SIZE, GENERATOR_VERSION
from course_utils.models import list_models
from course_utils.runtime import describe_runtime
from course_utils.train import DATASET_SEED, evaluate, train_mini

OUT = Path(__file__).resolve().parent / "checkpoints"
SIZE_BUDGET = 20 * 2**20  # bytes, all checkpoints together


def round_to_float16(model: torch.nn.Module) -> None:
    """Round every floating-point weight and buffer to float16 precision, in place (kept as float32)."""
    with torch.no_grad():
        for tensor in list(model.parameters()) + list(model.buffers()):
            if tensor.is_floating_point():
                tensor.copy_(tensor.half().float())


def train_and_save(name: str, seed: int, progress: bool) -> dict:
    start = time.perf_counter()
    trained = train_mini(name, seed=seed, device="cpu", progress=progress)
    model, history = trained.model, trained.history
    float32_accuracy = trained.test.accuracy
    round_to_float16(model)
    from course_utils.data import embedded_loaders

    test_loader = embedded_loaders(batch_size=256, seed=DATASET_SEED).test
    accuracy = evaluate(model, test_loader, device="cpu").accuracy
    dataset_kwargs = {"seed": DATASET_SEED, "size": DEFAULT_SIZE}
    path = save_checkpoint(
        model, OUT / f"{name}.pt", arch=name, arch_kwargs={"num_classes": 10},
        dataset="embedded_shapes", dataset_version=GENERATOR_VERSION, accuracy=accuracy,
        train_time_s=history.total_train_time_s, half=True,
        extra={
            "dataset_kwargs": dataset_kwargs, "seed": seed, "recipe": trained.recipe,
            "history": history.to_dict(), "float32_accuracy": float32_accuracy,
            "runtime": {k: str(v) for k, v in describe_runtime().items()},
        },
    )
    row = {
        "arch": name,
        "params": sum(p.numel() for p in model.parameters()),
        "test_accuracy": round(accuracy, 4),
        "val_accuracy": round(history.val_acc[-1], 4),
        "train_time_s": round(history.total_train_time_s, 1),
        "epochs": len(history.epoch),
        "train_images_per_s": round(sum(history.images_per_s) / len(history.images_per_s), 1),
        "file_bytes": path.stat().st_size,
        # Other programs on the machine slow training down: the load says whether they did.
        "load_average_1min": round(os.getloadavg()[0], 2),
    }
    print(f"{name}: test {100 * accuracy:.2f}% (float32 {100 * float32_accuracy:.2f}%), "
          f"{row['train_time_s']:.0f} s training, {row['file_bytes'] / 2**20:.2f} MiB "
          f"({time.perf_counter() - start:.0f} s in all)", flush=True)
    return row


def write_summary(rows: dict[str, dict]) -> None:
    runtime = {k: str(v) for k, v in describe_runtime().items()}
    summary = {"dataset": "embedded_shapes", "dataset_version": GENERATOR_VERSION, "runtime": runtime,
               "checkpoints": [rows[k] for k in sorted(rows)]}
    (OUT / "summary.json").write_text(json.dumps(summary, indent=2) + "\n")
    lines = [
        "| model | params | test accuracy | training time | epochs | train images/s | file | load average |",
        "|---|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for r in summary["checkpoints"]:
        lines.append(
            f"| {r['arch']} | {r['params']:,} | {100 * r['test_accuracy']:.2f}% | {r['train_time_s']:.0f} s | "
            f"{r['epochs']} | {r['train_images_per_s']:.0f} | {r['file_bytes'] / 2**20:.2f} MiB | "
            + (f"{r['load_average_1min']:.1f} |" if "load_average_1min" in r else "not recorded |")
        )
    total = sum(r["file_bytes"] for r in summary["checkpoints"])
    lines += ["", f"Embedded dataset v{GENERATOR_VERSION} (seed {DATASET_SEED}, {DEFAULT_SIZE} px), test split of "
              f"2,000 images; {runtime['threads']} CPU threads ({runtime['cpu']}), torch {runtime['torch']}. "
              f"Checkpoints total {total / 2**20:.2f} MiB. Load average: the machine's 1-minute load when "
              "the model finished (about 2 means the 2 cores were busy with this training alone; more means "
              "other programs slowed it down)."]
    (OUT / "summary.md").write_text("\n".join(lines) + "\n")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("models", nargs="*", help="mini models to train (default: every mini_* model)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--threads", type=int, default=2, help="CPU threads (the budgets assume 2)")
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    torch.set_num_threads(args.threads)
    names = args.models or list_models("mini_*")
    unknown = [n for n in names if n not in list_models("mini_*")]
    if unknown:
        parser.error(f"unknown mini models {unknown}; choose from {list_models('mini_*')}")
    OUT.mkdir(exist_ok=True)
    summary_path = OUT / "summary.json"
    rows = {r["arch"]: r for r in json.loads(summary_path.read_text())["checkpoints"]} if summary_path.exists() else {}
    rows = {k: v for k, v in rows.items() if (OUT / f"{k}.pt").exists()}
    for name in names:
        rows[name] = train_and_save(name, args.seed, progress=not args.no_progress)
        write_summary(rows)
    total = sum(p.stat().st_size for p in OUT.glob("*.pt"))
    print(f"data/checkpoints/: {total / 2**20:.2f} MiB in all (budget {SIZE_BUDGET / 2**20:.0f} MiB)")
    return 0 if total <= SIZE_BUDGET else 1


if __name__ == "__main__":
    os.environ.setdefault("PYTHONHASHSEED", "0")
    sys.exit(main())
