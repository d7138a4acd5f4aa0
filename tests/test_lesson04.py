"""Lesson 04 (Inception v3, factorization): the explorer's logic, SVD, grid reduction, label smoothing,
calibration, the exercises and short reruns of both stored experiments."""
import math

import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

matplotlib.use("Agg")

from course_utils import costs  # noqa: E402
from course_utils.calibration import reliability, smoothed_cross_entropy, smoothed_targets  # noqa: E402
from course_utils.checks import CourseError  # noqa: E402
from course_utils.exercises import lesson04  # noqa: E402
from course_utils.exercises.core import verdict_of  # noqa: E402
from course_utils.experiments import benchmark_script, load_result, same_shape  # noqa: E402
from course_utils.explorers.factorization import (  # noqa: E402
    Latency,
    available_factorizations,
    build_factorization,
    compare_factorizations,
    effective_kernel,
    kernel_svd,
    linear_rank,
)
from course_utils.factorization_nets import PlainNet, grid_reduction_designs  # noqa: E402

SHAPES = [(3, 16, 24, 20, 9), (5, 12, 20, 8, 11), (7, 8, 16, 24, 17), (5, 32, 32, 32, 12)]  # n, cin, cout, mid, d


def _analytic(name, n, cin, cout, mid, d):
    """(params, MACs) from costs' formulas alone, layer by layer."""
    p = n // 2
    if name == "full":
        layers = [(cin, cout, n, p, 1)]
    elif name == "stacked 3x3":
        k = (n - 1) // 2
        layers = [(cin if i == 0 else mid, cout if i == k - 1 else mid, 3, 1, 1) for i in range(k)]
    elif name == "1xn + nx1":
        layers = [(cin, mid, (1, n), (0, p), 1), (mid, cout, (n, 1), (p, 0), 1)]
    elif name == "two 2x2":  # padded to d + 1, so each 2x2 gives d x d
        return (costs.conv_params(cin, mid, 2, bias=False) + costs.conv_params(mid, cout, 2, bias=False),
                costs.conv_macs(cin, mid, 2, d + 1) + costs.conv_macs(mid, cout, 2, d + 1))
    else:
        layers = [(cin, cin, n, p, cin), (cin, cout, 1, 0, 1)]
    params = sum(costs.conv_params(a, b, k, groups=g, bias=False) for a, b, k, _, g in layers)
    macs = sum(costs.conv_macs(a, b, k, d, padding=pad, groups=g) for a, b, k, pad, g in layers)
    return params, macs


def _empirical_rf(module, cin, d):
    """Receptive field (h, w) from the gradient of the centre output pixel: which input pixels reach it."""
    x = torch.randn(1, cin, d, d, requires_grad=True)
    module.eval()
    module(x)[0, :, d // 2, d // 2].sum().backward()
    support = x.grad.abs().sum(1)[0] > 0
    rows, cols = support.any(1).nonzero(), support.any(0).nonzero()
    return int(rows.max() - rows.min() + 1), int(cols.max() - cols.min() + 1)


@pytest.mark.parametrize("n, cin, cout, mid, d", SHAPES)
def test_every_factorization_matches_the_counter_formulas_and_receptive_field(n, cin, cout, mid, d):
    calls = []
    result = compare_factorizations(n, cin, cout, mid, spatial=d, batch_size=2,
                                    measure=lambda m, shape: calls.append(shape) or Latency(1.0, 0.9, 0.1, 3))
    assert [r.name for r in result.results] == available_factorizations(n)
    assert calls == [(2, cin, d, d)] * len(result.results)  # the injected measure, once each, real batch
    for r in result.results:
        module = build_factorization(r.name, n, cin, cout, mid)
        params, macs = _analytic(r.name, n, cin, cout, mid, d)
        assert r.params == params == costs.count_params(module), r.name
        assert r.macs == macs == costs.count_macs(module, (1, cin, d, d)), r.name
        assert module(torch.zeros(1, cin, d, d)).shape == (1, cout, d, d), r.name  # 'same' output
        assert r.receptive_field == (n, n) == _empirical_rf(module, cin, d), r.name


def test_receptive_fields_come_from_costs_receptive_field():
    assert costs.receptive_field([("3x3", 3)] * 3)[-1].size == compare_factorizations(7, measure=None)["stacked 3x3"].receptive_field[0]
    assert costs.receptive_field([("2x2", 2)] * 2)[-1].size == compare_factorizations(3, measure=None)["two 2x2"].receptive_field[0]


def test_paper_savings_at_equal_widths():
    for n, saving in ((3, 1 / 3), (7, 1 - 14 / 49)):
        r = compare_factorizations(n, 32, 32, 32, spatial=9, measure=None)
        assert math.isclose(1 - r.mac_ratio("1xn + nx1"), saving)
    r5 = compare_factorizations(5, 32, 32, 32, spatial=9, measure=None)
    assert math.isclose(1 - r5.mac_ratio("stacked 3x3"), 1 - 18 / 25)  # 28%
    r3 = compare_factorizations(3, 32, 32, 32, spatial=9, measure=None)
    assert math.isclose(1 - r3["two 2x2"].params / r3["full"].params, 1 / 9)  # 11%


def test_linear_rank_per_channel_pair():
    r = compare_factorizations(7, 16, 16, 16, spatial=9, measure=None)
    assert {x.name: x.linear_rank for x in r.results} == {
        "full": 7, "stacked 3x3": 7, "1xn + nx1": 7, "depthwise-separable": 7}
    narrow = compare_factorizations(7, 16, 16, 2, spatial=9, measure=None)
    assert narrow["1xn + nx1"].linear_rank == 2  # a sum of `mid` rank-1 kernels per channel pair
    assert compare_factorizations(5, 8, 8, 1, spatial=9, measure=None)["1xn + nx1"].linear_rank == 1
    assert compare_factorizations(3, 8, 8, 8, spatial=9, measure=None)["two 2x2"].linear_rank == 3


def test_effective_kernel_of_a_single_conv_is_its_weight():
    conv = build_factorization("full", 5, 3, 4)
    assert torch.allclose(effective_kernel(conv, 3, 5), conv[0].weight, atol=1e-6)
    pair = build_factorization("1xn + nx1", 5, 1, 1, mid_channels=1)
    expected = torch.outer(pair[1].weight[0, 0, :, 0], pair[0].weight[0, 0, 0, :])
    assert torch.allclose(effective_kernel(pair, 1, 5)[0, 0], expected, atol=1e-6)
    assert linear_rank(expected) == 1


def test_measure_none_skips_timing_and_verdict_names_the_cheapest():
    r = compare_factorizations(7, 64, 64, 64, spatial=17, measure=None)
    assert all(x.latency is None for x in r.results)
    assert "depthwise" in r.verdict()
    fake = {"full": 5.0, "stacked 3x3": 4.0, "1xn + nx1": 1.0, "depthwise-separable": 2.0}
    timed = compare_factorizations(7, 64, 64, 64, spatial=17,
                                   measure=lambda m, shape: Latency(fake[_name_of(m)], fake[_name_of(m)], 0.1, 3))
    assert "fastest here: 1x7 + 7x1" in timed.verdict() and "did not mean less time" in timed.verdict()
    assert "fastest" in timed.summary()


def _name_of(module):
    convs = [m for m in module if isinstance(m, nn.Conv2d)]
    if len(convs) == 1:
        return "full"
    if convs[0].groups > 1:
        return "depthwise-separable"
    return "1xn + nx1" if convs[0].kernel_size == (1, 7) else "stacked 3x3"


def test_unavailable_factorizations_are_explained():
    assert available_factorizations(3) == ["full", "1xn + nx1", "two 2x2", "depthwise-separable"]
    assert "stacked 3x3" in available_factorizations(5) and "two 2x2" not in available_factorizations(5)
    with pytest.raises(CourseError, match="does not exist for a 7x7"):
        build_factorization("two 2x2", 7, 4, 4)
    with pytest.raises(CourseError, match="factorization"):
        build_factorization("3x3 twice", 5, 4, 4)
    r = compare_factorizations(7, factorizations=["full", "two 2x2"], measure=None)
    assert [x.name for x in r.results] == ["full"]
    with pytest.raises(CourseError):
        compare_factorizations(7, spatial=5, measure=None)


def test_settings_too_large_to_time_are_counted_not_timed():
    calls = []
    r = compare_factorizations(7, 512, 512, 512, spatial=64, batch_size=64,
                               measure=lambda m, shape: calls.append(shape) or Latency(1.0, 1.0, 0.0, 3))
    assert not calls and all(x.latency is None for x in r.results) and "not timed" in r.note
    assert r["full"].macs == costs.conv_macs(512, 512, 7, 64, padding=3)  # counted on the meta device, exact


def test_default_measure_times_on_this_cpu():
    r = compare_factorizations(3, 8, 8, 8, spatial=8, batch_size=1, factorizations=["full", "1xn + nx1"])
    assert all(0 < x.latency.min_ms <= x.latency.median_ms and x.latency.repeats >= 3 for x in r.results)


def test_widget_builds_with_a_fake_measure():
    from course_utils.widgets.factorization import factorization_explorer_widget

    calls = []
    w = factorization_explorer_widget(measure=lambda m, shape: calls.append(shape) or Latency(1.0, 1.0, 0.0, 1))
    assert len(calls) == 4  # n = 7: full, stacked 3x3, 1x7 + 7x1, depthwise
    dropdown = w.children[0]
    dropdown.value = 3
    assert len(calls) == 8 and "two 2x2" in w.children[-2].value  # n = 3: full, 1x3 + 3x1, two 2x2, depthwise


def test_kernel_svd_rank_one_and_error():
    sobel = torch.outer(torch.tensor([1.0, 2.0, 1.0]), torch.tensor([1.0, 0.0, -1.0]))
    s = kernel_svd(sobel)
    assert math.isclose(s.mean_energy_first, 1.0, rel_tol=1e-6) and s.mean_rank1_error < 1e-3
    w = torch.randn(4, 3, 5, 5)
    s = kernel_svd(w)
    assert s.singular_values.shape == (12, 5)
    u, sv, vh = torch.linalg.svd(w[0, 0].double())
    err = torch.linalg.norm(w[0, 0].double() - sv[0] * torch.outer(u[:, 0], vh[0])) / torch.linalg.norm(w[0, 0].double())
    assert math.isclose(s.rank1_error[0].item(), err.item(), rel_tol=1e-4)
    with pytest.raises(CourseError, match="square"):
        kernel_svd(torch.randn(2, 2, 1, 7))


def test_grid_reduction_designs_match_the_counter():
    designs = grid_reduction_designs(64, 20)
    for d in designs.values():
        assert d.params == costs.count_params(d.module)
        assert d.macs == costs.count_macs(d.module, (1, 64, 20, 20))
        assert tuple(d.module(torch.zeros(1, 64, 20, 20)).shape[1:]) == d.steps[-1].shape == (128, 10, 10)
    pool, conv, par = (designs[k] for k in ("pool then conv", "conv then pool", "parallel (v3)"))
    assert conv.macs == 4 * pool.macs and pool.macs == 2 * par.macs
    assert pool.smallest_volume == 64 * 10 * 10 < par.smallest_volume == 128 * 10 * 10


def test_label_smoothing_is_uniform_and_equals_pytorch():
    q = smoothed_targets(torch.tensor([2, 0]), 10, 0.1)
    assert torch.allclose(q.sum(1), torch.ones(2))
    assert math.isclose(q[0, 2].item(), 0.91, rel_tol=1e-6) and math.isclose(q[0, 5].item(), 0.01, rel_tol=1e-5)
    logits, y = torch.randn(16, 10), torch.randint(0, 10, (16,))
    for eps in (0.0, 0.1, 0.3):
        assert torch.allclose(smoothed_cross_entropy(logits, y, eps), nn.CrossEntropyLoss(label_smoothing=eps)(logits, y))
    with pytest.raises(CourseError):
        smoothed_targets(torch.tensor([10]), 10, 0.1)


def test_reliability_and_ece():
    logits = torch.log(torch.tensor([[0.95, 0.05], [0.95, 0.05], [0.6, 0.4], [0.6, 0.4]]))
    y = torch.tensor([0, 1, 0, 0])
    r = reliability(logits, y, bins=10)
    assert math.isclose(r.accuracy, 0.75) and math.isclose(r.mean_confidence, 0.775, rel_tol=1e-5)
    # bin (0.9, 1]: conf 0.95, acc 0.5; bin (0.5, 0.6]: conf 0.6, acc 1.0 -> ECE = 0.5*0.45 + 0.5*0.4
    assert math.isclose(r.ece, 0.425, rel_tol=1e-5)
    assert sum(r.bin_count) == 4


def test_plain_net_arms_share_widths_and_the_factorized_one_is_cheaper():
    full, fact = PlainNet(5, "full"), PlainNet(5, "asymmetric")
    assert full(torch.zeros(2, 3, 48, 48)).shape == fact(torch.zeros(2, 3, 48, 48)).shape == (2, 10)
    assert costs.count_macs(fact, (1, 3, 48, 48)) < 0.5 * costs.count_macs(full, (1, 3, 48, 48))
    assert [b[-1].conv.out_channels for b in (full.block1, full.block2, full.block3)] == \
           [b[-1].conv.out_channels for b in (fact.block1, fact.block2, fact.block3)]


# -- exercises ---------------------------------------------------------------------------------------------


def test_exercise_1_asymmetric_saving(capsys):
    e = lesson04.EX1
    n, d = e["n"], e["spatial"]
    full = costs.conv_macs(160, 192, 7, d, padding=3)
    pair = costs.conv_macs(160, 160, (1, 7), d, padding=(0, 3)) + costs.conv_macs(160, 192, (7, 1), d, padding=(3, 0))
    right = 100 * (1 - pair / full)
    assert verdict_of(lesson04.check_asymmetric_saving, None) is None
    assert verdict_of(lesson04.check_asymmetric_saving, right) is True
    assert verdict_of(lesson04.check_asymmetric_saving, np.float32(round(right, 2))) is True
    for wrong in (100 * (1 - 14 / 49), 100 * pair / full, 1 - pair / full, "73", [right]):
        assert verdict_of(lesson04.check_asymmetric_saving, wrong) is False
    out = capsys.readouterr().out
    assert f"{right:.1f}" not in out and f"{right:.2f}" not in out  # hints do not give the answer away


def test_exercise_2_kernel_rank(capsys):
    right = int(torch.linalg.matrix_rank(lesson04.exercise_kernel()))
    assert verdict_of(lesson04.check_kernel_rank, torch.tensor(right)) is True
    for wrong in (1, 5, 3 if right != 3 else 4, 2.5):
        assert verdict_of(lesson04.check_kernel_rank, wrong) is False


def test_exercise_4_grid_reduction():
    designs = grid_reduction_designs(96, 20)
    assert verdict_of(lesson04.check_grid_reduction, designs["parallel (v3)"].macs) is True
    for wrong in (designs["pool then conv"].macs, designs["conv then pool"].macs, 2 * designs["parallel (v3)"].macs):
        assert verdict_of(lesson04.check_grid_reduction, wrong) is False


def test_exercise_5_smoothed_target(capsys):
    assert verdict_of(lesson04.check_smoothed_target, 0.91) is True
    assert verdict_of(lesson04.check_smoothed_target, np.float64(0.91)) is True
    for wrong in (0.9, 0.01, 0.99, 1 - 0.1 + 0.1 / 9, float("nan"), None):
        assert verdict_of(lesson04.check_smoothed_target, wrong) is (None if wrong is None else False)
    assert "0.91" not in capsys.readouterr().out.split("[correct]")[0]


def test_exercise_3_best_rank1():
    def right(kernel):
        u, s, vh = torch.linalg.svd(kernel)
        return u[:, 0] * s[0], vh[0]

    def no_scale(kernel):
        u, s, vh = torch.linalg.svd(kernel)
        return u[:, 0], vh[0]

    def centre_row(kernel):
        k = kernel.shape[0]
        return torch.eye(k)[k // 2], kernel[k // 2]

    assert verdict_of(lesson04.check_best_rank1, right) is True
    assert verdict_of(lesson04.check_best_rank1, None) is None
    for wrong in (no_scale, centre_row, lambda k: k, lambda k: 1 / 0, 3):
        assert verdict_of(lesson04.check_best_rank1, wrong) is False


# -- stored experiments: a short rerun has the stored file's shape --------------------------------------------


SHORT = dict(seeds=[0], save=False, progress=False, epochs=1, train_images=128, val_images=64, test_images=64)


@pytest.mark.parametrize("script, stored", [("exp_factorized_vs_full", "factorized_vs_full"),
                                            ("exp_label_smoothing", "label_smoothing")])
def test_stored_experiment_and_a_short_rerun_have_the_same_shape(script, stored):
    result = load_result(stored)
    assert len(result["seeds"]) >= 3 and len(result["arms"]) == 2
    rerun = benchmark_script(script).run(**SHORT)
    assert same_shape(result, rerun) == []
    assert all(len(runs) == len(result["seeds"]) for runs in result["arms"].values())
