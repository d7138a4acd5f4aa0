"""course_utils.costs: analytic == counted, torchinfo agrees, errors say what to do."""
import pytest
import torch
import torchinfo
from hypothesis import given, settings
from hypothesis import strategies as st
from torch import nn

from course_utils import costs


# ---------------------------------------------------------------- analytic == counted
@st.composite
def conv_configs(draw):
    groups = draw(st.sampled_from([1, 1, 2, 3, 4]))
    cin = groups * draw(st.integers(1, 6))
    cout = groups * draw(st.integers(1, 6))
    kh, kw = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    stride = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    padding = (draw(st.integers(0, 3)), draw(st.integers(0, 3)))
    dilation = (draw(st.integers(1, 3)), draw(st.integers(1, 3)))
    # an input at least as large as the dilated kernel, minus what padding supplies
    min_h = max(1, dilation[0] * (kh - 1) + 1 - 2 * padding[0])
    min_w = max(1, dilation[1] * (kw - 1) + 1 - 2 * padding[1])
    h = draw(st.integers(min_h, min_h + 12))
    w = draw(st.integers(min_w, min_w + 12))
    bias = draw(st.booleans())
    return dict(cin=cin, cout=cout, kernel=(kh, kw), stride=stride, padding=padding,
                dilation=dilation, groups=groups, size=(h, w), bias=bias)


@settings(max_examples=150, deadline=None)
@given(conv_configs())
def test_analytic_equals_counted_for_any_conv(cfg):
    conv = nn.Conv2d(cfg["cin"], cfg["cout"], cfg["kernel"], stride=cfg["stride"], padding=cfg["padding"],
                     dilation=cfg["dilation"], groups=cfg["groups"], bias=cfg["bias"])
    x = torch.zeros(1, cfg["cin"], *cfg["size"])
    analytic = costs.conv_cost(cfg["cin"], cfg["cout"], cfg["kernel"], cfg["size"], cfg["stride"],
                               cfg["padding"], cfg["dilation"], cfg["groups"], cfg["bias"])
    assert analytic.macs == costs.count_macs(conv, x)
    assert analytic.flops == costs.count_flops(conv, x)
    assert analytic.params == costs.count_params(conv)
    assert analytic.output_size == tuple(conv(x).shape[-2:])


@pytest.mark.parametrize(
    "cin,cout,kernel,size,stride,padding,groups",
    [
        (192, 16, 1, 28, 1, 0, 1),          # GoogLeNet 3a 5x5-branch reduction
        (16, 32, 5, 28, 1, 2, 1),           # ... and its 5x5
        (192, 32, 5, 28, 1, 2, 1),          # the same 5x5 without the reduction
        (768, 192, (1, 7), 17, 1, (0, 3), 1),  # Inception v3 factorized 7x7
        (768, 192, (7, 1), 17, 1, (3, 0), 1),
        (728, 728, 3, 19, 1, 1, 728),       # Xception depthwise
        (3, 32, 3, 299, 2, 0, 1),           # Inception v3 stem
    ],
)
def test_paper_layers(cin, cout, kernel, size, stride, padding, groups):
    conv = nn.Conv2d(cin, cout, kernel, stride=stride, padding=padding, groups=groups, bias=False)
    x = torch.zeros(1, cin, size, size)
    assert costs.conv_macs(cin, cout, kernel, size, stride, padding, groups=groups) == costs.count_macs(conv, x)
    assert costs.conv_params(cin, cout, kernel, groups, bias=False) == sum(p.numel() for p in conv.parameters())


def test_googlenet_3a_bottleneck_arithmetic():
    """The numbers the GoogLeNet paper's 1x1-reduction argument rests on (Section 4)."""
    direct = costs.conv_macs(192, 32, 5, 28, padding=2)
    reduced = costs.conv_macs(192, 16, 1, 28) + costs.conv_macs(16, 32, 5, 28, padding=2)
    assert direct == 28 * 28 * 32 * 5 * 5 * 192 == 120_422_400
    assert reduced == 28 * 28 * 16 * 192 + 28 * 28 * 32 * 5 * 5 * 16 == 12_443_648
    assert round(direct / reduced, 2) == 9.68


def test_batch_scales_macs_and_linear_is_counted():
    model = nn.Sequential(nn.Conv2d(3, 8, 3), nn.Flatten(), nn.Linear(8 * 6 * 6, 10))
    one = costs.count_macs(model, (1, 3, 8, 8))
    assert costs.count_macs(model, (4, 3, 8, 8)) == 4 * one
    assert one == costs.conv_macs(3, 8, 3, 8) + 8 * 6 * 6 * 10
    assert costs.linear_params(288, 10) == model[2].weight.numel() + model[2].bias.numel()


def test_count_restores_training_mode():
    model = nn.Sequential(nn.Conv2d(3, 4, 3), nn.BatchNorm2d(4))
    model.train()
    costs.count_macs(model, (2, 3, 8, 8))
    assert model.training
    stats = model[1].running_mean.clone()
    costs.count_macs(model, torch.randn(2, 3, 8, 8))
    assert torch.equal(stats, model[1].running_mean), "counting must not update BN statistics"


# ---------------------------------------------------------------- torchinfo agrees
def test_torchinfo_totals_agree_on_parameters():
    model = nn.Sequential(
        nn.Conv2d(3, 16, 3, padding=1), nn.BatchNorm2d(16), nn.ReLU(),
        nn.Conv2d(16, 16, (1, 7), padding=(0, 3), groups=4), nn.Conv2d(16, 32, 1, bias=False),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(32, 10),
    )
    summary = torchinfo.summary(model, input_size=(1, 3, 32, 32), verbose=0)
    assert summary.total_params == costs.count_params(model)
    # torchinfo counts conv and linear mult-adds the same way (bias excluded) for these layers
    counted = costs.count_macs(model, (1, 3, 32, 32))
    analytic = (costs.conv_macs(3, 16, 3, 32, padding=1) + costs.conv_macs(16, 16, (1, 7), 32, padding=(0, 3), groups=4)
                + costs.conv_macs(16, 32, 1, 32) + 32 * 10)
    assert counted == analytic


# ---------------------------------------------------------------- breakdown
def test_breakdown_rows_add_up_and_expand_lists_branches():
    class Block(nn.Module):
        def __init__(self):
            super().__init__()
            self.branch1 = nn.Conv2d(8, 4, 1)
            self.branch2 = nn.Sequential(nn.Conv2d(8, 2, 1), nn.Conv2d(2, 4, 3, padding=1))

        def forward(self, x):
            return torch.cat([self.branch1(x), self.branch2(x)], 1)

    model = nn.Sequential(nn.Conv2d(3, 8, 3, padding=1), Block())
    report = costs.cost_breakdown(model, (1, 3, 10, 10), expand=["1"])
    top = [r for r in report.rows if "." not in r.name]
    assert sum(r.macs for r in top) == report.total_macs == costs.count_macs(model, (1, 3, 10, 10))
    assert sum(r.params for r in top) == report.total_params
    assert report.row("1.branch1").macs + report.row("1.branch2").macs == report.row("1").macs
    assert report.row("1.branch2").macs == costs.conv_macs(8, 2, 1, 10) + costs.conv_macs(2, 4, 3, 10, padding=1)
    text = str(report)
    assert "1.branch2" in text and "FLOPs = 2 x MACs" in text and f"{report.total_macs:,}" in text
    with pytest.raises(ValueError, match="unknown submodules"):
        costs.cost_breakdown(model, (1, 3, 10, 10), expand=["nope"])


# ---------------------------------------------------------------- receptive field
def test_receptive_field_recurrence():
    two_3x3 = costs.receptive_field([("a", 3), ("b", 3)])
    assert two_3x3[-1].size == 5, "two stacked 3x3 convs see 5x5 (Inception v3, Section 3.1)"
    rows = costs.receptive_field([("conv 7x7/2", 7, 2), ("pool 3x3/2", 3, 2), ("conv 3x3", 3, 1)])
    assert [(r.size, r.jump) for r in rows] == [(7, 2), (11, 4), (19, 4)]
    assert costs.receptive_field([("dil", 3, 1, 2)])[-1].size == 5


def test_receptive_field_layers_from_module():
    stem = nn.Sequential(nn.Conv2d(3, 8, 7, stride=2, padding=3), nn.ReLU(), nn.MaxPool2d(3, 2), nn.Conv2d(8, 8, 3))
    layers = costs.receptive_field_layers(stem)
    assert [layer.kernel_size for layer in layers] == [7, 3, 3]
    assert costs.receptive_field(layers)[-1].size == 19
    with pytest.raises(ValueError, match="no Conv2d"):
        costs.receptive_field_layers(nn.ReLU())


# ---------------------------------------------------------------- errors
@pytest.mark.parametrize(
    "call,match",
    [
        (lambda: costs.conv_params(0, 8, 3), "in_channels must be a positive whole number"),
        (lambda: costs.conv_params(8, -1, 3), "out_channels must be a positive whole number"),
        (lambda: costs.conv_params(6, 8, 3, groups=4), r"in_channels=6 is not divisible by groups=4.*\[1, 2, 3, 6\]"),
        (lambda: costs.conv_macs(8, 6, 3, 10, groups=4), "out_channels=6 is not divisible by groups=4"),
        (lambda: costs.conv_macs(3, 8, 0, 10), "kernel_size must be a positive whole number"),
        (lambda: costs.conv_macs(3, 8, 3, (10, 0)), r"input_size\[1\] must be a positive whole number"),
        (lambda: costs.conv_output_size(4, 7), r"larger than the padded input height 4 \+ 2\*0 = 4"),
        (lambda: costs.conv_output_size(8, 3, stride=0), "stride must be a positive whole number"),
        (lambda: costs.conv_output_size(8, 3, padding=-1), "padding must be a non-negative whole number"),
        (lambda: costs.conv_output_size(8, (3, 3, 3)), r"one whole number or a pair \(height, width\)"),
        (lambda: costs.receptive_field([]), "layers is empty"),
        (lambda: costs.count_macs(nn.Conv2d(3, 3, 1), "image"), "tensor or a shape"),
        (lambda: costs.measure_latency(nn.Conv2d(3, 3, 1), (1, 3, 4, 4), repeats=0), "repeats must be"),
    ],
)
def test_bad_input_names_the_argument(call, match):
    with pytest.raises(ValueError, match=match):
        call()


def test_measure_latency_reports_spread_and_threads():
    result = costs.measure_latency(nn.Conv2d(3, 8, 3), (1, 3, 16, 16), repeats=5, warmup=1, threads=1)
    assert result.repeats == 5 and result.threads == 1 and result.device == "cpu"
    assert 0 < result.min_ms <= result.median_ms and result.iqr_ms >= 0
    assert "median" in str(result) and "1 thread" in str(result)


def test_format_count():
    assert costs.format_count(1_498_376_192) == "1.50 G"
    assert costs.format_count(12_443_648, "MACs") == "12.44 MMACs"
    assert costs.format_count(999) == "999"


# ---------------------------------------------------------------- issue 16
def test_numpy_integers_are_integers():
    import numpy as np

    assert costs.conv_params(np.int64(64), np.int32(128), np.int64(3)) == costs.conv_params(64, 128, 3)
    assert costs.conv_output_size(np.int64(28), (np.int64(3), 3), padding=np.int8(1)) == (28, 28)
    assert costs.count_macs(nn.Conv2d(3, 4, 1), (np.int64(1), 3, 4, 4)) == 3 * 4 * 16


@pytest.mark.parametrize(
    "layers, match",
    [
        ([3, 3], r"layers\[0\].*A bare number is not enough: write \('layer 1', 3\)"),
        ([(3, 2)], r"layers\[0\].*It has no name: write \('layer 1', 3, 2\)"),
        (nn.Conv2d(3, 3, 3), r"receptive_field_layers\(module\)"),
        ([nn.Conv2d(3, 3, 3)], r"layers\[0\].*receptive_field_layers"),
        (7, "layers must be a list of layers"),
    ],
)
def test_receptive_field_refuses_what_it_would_misread(layers, match):
    with pytest.raises(TypeError, match=match):
        costs.receptive_field(layers)


def test_a_module_that_cannot_run_on_the_input_is_explained():
    with pytest.raises(ValueError, match=r"Conv2d cannot run on inputs of shape \(1, 4, 8, 8\)"):
        costs.count_macs(nn.Conv2d(3, 8, 3), (1, 4, 8, 8))
    with pytest.raises(TypeError, match=r"module must be a torch.nn.Module.*create_model\('mini_googlenet'\)"):
        costs.count_macs("mini_googlenet", (1, 3, 48, 48))
    with pytest.raises(ValueError, match="Did you mean 'conv'"):
        costs.cost_breakdown(_seq(), (1, 3, 4, 4), expand=["cnv"])


def _seq():
    model = nn.Sequential()
    model.add_module("conv", nn.Conv2d(3, 3, 1))
    return model
