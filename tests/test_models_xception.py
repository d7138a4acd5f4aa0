"""Xception (lesson 06): Table 3's parameter count, timm equivalence, Figure 5's flows, separable convs."""
import pytest
import timm
import torch
from torch import nn

from course_utils.costs import count_macs, count_params
from course_utils.models import create_model
from course_utils.models.registry import weight_source
from course_utils.models.blocks import SeparableConv2d, SeparableConvBN
from course_utils.models.xception import Xception, XceptionBlock, timm_to_course
from zoo_helpers import compare_with_reference, randomize_


@pytest.fixture(scope="module")
def model():
    return create_model("xception").eval()


def test_params_and_macs_equal_timm(model):
    # The figures themselves are models.records (tested against the counter in test_models_common).
    reference = timm.create_model("legacy_xception").eval()
    assert count_params(model) == count_params(reference) == 22_855_952  # Chollet 2017, Table 3
    assert count_macs(model, (1, 3, 71, 71)) == count_macs(reference, (1, 3, 71, 71))


def test_eval_logits_equal_timm_legacy_xception_after_conversion(model):
    reference = randomize_(timm.create_model("legacy_xception"), seed=5)
    assert count_params(reference) == count_params(model)
    ours, theirs = compare_with_reference(model, reference, timm_to_course, size=107)
    assert ours.shape == (2, 1000)
    assert theirs.std() > 0.1
    assert (ours - theirs).abs().max().item() <= 1e-4
    source = weight_source("xception")
    assert (source.library, source.model_name, source.weights) == ("timm", "legacy_xception", "tf_in1k")


def test_flows_follow_figure_5(model):
    entry = [m for m in model.entry_flow if isinstance(m, XceptionBlock)]
    assert [b.out_channels for b in entry] == [128, 256, 728]
    assert len(model.middle_flow) == 8  # "Middle flow, repeated 8 times"
    assert all(len([m for m in b.rep if isinstance(m, SeparableConvBN)]) == 3 for b in model.middle_flow)
    assert all(isinstance(b.skip, nn.Identity) for b in model.middle_flow)
    exit_block = model.exit_flow.block12
    widths = [m.conv.pointwise.out_channels for m in exit_block.rep if isinstance(m, SeparableConvBN)]
    assert widths == [728, 1024]  # SeparableConv 728, SeparableConv 1024, then the max pool
    assert isinstance(exit_block.rep.maxpool, nn.MaxPool2d)
    assert [model.exit_flow.conv3.conv.pointwise.out_channels, model.exit_flow.conv4.conv.pointwise.out_channels] == [
        1536,
        2048,
    ]
    assert model.num_features == 2048
    assert model.dropout.p == 0.5  # Section 4.3
    # "all Convolution and SeparableConvolution layers are followed by batch normalization"
    for m in model.modules():
        if isinstance(m, SeparableConvBN):
            assert isinstance(m.bn, nn.BatchNorm2d)


def test_block_order_is_relu_then_separable_conv(model):
    block = model.middle_flow[0]
    kinds = [type(m).__name__ for m in block.rep]
    assert kinds == ["ReLU", "SeparableConvBN"] * 3
    # the first ReLU of a block must not overwrite the input the shortcut still needs
    assert block.rep.relu1.inplace is False
    first = model.entry_flow.block1  # its input has just been through the stem's ReLU
    assert [type(m).__name__ for m in first.rep][:1] == ["SeparableConvBN"]


def test_separable_conv_is_depthwise_then_pointwise_without_nonlinearity():
    torch.manual_seed(0)
    sep = SeparableConv2d(8, 16)
    assert sep.depthwise.groups == 8 and sep.depthwise.out_channels == 8
    assert sep.pointwise.kernel_size == (1, 1) and sep.pointwise.groups == 1
    assert [type(m) for m in sep.children()] == [nn.Conv2d, nn.Conv2d]  # nothing in between
    x = torch.randn(2, 8, 9, 9)
    with torch.no_grad():
        # being linear, it equals one regular conv whose 3x3 kernel is the outer product of both
        merged = sep.pointwise.weight[:, :, 0, 0, None, None] * sep.depthwise.weight[:, 0][None]
        assert torch.allclose(sep(x), nn.functional.conv2d(x, merged, padding=1), atol=1e-5)
    # params: 8 * 9 + 8 * 16 instead of 8 * 16 * 9
    assert count_params(sep) == 8 * 9 + 8 * 16


def test_feature_reductions(model):
    assert [(f.module, f.num_chs, f.reduction) for f in model.feature_info] == [
        ("entry_flow.conv2", 64, 2),
        ("entry_flow.block1", 128, 4),
        ("entry_flow.block2", 256, 8),
        ("middle_flow", 728, 16),
        ("exit_flow", 2048, 32),
    ]
    with torch.no_grad():  # at 299 px the last map is 10 x 10; at the minimum, 71 px, it is 3 x 3
        assert model.forward_features(torch.zeros(1, 3, 71, 71)).shape == (1, 2048, 3, 3)


def test_mini_xception_is_the_same_blocks_scaled():
    mini = create_model("mini_xception", width_mult=0.5, middle_blocks=3)
    assert isinstance(mini, Xception)
    assert len(mini.middle_flow) == 3
    assert [m.out_channels for m in mini.entry_flow if isinstance(m, XceptionBlock)] == [64, 128, 364]
    assert mini.num_features == 1024 and mini.num_classes == 10
    # exit-flow block numbering continues after the middle flow
    assert hasattr(mini.exit_flow, "block7")
    no_middle = create_model("mini_xception", middle_blocks=0).eval()
    with torch.no_grad():
        assert no_middle(torch.zeros(2, 3, 48, 48)).shape == (2, 10)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(middle_blocks=-1), "middle_blocks"),
        (dict(middle_blocks=1.5), "middle_blocks"),
        (dict(width_mult=5), "width_mult"),
        (dict(drop_rate=2), "drop_rate"),
        (dict(num_classes="10"), "num_classes"),
    ],
)
def test_mini_builder_validates_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        create_model("mini_xception", **kwargs)
