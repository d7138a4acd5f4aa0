"""Command line: ``python -m course_utils.data [--seed S] [--size PX] [--samples PATH]``.

Generates (and caches) the three splits of the embedded shapes dataset and
prints their channel statistics; ``--samples`` also saves a grid of examples.
"""
from __future__ import annotations

import time
from pathlib import Path

from .embedded import cache_dir, embedded_dataset, plot_samples
from .shapes import DEFAULT_SIZE, SPLIT_SIZES



def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m course_utils.data", description="Generate (and cache) the embedded shapes dataset.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE)
    parser.add_argument("--samples", type=Path, help="also save a grid of sample images to this PNG")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    for split in SPLIT_SIZES:
        t = time.perf_counter()
        ds = embedded_dataset(split, seed=args.seed, size=args.size)
        x = ds.images.float() / 255
        print(f"{split:5s}: {len(ds):6d} images in {time.perf_counter() - t:5.1f} s, channel mean "
              f"{[round(v, 3) for v in x.mean((0, 2, 3)).tolist()]}, std {[round(v, 3) for v in x.std((0, 2, 3)).tolist()]}")
    print(f"total {time.perf_counter() - start:.1f} s; cache: {cache_dir()}")
    if args.samples:
        import matplotlib

        matplotlib.use("Agg")
        fig = plot_samples(embedded_dataset("train", seed=args.seed, size=args.size), per_class=8)
        jpeg = args.samples.suffix.lower() in (".jpg", ".jpeg")
        fig.savefig(args.samples, dpi=90, **({"pil_kwargs": {"quality": 85}} if jpeg else {}))
        print(f"wrote {args.samples}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
