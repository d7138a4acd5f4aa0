"""Parameters and MACs of every full-size course model, next to the reference figures.

Prints the README's "model zoo" table (markdown) and exits non-zero when a
model with a published reference figure misses it: parameters must match
exactly, MACs within 0.5% (COURSE_PLAN, "Reference figures"). Models without a
reference implementation (paper-layout GoogLeNet, BN-Inception,
Inception-ResNet-v1) are reported with the figures derived from their papers.

    .venv/bin/python benchmarks/bench_model_costs.py            # table + check
    .venv/bin/python benchmarks/bench_model_costs.py --models inception_v3 xception
"""
from __future__ import annotations

import argparse
import inspect
import sys
import time

import torch

from course_utils import costs
from course_utils.models import create_model
from course_utils.models.registry import model_builder

# name -> (reference params, reference params with aux, reference GMACs, reference implementation)
REFERENCE = {
    "googlenet": (6_624_904, 13_004_888, 1.498, "torchvision googlenet"),
    "googlenet_paper": (None, None, None, "paper Table 1 (derived)"),
    "bn_inception": (None, None, None, "BN paper, Figure 5 (derived)"),
    "inception_v3": (23_834_568, 27_161_264, 5.713, "torchvision / timm inception_v3"),
    "inception_v4": (42_679_816, None, 12.254, "timm inception_v4"),
    "inception_resnet_v1": (None, None, None, "Inception-v4 paper, Figs. 7, 10-14 (derived)"),
    "inception_resnet_v2": (55_843_464, None, 13.156, "timm inception_resnet_v2"),
    "xception": (22_855_952, None, 8.357, "timm legacy_xception; paper Table 3"),
}


def measure(name: str) -> dict:
    has_aux = "aux_logits" in inspect.signature(model_builder(name)).parameters
    model = create_model(name, **({"aux_logits": False} if has_aux else {})).eval()
    size = model.preprocess.input_size
    params = costs.count_params(model)
    aux_params = costs.count_params(create_model(name, aux_logits=True)) if has_aux else None
    macs = costs.count_macs(model, (1, *size))
    return {"params": params, "aux_params": aux_params, "gmacs": macs / 1e9, "input": size[-1]}


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--models", nargs="*", default=list(REFERENCE))
    args = parser.parse_args(argv)
    torch.set_grad_enabled(False)

    failures = []
    rows = ["| model | input | params | with aux | GMACs | reference | matches reference |",
            "|---|---|---|---|---|---|---|"]
    start = time.perf_counter()
    for name in args.models:
        ref_params, ref_aux, ref_gmacs, ref_impl = REFERENCE[name]
        got = measure(name)
        checks = []
        if ref_params is not None:
            checks.append(got["params"] == ref_params)
        if ref_aux is not None:
            checks.append(got["aux_params"] == ref_aux)
        if ref_gmacs is not None:
            checks.append(abs(got["gmacs"] - ref_gmacs) / ref_gmacs <= 0.005)
        verdict = "n/a (no reference)" if not checks else ("yes" if all(checks) else "NO")
        if checks and not all(checks):
            failures.append(name)
        aux = f"{got['aux_params']:,}" if got["aux_params"] is not None else ""
        rows.append(f"| {name} | {got['input']} | {got['params']:,} | {aux} | {got['gmacs']:.3f} | {ref_impl} | {verdict} |")
    print("\n".join(rows))
    print(f"\n(eval mode, 1000 classes, one image; MACs = FlopCounterMode FLOPs / 2; {time.perf_counter() - start:.0f} s)")
    if failures:
        print(f"MISSED the reference figures: {', '.join(failures)}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
