"""Tests of course_utils.train, on small CNNs defined here (fast, and independent of the model zoo)."""
from __future__ import annotations

import json
import math

import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

from course_utils import train
from course_utils.models.base import AuxOutputs
from course_utils.runtime import seed_everything
from course_utils.train import EvalResult, History, compute_loss, evaluate, fit


class TinyCNN(nn.Module):
    """conv-BN-ReLU x 2, global average pooling, linear: enough to fit a few dozen images."""

    def __init__(self, num_classes: int = 4, width: int = 8) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.features = nn.Sequential(
            nn.Conv2d(3, width, 3, padding=1), nn.BatchNorm2d(width), nn.ReLU(),
            nn.Conv2d(width, 2 * width, 3, stride=2, padding=1), nn.BatchNorm2d(2 * width), nn.ReLU(),
            nn.AdaptiveAvgPool2d(1), nn.Flatten(),
        )
        self.fc = nn.Linear(2 * width, num_classes)

    def forward(self, x):
        return self.fc(self.features(x))


class TinyAuxCNN(TinyCNN):
    """TinyCNN with one auxiliary head, returning AuxOutputs in training mode like GoogLeNet."""

    aux_loss_weight = 0.3

    def __init__(self, num_classes: int = 4) -> None:
        super().__init__(num_classes)
        self.aux = nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(8, num_classes))

    def forward(self, x):
        early = self.features[:3](x)
        logits = self.fc(self.features[3:](early))
        return AuxOutputs(logits, (self.aux(early),)) if self.training else logits


def toy_loader(n: int = 64, num_classes: int = 4, batch_size: int = 16, seed: int = 0, shuffle: bool = True):
    """Images whose class is which colour channel (or none) is bright: learnable in a few steps."""
    g = torch.Generator().manual_seed(seed)
    labels = torch.arange(n) % num_classes
    images = torch.randn(n, 3, 12, 12, generator=g) * 0.3
    for c in range(3):
        images[labels == c, c] += 1.5
    return DataLoader(TensorDataset(images, labels), batch_size=batch_size, shuffle=shuffle)


# ---------------------------------------------------------------------------
# losses
# ---------------------------------------------------------------------------


def test_auxiliary_losses_are_added_with_the_given_weight():
    torch.manual_seed(0)
    logits, aux1, aux2 = torch.randn(3, 8, 5).unbind(0)
    y = torch.randint(0, 5, (8,))
    ce = nn.CrossEntropyLoss()
    got = compute_loss(AuxOutputs(logits, (aux1, aux2)), y, ce, aux_weight=0.3)
    assert torch.allclose(got, ce(logits, y) + 0.3 * ce(aux1, y) + 0.3 * ce(aux2, y))
    assert torch.allclose(compute_loss(logits, y, ce, aux_weight=0.3), ce(logits, y))


def spy_on_loss(monkeypatch):
    calls = []
    real = train.compute_loss

    def spy(outputs, targets, criterion, aux_weight=0.0):
        calls.append((type(outputs), criterion, aux_weight))
        return real(outputs, targets, criterion, aux_weight)

    monkeypatch.setattr(train, "compute_loss", spy)
    return calls


def test_fit_weights_auxiliary_losses_as_the_model_says(monkeypatch):
    calls = spy_on_loss(monkeypatch)
    fit(TinyAuxCNN(), toy_loader(32), epochs=1, progress=False)
    assert calls and all(kind is AuxOutputs and w == 0.3 for kind, _, w in calls)
    calls.clear()
    fit(TinyAuxCNN(), toy_loader(32), epochs=1, aux_weight=0.4, progress=False)  # Inception v3's weight
    assert all(w == 0.4 for _, _, w in calls)


def test_label_smoothing_reaches_the_loss(monkeypatch):
    calls = spy_on_loss(monkeypatch)
    fit(TinyCNN(), toy_loader(32), epochs=1, label_smoothing=0.1, progress=False)
    assert all(criterion.label_smoothing == 0.1 for _, criterion, _ in calls)


# ---------------------------------------------------------------------------
# the loop
# ---------------------------------------------------------------------------


def test_fit_learns_and_records_its_history():
    seed_everything(0)
    model = TinyCNN()
    history = fit(model, toy_loader(64), toy_loader(32, seed=1, shuffle=False), epochs=6, lr=0.1, progress=False)
    assert isinstance(history, History)
    assert history.epoch == [1, 2, 3, 4, 5, 6]
    for values in (history.train_loss, history.train_acc, history.val_loss, history.val_acc, history.lr,
                   history.train_time_s, history.images_per_s):
        assert len(values) == 6
    assert history.train_loss[-1] < 0.5 * history.train_loss[0]
    assert history.val_acc[-1] >= 0.9 and history.best_val_acc == max(history.val_acc)
    assert all(b > a for a, b in zip(history.train_time_s, history.train_time_s[1:]))
    assert history.total_train_time_s == history.train_time_s[-1] and min(history.images_per_s) > 0
    json.dumps(history.to_dict())  # plain types: fits in a checkpoint's metadata and a JSON file


def test_the_same_seed_repeats_the_same_training():
    def run():
        seed_everything(3)
        model = TinyCNN()
        fit(model, toy_loader(32), epochs=2, progress=False)
        return torch.cat([p.flatten() for p in model.parameters()])

    assert torch.equal(run(), run())


def test_one_cycle_warms_up_then_anneals_and_cosine_decays():
    seed_everything(0)
    h = fit(TinyCNN(), toy_loader(32, batch_size=4), epochs=8, lr=0.1, schedule="onecycle", progress=False)
    peak = h.lr.index(max(h.lr))
    assert 0 < peak < 7 and h.lr[0] < 0.1 * max(h.lr) and h.lr[-1] < max(h.lr)
    model = TinyCNN()
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    fit(model, toy_loader(32, batch_size=4), epochs=3, optimizer=optimizer, schedule="cosine", progress=False)
    assert optimizer.param_groups[0]["lr"] < 1e-6  # cosine ends at zero
    optimizer = torch.optim.SGD(model.parameters(), lr=0.1)
    fit(model, toy_loader(32, batch_size=4), epochs=2, optimizer=optimizer, schedule=None, progress=False)
    assert optimizer.param_groups[0]["lr"] == 0.1


def test_gradient_clipping_bounds_each_step():
    seed_everything(0)
    model = TinyCNN()
    before = torch.cat([p.detach().flatten() for p in model.parameters()])
    optimizer = torch.optim.SGD(model.parameters(), lr=1.0)  # plain SGD: step = lr * gradient
    fit(model, toy_loader(16, batch_size=16), epochs=1, optimizer=optimizer, schedule=None, grad_clip=1e-3,
        progress=False)
    after = torch.cat([p.detach().flatten() for p in model.parameters()])
    assert 0 < (after - before).norm() <= 1e-3 * 1.0001
    seed_everything(0)
    unclipped = TinyCNN()
    fit(unclipped, toy_loader(16, batch_size=16), epochs=1,
        optimizer=torch.optim.SGD(unclipped.parameters(), lr=1.0), schedule=None, progress=False)
    assert (torch.cat([p.detach().flatten() for p in unclipped.parameters()]) - before).norm() > 1e-2


def test_weight_decay_skips_batchnorm_and_biases():
    optimizer = train.make_optimizer(TinyCNN(), "sgd", lr=0.1, weight_decay=1e-4)
    decayed, plain = optimizer.param_groups
    assert decayed["weight_decay"] == 1e-4 and all(p.ndim > 1 for p in decayed["params"])
    assert plain["weight_decay"] == 0 and all(p.ndim == 1 for p in plain["params"])
    assert isinstance(train.make_optimizer(TinyCNN(), "adamw", lr=1e-3), torch.optim.AdamW)


def test_channels_last_training_runs():
    model = TinyCNN()
    fit(model, toy_loader(16), epochs=1, channels_last=True, progress=False)
    assert model.features[0].weight.is_contiguous(memory_format=torch.channels_last)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(epochs=0), "epochs must be a positive whole number"),
        (dict(label_smoothing=1.0), r"label_smoothing must be a number in \[0, 1\)"),
        (dict(grad_clip=-1.0), "grad_clip must be a positive"),
        (dict(optimizer="adam"), "optimizer must be one of: 'sgd', 'adamw'.*Did you mean 'adamw'"),
        (dict(schedule="step"), "schedule must be one of: 'onecycle', 'cosine', 'constant'"),
        (dict(lr=0), "lr must be a positive number"),
        (dict(device="tpu"), "device must be one of"),
    ],
)
def test_bad_arguments_say_what_is_allowed(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit(TinyCNN(), toy_loader(16), progress=False, **kwargs)


def test_progress_bars_can_be_switched_off(capsys):
    fit(TinyCNN(), toy_loader(16), toy_loader(16), epochs=1, progress=False)
    assert capsys.readouterr() == ("", "")
    fit(TinyCNN(), toy_loader(16), epochs=1, progress=True)
    assert "epochs" in capsys.readouterr().err  # tqdm writes to stderr outside notebooks


@pytest.mark.skipif(not torch.cuda.is_available(), reason="mixed precision is used on CUDA only")
def test_mixed_precision_on_cuda():
    seed_everything(0)
    model = TinyAuxCNN()
    history = fit(model, toy_loader(64), toy_loader(32, seed=1), epochs=4, lr=0.1, device="cuda", progress=False)
    assert next(model.parameters()).device.type == "cuda" and all(math.isfinite(v) for v in history.train_loss)


# ---------------------------------------------------------------------------
# evaluation and plots
# ---------------------------------------------------------------------------


class Oracle(nn.Module):
    """Predicts class round(x[0, 0, 0]) -- a model whose confusion matrix we know in advance."""

    num_classes = 3

    def forward(self, x):
        return nn.functional.one_hot(x[:, 0, 0, 0].round().long(), 3).float()


def test_evaluate_returns_accuracy_and_the_confusion_matrix():
    predicted = torch.tensor([0, 0, 1, 2, 2, 2, 1, 0])
    true = torch.tensor([0, 1, 1, 2, 2, 0, 1, 0])
    images = predicted.float().view(-1, 1, 1, 1).expand(-1, 3, 2, 2).clone()
    result = evaluate(Oracle(), DataLoader(TensorDataset(images, true), batch_size=3))
    assert isinstance(result, EvalResult)
    assert result.accuracy == pytest.approx(6 / 8)
    expected = torch.tensor([[2, 0, 1], [1, 2, 0], [0, 0, 2]])  # rows: true, columns: predicted
    assert torch.equal(result.confusion, expected)
    assert torch.allclose(result.per_class_accuracy, torch.tensor([2 / 3, 2 / 3, 1.0]))
    assert result.loss > 0


def test_evaluate_switches_to_eval_mode():
    model = TinyAuxCNN().train()
    result = evaluate(model, toy_loader(16))  # AuxOutputs would break argmax: eval mode returns logits
    assert not model.training and 0 <= result.accuracy <= 1


def test_plots_return_figures_and_reject_bad_input():
    import matplotlib.pyplot as plt

    h = History(epoch=[1, 2], train_loss=[1.0, 0.5], train_acc=[0.5, 0.8], val_loss=[1.1, 0.7],
                val_acc=[0.4, 0.7], lr=[0.1, 0.05], train_time_s=[1.0, 2.0], images_per_s=[10.0, 10.0])
    fig = train.plot_history(h)
    assert len(fig.axes) == 2 and len(fig.axes[1].lines) == 2
    plt.close(fig)
    fig = train.plot_confusion_matrix(torch.tensor([[3, 1], [0, 4]]), ["a", "b"])
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == ["a", "b"]
    plt.close(fig)
    with pytest.raises(ValueError, match="history is empty"):
        train.plot_history(History())
    with pytest.raises(ValueError, match="square"):
        train.plot_confusion_matrix(torch.zeros(2, 3))
    with pytest.raises(ValueError, match="3 class names"):
        train.plot_confusion_matrix(torch.zeros(2, 2), ["a", "b", "c"])


# ---------------------------------------------------------------------------
# issue 16: nothing silently wrong
# ---------------------------------------------------------------------------


def test_a_diverging_loss_stops_training_and_names_the_causes():
    seed_everything(0)
    with pytest.raises(train.TrainingDivergedError, match="(no longer a finite number|exploded).*learning rate is too high") as info:
        fit(TinyCNN(), toy_loader(64), epochs=3, lr=1e6, optimizer="sgd", schedule=None, progress=False)
    assert isinstance(info.value.history, History)


def test_a_nan_pixel_is_caught_before_it_reaches_the_weights():
    loader = toy_loader(32)
    loader.dataset.tensors[0][5, 1, 2, 3] = float("nan")
    model = TinyCNN()
    with pytest.raises(ValueError, match="1 NaN or infinite pixel value.*model was not changed"):
        fit(model, loader, epochs=1, progress=False)
    assert all(torch.isfinite(p).all() for p in model.parameters())


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(lr=float("inf")), "lr must be a positive number and finite"),
        (dict(lr="0.1"), "without quotes"),
        (dict(label_smoothing="0.1"), "label_smoothing"),
        (dict(epochs=2.0), "Write it as 2"),
        (dict(amp="yes"), "amp must be True or False"),
    ],
)
def test_more_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        fit(TinyCNN(), toy_loader(16), progress=False, **kwargs)


def test_fit_given_a_dataset_or_a_model_name_says_what_to_pass():
    loader = toy_loader(16)
    with pytest.raises(TypeError, match="DataLoader.*Dataset.*batch_size=64"):
        fit(TinyCNN(), loader.dataset, progress=False)
    with pytest.raises(TypeError, match=r"create_model\('mini_googlenet'\)"):
        fit("mini_googlenet", loader, progress=False)
    import numpy as np

    history = fit(TinyCNN(), loader, epochs=np.int64(1), progress=False)  # numpy integers are integers
    assert history.epoch == [1]


def test_labels_outside_the_models_classes_and_a_wrong_num_classes():
    with pytest.raises(ValueError, match="labels run from 0 to 3, but the model has 2 outputs.*num_classes=4"):
        fit(TinyCNN(num_classes=2), toy_loader(16), epochs=1, progress=False)
    with pytest.raises(ValueError, match="num_classes=2 is smaller than the model's 4 outputs"):
        evaluate(TinyCNN(), toy_loader(16), num_classes=2)
    with pytest.raises(TypeError, match="labels must be a 1-D tensor of class indices"):
        images = torch.randn(8, 3, 12, 12)
        fit(TinyCNN(), DataLoader(TensorDataset(images, torch.rand(8, 4)), batch_size=4), epochs=1, progress=False)


def test_evaluate_warns_when_the_model_outputs_nan():
    model = TinyCNN()
    with torch.no_grad():
        model.fc.bias.fill_(float("nan"))
    with pytest.warns(UserWarning, match="NaN or infinite"):
        evaluate(model, toy_loader(16))


def test_recipe_keys_get_a_suggestion():
    with pytest.raises(TypeError, match="Did you mean 'epochs'"):
        train.recipe_for("mini_googlenet", epoch=1)


def test_a_nan_loss_stops_training_at_once():
    model = TinyCNN()
    with torch.no_grad():
        model.fc.bias.fill_(float("nan"))  # weights broken by an earlier run
    with pytest.raises(train.TrainingDivergedError, match="epoch 1, batch 1: the loss is nan, no longer a finite number"):
        fit(model, toy_loader(16), epochs=1, progress=False)
