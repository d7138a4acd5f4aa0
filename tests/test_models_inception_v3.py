"""Inception v3 (lesson 04): torchvision and timm equivalence, figures, mini variant, errors."""
import copy

import pytest
import timm
import torch
import torchvision
from torch import nn

from course_utils.costs import count_macs, count_params
from course_utils.models import AuxOutputs, create_model
from course_utils.models.base import IMAGENET_MEAN, IMAGENET_STD
from course_utils.models.inception_v3 import (
    INCEPTION_V3_TABLE,
    InceptionA,
    InceptionAux,
    InceptionB,
    InceptionC,
    InceptionD,
    InceptionE,
    InceptionV3,
    convert_timm_inception_v3,
    convert_torchvision_inception_v3,
)
from course_utils.models.registry import weight_source
from zoo_helpers import randomize_


def tv_inception_v3(**kwargs) -> nn.Module:
    kwargs.setdefault("init_weights", False)  # init_weights=None would warn; randomize_ sets everything
    return torchvision.models.inception_v3(weights=None, **kwargs)


def imagenet_normalized_to_unit_range(x):
    mean = torch.tensor(IMAGENET_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(IMAGENET_STD).view(1, 3, 1, 1)
    return (x * std + mean - 0.5) / 0.5


def on_meta(model: nn.Module, size: int, names: list[str], train: bool = False) -> dict:
    """Output shapes of submodules for a size x size input, by shape propagation only (no compute)."""
    meta = copy.deepcopy(model).to("meta").train(train)
    shapes = {}
    for name in names:
        meta.get_submodule(name).register_forward_hook(lambda m, i, o, n=name: shapes.__setitem__(n, tuple(o.shape)))
    meta.forward_features(torch.empty(1, 3, size, size, device="meta"))
    return shapes


# ---------------------------------------------------------------- figures
def test_param_counts_match_torchvision_and_timm():
    # The figures themselves are models.records (tested against the counter in test_models_common).
    assert count_params(create_model("inception_v3")) == count_params(tv_inception_v3(aux_logits=True))
    assert count_params(create_model("inception_v3", aux_logits=False)) == count_params(timm.create_model("inception_v3"))


def test_macs_equal_timm():
    ours, reference = create_model("inception_v3").eval(), timm.create_model("inception_v3").eval()
    assert count_macs(ours, (1, 3, 75, 75)) == count_macs(reference, (1, 3, 75, 75))


# ---------------------------------------------------------------- weight compatibility
def test_eval_logits_equal_torchvision_after_conversion():
    ref = randomize_(tv_inception_v3(**weight_source("inception_v3").reference_kwargs)).eval()
    ours = create_model("inception_v3").eval()  # aux_logits=True, transform_input=True, as the reference
    ours.load_state_dict(convert_torchvision_inception_v3(ref.state_dict()))  # strict
    x = torch.randn(2, 3, 160, 160, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        expected, got = ref(x), ours(x)
    diff = (expected - got).abs().max().item()
    print(f"torchvision: max |logit difference| = {diff:.2e} (logit scale {expected.abs().max().item():.1f})")
    assert diff <= 1e-4
    tap = torch.randn(2, 768, 17, 17)
    with torch.no_grad():
        assert torch.allclose(ours.AuxLogits(tap), ref.AuxLogits(tap), atol=1e-4)


def test_eval_logits_equal_timm_after_conversion():
    ref = randomize_(timm.create_model("inception_v3"), seed=2).eval()  # timm: no aux head by default
    ours = create_model("inception_v3", aux_logits=False, transform_input=False).eval()
    ours.load_state_dict(convert_timm_inception_v3(ref.state_dict()))  # strict
    x = torch.randn(2, 3, 160, 160, generator=torch.Generator().manual_seed(3))
    with torch.no_grad():
        expected = ref(x)
        diff = (expected - ours(x)).abs().max().item()
        print(f"timm: max |logit difference| = {diff:.2e} (logit scale {expected.abs().max().item():.1f})")
        assert diff <= 1e-4
        # timm's [-1, 1]-input weights == our default transform_input=True fed ImageNet-normalized images
        ours_default = create_model("inception_v3", aux_logits=False).eval()
        ours_default.load_state_dict(ours.state_dict())
        x_imagenet = torch.randn(2, 3, 160, 160, generator=torch.Generator().manual_seed(4))
        assert (ref(imagenet_normalized_to_unit_range(x_imagenet)) - ours_default(x_imagenet)).abs().max() <= 1e-4
        assert (ref(x_imagenet) - ours_default(x_imagenet)).abs().max() > 1e-2  # the test can fail


def test_timm_aux_head_converts_too():
    ref = randomize_(timm.create_model("inception_v3", aux_logits=True), seed=5).eval()
    ours = create_model("inception_v3", transform_input=False).eval()
    ours.load_state_dict(convert_timm_inception_v3(ref.state_dict()))  # strict, AuxLogits included
    tap = torch.randn(2, 768, 17, 17)
    with torch.no_grad():
        assert torch.allclose(ours.AuxLogits(tap), ref.AuxLogits(tap), atol=1e-4)


def test_converters_reject_foreign_state_dicts():
    googlenet_keys = torchvision.models.googlenet(weights=None, init_weights=False).state_dict()
    with pytest.raises(ValueError, match="Not a torchvision inception_v3 state dict"):
        convert_torchvision_inception_v3(googlenet_keys)
    with pytest.raises(ValueError, match="Not a timm inception_v3 state dict"):
        convert_timm_inception_v3({"head.fc.weight": torch.zeros(1)})


def test_documented_deviation_and_preprocess():
    model = create_model("inception_v3")
    # Figure 5 has no 5x5; the shipped Mixed_5b-5d keep one (next to the double 3x3).
    assert model.Mixed_5b.branch5x5_2.conv.kernel_size == (5, 5)
    assert model.Mixed_5b.branch3x3dbl_3.conv.kernel_size == (3, 3)
    assert [n for n in INCEPTION_V3_TABLE if n.startswith("Mixed_6") and n != "Mixed_6a"] == [
        "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e"
    ]
    assert model.preprocess.input_size == (3, 299, 299) and model.preprocess.mean == IMAGENET_MEAN
    assert create_model("inception_v3", transform_input=False).preprocess.mean == (0.5, 0.5, 0.5)
    assert model.aux_loss_weight == 0.4


# ---------------------------------------------------------------- training mode
def test_train_mode_with_aux_at_299():
    torch.manual_seed(0)
    model = create_model("inception_v3", num_classes=4).train()
    out = model(torch.randn(2, 3, 299, 299))
    assert isinstance(out, AuxOutputs) and out.logits.shape == (2, 4) and [a.shape for a in out.aux] == [(2, 4)]
    target = torch.tensor([1, 3])
    loss = nn.functional.cross_entropy(out.logits, target)
    (loss + model.aux_loss_weight * nn.functional.cross_entropy(out.aux[0], target)).backward()
    assert all(p.grad is not None for p in model.parameters())


def test_aux_head_needs_299_and_says_so():
    model = create_model("inception_v3").train()
    assert on_meta(model, 299, ["Mixed_6e"])["Mixed_6e"][-1] == 17
    assert on_meta(model, 298, ["Mixed_6e"])["Mixed_6e"][-1] == 16
    with pytest.raises(ValueError, match="at least 299x299"):
        model(torch.randn(2, 3, 298, 298))
    aux = InceptionAux(768, 10).eval()
    assert aux(torch.randn(1, 768, 17, 17)).shape == (1, 10)
    with pytest.raises(RuntimeError):  # the head itself breaks one pixel below: the bound is tight
        aux(torch.randn(1, 768, 16, 16))


@pytest.mark.parametrize("kwargs, size", [(dict(aux_logits=True), 48), ({}, 32), (dict(aux_logits=True), 25)])
def test_mini_forward_backward_train_mode(kwargs, size):
    torch.manual_seed(0)
    model = create_model("mini_inception_v3", num_classes=5, **kwargs).train()
    out = model(torch.randn(2, 3, size, size))
    logits, aux = (out.logits, out.aux) if isinstance(out, AuxOutputs) else (out, ())
    assert logits.shape == (2, 5) and len(aux) == int(kwargs.get("aux_logits", False))
    (logits.sum() + sum(a.sum() for a in aux)).backward()
    assert all(p.grad is not None for p in model.parameters())
    assert torch.is_tensor(model.eval()(torch.randn(1, 3, size, size)))


# ---------------------------------------------------------------- structure
@pytest.mark.parametrize("name, sizes", [("inception_v3", (139, 171)), ("mini_inception_v3", (48, 64))])
def test_feature_info_reductions_are_the_cumulative_strides(name, sizes):
    model = create_model(name)
    names = [f.module for f in model.feature_info]
    small, large = (on_meta(model, s, names) for s in sizes)
    for info in model.feature_info:
        assert small[info.module][1] == large[info.module][1] == info.num_chs, info
        # growing the input by D pixels grows a stride-R map by D / R pixels
        assert (large[info.module][-1] - small[info.module][-1]) * info.reduction == sizes[1] - sizes[0], info
    assert model.num_features == model.feature_info[-1].num_chs


def test_module_branches_concatenate_in_order():
    cases = [
        (InceptionA(16, 8, 8, 8, 8, 8, 8), ["1x1", "5x5", "double 3x3", "pool proj"], 9),
        (InceptionB(16, 8, 8, 8), ["3x3", "double 3x3", "max pool"], 9),
        (InceptionC(16, 8, 8, 8, 8, 8, 8), ["1x1", "7x7", "double 7x7", "pool proj"], 9),
        (InceptionD(16, 8, 8, 8), ["3x3", "7x7 + 3x3", "max pool"], 9),
        (InceptionE(16, 8, 8, 8, 8, 8, 8), ["1x1", "3x3", "double 3x3", "pool proj"], 5),
    ]
    for block, keys, size in cases:
        block.eval()
        x = torch.randn(2, 16, size, size)
        branches = block.forward_branches(x)
        assert list(branches) == keys
        out = block(x)
        assert torch.equal(out, torch.cat(list(branches.values()), 1)) and out.shape[1] == block.out_channels


def test_mini_is_the_same_classes_scaled():
    model = create_model("mini_inception_v3")
    assert isinstance(model, InceptionV3) and model.num_classes == 10 and model.AuxLogits is None
    reference = create_model("inception_v3")
    for name in INCEPTION_V3_TABLE:
        assert type(model.get_submodule(name)) is type(reference.get_submodule(name))
    assert all(m.out_channels % 8 == 0 for m in model.modules() if isinstance(m, nn.Conv2d))
    assert model.Mixed_5b.branch1x1.conv.out_channels == 16  # 64 x 0.25
    print(f"mini_inception_v3: {count_params(model):,} params, {count_macs(model.eval(), (1, 3, 48, 48)):,} MACs")


def test_reset_classifier_resets_the_aux_head():
    model = create_model("inception_v3")
    model.reset_classifier(3)
    assert model.fc.out_features == 3 and model.AuxLogits.fc.out_features == 3
    model.reset_classifier(0)
    assert isinstance(model.AuxLogits.fc, nn.Identity)
    with pytest.raises(ValueError, match="num_classes"):
        model.reset_classifier(-2)


# ---------------------------------------------------------------- errors
def test_bad_inputs_raise_value_errors():
    model = create_model("inception_v3").eval()
    with pytest.raises(ValueError, match="3 input channels, got 1"):
        model(torch.randn(1, 1, 299, 299))
    with pytest.raises(ValueError, match="at least 75x75"):
        model(torch.randn(1, 3, 64, 64))
    with pytest.raises(ValueError, match="Unknown model name 'inception_v3b'"):
        create_model("inception_v3b")


@pytest.mark.parametrize(
    "name, kwargs, match",
    [
        ("inception_v3", dict(num_classes=True), "num_classes"),
        ("inception_v3", dict(drop_rate=1), "drop_rate"),
        ("inception_v3", dict(aux_logits=None), "aux_logits"),
        ("inception_v3", dict(transform_input=True, in_chans=4), "in_chans=3"),
        ("mini_inception_v3", dict(width_mult=8), "width_mult"),
        ("mini_inception_v3", dict(in_chans=-1), "in_chans"),
    ],
)
def test_builders_validate_arguments(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        create_model(name, **kwargs)
