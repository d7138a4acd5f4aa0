"""Inception-ResNet-v1/v2 (lesson 05): the paper's figures, timm equivalence, residual scaling."""
import pytest
import timm
import torch
from torch import nn

from course_utils.costs import count_macs, count_params
from course_utils.models import create_model
from course_utils.models.inception_resnet import (
    Block8,
    Block17,
    Block35,
    InceptionResNet,
    timm_v2_to_course,
)
from course_utils.models.records import record
from course_utils.models.registry import weight_source
from zoo_helpers import compare_with_reference, conv_table, randomize_

# Inception-ResNet-v1 has no reference implementation: these totals are derived from the
# figures transcribed below (and reported in the README); they change only if a table does.


@pytest.fixture(scope="module")
def v1():
    return create_model("inception_resnet_v1").eval()


@pytest.fixture(scope="module")
def v2():
    return create_model("inception_resnet_v2").eval()


# ---------------------------------------------------------------- Inception-ResNet-v1
# Transcribed from the paper, each branch as its (kernel, stride, out channels) convs.
FIGURE_14_STEM = [  # conv layers only; the 3x3/2 max pool sits between conv2d_2b and conv2d_3b
    ((3, 3), 2, 32),
    ((3, 3), 1, 32),
    ((3, 3), 1, 64),
    ((1, 1), 1, 80),
    ((3, 3), 1, 192),
    ((3, 3), 2, 256),
]
FIGURE_10_BLOCK35 = {
    "branch0": [((1, 1), 1, 32)],
    "branch1": [((1, 1), 1, 32), ((3, 3), 1, 32)],
    "branch2": [((1, 1), 1, 32), ((3, 3), 1, 32), ((3, 3), 1, 32)],
    "up": [((1, 1), 1, 256)],  # "1x1 Conv (256 Linear)"
}
FIGURE_7_REDUCTION_A_V1 = {  # Table 1, Inception-ResNet-v1: k=192, l=192, m=256, n=384
    "branch0": [((3, 3), 2, 384)],
    "branch1": [((1, 1), 1, 192), ((3, 3), 1, 192), ((3, 3), 2, 256)],
}
FIGURE_11_BLOCK17 = {
    "branch0": [((1, 1), 1, 128)],
    "branch1": [((1, 1), 1, 128), ((1, 7), 1, 128), ((7, 1), 1, 128)],
    "up": [((1, 1), 1, 896)],  # "1x1 Conv (896 Linear)"
}
FIGURE_12_REDUCTION_B_V1 = {
    "branch0": [((1, 1), 1, 256), ((3, 3), 2, 384)],
    "branch1": [((1, 1), 1, 256), ((3, 3), 2, 256)],
    "branch2": [((1, 1), 1, 256), ((3, 3), 1, 256), ((3, 3), 2, 256)],
}
FIGURE_13_BLOCK8 = {
    "branch0": [((1, 1), 1, 192)],
    "branch1": [((1, 1), 1, 192), ((1, 3), 1, 192), ((3, 1), 1, 192)],
    "up": [((1, 1), 1, 1792)],  # "1x1 Conv (1792 Linear)"
}


def _check_block(block, figure):
    for branch, convs in figure.items():
        assert conv_table(getattr(block, branch)) == convs, branch


def test_v1_stem_is_figure_14(v1):
    assert conv_table(v1.stem) == FIGURE_14_STEM
    assert isinstance(v1.stem.maxpool_3a, nn.MaxPool2d)
    with torch.no_grad():
        assert v1.stem(torch.zeros(1, 3, 299, 299)).shape == (1, 256, 35, 35)  # Figure 14's output


def test_v1_blocks_are_figures_10_to_13(v1):
    # Figure 15: 5 x A, Reduction-A, 10 x B, Reduction-B, 5 x C
    assert [len(v1.block35), len(v1.block17), len(v1.block8)] == [5, 10, 5]
    for block in v1.block35:
        _check_block(block, FIGURE_10_BLOCK35)
    _check_block(v1.mixed_6a, FIGURE_7_REDUCTION_A_V1)
    for block in v1.block17:
        _check_block(block, FIGURE_11_BLOCK17)
    _check_block(v1.mixed_7a, FIGURE_12_REDUCTION_B_V1)
    for block in v1.block8:
        _check_block(block, FIGURE_13_BLOCK8)
    # every residual block ends in ReLU in the paper's figures, and has no conv2d_7b
    assert all(isinstance(b.relu, nn.ReLU) for b in [*v1.block35, *v1.block17, *v1.block8])
    assert v1.conv2d_7b is None and v1.num_features == 1792


def test_v1_grid_sizes_follow_figure_15(v1):
    # 35 x 35 x 256 -> 17 x 17 x 896 -> 8 x 8 x 1792
    assert [(f.module, f.num_chs, f.reduction) for f in v1.feature_info[2:]] == [
        ("block35", 256, 8),
        ("block17", 896, 16),
        ("block8", 1792, 32),
    ]


def test_v1_is_roughly_as_costly_as_inception_v3(v1):
    # Section 3.2: "Inception-ResNet-v1 [has] roughly the computational cost of Inception-v3".
    # (Its exact figures are models.records, tested against the counter in test_models_common.)
    ratio = record("inception_resnet_v1").macs / record("inception_v3").macs
    assert 0.9 < ratio < 1.2


def test_v1_has_no_weight_source():
    with pytest.raises(ValueError, match="No pretrained weights"):
        weight_source("inception_resnet_v1")


# ---------------------------------------------------------------- Inception-ResNet-v2
def test_v2_params_and_macs_equal_timm(v2):
    reference = timm.create_model("inception_resnet_v2").eval()
    assert count_params(v2) == count_params(reference)
    assert count_macs(v2, (1, 3, 75, 75)) == count_macs(reference, (1, 3, 75, 75))


def test_v2_eval_logits_equal_timm_after_conversion(v2):
    reference = randomize_(timm.create_model("inception_resnet_v2"), seed=4)
    assert count_params(reference) == count_params(v2)
    ours, theirs = compare_with_reference(v2, reference, timm_v2_to_course, size=75)
    assert ours.shape == (2, 1000)
    assert theirs.std() > 0.1
    assert (ours - theirs).abs().max().item() <= 1e-4
    source = weight_source("inception_resnet_v2")
    assert (source.library, source.model_name, source.weights) == ("timm", "inception_resnet_v2", "tf_in1k")


FIGURE_16_BLOCK35_V2 = {  # as shipped: the up-projection restores the shipped 320 channels
    "branch0": [((1, 1), 1, 32)],
    "branch1": [((1, 1), 1, 32), ((3, 3), 1, 32)],
    "branch2": [((1, 1), 1, 32), ((3, 3), 1, 48), ((3, 3), 1, 64)],
    "up": [((1, 1), 1, 320)],  # Figure 16: 384 (paper's stem width)
}
FIGURE_17_BLOCK17_V2 = {
    "branch0": [((1, 1), 1, 192)],
    "branch1": [((1, 1), 1, 128), ((1, 7), 1, 160), ((7, 1), 1, 192)],
    "up": [((1, 1), 1, 1088)],  # Figure 17: 1154
}
FIGURE_18_REDUCTION_B_V2 = {
    "branch0": [((1, 1), 1, 256), ((3, 3), 2, 384)],
    "branch1": [((1, 1), 1, 256), ((3, 3), 2, 288)],
    "branch2": [((1, 1), 1, 256), ((3, 3), 1, 288), ((3, 3), 2, 320)],
}
FIGURE_19_BLOCK8_V2 = {
    "branch0": [((1, 1), 1, 192)],
    "branch1": [((1, 1), 1, 192), ((1, 3), 1, 224), ((3, 1), 1, 256)],
    "up": [((1, 1), 1, 2080)],  # Figure 19: 2048
}


def test_v2_blocks_and_shipped_deviations(v2):
    _check_block(v2.block35[0], FIGURE_16_BLOCK35_V2)
    _check_block(v2.block17[0], FIGURE_17_BLOCK17_V2)
    _check_block(v2.mixed_7a, FIGURE_18_REDUCTION_B_V2)
    _check_block(v2.block8[0], FIGURE_19_BLOCK8_V2)
    # Table 1, Inception-ResNet-v2: k=256, l=256, m=384, n=384
    assert conv_table(v2.mixed_6a.branch1) == [((1, 1), 1, 256), ((3, 3), 1, 256), ((3, 3), 2, 384)]
    assert conv_table(v2.mixed_6a.branch0) == [((3, 3), 2, 384)]
    # shipped: 10 / 20 / 10 blocks (paper: 5 / 10 / 5), residual scales 0.17 / 0.10 / 0.20
    assert [len(v2.block35), len(v2.block17), len(v2.block8)] == [10, 20, 10]
    assert {b.scale for b in v2.block35} == {0.17}
    assert {b.scale for b in v2.block17} == {0.10}
    assert {b.scale for b in v2.block8[:-1]} == {0.20}
    # the last block: no scaling and no ReLU, then conv2d_7b to 1536 channels
    assert v2.block8[-1].scale == 1.0 and isinstance(v2.block8[-1].relu, nn.Identity)
    assert conv_table(v2.conv2d_7b) == [((1, 1), 1, 1536)]
    # the stem: TF-slim's, ending in mixed_5b with 320 channels (Figure 3 would give 384)
    assert v2.stem.out_channels == 320
    assert [name for name, _ in v2.stem.named_children()][-2:] == ["maxpool_5a", "mixed_5b"]


# ---------------------------------------------------------------- residual blocks
def test_residual_block_is_input_plus_scaled_projection():
    torch.manual_seed(0)
    block = randomize_(Block17(64, ch1x1=16, ch7x7red=8, ch7x7=(8, 16), scale=0.1)).eval()
    x = torch.randn(2, 64, 9, 9)
    with torch.no_grad():
        mixed = torch.cat(list(block.forward_branches(x).values()), 1)
        expected = torch.relu(x + 0.1 * block.up(mixed))
        assert torch.allclose(block(x), expected, atol=1e-6)
    assert block.up.bias is not None  # linear projection with bias, no batch norm


@pytest.mark.parametrize("block_cls, kwargs", [
    (Block35, dict(ch1x1=4, ch3x3red=4, ch3x3=4, ch3x3dbl_red=4, ch3x3dbl=(4, 4))),
    (Block17, dict(ch1x1=4, ch7x7red=4, ch7x7=(4, 4))),
    (Block8, dict(ch1x1=4, ch3x3red=4, ch3x3=(4, 4))),
])
def test_residual_blocks_keep_the_input_width(block_cls, kwargs):
    block = block_cls(24, **kwargs).eval()
    with torch.no_grad():
        assert block(torch.randn(1, 24, 7, 7)).shape == (1, 24, 7, 7)


def test_scale_one_means_no_scaling_and_scale_is_validated():
    model = create_model("mini_inception_resnet_v2", scales=(1.0, 1.0, 1.0))
    assert {b.scale for b in model.block35} == {1.0}
    for bad in [(0.0, 0.1, 0.2), (0.1, 0.2), "0.1", (-0.1, 0.1, 0.1), None]:
        with pytest.raises(ValueError, match="scale"):
            create_model("mini_inception_resnet_v1", scales=bad)


# ---------------------------------------------------------------- minis
@pytest.mark.parametrize("name, full_block35", [
    ("mini_inception_resnet_v1", FIGURE_10_BLOCK35),
    ("mini_inception_resnet_v2", FIGURE_16_BLOCK35_V2),
])
def test_minis_are_the_same_blocks_scaled(name, full_block35):
    mini = create_model(name, width_mult=0.5, repeats=(2, 1, 3))
    assert isinstance(mini, InceptionResNet)
    assert [len(mini.block35), len(mini.block17), len(mini.block8)] == [2, 1, 3]
    stem_width = mini.stem.out_channels
    halved = {
        branch: [(k, s, (c // 2 if branch != "up" else stem_width)) for k, s, c in convs]
        for branch, convs in full_block35.items()
    }
    _check_block(mini.block35[0], halved)


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(num_classes=2.5), "num_classes"),
        (dict(drop_rate=-0.1), "drop_rate"),
        (dict(width_mult=-1), "width_mult"),
        (dict(repeats=(1, 1, 1, 1)), "repeats"),
        (dict(repeats=3), "repeats"),
    ],
)
@pytest.mark.parametrize("name", ["mini_inception_resnet_v1", "mini_inception_resnet_v2"])
def test_mini_builders_validate_arguments(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        create_model(name, **kwargs)
