"""Inception-v4 (lesson 05): timm equivalence, the paper's figures, the mini variant, errors."""
import pytest
import timm
import torch
from torch import nn

from course_utils.costs import count_macs, count_params
from course_utils.models import create_model
from course_utils.models.blocks import MultiBranch
from course_utils.models.inception_v4 import InceptionV4, timm_to_course
from course_utils.models.registry import weight_source
from zoo_helpers import compare_with_reference, conv_table, randomize_


@pytest.fixture(scope="module")
def v4():
    """One full-size model for the read-only tests (building one takes about a second)."""
    return create_model("inception_v4").eval()


def test_params_and_macs_equal_timm(v4):
    # The figures themselves are models.records (tested against the counter in test_models_common).
    reference = timm.create_model("inception_v4").eval()
    assert count_params(v4) == count_params(reference)
    assert count_macs(v4, (1, 3, 75, 75)) == count_macs(reference, (1, 3, 75, 75))


def test_eval_logits_equal_timm_after_conversion(v4):
    reference = randomize_(timm.create_model("inception_v4"), seed=3)
    assert count_params(reference) == count_params(v4)
    ours, theirs = compare_with_reference(v4, reference, timm_to_course, size=75)
    assert ours.shape == (2, 1000)
    assert theirs.std() > 0.1  # random weights give spread-out logits: the comparison means something
    assert (ours - theirs).abs().max().item() <= 1e-4


def test_weight_source_is_timm_tf_in1k():
    source = weight_source("inception_v4")
    assert (source.library, source.model_name, source.weights) == ("timm", "inception_v4", "tf_in1k")
    assert source.convert is timm_to_course


def test_stages_follow_figure_9(v4):
    model = v4
    assert [len(model.inception_a), len(model.inception_b), len(model.inception_c)] == [4, 7, 3]
    assert model.num_features == 1536
    assert [f.num_chs for f in model.feature_info] == [64, 160, 384, 1024, 1536]
    assert [f.reduction for f in model.feature_info] == [2, 4, 8, 16, 32]


# Transcribed from the figures: each branch as its (kernel, stride, out channels) convs.
FIGURE_4_INCEPTION_A = {
    "branch0": [((1, 1), 1, 96)],
    "branch1": [((1, 1), 1, 64), ((3, 3), 1, 96)],
    "branch2": [((1, 1), 1, 64), ((3, 3), 1, 96), ((3, 3), 1, 96)],
    "branch3": [((1, 1), 1, 96)],  # after the 3x3 average pool
}
FIGURE_7_REDUCTION_A = {  # Table 1, Inception-v4: k=192, l=224, m=256, n=384
    "branch0": [((3, 3), 2, 384)],
    "branch1": [((1, 1), 1, 192), ((3, 3), 1, 224), ((3, 3), 2, 256)],
}
FIGURE_5_INCEPTION_B = {
    "branch0": [((1, 1), 1, 384)],
    "branch1": [((1, 1), 1, 192), ((1, 7), 1, 224), ((7, 1), 1, 256)],
    "branch2": [((1, 1), 1, 192), ((7, 1), 1, 192), ((1, 7), 1, 224), ((7, 1), 1, 224), ((1, 7), 1, 256)],
    "branch3": [((1, 1), 1, 128)],
}
FIGURE_8_REDUCTION_B = {
    "branch0": [((1, 1), 1, 192), ((3, 3), 2, 192)],
    "branch1": [((1, 1), 1, 256), ((1, 7), 1, 256), ((7, 1), 1, 320), ((3, 3), 2, 320)],
}


@pytest.mark.parametrize(
    "stage, figure",
    [
        ("inception_a.0", FIGURE_4_INCEPTION_A),
        ("reduction_a", FIGURE_7_REDUCTION_A),
        ("inception_b.0", FIGURE_5_INCEPTION_B),
        ("reduction_b", FIGURE_8_REDUCTION_B),
    ],
)
def test_block_tables_match_the_figures(v4, stage, figure):
    block = v4.get_submodule(stage)
    for branch, convs in figure.items():
        assert conv_table(getattr(block, branch)) == convs, (stage, branch)


def test_inception_c_splits_into_six_outputs(v4):
    block = v4.inception_c[0]
    x = torch.randn(1, 1536, 8, 8)
    with torch.no_grad():
        branches = block.forward_branches(x)
        out = block(x)
    assert list(branches) == ["1x1", "3x3 (1x3)", "3x3 (3x1)", "double 3x3 (1x3)", "double 3x3 (3x1)", "pool proj"]
    assert [b.shape[1] for b in branches.values()] == [256] * 6  # Figure 6
    assert torch.equal(out, torch.cat(list(branches.values()), 1))


def test_every_block_is_a_multibranch_module():
    model = create_model("mini_inception_v4")
    blocks = [m for m in model.modules() if isinstance(m, MultiBranch)]
    # mixed_3a in the stem + A, reduction A, B, reduction B, C
    assert len(blocks) == 6


def test_stem_shapes_follow_figure_3(v4):
    stem = v4.stem
    shapes = {}
    hooks = [
        getattr(stem, name).register_forward_hook(lambda m, i, o, name=name: shapes.__setitem__(name, tuple(o.shape)))
        for name in ("conv2d_1a", "conv2d_2a", "conv2d_2b", "mixed_3a", "mixed_4a", "mixed_5a")
    ]
    with torch.no_grad():
        stem(torch.zeros(1, 3, 299, 299))
    for h in hooks:
        h.remove()
    assert shapes == {
        "conv2d_1a": (1, 32, 149, 149),
        "conv2d_2a": (1, 32, 147, 147),
        "conv2d_2b": (1, 64, 147, 147),
        "mixed_3a": (1, 160, 73, 73),
        "mixed_4a": (1, 192, 71, 71),
        "mixed_5a": (1, 384, 35, 35),
    }


def test_mini_is_built_from_the_same_blocks_scaled(v4):
    mini = create_model("mini_inception_v4", width_mult=0.5, repeats=(2, 1, 1))
    full = v4
    assert isinstance(mini, InceptionV4)
    assert [len(mini.inception_a), len(mini.inception_b), len(mini.inception_c)] == [2, 1, 1]
    assert mini.num_classes == 10 and mini.preprocess.input_size == (3, 48, 48)
    for stage in ("inception_a.1", "reduction_a", "inception_b.0", "reduction_b", "inception_c.0"):
        ours, theirs = mini.get_submodule(stage), full.get_submodule(stage)
        assert type(ours) is type(theirs)
        half = [(k, s, c // 2) for k, s, c in conv_table(theirs)]
        assert conv_table(ours) == half, stage


@pytest.mark.parametrize(
    "kwargs, match",
    [
        (dict(num_classes=-1), "num_classes"),
        (dict(drop_rate=1.0), "drop_rate"),
        (dict(in_chans=0), "in_chans"),
        (dict(width_mult=0), "width_mult"),
        (dict(repeats=(1, 1)), "repeats"),
        (dict(repeats=(1, 0, 1)), "repeats"),
    ],
)
def test_mini_builder_validates_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        create_model("mini_inception_v4", **kwargs)


def test_in_chans_changes_the_first_conv():
    model = create_model("mini_inception_v4", in_chans=1).eval()
    assert model.stem.conv2d_1a.conv.in_channels == 1
    with torch.no_grad():
        assert model(torch.zeros(2, 1, 48, 48)).shape == (2, 10)
    assert isinstance(model.get_classifier(), nn.Linear)
