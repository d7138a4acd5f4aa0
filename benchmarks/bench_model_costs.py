"""Parameters and MACs of every course model, counted now, against ``models.records``.

Counts each model (eval mode, one image at its input size, MACs = FlopCounterMode
FLOPs / 2) and exits non-zero when a count differs from its record, the one
source of these figures (the README's model-zoo table is rendered from it:
``python -m course_utils.models.records --write-readme``).

    .venv/bin/python benchmarks/bench_model_costs.py            # every record
    .venv/bin/python benchmarks/bench_model_costs.py --models inception_v3 xception
"""
from __future__ import annotations

import argparse
import sys
import time

import torch

from course_utils import costs
from course_utils.models import create_model
from course_utils.models.records import RECORDS


def measure(key: str) -> tuple[int, int | None, int]:
    """(params, params with aux or None, MACs) of the record ``key``'s model, counted."""
    rec = RECORDS[key]
    model = create_model(rec.name, **rec.changes)
    has_aux = hasattr(model.config, "aux_logits")
    if has_aux:
        model = create_model(rec.name, **rec.changes, aux_logits=False)
    aux = costs.count_params(create_model(rec.name, **rec.changes, aux_logits=True)) if has_aux else None
    macs = costs.count_macs(model.eval(), (1, 3, rec.input_size, rec.input_size))
    return costs.count_params(model), aux, macs


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", default=list(RECORDS), help="record keys (default: all)")
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)
    failures = []
    print("| model | params | with aux | GMACs | as recorded |\n|---|---:|---:|---:|---|")
    start = time.perf_counter()
    for key in args.models:
        rec = RECORDS[key]
        params, aux, macs = measure(key)
        ok = (params, aux, macs) == (rec.params, rec.params_with_aux, rec.macs)
        if not ok:
            failures.append(key)
        print(f"| {key} | {params:,} | {'' if aux is None else f'{aux:,}'} | {macs / 1e9:.3f} | {'yes' if ok else 'NO'} |")
    print(f"\n({time.perf_counter() - start:.0f} s)")
    if failures:
        print(f"Counts differ from models.records: {', '.join(failures)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
