"""Small plain CNNs for lesson 04's stored experiments, and the three grid-reduction designs.

Lesson 04 (Inception v3, Szegedy et al. 2015, https://arxiv.org/abs/1512.00567)
asks two questions that need training, each answered by a stored experiment
(``benchmarks/exp_factorized_vs_full.py``, ``benchmarks/exp_label_smoothing.py``):

* does factorizing every n x n convolution into 1 x n then n x 1 (Section 3.2)
  cost accuracy? :class:`PlainNet` is built both ways with the same blocks,
  the same widths and the same pooling, so only the kernels differ;
* what does label smoothing (Section 7) do to accuracy and to calibration?

:func:`train_plain_net` trains one network on the embedded shapes and returns
what both experiments record (accuracy, confidence, calibration error, curves,
parameters, MACs, time). :func:`grid_reduction_designs` builds the three ways of
halving the grid while doubling the channels that Section 5 and Figures 9-10
compare (pool then conv, conv then pool, v3's parallel stride-2 branches).
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
import torch.nn.functional as F
from torch import Tensor, nn

from . import costs
from .checks import check_choice, check_fraction, check_int, CourseError
from .models.blocks import BasicConv2d

__all__ = [
    "FACTORIZATIONS",
    "PlainNet",
    "factorized_block",
    "train_plain_net",
    "EXPERIMENT_RECIPE",
    "GridReductionStep",
    "GridReductionDesign",
    "grid_reduction_designs",
]

#: How a block's n x n convolution is built: one n x n conv, or 1 x n then n x 1 (v3's Figure 6).
FACTORIZATIONS = ("full", "asymmetric")


def factorized_block(in_channels: int, out_channels: int, kernel_size: int, factorization: str) -> nn.Sequential:
    """One conv block: ``full`` n x n (conv-BN-ReLU) or ``asymmetric`` 1 x n then n x 1 (each conv-BN-ReLU).

    The asymmetric pair keeps the input's width in between (1 x n: C_in -> C_in,
    n x 1: C_in -> C_out), as Inception v3's Mixed_6b-6e do (``channels_7x7`` ->
    ``channels_7x7`` -> 192). Both see an n x n window; the pair has a ReLU more.
    """
    n = check_int(kernel_size, "kernel_size", minimum=2)
    check_choice(factorization, "factorization", FACTORIZATIONS)
    pad = n // 2
    if factorization == "full":
        return nn.Sequential(BasicConv2d(in_channels, out_channels, n, padding=pad))
    return nn.Sequential(
        BasicConv2d(in_channels, in_channels, (1, n), padding=(0, pad)),
        BasicConv2d(in_channels, out_channels, (n, 1), padding=(pad, 0)),
    )


class PlainNet(nn.Module):
    """A plain CNN for 48 x 48 images whose three n x n blocks sit on 12 x 12 and 6 x 6 grids.

    ``N x 3 x 48 x 48`` -> stem 3x3/2 (``widths[0]``, 24 x 24) -> 2x2 max pool
    (12 x 12) -> block (``widths[1]``) -> 2x2 max pool (6 x 6) -> block
    (``widths[2]``) -> block (``widths[3]``) -> global average pool -> linear.
    Every block is :func:`factorized_block` with the same ``factorization``, so the
    two versions of the network have the same blocks, widths and pools. The blocks
    work on 12 x 12 and 6 x 6 grids, the sizes on which Inception v3 uses its
    asymmetric convolutions (Section 3.2: "medium grid-sizes").
    """

    def __init__(
        self,
        kernel_size: int = 5,
        factorization: str = "full",
        widths: Sequence[int] = (16, 24, 32, 48),
        num_classes: int = 10,
    ) -> None:
        super().__init__()
        if len(widths) != 4:
            raise CourseError(f"widths must list 4 channel counts (stem and three blocks), got {widths!r}.")
        widths = [check_int(w, f"widths[{i}]", minimum=1) for i, w in enumerate(widths)]
        self.kernel_size = kernel_size
        self.factorization = factorization
        self.num_classes = check_int(num_classes, "num_classes", minimum=1)
        self.stem = BasicConv2d(3, widths[0], 3, stride=2, padding=1)  # N x w0 x 24 x 24
        self.pool1 = nn.MaxPool2d(2)  # 12 x 12
        self.block1 = factorized_block(widths[0], widths[1], kernel_size, factorization)
        self.pool2 = nn.MaxPool2d(2)  # 6 x 6
        self.block2 = factorized_block(widths[1], widths[2], kernel_size, factorization)
        self.block3 = factorized_block(widths[2], widths[3], kernel_size, factorization)
        self.global_pool = nn.AdaptiveAvgPool2d(1)
        self.fc = nn.Linear(widths[3], num_classes)

    def forward(self, x: Tensor) -> Tensor:
        x = self.pool1(self.stem(x))  # N x w0 x 12 x 12
        x = self.pool2(self.block1(x))  # N x w1 x 6 x 6
        x = self.block3(self.block2(x))  # N x w3 x 6 x 6
        return self.fc(self.global_pool(x).flatten(1))  # N x num_classes


#: What every run of lesson 04's experiments shares (the course's embedded-data recipe, 3 epochs).
#: The course's embedded-data recipe (``course_utils.train.EMBEDDED_RECIPE``: AdamW, one-cycle, 3 epochs,
#: batch 64, all 10,000 training images), with the network's kernel size and widths.
EXPERIMENT_RECIPE: dict = dict(
    epochs=3, batch_size=64, optimizer="adamw", lr=6e-3, weight_decay=5e-2, schedule="onecycle",
    grad_clip=None, channels_last=True, kernel_size=5, widths=(16, 24, 32, 48),
)


def train_plain_net(
    seed: int,
    factorization: str = "full",
    label_smoothing: float = 0.0,
    kernel_size: int = 5,
    widths: Sequence[int] = (16, 24, 32, 48),
    train_images: int | None = None,
    val_images: int | None = None,
    test_images: int | None = None,
    device: str = "cpu",
    progress: bool = False,
    **recipe,
) -> dict:
    """Train one :class:`PlainNet` on the embedded shapes; return what lesson 04's experiments record.

    ``recipe`` holds :func:`course_utils.train.fit` arguments plus ``batch_size``
    (defaults: :data:`EXPERIMENT_RECIPE`). ``train_images``, ``val_images`` and
    ``test_images`` use only the first n images of a split (None: all of it; the
    unit tests' short reruns use few). The returned dict: test accuracy and loss, mean
    confidence (largest softmax probability) and expected calibration error on the
    test split with the reliability diagram's bins, parameters, MACs per image,
    training time and the per-epoch curves.
    """
    from .calibration import reliability
    from .data import embedded_loaders
    from .runtime import seed_everything
    from .train import DATASET_SEED, fit

    label_smoothing = check_fraction(label_smoothing, "label_smoothing", allow_one=False)
    shared = ("kernel_size", "widths", "train_images", "val_images", "test_images")
    recipe = {k: v for k, v in {**EXPERIMENT_RECIPE, **recipe}.items() if k not in shared}
    seed_everything(seed)
    sizes = {"train": train_images, "val": val_images, "test": test_images}
    loaders = embedded_loaders(batch_size=recipe["batch_size"], seed=DATASET_SEED, sizes=sizes)
    model = PlainNet(kernel_size, factorization, widths)
    params = costs.count_params(model)
    macs = costs.count_macs(model, (1, 3, 48, 48))
    fit_kwargs = {k: v for k, v in recipe.items() if k != "batch_size"}
    history = fit(model, loaders.train, loaders.val, device=device, progress=progress,
                  label_smoothing=label_smoothing, **fit_kwargs)
    model.to(memory_format=torch.contiguous_format)
    logits, targets = _predict(model, loaders.test, device)
    calib = reliability(logits, targets)
    return {
        "test_acc": calib.accuracy,
        "test_loss": F.cross_entropy(logits, targets).item(),  # plain cross-entropy (no smoothing) for every arm
        "mean_confidence": calib.mean_confidence,
        "ece": calib.ece,
        "bin_confidence": calib.bin_confidence,
        "bin_accuracy": calib.bin_accuracy,
        "bin_count": calib.bin_count,
        "params": params,
        "macs": macs,
        "train_time_s": history.total_train_time_s,
        "val_acc": history.val_acc,
        "val_loss": history.val_loss,
        "train_loss": history.train_loss,
        "train_acc": history.train_acc,
    }


@torch.no_grad()
def _predict(model: nn.Module, loader, device) -> tuple[Tensor, Tensor]:
    model.to(device).eval()
    logits, targets = [], []
    for images, labels in loader:
        logits.append(model(images.to(device)).float().cpu())
        targets.append(labels)
    return torch.cat(logits), torch.cat(targets)


# ---------------------------------------------------------------------------
# grid-size reduction (Section 5, Figures 9 and 10)
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class GridReductionStep:
    """One step of a design: what it is, its parameters and MACs, and the activation it leaves (C, H, W).

    Every design starts with an ``input`` step (no cost) so the figure shows where the volume starts."""

    name: str
    params: int
    macs: int
    shape: tuple[int, int, int]

    @property
    def volume(self) -> int:
        """C x H x W: how many numbers the representation holds after this step."""
        c, h, w = self.shape
        return c * h * w


@dataclass(frozen=True)
class GridReductionDesign:
    """A way of going from ``C x H x H`` to ``2C x H/2 x H/2``: its steps and the module (counted by the tests)."""

    name: str
    steps: tuple[GridReductionStep, ...]
    module: nn.Module

    @property
    def params(self) -> int:
        return sum(s.params for s in self.steps)

    @property
    def macs(self) -> int:
        return sum(s.macs for s in self.steps)

    @property
    def smallest_volume(self) -> int:
        """The narrowest point: the fewest numbers the representation holds at any step (input included).

        Below the output's volume means a representational bottleneck (Section 2, principle 1)."""
        return min(s.volume for s in self.steps)


class _ParallelReduction(nn.Module):
    """v3's Figure 10 (right): a stride-2 conv and a stride-2 pool side by side, concatenated."""

    def __init__(self, in_channels: int, conv_channels: int) -> None:
        super().__init__()
        self.conv = nn.Conv2d(in_channels, conv_channels, 3, stride=2, padding=1, bias=False)
        self.pool = nn.MaxPool2d(3, stride=2, padding=1)

    def forward(self, x: Tensor) -> Tensor:
        return torch.cat([self.conv(x), self.pool(x)], 1)  # N x (conv_channels + C) x H/2 x W/2


def grid_reduction_designs(in_channels: int = 320, spatial: int = 35) -> dict[str, GridReductionDesign]:
    """The three designs of Section 5 for ``C x d x d -> 2C x d/2 x d/2`` (3x3 convs, 3x3/2 pools).

    * ``pool then conv``: max pool 3x3/2, then a 3x3 conv C -> 2C on the small
      grid. Cheapest, but the pool leaves only C x d/2 x d/2 numbers, a quarter of
      the input: the representational bottleneck the paper warns against.
    * ``conv then pool``: a 3x3 conv C -> 2C on the full grid, then the pool.
      No bottleneck, but four times the MACs of the first.
    * ``parallel (v3)``: a 3x3/2 conv C -> C beside a 3x3/2 max pool of the input
      (C channels passed through), concatenated to 2C: half the first design's
      MACs with no bottleneck (Figure 10; ``InceptionB``/``InceptionD`` in the model).

    Padding keeps the sizes simple (d -> ceil(d/2)). Convs have no bias (BN follows in v3).
    """
    c = check_int(in_channels, "in_channels", minimum=1)
    d = check_int(spatial, "spatial", minimum=2)
    half = costs.conv_output_size(d, 3, stride=2, padding=1)[0]

    def conv_step(name: str, cin: int, cout: int, size: int, stride: int) -> GridReductionStep:
        cost = costs.conv_cost(cin, cout, 3, size, stride=stride, padding=1, bias=False)
        return GridReductionStep(name, cost.params, cost.macs, (cout, *cost.output_size))

    def pool_step(channels: int) -> GridReductionStep:
        return GridReductionStep("max pool 3x3/2", 0, 0, (channels, half, half))

    start = GridReductionStep("input", 0, 0, (c, d, d))
    pool_first = nn.Sequential(nn.MaxPool2d(3, 2, 1), nn.Conv2d(c, 2 * c, 3, padding=1, bias=False))
    conv_first = nn.Sequential(nn.Conv2d(c, 2 * c, 3, padding=1, bias=False), nn.MaxPool2d(3, 2, 1))
    branch = conv_step("", c, c, d, 2)  # the parallel design's conv branch: C -> C, stride 2
    return {
        "pool then conv": GridReductionDesign(
            "pool then conv", (start, pool_step(c), conv_step(f"conv 3x3, {c}->{2 * c}", c, 2 * c, half, 1)),
            pool_first),
        "conv then pool": GridReductionDesign(
            "conv then pool", (start, conv_step(f"conv 3x3, {c}->{2 * c}", c, 2 * c, d, 1), pool_step(2 * c)),
            conv_first),
        "parallel (v3)": GridReductionDesign(
            "parallel (v3)",
            (start, GridReductionStep(f"conv 3x3/2 {c}->{c} | max pool 3x3/2, concat", branch.params, branch.macs,
                                      (2 * c, half, half))),
            _ParallelReduction(c, c)),
    }
