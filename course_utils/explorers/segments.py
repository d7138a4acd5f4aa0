"""The segment spectrum explorer of lesson 06 (pure logic): one k x k conv, from one segment to one per channel.

Xception's hypothesis (Chollet 2017, https://arxiv.org/abs/1610.02357, Section 2)
places the regular convolution, the Inception module and the depthwise separable
convolution on one spectrum: the number of independent channel **segments** the
spatial convolution works on. A grouped convolution is exactly that spectrum:

* ``groups = 1``: one segment, a regular conv (every output channel sees every input channel);
* a few groups: Inception-like, 3-4 segments convolved separately;
* ``groups = C``: one segment per channel, the depthwise conv of Xception.

For a ``k x k`` conv from ``C`` to ``C`` channels on an ``H x H`` grid,
:func:`segment_spectrum` builds it for every divisor ``g`` of ``C``, counts
parameters and MACs on the meta device (both fall as ``1/g``), times it with an
injectable ``measure(modules, input_shape)`` (default: :func:`interleaved_latency`,
one thread, time-bounded like lesson 04's ``quick_latency``, the layers taking turns
pass by pass as in lesson 03's ``batchnorm.time_interleaved``, so that a busy moment of
the machine hits every point alike; tests pass a fake), and reports the achieved MACs
per second. The learner sees the MACs fall as ``1/g``
while the time does not.

``course_utils.widgets.segments.segment_spectrum_widget`` is the front end.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

import torch
from torch import nn

from .. import costs
from ..checks import CourseError, check_int
from .factorization import Latency, _quantile

__all__ = ["divisors", "grouped_conv", "interleaved_latency", "SegmentCost", "SegmentSpectrum", "segment_spectrum",
           "Measure"]

#: ``measure(modules, input_shape) -> {key: Latency}``: times every module on one input shape.
Measure = Callable[[Mapping[int, nn.Module], tuple[int, ...]], Mapping[int, Latency]]


def interleaved_latency(modules: Mapping, input_shape: Sequence[int], budget_s: float = 2.0, min_rounds: int = 3,
                        max_rounds: int = 60, threads: int | None = 1) -> dict:
    """Time every module of ``modules`` on zeros of ``input_shape``, taking turns, within about ``budget_s``.

    Rounds of :func:`course_utils.batchnorm.time_interleaved` (each module one forward
    pass per round, the order shifting every round) until the budget is spent: at least
    ``min_rounds``, at most ``max_rounds``. A slow moment of a busy machine then hits
    every module alike. Reported per module: the fastest run (the robust figure: other
    programs only ever add time), the median and the inter-quartile range. One thread by
    default, for the reason given in ``explorers.factorization.quick_latency``.
    """
    from ..batchnorm import time_interleaved

    shape = tuple(check_int(v, f"input_shape[{i}]", minimum=1) for i, v in enumerate(input_shape))
    x = torch.zeros(shape)
    modes = {key: m.training for key, m in modules.items()}
    for m in modules.values():
        m.eval()
    samples: dict = {key: [] for key in modules}
    try:
        deadline = time.perf_counter() + budget_s
        rounds = 0
        while rounds < max_rounds and (rounds < min_rounds or time.perf_counter() < deadline):
            # one round per call: the first call warms up (allocation, kernel choice), the order shifts by round
            keys = list(modules)[rounds % len(modules):] + list(modules)[: rounds % len(modules)]
            got = time_interleaved({k: modules[k] for k in keys}, x, rounds=1, warmup=1 if rounds == 0 else 0,
                                   threads=threads)
            for key, times in got.items():
                samples[key] += times
            rounds += 1
    finally:
        for key, m in modules.items():
            m.train(modes[key])
    result = {}
    for key, times in samples.items():
        times.sort()
        result[key] = Latency(median_ms=_quantile(times, 0.5), min_ms=times[0],
                              iqr_ms=_quantile(times, 0.75) - _quantile(times, 0.25), repeats=len(times),
                              threads=threads if threads is not None else torch.get_num_threads())
    return result


def divisors(n: int) -> list[int]:
    """The divisors of ``n`` in increasing order: the group counts a conv with ``n`` channels allows."""
    n = check_int(n, "channels", minimum=1)
    return [g for g in range(1, n + 1) if n % g == 0]


def grouped_conv(channels: int, kernel_size: int, groups: int) -> nn.Conv2d:
    """A 'same' ``k x k`` conv from ``channels`` to ``channels`` in ``groups`` segments, no bias."""
    c = check_int(channels, "channels", minimum=1)
    k = check_int(kernel_size, "kernel_size", minimum=1)
    g = check_int(groups, "groups", minimum=1)
    if c % g:
        raise CourseError(f"groups={g} does not divide channels={c}: each segment needs a whole number of "
                          f"channels. Allowed: {divisors(c)}.")
    return nn.Conv2d(c, c, k, padding=k // 2, groups=g, bias=False)


@dataclass(frozen=True)
class SegmentCost:
    """One point of the spectrum: ``groups`` segments of ``channels / groups`` channels each."""

    groups: int
    params: int
    macs: int
    latency: Latency | None = None


@dataclass(frozen=True)
class SegmentSpectrum:
    """The whole spectrum for one layer (the explorer's result)."""

    channels: int
    kernel_size: int
    spatial: int
    batch_size: int
    points: tuple[SegmentCost, ...] = field(default_factory=tuple)
    note: str = ""

    def __getitem__(self, groups: int) -> SegmentCost:
        for p in self.points:
            if p.groups == groups:
                return p
        raise KeyError(f"groups={groups} is not on this spectrum; it has {[p.groups for p in self.points]}.")

    @property
    def groups(self) -> list[int]:
        return [p.groups for p in self.points]

    @property
    def timed(self) -> bool:
        return all(p.latency is not None for p in self.points)

    def macs_per_second(self, groups: int) -> float:
        """Achieved MACs per second of the fastest run (the whole batch)."""
        p = self[groups]
        if p.latency is None:
            raise CourseError("this spectrum was not timed (measure=None, or the layer was too large to time).")
        return self.batch_size * p.macs / (p.latency.min_ms / 1e3)

    def time_ratio(self, groups: int, reference: int = 1) -> float:
        """Best time at ``groups`` over the best time at ``reference`` (1: the regular conv)."""
        if not self.timed:
            raise CourseError("this spectrum was not timed.")
        return self[groups].latency.min_ms / self[reference].latency.min_ms

    def fastest(self) -> int:
        """The number of groups with the fastest best run."""
        if not self.timed:
            raise CourseError("this spectrum was not timed.")
        return min(self.points, key=lambda p: p.latency.min_ms).groups

    def plateau(self, tolerance: float = 0.25) -> int:
        """The fewest groups whose best time is within ``tolerance`` of the fastest: where the time stops falling."""
        if not self.timed:
            raise CourseError("this spectrum was not timed.")
        best = min(p.latency.min_ms for p in self.points)
        return next(p.groups for p in self.points if p.latency.min_ms <= (1 + tolerance) * best)

    def verdict(self) -> str:
        """One line: what the MACs did from g = 1 to g = C, and what the time did."""
        first, last = self.points[0], self.points[-1]
        line = (f"groups {first.groups} -> {last.groups}: MACs / {first.macs / last.macs:,.0f}")
        if self.timed:
            line += (f", time / {first.latency.min_ms / last.latency.min_ms:.1f} (best runs); "
                     f"fastest at groups = {self.fastest()}, time stops falling at groups = {self.plateau()}")
        return line + "."

    def summary(self) -> str:
        """A small table: groups, channels per segment, params, MACs, best and median ms, GMAC/s."""
        k, c = self.kernel_size, self.channels
        rows = [f"{k}x{k} conv {c}->{c} on {self.batch_size} x {c} x {self.spatial} x {self.spatial}",
                f"{'groups':>6}{'ch/segment':>11}{'params':>10}{'MACs/image':>12}{'ms (best)':>11}{'ms (median)':>13}"
                f"{'GMAC/s':>8}"]
        for p in self.points:
            if p.latency is not None:
                t = (f"{p.latency.min_ms:>11.3f}{p.latency.median_ms:>13.3f}"
                     f"{self.macs_per_second(p.groups) / 1e9:>8.2f}")
            else:
                t = f"{'-':>11}{'-':>13}{'-':>8}"
            rows.append(f"{p.groups:>6}{c // p.groups:>11}{p.params:>10,}{costs.format_count(p.macs):>12}{t}")
        rows.append(self.verdict())
        if self.note:
            rows.append(self.note)
        return "\n".join(rows)


def segment_spectrum(
    channels: int = 96,
    kernel_size: int = 3,
    spatial: int = 24,
    batch_size: int = 8,
    groups: Sequence[int] | None = None,
    measure: Measure | None = interleaved_latency,
    max_timed_macs: float = 1e9,
) -> SegmentSpectrum:
    """Build, count and time a ``k x k`` conv ``channels -> channels`` for every number of groups (the logic).

    Args:
        channels: C, input and output channels (96 by default: twelve divisors, 3 and 4 among them).
        kernel_size: k (odd: 'same' padding).
        spatial: H = W of the input.
        batch_size: images per timed forward pass (MACs are reported per image).
        groups: which divisors of C to include (default: all of them).
        measure: ``measure(modules, input_shape) -> {groups: Latency}`` (``modules`` maps each
            number of groups to its conv) or None to skip timing; the default,
            :func:`interleaved_latency`, times them on this CPU, one thread, about two seconds in all.
        max_timed_macs: time only when the regular conv's pass (whole batch) does at most
            this many MACs; larger layers are counted, not timed, and ``note`` says why.
    """
    c = check_int(channels, "channels", minimum=1)
    k = check_int(kernel_size, "kernel_size", minimum=1)
    d = check_int(spatial, "spatial", minimum=1)
    n = check_int(batch_size, "batch_size", minimum=1)
    if k % 2 == 0:
        raise CourseError(f"kernel_size must be odd for a 'same' conv, got {k}; use 1, 3, 5 or 7.")
    allowed = divisors(c)
    if groups is None:
        chosen = allowed
    else:
        chosen = sorted({check_int(g, "groups", minimum=1) for g in groups})
        bad = [g for g in chosen if g not in allowed]
        if bad:
            raise CourseError(f"groups {bad} do not divide channels={c}; allowed: {allowed}.")
    if measure is not None and not callable(measure):
        raise CourseError("measure must be a function measure(module, input_shape) -> Latency, or None.")
    counted = {}
    for g in chosen:
        with torch.device("meta"):
            module = grouped_conv(c, k, g)
        counted[g] = (costs.count_params(module), costs.count_macs(module, (1, c, d, d)))
    note = ""
    largest = max(m for _, m in counted.values())
    if measure is not None and n * largest > max_timed_macs:
        note = (f"not timed: the densest conv would do {costs.format_count(n * largest)} MACs per pass, more than "
                f"the {costs.format_count(max_timed_macs)} timed live; lower the batch, the size or the channels.")
        measure = None
    latencies = {}
    if measure is not None:
        with torch.random.fork_rng():
            torch.manual_seed(0)
            modules = {g: grouped_conv(c, k, g) for g in chosen}
        latencies = dict(measure(modules, (n, c, d, d)))
        missing = [g for g in chosen if not isinstance(latencies.get(g), Latency)]
        if missing:
            raise CourseError(f"measure returned no Latency for groups {missing}; it must time every module it is given.")
    points = tuple(SegmentCost(g, *counted[g], latencies.get(g)) for g in chosen)
    return SegmentSpectrum(c, k, d, n, points, note)
