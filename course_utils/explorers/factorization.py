"""The kernel factorization explorer of lesson 04 (pure logic): one n x n convolution, five ways.

Inception v3 (Szegedy et al. 2015, https://arxiv.org/abs/1512.00567, Section 3)
replaces large convolutions by cheaper compositions that see the same window.
For a convolution from ``C_in`` to ``C_out`` channels with an ``n x n`` kernel,
this module builds each way as an ``nn.Module`` and measures it:

* ``full``: one ``n x n`` conv (the baseline);
* ``stacked 3x3``: ``(n - 1) / 2`` stacked 3x3 convs (n odd and > 3; Section 3.1,
  Figure 1: 5x5 -> two 3x3);
* ``1xn + nx1``: a ``1 x n`` conv then an ``n x 1`` conv (Section 3.2, Figure 3);
* ``two 2x2``: two 2x2 convs (n = 3 only; the paper's counter-example, 11% saving);
* ``depthwise-separable``: an ``n x n`` conv per input channel, then a 1x1
  (Xception, lesson 06; a factorization of the channels rather than of the window).

For each: parameters and MACs (counted by ``costs.count_macs`` on the built module,
checked against the formulas in the tests), the receptive field (``costs.receptive_field``
per axis), the **effective linear rank** (without a nonlinearity between its layers
the composition is a single ``n x n`` convolution; the largest rank of its kernel over
the channel pairs, computed from the impulse response), and the latency measured by an
injectable ``measure(module, input_shape)`` callable (the default times it with
``costs.measure_latency``; tests pass a fake so that nothing is timed).

:func:`kernel_svd` is the other half of the lesson: how close real trained kernels
are to rank 1, i.e. to being exactly separable.

``course_utils.widgets.factorization.factorization_explorer_widget`` is the front end.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

import torch
from torch import Tensor, nn

from .. import costs
from ..checks import CourseError, check_bool, check_choice, check_int, check_tensor

__all__ = [
    "FACTORIZATION_NAMES",
    "available_factorizations",
    "build_factorization",
    "factorization_layers",
    "FactorizationCost",
    "FactorizationComparison",
    "compare_factorizations",
    "effective_kernel",
    "linear_rank",
    "Latency",
    "quick_latency",
    "KernelSVD",
    "kernel_svd",
]

#: Every factorization the explorer knows, in display order.
FACTORIZATION_NAMES: tuple[str, ...] = ("full", "stacked 3x3", "1xn + nx1", "two 2x2", "depthwise-separable")
KERNEL_SIZES: tuple[int, ...] = (3, 5, 7)


def available_factorizations(kernel_size: int) -> list[str]:
    """The factorizations that exist for an ``n x n`` kernel (stacked 3x3 needs n odd > 3; two 2x2 needs n = 3)."""
    n = check_int(kernel_size, "kernel_size", minimum=2)
    names = ["full"]
    if n % 2 == 1 and n > 3:
        names.append("stacked 3x3")
    names.append("1xn + nx1")
    if n == 3:
        names.append("two 2x2")
    names.append("depthwise-separable")
    return names


def _label(name: str, n: int) -> str:
    """``"1xn + nx1"`` -> ``"1x7 + 7x1"`` and so on (what a plot shows)."""
    if name == "full":
        return f"full {n}x{n}"
    if name == "stacked 3x3":
        return f"{(n - 1) // 2} stacked 3x3"
    if name == "1xn + nx1":
        return f"1x{n} + {n}x1"
    if name == "depthwise-separable":
        return f"depthwise {n}x{n} + 1x1"
    return name


def _check_name(name: str, n: int) -> str:
    check_choice(name, "factorization", FACTORIZATION_NAMES)
    if name not in available_factorizations(n):
        why = {"stacked 3x3": "it needs an odd kernel size larger than 3 (5 -> two 3x3, 7 -> three 3x3)",
               "two 2x2": "it replaces a 3x3 only (two 2x2 see 3x3)"}[name]
        raise CourseError(f"factorization {name!r} does not exist for a {n}x{n} kernel: {why}. "
                          f"For n = {n}: {', '.join(available_factorizations(n))}.")
    return name


def factorization_layers(name: str, kernel_size: int) -> list[tuple[str, int, int]]:
    """The conv layers of a factorization as ``(label, kernel height, kernel width)``, in order."""
    n = check_int(kernel_size, "kernel_size", minimum=2)
    _check_name(name, n)
    if name == "full":
        return [(f"{n}x{n}", n, n)]
    if name == "stacked 3x3":
        return [("3x3", 3, 3)] * ((n - 1) // 2)
    if name == "1xn + nx1":
        return [(f"1x{n}", 1, n), (f"{n}x1", n, 1)]
    if name == "two 2x2":
        return [("2x2", 2, 2), ("2x2", 2, 2)]
    return [(f"depthwise {n}x{n}", n, n), ("1x1", 1, 1)]


def build_factorization(
    name: str,
    kernel_size: int,
    in_channels: int,
    out_channels: int,
    mid_channels: int | None = None,
    activation: bool = False,
) -> nn.Sequential:
    """The factorization ``name`` of an ``n x n`` conv ``in_channels -> out_channels`` as a module.

    Every conv is bias-free ("same" output size: 'same' padding; the two 2x2 convs
    are padded on opposite sides, so their 3x3 window is centred). ``mid_channels``
    is the width between the layers (default: ``out_channels``; the depthwise conv
    keeps ``in_channels``). ``activation=True`` puts a ReLU between the layers, as
    a network would; without it the module is linear.
    """
    n = check_int(kernel_size, "kernel_size", minimum=2)
    _check_name(name, n)
    cin = check_int(in_channels, "in_channels", minimum=1)
    cout = check_int(out_channels, "out_channels", minimum=1)
    mid = cout if mid_channels is None else check_int(mid_channels, "mid_channels", minimum=1)
    activation = check_bool(activation, "activation")

    def relu() -> list[nn.Module]:
        return [nn.ReLU()] if activation else []

    if name == "full":
        if n % 2 == 0:
            raise CourseError(f"kernel_size must be odd for a 'same' {n}x{n} conv; use 3, 5 or 7.")
        return nn.Sequential(nn.Conv2d(cin, cout, n, padding=n // 2, bias=False))
    if name == "stacked 3x3":
        k = (n - 1) // 2
        layers: list[nn.Module] = []
        for i in range(k):
            layers.append(nn.Conv2d(cin if i == 0 else mid, cout if i == k - 1 else mid, 3, padding=1, bias=False))
            if i < k - 1:
                layers += relu()
        return nn.Sequential(*layers)
    if name == "1xn + nx1":
        p = n // 2
        return nn.Sequential(nn.Conv2d(cin, mid, (1, n), padding=(0, p), bias=False), *relu(),
                             nn.Conv2d(mid, cout, (n, 1), padding=(p, 0), bias=False))
    if name == "two 2x2":
        return nn.Sequential(nn.ZeroPad2d((1, 0, 1, 0)), nn.Conv2d(cin, mid, 2, bias=False), *relu(),
                             nn.ZeroPad2d((0, 1, 0, 1)), nn.Conv2d(mid, cout, 2, bias=False))
    return nn.Sequential(nn.Conv2d(cin, cin, n, padding=n // 2, groups=cin, bias=False), *relu(),
                         nn.Conv2d(cin, cout, 1, bias=False))


# ---------------------------------------------------------------------------
# rank: what a linear composition can express
# ---------------------------------------------------------------------------
@torch.no_grad()
def effective_kernel(module: nn.Module, in_channels: int, kernel_size: int) -> Tensor:
    """The single ``n x n`` convolution kernel a *linear* module equals: ``(C_out, C_in, n, n)``.

    A chain of convolutions without a nonlinearity is itself a convolution. Its
    kernel is the impulse response: put a 1 in the centre of input channel ``i``
    (zeros elsewhere) and read the ``n x n`` window around the centre of every
    output channel (flipped, because ``nn.Conv2d`` computes a correlation).
    """
    n = check_int(kernel_size, "kernel_size", minimum=1)
    cin = check_int(in_channels, "in_channels", minimum=1)
    size = 2 * n + 1
    impulses = torch.zeros(cin, cin, size, size)
    impulses[torch.arange(cin), torch.arange(cin), n, n] = 1.0
    was_training = module.training
    module.eval()
    try:
        response = module(impulses)  # (C_in as batch, C_out, size, size)
    finally:
        module.train(was_training)
    r = n // 2
    window = response[:, :, n - r: n + r + 1, n - r: n + r + 1]
    return window.flip(-1, -2).transpose(0, 1).contiguous()  # (C_out, C_in, n, n)


def linear_rank(kernel: Tensor, rtol: float = 1e-5) -> int:
    """The largest matrix rank of the ``n x n`` kernels of any channel pair in ``kernel`` (C_out, C_in, n, n)."""
    check_tensor(kernel, "kernel", dims=(2, 3, 4))
    k = kernel.reshape(-1, *kernel.shape[-2:]).double()
    s = torch.linalg.svdvals(k)
    tol = rtol * s.max(dim=1).values.clamp(min=1e-300)
    return int((s > tol[:, None]).sum(1).max())


# ---------------------------------------------------------------------------
# measured latency (injectable)
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class Latency:
    """Fastest run, median and inter-quartile range of repeated timings (milliseconds)."""

    median_ms: float
    min_ms: float
    iqr_ms: float
    repeats: int
    threads: int | None = None


Measure = Callable[[nn.Module, tuple[int, ...]], Latency]


def quick_latency(module: nn.Module, input_shape: Sequence[int], budget_s: float = 0.25,
                  min_repeats: int = 3, max_repeats: int = 30, threads: int | None = 1) -> Latency:
    """Time ``module`` on zeros of ``input_shape`` within about ``budget_s`` seconds.

    One warm-up pass (allocation, kernel choice), then forward passes (eval mode,
    no autograd), each timed on its own, until the budget is spent: at least
    ``min_repeats``, at most ``max_repeats``. Reported: the fastest run, the median
    and the inter-quartile range. On a busy machine the fastest run is the robust
    figure (other programs only ever add time); the median shows how busy it was.
    The budget keeps the widget responsive, about a second for all candidates on
    2 cores, however slow the machine is at the moment.

    ``threads=1`` (the default) times on one CPU thread: with several threads every
    convolution waits for all of them to be scheduled, and on a machine busy with
    other programs that wait, not the layer, decides the time (runs of 100 ms for a
    1 ms layer). One thread compares the layers, not the machine's load. None keeps
    PyTorch's current setting.
    """
    shape = tuple(check_int(v, f"input_shape[{i}]", minimum=1) for i, v in enumerate(input_shape))
    x = torch.zeros(shape)
    was_training = module.training
    module.eval()
    times: list[float] = []
    previous_threads = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(check_int(threads, "threads", minimum=1))
    try:
        with torch.no_grad():
            module(x)  # warm-up
            deadline = time.perf_counter() + budget_s
            while len(times) < max_repeats and (len(times) < min_repeats or time.perf_counter() < deadline):
                start = time.perf_counter()
                module(x)
                times.append(1e3 * (time.perf_counter() - start))
    finally:
        module.train(was_training)
        used_threads = torch.get_num_threads()
        torch.set_num_threads(previous_threads)
    times.sort()
    return Latency(median_ms=_quantile(times, 0.5), min_ms=times[0],
                   iqr_ms=_quantile(times, 0.75) - _quantile(times, 0.25), repeats=len(times), threads=used_threads)


def _quantile(sorted_values: list[float], q: float) -> float:
    pos = (len(sorted_values) - 1) * q
    lo, hi = int(pos), min(int(pos) + 1, len(sorted_values) - 1)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)


# ---------------------------------------------------------------------------
# the comparison
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class FactorizationCost:
    """One factorization's costs and what it can express."""

    name: str
    label: str
    layers: tuple[str, ...]
    params: int
    macs: int
    receptive_field: tuple[int, int]
    linear_rank: int
    latency: Latency | None = None


@dataclass(frozen=True)
class FactorizationComparison:
    """The factorizations of one ``n x n`` conv side by side (the explorer's result)."""

    kernel_size: int
    in_channels: int
    out_channels: int
    mid_channels: int
    spatial: int
    batch_size: int
    results: tuple[FactorizationCost, ...] = field(default_factory=tuple)
    note: str = ""

    def __getitem__(self, name: str) -> FactorizationCost:
        for r in self.results:
            if r.name == name:
                return r
        raise KeyError(f"{name!r} is not in this comparison; it has {[r.name for r in self.results]}.")

    @property
    def baseline(self) -> FactorizationCost | None:
        return next((r for r in self.results if r.name == "full"), None)

    def mac_ratio(self, name: str) -> float:
        """MACs of ``name`` over the full conv's (needs ``full`` in the comparison)."""
        base = self.baseline
        if base is None:
            raise CourseError("mac_ratio needs 'full' in the comparison, the baseline.")
        return self[name].macs / base.macs

    def verdict(self) -> str:
        """One line: the fewest MACs, the fastest measured, and whether they agree."""
        fewest = min(self.results, key=lambda r: r.macs)
        base = self.baseline
        parts = []
        if base is not None and fewest is not base:
            parts.append(f"fewest MACs: {fewest.label} ({100 * fewest.macs / base.macs:.0f}% of the full "
                         f"{self.kernel_size}x{self.kernel_size}'s, rank <= {fewest.linear_rank})")
        else:
            parts.append(f"fewest MACs: {fewest.label}")
        timed = [r for r in self.results if r.latency is not None]
        if len(timed) >= 2:
            fastest = min(timed, key=lambda r: r.latency.min_ms)
            if base is not None and base.latency is not None and fastest is not base:
                parts.append(f"fastest here: {fastest.label} ({base.latency.min_ms / fastest.latency.min_ms:.1f}x "
                             "faster than the full conv, best runs)")
            else:
                parts.append(f"fastest here: {fastest.label}")
            if fastest is not fewest:
                parts.append("fewer MACs did not mean less time")
        return "; ".join(parts) + "."

    def summary(self) -> str:
        """A small table: params, MACs, receptive field, rank, latency."""
        n = self.kernel_size
        head = (f"{n}x{n} conv {self.in_channels}->{self.out_channels} (intermediate width {self.mid_channels}) "
                f"on {self.batch_size} x {self.in_channels} x {self.spatial} x {self.spatial}")
        rows = [head, f"{'factorization':<24}{'params':>10}{'MACs':>12}{'RF':>7}{'rank':>6}{'ms (best)':>11}"
                      f"{'ms (median)':>13}{'GMAC/s':>8}"]
        for r in self.results:
            if r.latency:
                rate = self.batch_size * r.macs / r.latency.min_ms / 1e6
                ms = f"{r.latency.min_ms:>11.3f}{r.latency.median_ms:>13.3f}{rate:>8.1f}"
            else:
                ms = f"{'-':>11}{'-':>13}{'-':>8}"
            rows.append(f"{r.label:<24}{r.params:>10,}{costs.format_count(r.macs):>12}"
                        f"{f'{r.receptive_field[0]}x{r.receptive_field[1]}':>7}{r.linear_rank:>6}{ms}")
        rows.append(self.verdict())
        if self.note:
            rows.append(self.note)
        return "\n".join(rows)


def compare_factorizations(
    kernel_size: int = 7,
    in_channels: int = 64,
    out_channels: int = 64,
    mid_channels: int | None = None,
    spatial: int = 17,
    batch_size: int = 8,
    factorizations: Sequence[str] | None = None,
    measure: Measure | None = quick_latency,
    max_timed_macs: float = 2e9,
) -> FactorizationComparison:
    """Build every factorization of an ``n x n`` conv and measure it (the explorer's logic).

    Args:
        kernel_size: n (3, 5 or 7 in the widget; any n >= 2 works where the factorization exists).
        in_channels, out_channels: the conv's channels.
        mid_channels: the width between the layers of the two-layer factorizations
            (default: ``out_channels``).
        spatial: the input's height and width ("same" padding keeps it).
        batch_size: images per forward pass (MACs are reported per image).
        factorizations: which to compare (default: every one that exists for n; the
            ones that do not exist for n are skipped).
        measure: ``measure(module, input_shape) -> Latency`` (``min_ms``, ``median_ms``, ``iqr_ms``),
            or None to skip timing. The default times the module on this CPU
            (:func:`quick_latency`); tests pass a fake.
        max_timed_macs: time only when every candidate's forward pass (the whole batch)
            does at most this many MACs (2 G: well under a second per pass on one
            thread); larger settings are counted but not timed, and ``note`` says why.

    Counting runs on PyTorch's ``meta`` device (shapes without values), so even the
    largest settings count instantly; only the timed modules hold real weights.
    """
    n = check_int(kernel_size, "kernel_size", minimum=2)
    cin = check_int(in_channels, "in_channels", minimum=1)
    cout = check_int(out_channels, "out_channels", minimum=1)
    mid = cout if mid_channels is None else check_int(mid_channels, "mid_channels", minimum=1)
    d = check_int(spatial, "spatial", minimum=n)
    batch = check_int(batch_size, "batch_size", minimum=1)
    names = available_factorizations(n)
    if factorizations is not None:
        if isinstance(factorizations, str):
            factorizations = [factorizations]
        for f in factorizations:
            check_choice(f, "factorizations", FACTORIZATION_NAMES)
        names = [f for f in names if f in factorizations]
    if measure is not None and not callable(measure):
        raise CourseError("measure must be a function measure(module, input_shape) -> Latency, or None.")
    counted = {}
    for name in names:
        with torch.device("meta"):
            module = build_factorization(name, n, cin, cout, mid)
        counted[name] = (costs.count_params(module), costs.count_macs(module, (1, cin, d, d)))
    note = ""
    largest = max(counted, key=lambda k: counted[k][1])
    if measure is not None and batch * counted[largest][1] > max_timed_macs:
        note = (f"not timed: the {_label(largest, n)} would do {costs.format_count(batch * counted[largest][1])} MACs "
                f"per pass, more than the {costs.format_count(max_timed_macs)} timed live; lower the batch, the "
                "spatial size or the channels.")
        measure = None
    results = []
    for name in names:
        layers = factorization_layers(name, n)
        rf_h = costs.receptive_field([(label, kh) for label, kh, _ in layers])[-1].size
        rf_w = costs.receptive_field([(label, kw) for label, _, kw in layers])[-1].size
        # The rank per channel pair depends on the structure and the intermediate width only (capped at n):
        # one input and one output channel with random weights show it (generic weights reach the maximum).
        probe = _random(name, n, 1, 1, min(mid, n))
        rank = linear_rank(effective_kernel(probe, 1, n))
        latency = None
        if measure is not None:
            latency = measure(build_factorization(name, n, cin, cout, mid), (batch, cin, d, d))
        params, macs = counted[name]
        results.append(FactorizationCost(
            name=name, label=_label(name, n), layers=tuple(label for label, _, _ in layers),
            params=params, macs=macs, receptive_field=(rf_h, rf_w), linear_rank=rank, latency=latency,
        ))
    return FactorizationComparison(n, cin, cout, mid, d, batch, tuple(results), note)


def _random(name: str, n: int, cin: int, cout: int, mid: int) -> nn.Module:
    module = build_factorization(name, n, cin, cout, mid)
    with torch.random.fork_rng():
        torch.manual_seed(0)
        for p in module.parameters():
            nn.init.normal_(p)
    return module


# ---------------------------------------------------------------------------
# SVD of trained kernels
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class KernelSVD:
    """Singular values of every ``k x k`` kernel of a conv weight, one row per channel pair.

    ``energy_first``: the share of each kernel's squared Frobenius norm held by its
    first singular value, ``s1^2 / sum(s^2)`` (1 = exactly rank 1, i.e. exactly a
    column times a row). ``rank1_error``: the relative error of the best rank-1
    approximation, ``||K - K_1|| / ||K||`` = ``sqrt(1 - energy_first)`` (Eckart-Young).
    """

    singular_values: Tensor
    energy_first: Tensor
    rank1_error: Tensor

    @property
    def mean_energy_first(self) -> float:
        return self.energy_first.mean().item()

    @property
    def mean_rank1_error(self) -> float:
        return self.rank1_error.mean().item()

    def uniform_energy_first(self) -> float:
        """The energy share of s1 for a kernel whose singular values were all equal: 1 / k."""
        return 1.0 / self.singular_values.shape[1]


def kernel_svd(weight: Tensor) -> KernelSVD:
    """SVD of every square ``k x k`` kernel of a conv weight ``(C_out, C_in, k, k)`` (or one ``k x k`` matrix).

    All-zero kernels (pruned or dead channels) are left out.
    """
    check_tensor(weight, "weight", dims=(2, 3, 4))
    if weight.shape[-1] != weight.shape[-2]:
        raise CourseError(f"kernel_svd needs square kernels (k x k), got {tuple(weight.shape[-2:])}: a "
                          "1 x n or n x 1 kernel has rank 1 by construction.")
    k = weight.detach().reshape(-1, *weight.shape[-2:]).double()
    s = torch.linalg.svdvals(k)
    total = (s ** 2).sum(1)
    keep = total > 0
    s, total = s[keep], total[keep]
    energy = s[:, 0] ** 2 / total
    return KernelSVD(s.float(), energy.float(), (1 - energy).clamp(min=0).sqrt().float())
