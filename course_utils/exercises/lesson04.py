"""Checks for lesson 04, "Inception v3 and kernel factorization".

Every expected value is computed here from the exercise's numbers with the
course's own functions (``costs``, ``factorization_nets``, ``calibration``), so the
checks and the lesson share one arithmetic.
"""
from __future__ import annotations

import torch

from .. import costs
from .core import check_callable, check_number, exercise_check

# Exercise 1: Mixed_6c's 7x7 branch (Inception v3, 17 x 17 grid): 1x7 160 -> 160, then 7x1 160 -> 192,
# against one 7x7 conv 160 -> 192 on the same grid.
EX1 = dict(in_channels=160, mid_channels=160, out_channels=192, n=7, spatial=17)


def _ex1() -> tuple[int, int]:
    e = EX1
    n, d = e["n"], e["spatial"]
    full = costs.conv_macs(e["in_channels"], e["out_channels"], n, d, padding=n // 2)
    pair = (costs.conv_macs(e["in_channels"], e["mid_channels"], (1, n), d, padding=(0, n // 2))
            + costs.conv_macs(e["mid_channels"], e["out_channels"], (n, 1), d, padding=(n // 2, 0)))
    return full, pair


@exercise_check
def check_asymmetric_saving(answer) -> None:
    """Exercise 1: percentage of the MACs saved by 1x7 (160 -> 160) + 7x1 (160 -> 192) over one 7x7 (160 -> 192)."""
    full, pair = _ex1()
    n = EX1["n"]
    expected = 100 * (1 - pair / full)
    equal_widths = 100 * (1 - 2 * n / n ** 2)
    return check_number(
        answer, expected,
        title="Exercise 1 (1x7 + 7x1 at Mixed_6c's widths)",
        confirm=(f"the pair costs {costs.format_count(pair)} MACs against {costs.format_count(full)}: the saving "
                 f"depends on the widths; the middle (160) is narrower than the output (192), so it beats the "
                 f"equal-width 1 - 2n/n^2 = {equal_widths:.0f}% a little."),
        hint=("count each conv as output positions x output channels x kernel area x input channels; "
              "the 1x7 runs from 160 to 160 channels, the 7x1 from 160 to 192."),
        mistakes={
            equal_widths: "that is 1 - 2n/n^2, the saving with equal widths everywhere; here the two convs have different widths.",
            100 * pair / full: "that is the share the pair still costs, not the share it saves.",
            pair / full: "give the saving in percent (a number between 0 and 100), not the remaining fraction.",
            1 - pair / full: "close: give it in percent (multiply by 100).",
        },
        rel_tol=2e-3,
        integer=False,
    )


# Exercise 2: the rank of a 5 x 5 kernel (a sum of outer products: a blur and an edge detector).
def exercise_kernel() -> torch.Tensor:
    """The 5 x 5 kernel of exercise 2 (float64)."""
    blur = torch.tensor([1.0, 4.0, 6.0, 4.0, 1.0], dtype=torch.float64)
    edge = torch.tensor([-1.0, -2.0, 0.0, 2.0, 1.0], dtype=torch.float64)
    ramp = torch.tensor([1.0, 0.0, -1.0, 0.0, 1.0], dtype=torch.float64)
    return torch.outer(blur, edge) + 0.5 * torch.outer(edge, blur) + torch.outer(blur + edge, ramp)


@exercise_check
def check_kernel_rank(answer) -> None:
    """Exercise 2: the rank of ``lesson04.exercise_kernel()``."""
    expected = int(torch.linalg.matrix_rank(exercise_kernel()))
    return check_number(
        answer, expected,
        title="Exercise 2 (rank of a kernel)",
        confirm=(f"it is a sum of {expected} independent outer products (column x row), so no single 1x5 + 5x1 "
                 "pair reproduces it exactly; its SVD shows exactly that many non-zero singular values."),
        hint=("count the singular values that are not zero (up to rounding): torch.linalg.svdvals(kernel), "
              "or torch.linalg.matrix_rank(kernel)."),
        mistakes={
            1: "rank 1 would make it exactly separable (one column times one row); look at its singular values.",
            5: "a 5x5 matrix has rank at most 5, but this one has fewer independent rows: look at the singular values.",
            3: "it is written with three outer products, but are they independent? Ask the SVD, not the formula.",
        },
    )


# Exercise 4: the cheapest grid reduction without a representational bottleneck, 96 x 20 x 20 -> 192 x 10 x 10.
EX4 = dict(in_channels=96, spatial=20)


@exercise_check
def check_grid_reduction(answer) -> None:
    """Exercise 4: MACs of the cheapest design without a representational bottleneck, 96x20x20 -> 192x10x10."""
    from ..factorization_nets import grid_reduction_designs

    designs = grid_reduction_designs(**EX4)
    out_volume = 2 * EX4["in_channels"] * (EX4["spatial"] // 2) ** 2
    fine = [d for d in designs.values() if d.smallest_volume >= out_volume]
    expected = min(d.macs for d in fine)
    pool_first = designs["pool then conv"].macs
    return check_number(
        answer, expected,
        title="Exercise 4 (grid reduction)",
        confirm=("the parallel design: a stride-2 conv to 96 channels beside a stride-2 pool that passes the other "
                 "96 through, never fewer numbers than the output holds, at half the cost of even pool-then-conv."),
        hint=("build the three designs (course_utils.factorization_nets.grid_reduction_designs), drop those whose "
              "activation ever holds fewer numbers than the 192 x 10 x 10 output, and take the cheapest."),
        mistakes={
            pool_first: "pool-then-conv is cheap but shrinks 96 x 20 x 20 to 96 x 10 x 10 first: a representational bottleneck.",
            designs["conv then pool"].macs: "conv-then-pool has no bottleneck, but it is not the cheapest design without one.",
            2 * expected: "that is twice the answer: MACs, not FLOPs (or a conv to 192 channels where 96 suffice).",
        },
    )


# Exercise 5: the smoothed target of the true class, K = 10, eps = 0.1.
EX5 = dict(num_classes=10, eps=0.1)


@exercise_check
def check_smoothed_target(answer) -> None:
    """Exercise 5: q'(true class) for K = 10 classes and eps = 0.1 (uniform label smoothing)."""
    from ..calibration import smoothed_targets

    k, eps = EX5["num_classes"], EX5["eps"]
    row = smoothed_targets(torch.tensor([0]), k, eps)[0]
    expected = row[0].item()
    return check_number(
        answer, expected,
        title="Exercise 5 (smoothed target)",
        confirm=f"(1 - eps) + eps / K: the true class keeps 1 - eps and also gets its share eps / K; every other class gets {row[1].item():.2f}.",
        hint="q'(k) = (1 - eps) [k = y] + eps / K: evaluate it for the true class k = y.",
        mistakes={
            1 - eps: "that leaves out the uniform part: the true class also gets eps / K, like every other class.",
            eps / k: "that is what every *other* class gets; the true class gets more.",
            1 - eps / k: "the one-hot part is scaled by (1 - eps) before the uniform part is added.",
            1 - eps + eps / (k - 1): "that spreads eps over the K - 1 wrong classes; the paper's u(k) = 1/K covers all K.",
        },
        rel_tol=1e-6,
        integer=False,
    )


# Exercise 3 (code): the best rank-1 factorization of a k x k kernel.
@exercise_check
def check_best_rank1(answer) -> None:
    """Exercise 3: ``answer(kernel)`` returns ``(column, row)`` whose outer product is the best rank-1 approximation."""

    def trial(fn) -> str | None:
        generator = torch.Generator().manual_seed(4)
        for k in (3, 5, 7):
            kernel = torch.randn(k, k, generator=generator, dtype=torch.float64)
            out = fn(kernel.clone())
            if not isinstance(out, (tuple, list)) or len(out) != 2:
                return "return a pair (column, row): two 1-D tensors of length k."
            col, row = (torch.as_tensor(v, dtype=torch.float64).flatten() for v in out)
            if col.numel() != k or row.numel() != k:
                return f"for a {k}x{k} kernel, column and row must each hold {k} numbers."
            s = torch.linalg.svdvals(kernel)
            best = s[1:].pow(2).sum().sqrt()
            err = torch.linalg.norm(kernel - torch.outer(col, row))
            if err > best * (1 + 1e-6) + 1e-9:
                if torch.allclose(err, torch.linalg.norm(kernel - s[0] * torch.outer(col, row)), rtol=1e-6):
                    return "the directions look right, but the scale is missing: the first singular value belongs in the product."
                return ("the product column x row is not the best rank-1 approximation: use the first singular "
                        "vectors (torch.linalg.svd) and put the first singular value into the column, the row or both.")
        return None

    return check_callable(
        answer, "Exercise 3 (best rank-1 factorization)", trial,
        confirm="the first singular pair is the best k x 1 times 1 x k factorization (Eckart-Young); "
                "its error is the energy in the other singular values.",
    )
