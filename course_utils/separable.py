"""Depthwise separable convolutions: the cost arithmetic, the profiler shares and the stored experiment (lesson 06).

Chollet, "Xception: Deep Learning with Depthwise Separable Convolutions", CVPR 2017,
https://arxiv.org/abs/1610.02357. What is here, in the order lesson 06 uses it:

* :func:`separable_cost` and :func:`separable_ratio` - parameters and MACs of a
  depthwise k x k conv followed by a pointwise 1x1, against one regular k x k conv:
  the ratio ``1/C_out + 1/k^2`` (checked against the counter in the tests);
* :func:`arithmetic_intensity` - MACs per byte moved (input, weights and output read
  or written once, float32) of a conv with ``groups``: why a depthwise conv is
  memory-bound where a dense one is compute-bound;
* :func:`depthwise_shares` - ``torch.profiler`` run of a model: the share of the MACs
  and the share of the time spent in its depthwise convolutions;
* :class:`SeparableNet` and :func:`train_separable_net` - the small separable network
  of the stored experiment ``data/results/separable_nonlinearity.json`` (script:
  ``benchmarks/exp_separable_nonlinearity.py``): no nonlinearity, ReLU or ELU
  between the depthwise and the pointwise conv (the paper's Figure 10).
"""
from __future__ import annotations

import contextlib
from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import costs
from .checks import CourseError, check_choice, check_int, check_module

__all__ = [
    "SeparableCost",
    "separable_cost",
    "separable_ratio",
    "arithmetic_intensity",
    "Intensity",
    "DepthwiseShares",
    "depthwise_shares",
    "INTERMEDIATES",
    "SeparableBlock",
    "SeparableNet",
    "SEPARABLE_RECIPE",
    "train_separable_net",
]


# ---------------------------------------------------------------------------
# the cost arithmetic
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class SeparableCost:
    """Parameters and MACs (one image) of a depthwise + pointwise pair and of the regular conv it replaces."""

    depthwise_params: int
    pointwise_params: int
    regular_params: int
    depthwise_macs: int
    pointwise_macs: int
    regular_macs: int

    @property
    def params(self) -> int:
        return self.depthwise_params + self.pointwise_params

    @property
    def macs(self) -> int:
        return self.depthwise_macs + self.pointwise_macs

    @property
    def mac_ratio(self) -> float:
        """Separable MACs over the regular conv's: ``1/C_out + 1/k^2``."""
        return self.macs / self.regular_macs


def separable_cost(in_channels: int, out_channels: int, kernel_size: int, spatial: int) -> SeparableCost:
    """A depthwise ``k x k`` conv (groups = C_in) then a pointwise 1x1 to ``C_out``, 'same' padding, no bias.

    Per output position the depthwise conv does ``C_in k^2`` MACs and the pointwise
    ``C_in C_out``; a regular ``k x k`` conv does ``C_in k^2 C_out``. Their ratio is
    ``(C_in k^2 + C_in C_out) / (C_in k^2 C_out) = 1/C_out + 1/k^2``.
    """
    cin = check_int(in_channels, "in_channels", minimum=1)
    cout = check_int(out_channels, "out_channels", minimum=1)
    k = check_int(kernel_size, "kernel_size", minimum=1)
    d = check_int(spatial, "spatial", minimum=1)
    pad = k // 2
    return SeparableCost(
        depthwise_params=costs.conv_params(cin, cin, k, groups=cin, bias=False),
        pointwise_params=costs.conv_params(cin, cout, 1, bias=False),
        regular_params=costs.conv_params(cin, cout, k, bias=False),
        depthwise_macs=costs.conv_macs(cin, cin, k, d, padding=pad, groups=cin),
        pointwise_macs=costs.conv_macs(cin, cout, 1, d),
        regular_macs=costs.conv_macs(cin, cout, k, d, padding=pad),
    )


def separable_ratio(out_channels: int, kernel_size: int) -> float:
    """The textbook ratio separable / regular MACs (and parameters): ``1/C_out + 1/k^2``."""
    cout = check_int(out_channels, "out_channels", minimum=1)
    k = check_int(kernel_size, "kernel_size", minimum=1)
    return 1 / cout + 1 / k ** 2


@dataclass(frozen=True)
class Intensity:
    """MACs and bytes of one conv layer (a whole batch, float32) and their ratio."""

    groups: int
    macs: int
    bytes_moved: int

    @property
    def macs_per_byte(self) -> float:
        return self.macs / self.bytes_moved


def arithmetic_intensity(channels: int, kernel_size: int, spatial: int, groups: int = 1, batch_size: int = 1,
                         out_channels: int | None = None, bytes_per_value: int = 4) -> Intensity:
    """Arithmetic intensity of a 'same' ``k x k`` conv with ``groups``: MACs per byte of memory traffic.

    The traffic counted is the least any implementation needs: read the input and the
    weights once, write the output once (float32: 4 bytes per value). A dense conv
    reuses every input value ``C_out k^2`` times; a depthwise conv only ``k^2`` times,
    so it does a few MACs per byte and its speed is set by memory, not arithmetic
    (the roofline model).
    """
    c = check_int(channels, "channels", minimum=1)
    cout = c if out_channels is None else check_int(out_channels, "out_channels", minimum=1)
    k = check_int(kernel_size, "kernel_size", minimum=1)
    d = check_int(spatial, "spatial", minimum=1)
    n = check_int(batch_size, "batch_size", minimum=1)
    size = check_int(bytes_per_value, "bytes_per_value", minimum=1)
    macs = n * costs.conv_macs(c, cout, k, d, padding=k // 2, groups=groups)
    values = n * c * d * d + costs.conv_params(c, cout, k, groups=groups, bias=False) + n * cout * d * d
    return Intensity(int(groups), macs, size * values)


# ---------------------------------------------------------------------------
# where the time goes: torch.profiler
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class DepthwiseShares:
    """Share of a model's MACs and of its measured time spent in depthwise convolutions.

    ``time_ms`` holds the profiled CPU time of the forward pass(es) per kind:
    ``depthwise``, ``pointwise`` (1x1 convs), ``other conv`` and ``everything else``
    (BatchNorm, ReLU, pooling, additions, the classifier, overheads).
    """

    macs: dict
    time_ms: dict
    passes: int

    @property
    def mac_share(self) -> float:
        return self.macs["depthwise"] / sum(self.macs.values())

    @property
    def time_share(self) -> float:
        return self.time_ms["depthwise"] / sum(self.time_ms.values())

    def share(self, kind: str, what: str = "time") -> float:
        values = self.time_ms if what == "time" else self.macs
        return values[kind] / sum(values.values())


KINDS = ("depthwise", "pointwise", "other conv", "everything else")


def _conv_kind(module: nn.Conv2d) -> str:
    if module.groups > 1 and module.groups == module.in_channels:
        return "depthwise"
    if module.kernel_size == (1, 1):
        return "pointwise"
    return "other conv"


@contextlib.contextmanager
def _quiet_native_stderr():
    """Silence what the profiler's C++ library (Kineto) writes straight to file descriptor 2.

    It logs "profiler_start"/"profiler_stop" lines (and a GPU probe error on machines
    without one) there, bypassing Python; in a notebook they would appear as stderr.
    Python's own ``sys.stderr`` is not touched, so a traceback still shows.
    """
    import os
    import sys

    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError, AttributeError):
        yield
        return
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 2)
    try:
        yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def depthwise_shares(model: nn.Module, input_shape: Sequence[int], passes: int = 1, threads: int | None = 1,
                     warmup: int = 1) -> DepthwiseShares:
    """Profile ``model`` on zeros of ``input_shape`` and split MACs and time by kind of layer.

    MACs are counted per conv with ``costs.conv_macs`` from forward hooks (the rest,
    the classifier's matrix product, goes to ``everything else``). Time comes from
    ``torch.profiler``: every conv module's forward is wrapped in a
    ``record_function`` labelled with its kind, and the profiler's CPU time of those
    labels is summed; the rest of the forward pass is ``everything else``. One
    thread by default (see ``explorers.factorization.quick_latency``: a busy machine
    otherwise decides the time).
    """
    from torch.profiler import ProfilerActivity, profile, record_function

    check_module(model, "model")
    shape = tuple(check_int(v, f"input_shape[{i}]", minimum=1) for i, v in enumerate(input_shape))
    passes = check_int(passes, "passes", minimum=1)
    convs = {name: m for name, m in model.named_modules() if isinstance(m, nn.Conv2d)}
    if not convs:
        raise CourseError("depthwise_shares needs a model with nn.Conv2d layers.")
    macs = dict.fromkeys(KINDS, 0)
    contexts: dict = {}

    def pre(module, inputs):
        kind = _conv_kind(module)
        if counting:
            h, w = inputs[0].shape[-2:]
            macs[kind] += costs.conv_macs(module.in_channels, module.out_channels, module.kernel_size, (h, w),
                                          module.stride, module.padding, module.dilation, module.groups)
        ctx = record_function(f"course::{kind}")
        ctx.__enter__()
        contexts[id(module)] = ctx

    def post(module, inputs, output):
        contexts.pop(id(module)).__exit__(None, None, None)

    hooks = [h for m in convs.values() for h in (m.register_forward_pre_hook(pre), m.register_forward_hook(post))]
    counting = False
    x = torch.zeros(shape)
    was_training = model.training
    model.eval()
    previous = torch.get_num_threads()
    if threads is not None:
        torch.set_num_threads(check_int(threads, "threads", minimum=1))
    try:
        with torch.no_grad():
            counting = False
            for _ in range(warmup):
                model(x)
            counting = True
            total_macs = costs.count_macs(model, x[:1])  # everything the counter counts, one image
            counting = False
            with _quiet_native_stderr(), profile(activities=[ProfilerActivity.CPU]) as prof:
                with record_function("course::forward"):
                    for _ in range(passes):
                        model(x)
    finally:
        for h in hooks:
            h.remove()
        model.train(was_training)
        torch.set_num_threads(previous)
    # count_macs ran with hooks on: per-kind MACs of one image; the rest is the classifier
    macs["everything else"] = total_macs - sum(macs[k] for k in KINDS[:3])
    times = dict.fromkeys(KINDS, 0.0)
    forward = 0.0
    for event in prof.key_averages():
        if event.key == "course::forward":
            forward = event.cpu_time_total / 1e3
        elif event.key.startswith("course::"):
            times[event.key[len("course::"):]] += event.cpu_time_total / 1e3
    times["everything else"] = max(forward - sum(times[k] for k in KINDS[:3]), 0.0)
    return DepthwiseShares({k: int(v) for k, v in macs.items()}, {k: v / passes for k, v in times.items()}, passes)


# ---------------------------------------------------------------------------
# the stored experiment: a nonlinearity between depthwise and pointwise?
# ---------------------------------------------------------------------------
#: What can sit between the depthwise and the pointwise conv (the paper's Figure 10 compares these three).
INTERMEDIATES = ("none", "relu", "elu")


def _intermediate(name: str) -> nn.Module:
    check_choice(name, "intermediate", INTERMEDIATES)
    return {"none": nn.Identity, "relu": nn.ReLU, "elu": nn.ELU}[name]()


class SeparableBlock(nn.Module):
    """Depthwise 3x3 -> [intermediate] -> pointwise 1x1 -> BN -> ReLU.

    ``intermediate`` is ``"none"`` (Xception: one linear map, factorized), ``"relu"``
    or ``"elu"``, the three variants of the paper's Figure 10.
    """

    def __init__(self, in_channels: int, out_channels: int, intermediate: str = "none") -> None:
        super().__init__()
        self.depthwise = nn.Conv2d(in_channels, in_channels, 3, padding=1, groups=in_channels, bias=False)
        self.intermediate = _intermediate(intermediate)
        self.pointwise = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)
        self.relu = nn.ReLU(inplace=True)

    def forward(self, x: Tensor) -> Tensor:
        x = self.depthwise(x)  # N x C_in x H x W: one 3x3 filter per channel
        x = self.intermediate(x)  # nothing, ReLU or ELU (Figure 10)
        return self.relu(self.bn(self.pointwise(x)))  # N x C_out x H x W


class SeparableNet(nn.Module):
    """A small all-separable CNN for 48 x 48 images (the experiment of lesson 06).

    ``N x 3 x 48 x 48`` -> 3x3/2 conv-BN-ReLU (``widths[0]``, 24 x 24) -> separable
    block (``widths[1]``) -> 2x2 max pool (12 x 12) -> two separable blocks
    (``widths[2]``) -> max pool (6 x 6) -> two separable blocks (``widths[3]``) ->
    global average pool -> linear. Every separable block has the same ``intermediate``.
    """

    def __init__(self, intermediate: str = "none", widths: Sequence[int] = (24, 48, 96, 160),
                 num_classes: int = 10) -> None:
        super().__init__()
        if len(widths) != 4:
            raise CourseError(f"widths must list 4 channel counts (stem and three stages), got {widths!r}.")
        w = [check_int(v, f"widths[{i}]", minimum=1) for i, v in enumerate(widths)]
        self.intermediate = intermediate
        self.stem = nn.Sequential(nn.Conv2d(3, w[0], 3, stride=2, padding=1, bias=False), nn.BatchNorm2d(w[0]),
                                  nn.ReLU(inplace=True))  # N x w0 x 24 x 24
        self.stage1 = nn.Sequential(SeparableBlock(w[0], w[1], intermediate), nn.MaxPool2d(2))  # 12 x 12
        self.stage2 = nn.Sequential(SeparableBlock(w[1], w[2], intermediate), SeparableBlock(w[2], w[2], intermediate),
                                    nn.MaxPool2d(2))  # 6 x 6
        self.stage3 = nn.Sequential(SeparableBlock(w[2], w[3], intermediate), SeparableBlock(w[3], w[3], intermediate))
        self.fc = nn.Linear(w[3], check_int(num_classes, "num_classes", minimum=1))

    def forward(self, x: Tensor) -> Tensor:
        x = self.stage3(self.stage2(self.stage1(self.stem(x))))  # N x w3 x 6 x 6
        return self.fc(x.mean(dim=(2, 3)))  # N x num_classes


#: What every run of the experiment shares: the course's AdamW one-cycle recipe, 5 epochs on
#: 5,000 training images (affordable on one CPU thread), validation on 1,000, test on all 2,000.
SEPARABLE_RECIPE: dict = dict(
    epochs=5, batch_size=64, optimizer="adamw", lr=6e-3, weight_decay=5e-2, schedule="onecycle",
    grad_clip=None, channels_last=False, widths=(24, 48, 96, 160),
    train_images=5000, val_images=1000, test_images=None,
)


def train_separable_net(
    seed: int,
    intermediate: str = "none",
    widths: Sequence[int] = (24, 48, 96, 160),
    train_images: int | None = 5000,
    val_images: int | None = 1000,
    test_images: int | None = None,
    device: str = "cpu",
    progress: bool = False,
    **recipe,
) -> dict:
    """Train one :class:`SeparableNet` on the embedded shapes; return what the stored experiment records.

    ``recipe`` holds :func:`course_utils.train.fit` arguments plus ``batch_size``
    (defaults: :data:`SEPARABLE_RECIPE`). A run whose loss explodes is recorded, not
    lost: ``diverged`` is True and the accuracies are those reached before (0 at worst).
    """
    from .data import embedded_loaders
    from .runtime import seed_everything
    from .train import DATASET_SEED, TrainingDivergedError, evaluate, fit

    check_choice(intermediate, "intermediate", INTERMEDIATES)
    shared = ("widths", "train_images", "val_images", "test_images")
    recipe = {k: v for k, v in {**SEPARABLE_RECIPE, **recipe}.items() if k not in shared}
    seed_everything(seed)
    sizes = {"train": train_images, "val": val_images, "test": test_images}
    loaders = embedded_loaders(batch_size=recipe["batch_size"], seed=DATASET_SEED, sizes=sizes)
    model = SeparableNet(intermediate, widths)
    params = costs.count_params(model)
    macs = costs.count_macs(model, (1, 3, 48, 48))
    fit_kwargs = {k: v for k, v in recipe.items() if k != "batch_size"}
    diverged = False
    try:
        history = fit(model, loaders.train, loaders.val, device=device, progress=progress, **fit_kwargs)
    except TrainingDivergedError as err:
        diverged, history = True, err.history
    model.to(memory_format=torch.contiguous_format)
    test = evaluate(model, loaders.test, device)
    epochs = recipe["epochs"]

    def padded(values: list) -> list:  # a diverged run keeps its curve's length (missing epochs: None)
        return list(values) + [None] * (epochs - len(values))

    return {
        "test_acc": 0.0 if diverged else test.accuracy,
        "test_loss": None if diverged else test.loss,
        "diverged": diverged,
        "params": params,
        "macs": macs,
        "train_time_s": history.total_train_time_s if history.epoch else 0.0,
        "val_acc": padded(history.val_acc),
        "val_loss": padded(history.val_loss),
        "train_loss": padded(history.train_loss),
        "train_acc": padded(history.train_acc),
    }
