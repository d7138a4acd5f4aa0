"""Batch normalization from scratch, folding it into a convolution, and the BN on/off experiment (lesson 03).

Ioffe & Szegedy, "Batch Normalization: Accelerating Deep Network Training by
Reducing Internal Covariate Shift", 2015, https://arxiv.org/abs/1502.03167
(Algorithm 1: the transform; Algorithm 2: inference with population statistics).

What is here, in the order lesson 03 uses it:

* :func:`batch_norm` and :class:`BatchNorm2dScratch` - the transform written out,
  equal to ``nn.BatchNorm2d`` in training and in eval mode (same state-dict names,
  so weights load both ways);
* :func:`folded_conv_weights` and :func:`fold_bn_into_conv` - BN folded into the
  convolution before it, by the formulas; :func:`inference_variants` - eager,
  folded-only, channels_last-only and both, built from the public
  ``fuse_for_inference``; :func:`time_interleaved` times them taking turns;
* :func:`plain_cnn` and :func:`train_plain_cnn` - the small plain CNN with and
  without BN and one training run of the stored experiment
  ``data/results/bn_learning_rate.json`` (script: ``benchmarks/exp_bn_learning_rate.py``).
"""
from __future__ import annotations

import copy
import math
import time
from collections.abc import Mapping, Sequence

import torch
from torch import Tensor, nn

__all__ = [
    "batch_norm", "BatchNorm2dScratch", "folded_conv_weights", "fold_bn_into_conv", "inference_variants",
    "time_interleaved", "plain_cnn", "PlainCNN", "activation_probe", "train_plain_cnn",
    "BN_LR_RECIPE", "BN_LR_ARMS", "BN_LR_SEEDS", "HIST_EDGES",
]


# --------------------------------------------------------------------------- the transform
def batch_norm(
    x: Tensor,
    running_mean: Tensor,
    running_var: Tensor,
    weight: Tensor | None,
    bias: Tensor | None,
    training: bool,
    momentum: float = 0.1,
    eps: float = 1e-5,
) -> Tensor:
    """Batch normalization of an N x C x H x W tensor, written out (Algorithm 1 and 2 of the paper).

    Training: each channel is normalized with the mean and the (biased) variance of
    its N * H * W values in this batch, and the running statistics are updated in
    place with PyTorch's convention
    ``running = (1 - momentum) * running + momentum * batch_statistic``, where the
    variance stored is the *unbiased* one (divided by n - 1), as Algorithm 2 asks
    for inference. Eval: the running statistics are used instead; nothing changes.
    """
    if x.dim() != 4:
        raise ValueError(f"batch_norm expects N x C x H x W, got shape {tuple(x.shape)}.")
    if training:
        n = x.numel() // x.shape[1]  # values per channel: N * H * W
        if n < 2:
            raise ValueError(
                f"Training-mode batch norm needs more than one value per channel, got {n} "
                f"(input {tuple(x.shape)}): the variance of one value is 0 and its unbiased estimate undefined."
            )
        mean = x.mean(dim=(0, 2, 3))  # C: one mean per channel, over N, H and W
        var = x.var(dim=(0, 2, 3), unbiased=False)  # C: the batch's own (biased) variance normalizes
        with torch.no_grad():
            unbiased = var * n / (n - 1)  # what inference will need: an estimate of the population variance
            running_mean.mul_(1 - momentum).add_(momentum * mean)
            running_var.mul_(1 - momentum).add_(momentum * unbiased)
    else:
        mean, var = running_mean, running_var
    x_hat = (x - mean[None, :, None, None]) / torch.sqrt(var[None, :, None, None] + eps)  # zero mean, unit variance
    if weight is not None:
        x_hat = x_hat * weight[None, :, None, None]  # gamma: the learned scale ...
    if bias is not None:
        x_hat = x_hat + bias[None, :, None, None]  # ... and beta, the learned shift
    return x_hat


class BatchNorm2dScratch(nn.Module):
    """The readable twin of ``nn.BatchNorm2d`` (same arguments for the common case, same state dict).

    ``weight`` is the paper's gamma, ``bias`` its beta; ``running_mean`` and
    ``running_var`` start at 0 and 1. ``momentum`` is PyTorch's: the weight of the
    *new* batch statistic (the paper's moving average keeps 1 - momentum of the old).
    """

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float = 0.1) -> None:
        super().__init__()
        self.num_features, self.eps, self.momentum = num_features, eps, momentum
        self.weight = nn.Parameter(torch.ones(num_features))  # gamma
        self.bias = nn.Parameter(torch.zeros(num_features))  # beta
        self.register_buffer("running_mean", torch.zeros(num_features))
        self.register_buffer("running_var", torch.ones(num_features))
        self.register_buffer("num_batches_tracked", torch.tensor(0, dtype=torch.long))

    def forward(self, x: Tensor) -> Tensor:
        if self.training:
            self.num_batches_tracked += 1
        return batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                          self.training, self.momentum, self.eps)

    def extra_repr(self) -> str:
        return f"{self.num_features}, eps={self.eps}, momentum={self.momentum}"


# --------------------------------------------------------------------------- folding for inference
def folded_conv_weights(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> tuple[Tensor, Tensor]:
    """``(W', b')`` of the one convolution that equals ``bn(conv(x))`` in eval mode.

    ``W' = W * gamma / sqrt(var + eps)`` (each output channel's filter scaled) and
    ``b' = beta + (b - mean) * gamma / sqrt(var + eps)`` (b = 0 for a conv without bias).
    """
    scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)  # C_out: gamma / sqrt(var + eps)
    bias = conv.bias if conv.bias is not None else torch.zeros_like(bn.running_mean)
    weight = conv.weight * scale[:, None, None, None]  # C_out x C_in x k x k, one scale per filter
    return weight.detach().clone(), (bn.bias + (bias - bn.running_mean) * scale).detach().clone()


def fold_bn_into_conv(conv: nn.Conv2d, bn: nn.BatchNorm2d) -> nn.Conv2d:
    """A new conv (with bias) computing ``bn(conv(x))`` of the eval-mode BN; the inputs are untouched."""
    weight, bias = folded_conv_weights(conv, bn)
    folded = copy.deepcopy(conv)
    folded.weight = nn.Parameter(weight)
    folded.bias = nn.Parameter(bias)
    return folded.eval()


def inference_variants(model: nn.Module) -> dict[str, nn.Module]:
    """The four ways lesson 03 times ``model`` at inference, all eval-mode copies:

    ``eager`` (as trained), ``folded`` (BN folded, default memory layout),
    ``channels_last`` (BN kept, channels-last layout) and ``folded + channels_last``
    (what ``fuse_for_inference`` returns by default).
    """
    from .models import fuse_for_inference

    eager = copy.deepcopy(model).eval()
    return {
        "eager": eager,
        "folded": fuse_for_inference(model, channels_last=False),
        "channels_last": copy.deepcopy(model).eval().to(memory_format=torch.channels_last),
        "folded + channels_last": fuse_for_inference(model, channels_last=True),
    }


def time_interleaved(
    models: Mapping[str, nn.Module], x: Tensor, rounds: int = 15, warmup: int = 2, threads: int | None = None
) -> dict[str, list[float]]:
    """Milliseconds of single forward passes, the models taking turns pass by pass.

    On a shared machine slow moments come in bursts; rotating through the models
    after every pass (in an order that shifts each round) makes a burst hit all
    of them alike, so their *ratios* stay meaningful when the absolute times do not.
    """
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(threads)
    try:
        labels = list(models)
        samples: dict[str, list[float]] = {label: [] for label in labels}
        with torch.inference_mode():
            for _ in range(warmup):  # first calls allocate memory and pick kernels
                for model in models.values():
                    model(x)
            for r in range(rounds):
                for label in labels[r % len(labels):] + labels[: r % len(labels)]:
                    start = time.perf_counter()
                    models[label](x)
                    samples[label].append((time.perf_counter() - start) * 1e3)
    finally:
        torch.set_num_threads(previous)
    return samples


# --------------------------------------------------------------------------- the experiment's network
#: Output channels and strides of the plain CNN's eight 3x3 convolutions.
PLAIN_CNN_LAYERS: tuple = ((16, 2), (16, 1), (24, 2), (24, 1), (32, 2), (32, 1), (48, 1), (48, 1))


class PlainCNN(nn.Module):
    """Eight 3x3 conv -> [BN] -> ReLU layers, global average pooling, a linear classifier.

    With ``batch_norm=True`` each conv has no bias (BN's beta takes its place) and is
    followed by ``nn.BatchNorm2d``; otherwise the conv has a bias. Everything else is
    the same: He initialization (normal, fan-in, ReLU gain) for the conv weights, which
    is what makes a plain network of this depth trainable without BN at all, zero biases.
    ``layers`` holds the eight units, ``layers[i].pre_relu`` is what their ReLU sees.
    """

    def __init__(self, batch_norm: bool = True, num_classes: int = 10, in_chans: int = 3) -> None:
        super().__init__()
        self.batch_norm = batch_norm
        units, channels = [], in_chans
        for out, stride in PLAIN_CNN_LAYERS:
            unit = nn.Sequential()
            unit.add_module("conv", nn.Conv2d(channels, out, 3, stride=stride, padding=1, bias=not batch_norm))
            unit.add_module("bn", nn.BatchNorm2d(out) if batch_norm else nn.Identity())
            unit.add_module("relu", nn.ReLU())
            units.append(unit)
            channels = out
        self.layers = nn.Sequential(*units)
        self.fc = nn.Linear(channels, num_classes)
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_in", nonlinearity="relu")
                if m.bias is not None:
                    nn.init.zeros_(m.bias)

    def forward(self, x: Tensor) -> Tensor:
        # N x 3 x 32 x 32 -> 16 @16, 16 @16, 24 @8, 24 @8, 32 @4, 32 @4, 48 @4, 48 @4 (48 x 48: 24, 12, 6)
        x = self.layers(x)
        return self.fc(x.mean(dim=(2, 3)))  # N x 48 -> N x 10


def plain_cnn(batch_norm: bool = True, num_classes: int = 10) -> PlainCNN:
    """The experiment's network (62,794 parameters without BN, 63,034 with): see :class:`PlainCNN`."""
    return PlainCNN(batch_norm=batch_norm, num_classes=num_classes)


#: Bin edges of the stored activation histograms (what each ReLU sees; values outside are counted at the ends).
HIST_EDGES: tuple = tuple(round(-6 + 0.25 * i, 2) for i in range(49))


@torch.no_grad()
def activation_probe(model: PlainCNN, x: Tensor) -> dict[str, list]:
    """What each layer's ReLU sees on the batch ``x``, as the network is trained (train mode).

    Runs a *copy* of the model, so that BN's running statistics of the original are
    not touched (a training-mode forward pass would update them). Per layer: mean, std,
    fraction of positive values and a histogram over :data:`HIST_EDGES` (values
    beyond the edges are clamped into the outer bins). Non-finite values count as NaN statistics.
    """
    probe = copy.deepcopy(model).train()
    seen: list[Tensor] = []
    hooks = [unit.bn.register_forward_hook(lambda _m, _i, out: seen.append(out.detach())) for unit in probe.layers]
    try:
        probe(x)
    finally:
        for h in hooks:
            h.remove()
    edges = torch.tensor(HIST_EDGES)
    out: dict[str, list] = {"mean": [], "std": [], "positive": [], "hist": []}
    for values in seen:
        v = values.flatten().double()
        finite = torch.isfinite(v).all().item()
        out["mean"].append(v.mean().item() if finite else math.nan)
        out["std"].append(v.std().item() if finite else math.nan)
        out["positive"].append((v > 0).double().mean().item() if finite else math.nan)
        if finite:
            clamped = v.clamp(edges[0].item(), edges[-1].item() - 1e-9).float()
            counts = torch.histc(clamped, bins=len(edges) - 1, min=edges[0].item(), max=edges[-1].item())
            out["hist"].append([int(c) for c in counts])
        else:
            out["hist"].append([0] * (len(edges) - 1))
    return out


# --------------------------------------------------------------------------- one run of the stored experiment
#: What every run of the BN x learning-rate experiment shares.
BN_LR_RECIPE: dict = {
    "epochs": 3,
    "batch_size": 16,
    "image_size": 32,
    "train_images": 1600,
    "val_images": 500,
    "test_images": 1000,
    "weight_decay": 5e-4,
    "momentum": 0.9,
    "probe_images": 128,
    "log_every": 10,
}
#: The four arms: BN on/off x the baseline and a 10x higher learning rate (constant, SGD with Nesterov momentum).
#: Chosen from a probe (100 steps at 0.05 and 0.5, seed 0): at 0.5 the network without BN stopped learning
#: (its deep activations collapsed), the one with BN learned; both learned at 0.05.
BN_LR_ARMS: dict = {
    "BN, lr 0.05": {"batch_norm": True, "lr": 0.05},
    "no BN, lr 0.05": {"batch_norm": False, "lr": 0.05},
    "BN, lr 0.5": {"batch_norm": True, "lr": 0.5},
    "no BN, lr 0.5": {"batch_norm": False, "lr": 0.5},
}
BN_LR_SEEDS: tuple = (0, 1, 2)


def train_plain_cnn(
    seed: int,
    batch_norm: bool,
    lr: float,
    epochs: int = 3,
    batch_size: int = 16,
    image_size: int = 32,
    train_images: int | None = 1600,
    weight_decay: float = 5e-4,
    momentum: float = 0.9,
    probe_images: int = 128,
    log_every: int = 10,
    val_images: int | None = 500,
    test_images: int | None = None,
    device: str = "cpu",
) -> dict:
    """Train one :func:`plain_cnn` with a constant learning rate; its metrics for ``run_experiment``.

    SGD with Nesterov momentum (``course_utils.train.make_optimizer``, no weight decay on
    biases and BN parameters), no schedule and no gradient clipping, so that a too-high
    learning rate shows. A batch whose loss is not finite stops the run: it *diverged*
    (``diverged_at_step`` says when); its remaining epochs are recorded as None, and its
    final accuracies are those of the broken model (NaN logits: chance level or below).

    Returns scalars (``test_acc``, ``val_acc_final``, ``diverged``, ...), per-epoch lists
    (``train_loss``, ``val_acc``), the loss every ``log_every`` steps (``step_loss``) and
    activation statistics per depth (``act_*``, see :func:`activation_probe`) at step 0 and
    after every epoch, measured on the first ``probe_images`` validation images. Validation
    uses the first ``val_images`` images of that split, the test accuracy all of the test
    split (``test_images`` to shorten it). Images are ``image_size`` pixels square (the
    embedded shapes drawn at 32 px by default: the experiment must stay affordable on a CPU).
    """
    from .data import embedded_loaders
    from .runtime import seed_everything
    from .train import DATASET_SEED, evaluate, make_optimizer

    seed_everything(seed)
    sizes = {"train": train_images, "val": val_images, "test": test_images}
    loaders = embedded_loaders(batch_size=batch_size, seed=DATASET_SEED, size=image_size, sizes=sizes)
    probe_x = torch.cat([x for x, _ in loaders.val])[:probe_images].to(device)
    model = plain_cnn(batch_norm=batch_norm).to(device)
    optimizer = make_optimizer(model, "sgd", lr=lr, weight_decay=weight_decay, momentum=momentum)
    criterion = nn.CrossEntropyLoss()

    probes = {"act_step": [0]}
    first = activation_probe(model, probe_x)
    for key, value in first.items():
        probes[f"act_{key}"] = [value]
    train_loss: list = []
    val_acc: list = []
    step_loss: list = []
    diverged_at = None
    step = 0
    window = []
    start = time.perf_counter()
    for _epoch in range(epochs):
        model.train()
        total, seen = 0.0, 0
        for images, targets in loaders.train:
            images, targets = images.to(device), targets.to(device)
            loss = criterion(model(images), targets)
            if not torch.isfinite(loss):
                diverged_at = step
                break
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
            step += 1
            total += loss.item() * targets.shape[0]
            seen += targets.shape[0]
            window.append(loss.item())
            if len(window) == log_every:
                step_loss.append(sum(window) / log_every)
                window = []
        if diverged_at is not None:
            break
        train_loss.append(total / seen)
        val_acc.append(evaluate(model, loaders.val, device).accuracy)
        probes["act_step"].append(step)
        for key, value in activation_probe(model, probe_x).items():
            probes[f"act_{key}"].append(value)
    train_time = time.perf_counter() - start
    missing = epochs - len(train_loss)
    train_loss += [math.nan] * missing
    test = evaluate(model, loaders.test, device)
    val_final = val_acc[-1] if diverged_at is None else evaluate(model, loaders.val, device).accuracy
    val_acc += [val_final] * missing  # a diverged model stays broken: its accuracy from then on
    return {
        "test_acc": test.accuracy,
        "val_acc_final": val_final,
        "diverged": diverged_at is not None,
        "diverged_at_step": -1 if diverged_at is None else diverged_at,
        "steps_per_epoch": len(loaders.train),
        "params": sum(p.numel() for p in model.parameters()),
        "train_time_s": round(train_time, 2),
        "train_loss": train_loss,
        "val_acc": val_acc,
        "step_loss": step_loss,
        **probes,
    }


def run_bn_lr_experiment(
    seeds: Sequence[int] = BN_LR_SEEDS, save: bool = True, progress: bool = True, **recipe_changes
) -> dict:
    """Every arm x seed of the BN x learning-rate experiment through ``run_experiment``.

    Writes ``data/results/bn_learning_rate.json`` when ``save``; ``recipe_changes``
    (e.g. ``epochs=1, train_images=256``) give the unit test's short rerun.
    """
    from .experiments import run_experiment

    recipe = {**BN_LR_RECIPE, **recipe_changes}
    return run_experiment(
        "bn_learning_rate", train_plain_cnn, BN_LR_ARMS, seeds, recipe,
        description=(
            "A plain 8-layer CNN (3x3 conv [-> BN] -> ReLU, He init, global average pooling) on the embedded "
            "shapes, with and without BatchNorm, at a baseline constant learning rate and a 10x higher one "
            "(SGD, Nesterov momentum 0.9); per-epoch train loss and validation accuracy, divergence (a "
            "non-finite batch loss stops the run) and activation statistics per depth."
        ),
        save=save, progress=progress,
    )
