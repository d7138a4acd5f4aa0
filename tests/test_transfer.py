"""Lesson 08's transfer learning: the digits data, the transfer API, and a short rerun of the stored experiment."""

import matplotlib
import pytest
import torch
from torch.utils.data import DataLoader, TensorDataset

matplotlib.use("Agg")

from course_utils.checkpoints import read_checkpoint  # noqa: E402
from course_utils.checks import CourseError  # noqa: E402
from course_utils.data import EMBEDDED_MEAN, EMBEDDED_STD, digits_splits, digits_subset, plot_digits  # noqa: E402
from course_utils.experiments import benchmark_script, load_result, same_shape  # noqa: E402
from course_utils.models.base import AuxOutputs  # noqa: E402
from course_utils.transfer import (  # noqa: E402
    batchnorm_mode,
    fine_tune,
    param_groups,
    plot_learning_curves,
    set_batchnorm,
    transfer_model,
)


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py: one torch thread


# -- the digits -------------------------------------------------------------------------------------------------


def test_digits_split_is_fixed_stratified_and_normalized_like_the_shapes():
    splits = digits_splits()
    train, test = splits
    assert (len(train), len(test)) == (1257, 540)
    assert train.images.shape == (1257, 3, 48, 48) and train.images.dtype == torch.float32
    assert train.labels.dtype == torch.int64
    assert set(train.indices.tolist()).isdisjoint(test.indices.tolist())
    # Stratified: every class holds out 30% of its images (to within one image).
    for n_train, n_test in zip(train.class_counts(), test.class_counts()):
        assert abs(n_test - 0.3 * (n_train + n_test)) <= 1
    again = digits_splits()
    assert torch.equal(again.test.indices, test.indices) and torch.equal(again.train.images, train.images)
    # Gray copied into 3 channels, normalized with the embedded shapes' statistics: a 0 (background) pixel
    # becomes -mean/std, a full-ink pixel (16) (1 - mean)/std.
    mean, std = torch.tensor(EMBEDDED_MEAN).view(3, 1, 1), torch.tensor(EMBEDDED_STD).view(3, 1, 1)
    gray = train.images[:5] * std + mean
    assert torch.allclose(gray[:, 0], gray[:, 1], atol=1e-6) and torch.allclose(gray[:, 0], gray[:, 2], atol=1e-6)
    for c in range(3):
        channel = train.images[:, c]
        assert channel.min().item() == pytest.approx(-EMBEDDED_MEAN[c] / EMBEDDED_STD[c], abs=1e-5)
        assert channel.max().item() == pytest.approx((1 - EMBEDDED_MEAN[c]) / EMBEDDED_STD[c], abs=1e-5)
    assert digits_splits(size=32).train.images.shape[-1] == 32


def test_digits_subset_counts_nesting_and_errors():
    train = digits_splits().train
    five = digits_subset(train, 5, seed=1)
    assert five.class_counts() == [5] * 10
    twenty = digits_subset(train, 20, seed=1)
    assert set(five.indices.tolist()) <= set(twenty.indices.tolist())  # same seed: nested sizes
    assert not torch.equal(digits_subset(train, 5, seed=2).indices, five.indices)
    assert torch.equal(digits_subset(train, 5, seed=1).indices, five.indices)
    assert digits_subset(train, None, seed=0) is train
    smallest = min(train.class_counts())
    with pytest.raises(CourseError, match=f"at most {smallest}"):
        digits_subset(train, 500, seed=0)
    for bad in (0, 2.5, "5"):
        with pytest.raises(CourseError, match="labels_per_class"):
            digits_subset(train, bad, seed=0)
    with pytest.raises(CourseError, match="Digits dataset"):
        digits_subset(train.images, 5)
    assert len(plot_digits(train).axes) == 20


# -- the transfer API -------------------------------------------------------------------------------------------


def _loader(n=16, seed=0, batch_size=8):
    g = torch.Generator().manual_seed(seed)
    return DataLoader(TensorDataset(torch.randn(n, 3, 48, 48, generator=g), torch.arange(n) % 10),
                      batch_size=batch_size, shuffle=True, drop_last=True, generator=g)


def test_bad_choices_get_clear_errors():
    with pytest.raises(CourseError, match="fine-tune"):
        transfer_model(method="finetune")
    with pytest.raises(CourseError, match="mini_inception_v3"):
        transfer_model(backbone="mini_inception_v33")
    with pytest.raises(CourseError, match="aux"):
        transfer_model(aux="keep")
    with pytest.raises(CourseError, match="no auxiliary classifier"):
        transfer_model(backbone="mini_xception", aux="reset")
    with pytest.raises(CourseError, match="linear probe"):
        transfer_model(method="linear probe", aux="reset")
    model = transfer_model()
    with pytest.raises(CourseError, match="frozen"):
        fine_tune(model, _loader(), steps=1, lr=1e-3, bn="freeze")
    with pytest.raises(CourseError, match="steps"):
        fine_tune(model, _loader(), steps=0, lr=1e-3)


def test_linear_probe_trains_only_the_new_classifier():
    model = transfer_model(method="linear probe", seed=0)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    trainable = [n for n, p in model.named_parameters() if p.requires_grad]
    assert trainable == ["fc.weight", "fc.bias"]
    metrics = fine_tune(model, _loader(), _loader(seed=1), steps=4, lr=1e-2, device="cpu")
    assert metrics["method"] == "linear probe (features)" and metrics["trainable_params"] == 512 * 10 + 10
    after = model.state_dict()
    changed = {k for k in before if not torch.equal(before[k], after[k])}
    assert changed == {"fc.weight", "fc.bias"}  # every backbone weight and BN statistic bit-identical
    assert 0 <= metrics["test_acc"] <= 1 and len(metrics["train_loss"]) >= 1


def test_param_groups_put_the_head_at_lr_and_the_backbone_at_a_fraction():
    model = transfer_model(method="fine-tune", aux="reset")
    groups = param_groups(model, 1e-2, backbone_lr_factor=0.1, weight_decay=0.05)
    lrs = {g["name"]: g["lr"] for g in groups}
    assert lrs == {"head": 1e-2, "head, no decay": 1e-2, "backbone": pytest.approx(1e-3),
                   "backbone, no decay": pytest.approx(1e-3)}
    head = {id(p) for p in [*model.fc.parameters(), *model.AuxLogits.parameters()]}
    for g in groups:
        assert all((id(p) in head) == g["name"].startswith("head") for p in g["params"])
        assert g["weight_decay"] == (0.0 if "no decay" in g["name"] else 0.05)
    grouped = [id(p) for g in groups for p in g["params"]]
    assert sorted(grouped) == sorted(id(p) for p in model.parameters()) and len(set(grouped)) == len(grouped)
    probe = transfer_model(method="linear probe")
    assert {g["name"] for g in param_groups(probe, 1e-2)} == {"head", "head, no decay"}


def _bn_stats(model):
    return {k: v.clone() for k, v in model.state_dict().items() if "running_" in k}


def test_frozen_batchnorm_survives_train_and_a_training_step():
    model = set_batchnorm(transfer_model(seed=0), "frozen")
    assert batchnorm_mode(model) == "frozen"
    stats = _bn_stats(model)
    bn_weight = model.Conv2d_1a_3x3.bn.weight.clone()
    model.train()  # what every training loop calls first
    fine_tune(model, _loader(), steps=2, lr=1e-2, bn="frozen", device="cpu")
    assert all(torch.equal(v, _bn_stats(model)[k]) for k, v in stats.items())
    assert not torch.equal(bn_weight, model.Conv2d_1a_3x3.bn.weight)  # the affine parameters still train
    model.train()
    model(torch.randn(4, 3, 48, 48))
    assert all(torch.equal(v, _bn_stats(model)[k]) for k, v in stats.items())

    updating = transfer_model(seed=0)
    fine_tune(updating, _loader(), steps=2, lr=1e-2, bn="update", device="cpu")
    assert batchnorm_mode(updating) == "update"
    assert not torch.equal(stats["Conv2d_1a_3x3.bn.running_mean"], _bn_stats(updating)["Conv2d_1a_3x3.bn.running_mean"])
    set_batchnorm(model, "update")  # unfreezing removes the hooks
    assert batchnorm_mode(model) == "update"


def test_aux_drop_and_reset_and_scratch():
    checkpoint, _ = read_checkpoint("mini_inception_v3")
    dropped = transfer_model(aux="drop")
    assert dropped.aux_heads() == []
    reset = transfer_model(aux="reset", seed=0)
    assert len(reset.aux_heads()) == 1
    state = reset.state_dict()
    shared = [k for k in state if not k.startswith(("AuxLogits.", "fc."))]
    assert set(shared) == set(checkpoint) - {"fc.weight", "fc.bias"}
    assert all(torch.equal(state[k], checkpoint[k].to(state[k].dtype)) for k in shared)
    assert not any(k.startswith("AuxLogits.") for k in checkpoint)  # the aux head is new: nothing to load
    assert not torch.equal(transfer_model(aux="reset", seed=1).AuxLogits.fc.weight, reset.AuxLogits.fc.weight)
    reset.train()
    assert isinstance(reset(torch.randn(2, 3, 48, 48)), AuxOutputs)
    scratch = transfer_model(method="scratch", seed=0).state_dict()
    weight = "Conv2d_1a_3x3.conv.weight"
    assert not torch.equal(scratch[weight], checkpoint[weight].to(scratch[weight].dtype))
    assert torch.equal(scratch[weight], transfer_model(method="scratch", seed=0).state_dict()[weight])


# -- the stored experiment: a short rerun has the stored file's shape -----------------------------------------


def test_stored_experiment_and_a_short_rerun_have_the_same_shape():
    result = load_result("transfer_learning")
    assert len(result["seeds"]) >= 3
    script = benchmark_script("exp_transfer")
    rerun = script.run(seeds=[0], save=False, progress=False, steps=2, eval_every=1, batch_size=8, train_images=40,
                       test_images=20, probe_steps=2)
    assert same_shape(result, rerun) == []
    run = rerun["arms"]["fine-tune, 5/class"][0]
    assert run["train_images"] == 40 and run["test_images"] == 20 and run["steps"] == 2
    assert rerun["arms"]["linear probe, all"][0]["trainable_params"] == 5130
    assert "fine-tune, BN frozen, 5/class - fine-tune, 5/class" in script.report(result)
    for stored in (result, rerun):
        labels = [t.get_text() for t in plot_learning_curves(stored).get_xticklabels()]
        assert sorted(labels[:-1] if stored is result else labels)[:3] == ["100", "20", "5"]
        assert labels[-1].startswith("all") or stored is rerun  # "all" (126 per class) sits right of 100
        matplotlib.pyplot.close("all")
