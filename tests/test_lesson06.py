"""Lesson 06 (Xception): the separable-conv arithmetic, the segment spectrum's logic, arithmetic intensity,
the profiler shares, the exercises and a short rerun of the stored experiment."""
import math

import matplotlib
import numpy as np
import pytest
import torch
from torch import nn

matplotlib.use("Agg")

from course_utils import costs  # noqa: E402
from course_utils.checks import CourseError  # noqa: E402
from course_utils.exercises import lesson06  # noqa: E402
from course_utils.exercises.core import verdict_of  # noqa: E402
from course_utils.experiments import benchmark_script, load_result, same_shape  # noqa: E402
from course_utils.explorers.factorization import Latency  # noqa: E402
from course_utils.explorers.segments import divisors, grouped_conv, interleaved_latency, segment_spectrum  # noqa: E402
from course_utils.separable import (  # noqa: E402
    SeparableNet,
    arithmetic_intensity,
    depthwise_shares,
    separable_cost,
    separable_ratio,
)


def fake_measure(times):
    """A measure that returns the given best time per number of groups (and records its calls)."""
    calls = []

    def measure(modules, shape):
        calls.append((sorted(modules), shape))
        return {g: Latency(times(g) * 1.2, times(g), 0.1, 5, 1) for g in modules}

    measure.calls = calls
    return measure


@pytest.mark.parametrize("c, k, d, n", [(12, 3, 9, 2), (16, 5, 7, 1), (6, 1, 5, 3)])
def test_spectrum_counts_match_the_counter_and_the_formulas(c, k, d, n):
    measure = fake_measure(lambda g: 1.0)
    r = segment_spectrum(c, k, d, n, measure=measure)
    assert r.groups == divisors(c)
    assert measure.calls == [(divisors(c), (n, c, d, d))]  # one call, every module, the real batch
    for p in r.points:
        conv = grouped_conv(c, k, p.groups)
        assert p.params == costs.count_params(conv) == costs.conv_params(c, c, k, groups=p.groups, bias=False)
        assert p.macs == costs.count_macs(conv, (1, c, d, d)) == costs.conv_macs(c, c, k, d, padding=k // 2,
                                                                                 groups=p.groups)
        assert p.macs * p.groups == r.points[0].macs  # MACs fall exactly as 1/g
        assert conv(torch.zeros(1, c, d, d)).shape == (1, c, d, d)


def test_spectrum_rates_plateau_and_verdict_with_an_injected_measure():
    r = segment_spectrum(16, 3, 8, 4, measure=fake_measure(lambda g: {1: 8.0, 2: 4.0, 4: 2.2, 8: 2.0, 16: 2.1}[g]))
    assert r.fastest() == 8 and r.plateau(0.25) == 4 and r.plateau(0.05) == 8
    assert math.isclose(r.time_ratio(16), 2.1 / 8.0)
    assert math.isclose(r.macs_per_second(1), 4 * r[1].macs / 8e-3)
    assert "MACs / 16" in r.verdict() and "stops falling at groups = 4" in r.verdict()
    assert "ch/segment" in r.summary()


def test_spectrum_without_timing_and_bad_arguments():
    r = segment_spectrum(8, 3, 6, 1, measure=None)
    assert not r.timed and all(p.latency is None for p in r.points)
    with pytest.raises(CourseError, match="not timed"):
        r.fastest()
    assert segment_spectrum(8, 3, 6, 1, groups=[8, 1], measure=None).groups == [1, 8]
    with pytest.raises(CourseError, match="do not divide"):
        segment_spectrum(8, 3, 6, 1, groups=[3], measure=None)
    with pytest.raises(CourseError, match="odd"):
        segment_spectrum(8, 4, 6, 1, measure=None)
    with pytest.raises(CourseError, match="Latency"):
        segment_spectrum(8, 3, 6, 1, measure=lambda modules, shape: {})
    big = segment_spectrum(256, 7, 56, 32, measure=fake_measure(lambda g: 1.0))
    assert not big.timed and "not timed" in big.note


def test_interleaved_latency_times_every_module_on_this_cpu():
    modules = {g: grouped_conv(8, 3, g) for g in (1, 8)}
    out = interleaved_latency(modules, (1, 8, 8, 8), budget_s=0.05, min_rounds=3)
    assert set(out) == {1, 8}
    assert all(0 < t.min_ms <= t.median_ms and t.repeats >= 3 and t.threads == 1 for t in out.values())
    r = segment_spectrum(8, 3, 8, 1, measure=lambda m, s: interleaved_latency(m, s, budget_s=0.05))
    assert r.timed


def test_widget_builds_with_a_fake_measure():
    from course_utils.widgets.segments import segment_spectrum_widget

    measure = fake_measure(lambda g: 1 + 1 / g)
    w = segment_spectrum_widget(measure=measure)
    assert len(measure.calls) == 1 and measure.calls[0][0] == divisors(96)
    slider = w.children[4]
    slider.value = 96
    assert len(measure.calls) == 1 and "groups = 96" in w.children[-2].value  # moving g does not re-measure
    w.children[0].value = 64  # channels
    assert len(measure.calls) == 2 and list(slider.options) == divisors(64)


def test_separable_cost_and_ratio_match_the_counter():
    for cin, cout, k, d in ((32, 64, 3, 10), (728, 728, 3, 19), (16, 8, 5, 7)):
        c = separable_cost(cin, cout, k, d)
        pair = nn.Sequential(nn.Conv2d(cin, cin, k, padding=k // 2, groups=cin, bias=False),
                             nn.Conv2d(cin, cout, 1, bias=False))
        regular = nn.Conv2d(cin, cout, k, padding=k // 2, bias=False)
        assert c.params == costs.count_params(pair) and c.regular_params == costs.count_params(regular)
        assert c.macs == costs.count_macs(pair, (1, cin, d, d))
        assert c.regular_macs == costs.count_macs(regular, (1, cin, d, d))
        assert math.isclose(c.mac_ratio, separable_ratio(cout, k)) and math.isclose(c.mac_ratio, 1 / cout + 1 / k ** 2)


def test_arithmetic_intensity():
    dense, depthwise = arithmetic_intensity(64, 3, 16), arithmetic_intensity(64, 3, 16, groups=64)
    assert dense.macs == costs.conv_macs(64, 64, 3, 16, padding=1)
    assert dense.bytes_moved == 4 * (2 * 64 * 16 * 16 + 64 * 64 * 9)
    assert depthwise.macs * 64 == dense.macs and depthwise.macs_per_byte < 2.25 < 9 < dense.macs_per_byte


def test_depthwise_shares_split_the_counted_macs():
    torch.manual_seed(0)
    net = SeparableNet("none", widths=(8, 16, 16, 24)).eval()
    s = depthwise_shares(net, (2, 3, 48, 48), passes=1)
    assert sum(s.macs.values()) == costs.count_macs(net, (1, 3, 48, 48))
    grids = {}
    hooks = [m.register_forward_pre_hook(lambda mod, inputs: grids.__setitem__(mod, inputs[0].shape[-1]))
             for m in net.modules() if isinstance(m, nn.Conv2d) and m.groups > 1]
    net(torch.zeros(1, 3, 48, 48))
    for h in hooks:
        h.remove()
    depthwise = sum(costs.conv_macs(m.in_channels, m.out_channels, 3, d, padding=1, groups=m.groups)
                    for m, d in grids.items())
    assert len(grids) == 5 and sorted(set(grids.values())) == [6, 12, 24]
    assert s.macs["depthwise"] == depthwise and 0 < s.mac_share < 1
    assert all(v >= 0 for v in s.time_ms.values()) and s.time_ms["depthwise"] > 0 and 0 < s.time_share < 1


def test_separable_net_arms_differ_only_in_the_intermediate():
    nets = {a: SeparableNet(a) for a in ("none", "relu", "elu")}
    assert len({costs.count_params(n) for n in nets.values()}) == 1
    assert isinstance(nets["none"].stage1[0].intermediate, nn.Identity)
    assert isinstance(nets["elu"].stage1[0].intermediate, nn.ELU)
    assert nets["relu"](torch.zeros(2, 3, 48, 48)).shape == (2, 10)
    with pytest.raises(CourseError):
        SeparableNet("tanh")


# -- exercises ---------------------------------------------------------------------------------------------


def test_exercise_1_separable_macs(capsys):
    c = separable_cost(728, 1024, 3, 19)
    assert verdict_of(lesson06.check_separable_macs, None) is None
    assert verdict_of(lesson06.check_separable_macs, c.macs) is True
    assert verdict_of(lesson06.check_separable_macs, np.int64(c.macs)) is True
    assert verdict_of(lesson06.check_separable_macs, torch.tensor(c.macs)) is True
    for wrong in (c.regular_macs, c.pointwise_macs, c.depthwise_macs, 2 * c.macs, "271480664", [c.macs], 1.5):
        assert verdict_of(lesson06.check_separable_macs, wrong) is False
    hints = [line for line in capsys.readouterr().out.splitlines() if "without quotes" not in line]  # that one echoes
    assert not [line for line in hints if f"{c.macs:,}" in line or str(c.macs) in line]


def test_exercise_2_time_plateau_on_a_measured_spectrum():
    times = {1: 8.0, 2: 4.0, 4: 2.2, 8: 2.0, 16: 2.1}
    r = segment_spectrum(16, 3, 8, 4, measure=fake_measure(lambda g: times[g]))
    assert verdict_of(lesson06.check_time_plateau, None, r) is None
    assert verdict_of(lesson06.check_time_plateau, 4, r) is True
    assert verdict_of(lesson06.check_time_plateau, np.int32(4), r) is True
    for wrong in (1, 2, 16, 3, "4", 4.5):
        assert verdict_of(lesson06.check_time_plateau, wrong, r) is False
    untimed = segment_spectrum(16, 3, 8, 4, measure=None)
    assert verdict_of(lesson06.check_time_plateau, 4, untimed) is False
    assert verdict_of(lesson06.check_time_plateau, 4, None) is False


def test_exercise_3_middle_block_params(capsys):
    from course_utils.models import create_model

    with torch.device("meta"):
        model = create_model("xception")
    right = costs.count_params(model.middle_flow.block5)
    sep = 728 * 9 + 728 * 728
    assert right == 3 * (sep + 2 * 728)
    assert verdict_of(lesson06.check_middle_block_params, right) is True
    for wrong in (3 * sep, sep + 2 * 728, 3 * (728 * 728 * 9 + 2 * 728), 3 * (sep + 4 * 728), None):
        assert verdict_of(lesson06.check_middle_block_params, wrong) is (None if wrong is None else False)
    assert f"{right:,}" not in capsys.readouterr().out.split("[correct]")[0]


# -- the stored experiment ---------------------------------------------------------------------------------


def _script():
    return benchmark_script("exp_separable_nonlinearity")


def test_short_rerun_has_the_stored_shape():
    script = _script()
    rerun = script.run(seeds=[0], save=False, progress=False, epochs=1, train_images=128, val_images=64,
                       test_images=64)
    assert set(rerun["arms"]) == {"none", "ReLU", "ELU"}
    stored = load_result("separable_nonlinearity")
    assert same_shape(stored, rerun) == []
    assert len(stored["seeds"]) >= 3 and stored["recipe"]["epochs"] == 5
    assert "relu" in script.report(stored) or "ReLU" in script.report(stored)
