"""Lesson 03: BN from scratch equals nn.BatchNorm2d, folding by the formulas, the BN explorer's logic,
the exercise checks, and a short rerun of the stored BN x learning-rate experiment."""
import re

import numpy as np
import pytest
import torch
from torch import nn

from course_utils import batchnorm, experiments
from course_utils.exercises import lesson03
from course_utils.exercises.core import verdict_of
from course_utils.explorers.batchnorm import BNInputs, bn_statistics, capture_bn_inputs, running_average_weights


def _random_bn(channels=5, momentum=0.1, eps=1e-5):
    torch.manual_seed(0)
    ref = nn.BatchNorm2d(channels, momentum=momentum, eps=eps)
    with torch.no_grad():
        ref.weight.uniform_(0.5, 1.5)
        ref.bias.uniform_(-1, 1)
    mine = batchnorm.BatchNorm2dScratch(channels, momentum=momentum, eps=eps)
    mine.load_state_dict(ref.state_dict())
    return ref, mine


@pytest.mark.parametrize("momentum,eps", [(0.1, 1e-5), (0.3, 1e-3)])
def test_scratch_bn_equals_pytorch_in_training_and_eval(momentum, eps):
    ref, mine = _random_bn(momentum=momentum, eps=eps)
    for step in range(4):
        x = torch.randn(3, 5, 4, 4) * (step + 1) + step
        assert torch.allclose(mine(x), ref(x), atol=1e-5)
        assert torch.allclose(mine.running_mean, ref.running_mean, atol=1e-6)
        assert torch.allclose(mine.running_var, ref.running_var, atol=1e-5)
    assert mine.num_batches_tracked == ref.num_batches_tracked == 4
    ref.eval(), mine.eval()
    snapshot = mine.running_mean.clone(), mine.running_var.clone()
    x = torch.randn(2, 5, 3, 3)
    assert torch.allclose(mine(x), ref(x), atol=1e-5)
    assert torch.equal(mine.running_mean, snapshot[0]) and torch.equal(mine.running_var, snapshot[1])  # eval: no update


def test_scratch_bn_refuses_one_value_per_channel_like_pytorch():
    ref, mine = _random_bn()
    with pytest.raises(ValueError, match="more than 1 value per channel"):
        ref(torch.randn(1, 5, 1, 1))
    with pytest.raises(ValueError, match="more than one value per channel"):
        mine(torch.randn(1, 5, 1, 1))
    assert mine(torch.randn(1, 5, 2, 2)).shape == (1, 5, 2, 2)  # one image, but 4 positions: allowed


def test_folding_by_the_formulas_matches_eval_bn_and_fuse_for_inference():
    torch.manual_seed(1)
    for bias in (True, False):
        conv = nn.Conv2d(4, 6, 3, padding=1, bias=bias).eval()
        bn = nn.BatchNorm2d(6)
        with torch.no_grad():
            bn.running_mean.uniform_(-1, 1), bn.running_var.uniform_(0.5, 2)
            bn.weight.uniform_(0.5, 1.5), bn.bias.uniform_(-1, 1)
        bn.eval()
        x = torch.randn(2, 4, 7, 7)
        folded = batchnorm.fold_bn_into_conv(conv, bn)
        assert torch.allclose(folded(x), bn(conv(x)), atol=1e-5)
        assert torch.allclose(folded.weight, torch.nn.utils.fusion.fuse_conv_bn_eval(conv, bn).weight, atol=1e-6)


def test_inference_variants_compute_the_same_function():
    from course_utils.models.fuse import count_batchnorms

    model = batchnorm.plain_cnn(batch_norm=True).eval()
    variants = batchnorm.inference_variants(model)
    assert list(variants) == ["eager", "folded", "channels_last", "folded + channels_last"]
    assert count_batchnorms(variants["folded"]) == count_batchnorms(variants["folded + channels_last"]) == 0
    assert variants["channels_last"].layers[0].conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert not variants["folded"].layers[0].conv.weight.is_contiguous(memory_format=torch.channels_last)
    x = torch.randn(2, 3, 48, 48)
    with torch.no_grad():
        expected = model(x)
        for label, m in variants.items():
            assert torch.allclose(m(x), expected, atol=1e-4), label
    times = batchnorm.time_interleaved(variants, x, rounds=2, warmup=1)
    assert {k: len(v) for k, v in times.items()} == {k: 2 for k in variants}


def _toy_inputs(images=64, channels=3, spatial=16, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.normal(loc=np.arange(channels), scale=1 + np.arange(channels), size=(images, spatial, channels))
    x += rng.normal(size=(images, 1, channels))  # images differ: batch statistics vary
    return BNInputs("toy", x.mean(axis=1), (x**2).mean(axis=1), spatial)


def test_bn_statistics_follow_the_definitions():
    inputs = _toy_inputs()
    stats = bn_statistics(inputs, batch_size=inputs.mean.shape[0], momentum=1.0, steps=3)
    # one batch of every image is the population; momentum 1 keeps only the last batch (unbiased variance)
    assert np.allclose(stats.batch_mean[0], inputs.population_mean)
    assert np.allclose(stats.batch_var[0], inputs.population_var)
    n = inputs.mean.shape[0] * inputs.spatial
    assert np.allclose(stats.running_var[-1], inputs.population_var * n / (n - 1))
    assert stats.summary()["batch mean error"] == pytest.approx(0, abs=1e-9)
    small, large = (bn_statistics(inputs, batch_size=b, momentum=0.1, steps=400) for b in (2, 32))
    assert small.summary()["batch mean error"] > 2 * large.summary()["batch mean error"]
    assert small.summary()["running mean error"] < small.summary()["batch mean error"]
    slow = bn_statistics(inputs, batch_size=32, momentum=0.01, steps=100)  # still warming up from (0, 1)
    assert slow.summary()["running mean error"] > large.summary()["running mean error"]
    assert running_average_weights(0.1, 50).sum() == pytest.approx(1 - 0.9**50)
    assert "batch size 2" in small.text()
    for bad in (dict(batch_size=0), dict(batch_size=65), dict(momentum=0), dict(steps=1)):
        with pytest.raises(ValueError):
            bn_statistics(inputs, **bad)


def test_capture_bn_inputs_matches_the_layer_input_and_changes_nothing():
    model = batchnorm.plain_cnn(batch_norm=True).eval()
    x = torch.randn(6, 3, 48, 48)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    captured = capture_bn_inputs(model, "layers.2.bn", x, batch_size=4)
    with torch.no_grad():
        z = model.layers[2].conv(model.layers[1](model.layers[0](x)))
    assert captured.spatial == 12 * 12 and captured.mean.shape == (6, 24)
    assert np.allclose(captured.mean, z.mean(dim=(2, 3)).numpy(), atol=1e-5)
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    with pytest.raises(ValueError, match="not a BatchNorm2d"):
        capture_bn_inputs(model, "layers.2.conv", x)


def test_widget_builds_from_inputs():
    from course_utils.widgets import bn_explorer_widget

    box = bn_explorer_widget(_toy_inputs(), batch_size=8, momentum=0.1, steps=20)
    assert "batch size 8" in box.children[2].value
    box.children[0].value = 64
    assert "batch size 64" in box.children[2].value


def _gives_away(out: str, value: float) -> bool:
    return any(re.search(rf"(?<![\d.]){re.escape(s)}(?!\d)", out) for s in {f"{value:.2f}", f"{value:.3f}", f"{value:g}"})


NUMERIC = [
    (lesson03.check_running_mean, 0.58, [3.78, 3.0, 0.4, 2.2, 0.54, 0.6]),
    (lesson03.check_folded_bias, -0.5, [-0.65, -0.2, -0.6, 1.0, -0.3, -0.75, 0.5]),
]


@pytest.mark.parametrize("check,right,wrongs", NUMERIC, ids=lambda v: getattr(v, "__name__", ""))
def test_numeric_checks(check, right, wrongs, capsys):
    assert verdict_of(check, None) is None
    assert verdict_of(check, right) is True
    assert verdict_of(check, np.float32(right)) is True and verdict_of(check, torch.tensor([right])) is True
    capsys.readouterr()
    hints = set()
    for answer in wrongs:
        assert verdict_of(check, answer) is False, answer
        out = capsys.readouterr().out
        assert "[not yet]" in out and not _gives_away(out, right), out
        hints.add(out)
    assert len(hints) >= 4
    assert verdict_of(check, "0.5") is False and verdict_of(check, [right]) is False


def test_forgotten_eval_checks(capsys):
    from course_utils.checkpoints import load_checkpoint
    from course_utils.data import embedded_dataset
    from course_utils.models.fuse import count_batchnorms

    model, _ = load_checkpoint("mini_bn_inception")
    n_bn = count_batchnorms(model)
    before = {k: v.clone() for k, v in model.state_dict().items()}
    model.train()
    with torch.no_grad():
        model(embedded_dataset("test", 0).normalized(range(64)))
    changed = [k for k, v in model.state_dict().items() if not torch.equal(before[k], v)]
    moved = {n: (model.state_dict()[f"{n}.running_mean"] - before[f"{n}.running_mean"]).abs().max().item()
             for n, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)}
    right = max(moved, key=moved.get)
    assert verdict_of(lesson03.check_changed_entries, len(changed)) is True
    for wrong in (0, n_bn, 2 * n_bn, 4 * n_bn, 7):
        assert verdict_of(lesson03.check_changed_entries, wrong) is False
        assert str(len(changed)) not in capsys.readouterr().out
    assert verdict_of(lesson03.check_most_moved_layer, None) is None
    assert verdict_of(lesson03.check_most_moved_layer, right) is True
    assert verdict_of(lesson03.check_most_moved_layer, f"{right}.running_mean") is True
    other = next(n for n in moved if n != right)
    for wrong in (other, "conv1", 3):
        assert verdict_of(lesson03.check_most_moved_layer, wrong) is False
        assert right not in capsys.readouterr().out


def test_short_rerun_has_the_stored_shape():
    stored = experiments.load_result("bn_learning_rate")
    rerun = batchnorm.run_bn_lr_experiment(seeds=[0], save=False, progress=False, epochs=1, train_images=128,
                                           val_images=64, test_images=64, probe_images=16)
    assert experiments.same_shape(stored, rerun) == []
    assert set(stored["arms"]) == set(batchnorm.BN_LR_ARMS)
    assert all(len(runs) >= 3 for runs in stored["arms"].values())
    for arm, runs in rerun["arms"].items():
        run = runs[0]
        assert len(run["train_loss"]) == len(run["val_acc"]) == 1
        assert len(run["act_std"][0]) == len(batchnorm.PLAIN_CNN_LAYERS)
        assert len(run["act_hist"][0][0]) == len(batchnorm.HIST_EDGES) - 1
