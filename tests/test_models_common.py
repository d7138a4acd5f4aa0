"""The API every registered model shares (course_utils.models.base), checked on ALL of them.

Full-size models run at their ``min_input_size`` (about 75 px, a tenth of the cost of
299 px), minis at 48 px. Reductions are checked exactly: growing the input by ``R``
pixels (the last stage's reduction) must grow a stage of reduction ``r`` by ``R / r``
pixels, whatever the padding of the layers before it.
"""
import dataclasses

import pytest
import torch
from torch import nn

from course_utils.costs import count_macs, count_params
from course_utils.models import AuxOutputs, CourseModel, FeatureInfo, ModelConfig, MultiBranch, create_model, list_models
from course_utils.models.records import RECORDS, markdown_table, readme_table, record
from course_utils.paths import REPO_ROOT
from zoo_helpers import test_size

NAMES = list_models()


@pytest.fixture(scope="module", params=NAMES)
def built(request):
    name = request.param
    torch.manual_seed(0)
    return name, create_model(name)


def test_registry_lists_every_family():
    for name in ["inception_v4", "inception_resnet_v1", "inception_resnet_v2", "xception"]:
        assert name in NAMES and f"mini_{name}" in NAMES


def test_unknown_name_lists_valid_names():
    with pytest.raises(ValueError, match="Valid names") as info:
        create_model("inception_v5")
    for name in NAMES:
        assert name in str(info.value)


def test_attributes_of_the_shared_surface(built):
    name, model = built
    assert isinstance(model, CourseModel)
    assert isinstance(model.num_classes, int) and isinstance(model.num_features, int)
    assert model.num_classes == (10 if name.startswith("mini_") else 1000)
    assert isinstance(model.fc, nn.Linear) and model.fc.in_features == model.num_features
    assert model.get_classifier() is model.fc
    assert model.feature_info and all(isinstance(f, FeatureInfo) for f in model.feature_info)
    assert model.feature_info[-1].num_chs == model.num_features
    reductions = [f.reduction for f in model.feature_info]
    assert reductions == sorted(reductions) and len(set(reductions)) == len(reductions)
    pre = model.preprocess
    assert pre.input_size[0] == 3 and pre.min_input_size <= min(pre.input_size[1:])


def _run_with_hooks(model, x, fn):
    """fn(x) while recording the output shape of every feature_info module."""
    shapes = {}
    hooks = [
        model.get_submodule(f.module).register_forward_hook(
            lambda m, i, o, key=f.module: shapes.__setitem__(key, tuple(o.shape))
        )
        for f in model.feature_info
    ]
    try:
        with torch.no_grad():
            out = fn(x)
    finally:
        for h in hooks:
            h.remove()
    return out, shapes


def test_eval_forward_features_and_feature_info(built):
    name, model = built
    model.eval()
    size = test_size(model, name)
    last = model.feature_info[-1].reduction
    small = torch.randn(1, 3, size, size)
    large = torch.randn(1, 3, size + last, size + last)

    logits, shapes_small = _run_with_hooks(model, small, model)
    assert isinstance(logits, torch.Tensor) and logits.shape == (1, model.num_classes)
    assert torch.isfinite(logits).all()
    features, shapes_large = _run_with_hooks(model, large, model.forward_features)
    assert features.shape[:2] == (1, model.num_features)
    assert features.shape[-2:] == shapes_large[model.feature_info[-1].module][-2:]

    for info in model.feature_info:
        s, l = shapes_small[info.module], shapes_large[info.module]
        assert s[1] == info.num_chs == l[1], info
        # growing the input by `last` pixels grows this stage by last / reduction pixels
        assert (l[2] - s[2], l[3] - s[3]) == (last // info.reduction,) * 2, info


@pytest.mark.parametrize(
    "name, size",
    [("googlenet", 64), ("googlenet_paper", 64), ("mini_googlenet", 48), ("bn_inception", 64), ("mini_bn_inception", 48)],
)
def test_feature_maps_are_the_input_divided_by_the_reduction(name, size):
    """For the "same"-padded families the stage sizes are exact quotients, not just offsets."""
    model = create_model(name).eval()
    features, shapes = _run_with_hooks(model, torch.randn(1, 3, size, size), model.forward_features)
    for info in model.feature_info:
        n, c, h, w = shapes[info.module]
        assert (c, h) == (info.num_chs, size // info.reduction), info
    assert features.shape[1] == model.num_features == model.feature_info[-1].num_chs


def test_reset_classifier_and_train_step(built):
    name, model = built
    size = test_size(model, name)
    if model.aux_heads():
        size = max(size, model.preprocess.input_size[1])  # auxiliary heads need their usual input size
    model.reset_classifier(5)
    assert model.num_classes == 5 and model.fc.out_features == 5
    model.train()
    x = torch.randn(2, 3, size, size)
    out = model(x)
    if model.aux_heads():
        assert isinstance(out, AuxOutputs) and len(out.aux) == len(model.aux_heads())
        assert all(a.shape == (2, 5) for a in out.aux)
        logits = out.logits
        loss = logits.logsumexp(1).mean() + model.aux_loss_weight * sum(a.logsumexp(1).mean() for a in out.aux)
    else:
        assert isinstance(out, torch.Tensor)
        logits = out
        loss = logits.logsumexp(1).mean()
    assert logits.shape == (2, 5)
    loss.backward()
    params = [p for p in model.parameters() if p.requires_grad]
    assert all(p.grad is not None for p in params), "some parameters got no gradient"
    assert model.fc.weight.grad.abs().sum() > 0
    model.eval()
    with torch.no_grad():
        assert model(torch.randn(1, 3, size, size)).shape == (1, 5)


def test_no_classifier_returns_pooled_features(built):
    name, model = built
    model.reset_classifier(0)
    model.eval()
    size = test_size(model, name)
    with torch.no_grad():
        assert model(torch.randn(1, 3, size, size)).shape == (1, model.num_features)


# ---------------------------------------------------------------- the one record of each model's figures
def test_every_registered_model_has_a_record():
    assert {r.name for r in RECORDS.values()} == set(NAMES)


@pytest.mark.parametrize("key", RECORDS)
def test_record_is_what_the_counter_counts(key):
    rec = RECORDS[key]
    model = create_model(rec.name, **rec.changes)
    has_aux = hasattr(model.config, "aux_logits")
    if has_aux:
        model = create_model(rec.name, **rec.changes, aux_logits=False)
    model.eval()
    assert model.preprocess.input_size == (3, rec.input_size, rec.input_size)
    assert model.preprocess.min_input_size == rec.min_input_size
    assert count_params(model) == rec.params
    assert count_macs(model, (1, 3, rec.input_size, rec.input_size)) == rec.macs
    if rec.params_with_aux is None:
        assert not has_aux
    else:
        assert count_params(create_model(rec.name, **rec.changes, aux_logits=True)) == rec.params_with_aux


def test_readme_model_zoo_table_is_rendered_from_the_records():
    # python -m course_utils.models.records --write-readme rewrites it
    assert readme_table((REPO_ROOT / "README.md").read_text()) == markdown_table()


# Models whose min_input_size is the smallest input the network itself accepts.
TIGHT_MIN_INPUT_SIZES = ["googlenet", "googlenet_paper", "mini_googlenet", "bn_inception", "mini_bn_inception",
                         "inception_v3", "mini_inception_v3", "inception_v4"]


@pytest.mark.parametrize("name", TIGHT_MIN_INPUT_SIZES)
def test_min_input_size_is_tight(name):
    min_size = record(name).min_input_size
    model = create_model(name).eval()
    assert model.preprocess.min_input_size == min_size
    with torch.no_grad():
        assert model(torch.randn(1, 3, min_size, min_size)).shape[0] == 1
        with pytest.raises(ValueError, match=f"at least {min_size}x{min_size}"):
            model(torch.randn(1, 3, min_size - 1, min_size - 1))
        with pytest.raises(RuntimeError):  # without the check the network itself breaks
            model.forward_features(torch.randn(1, 3, min_size - 1, min_size - 1))


def test_bad_inputs_raise_value_errors(built):
    name, model = built
    size = test_size(model, name)
    with pytest.raises(ValueError, match="channels"):
        model(torch.zeros(1, 1, size, size))
    with pytest.raises(ValueError, match="at least"):
        model(torch.zeros(1, 3, model.preprocess.min_input_size - 1, size))
    with pytest.raises(ValueError, match="4-D"):
        model(torch.zeros(3, size, size))
    with pytest.raises(ValueError):
        model(None)


# ---------------------------------------------------------------- one way to build, one vocabulary
def test_every_model_is_its_class_built_from_its_frozen_config(built):
    name, model = built
    assert isinstance(model.config, ModelConfig)
    with pytest.raises(dataclasses.FrozenInstanceError):
        model.config.num_classes = 3
    with torch.device("meta"):  # shapes only: no memory, no initialization cost
        again = type(model)(model.config)
    assert {k: v.shape for k, v in again.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}


def test_reset_classifier_keeps_the_config_in_step():
    model = create_model("mini_googlenet", aux_logits=True)
    model.reset_classifier(7)
    assert model.config.num_classes == 7
    with torch.device("meta"):
        again = type(model)(model.config)
    assert {k: v.shape for k, v in again.state_dict().items()} == {k: v.shape for k, v in model.state_dict().items()}


def test_a_mistyped_config_field_is_named_with_the_fields_there_are():
    with pytest.raises(ValueError, match="Did you mean 'drop_rate'") as info:
        create_model("mini_xception", dropout=0.1)
    assert "width_mult" in str(info.value)


# The words every branch label is made of (models.blocks.MultiBranch): lesson 07 reads them for every family.
BRANCH_WORDS = {"1x1", "3x3", "5x5", "7x7", "double", "pool", "proj", "max", "+", "(1x3)", "(3x1)", "(second)"}


def test_branch_labels_are_in_the_papers_words(built):
    name, model = built
    blocks = [m for m in model.modules() if isinstance(m, MultiBranch)]
    assert blocks or name.endswith("xception")
    for block in blocks:
        labels = list(block.branch_labels.values())
        assert len(set(labels)) == len(labels), (type(block).__name__, labels)
        assert {word for label in labels for word in label.split()} <= BRANCH_WORDS, (type(block).__name__, labels)
