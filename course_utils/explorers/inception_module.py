"""The module builder of lesson 02: one Inception module, reduced and naive, branch by branch (pure logic).

GoogLeNet's Figure 2 shows two versions of the Inception module:

* (a) **naive**: 1x1, 3x3 and 5x5 convolutions and a 3x3 max pool side by side on
  the whole input, concatenated. The pool branch passes every input channel on,
  so the output is always wider than the input;
* (b) **with dimension reductions**: a 1x1 convolution in front of the 3x3 and
  the 5x5 (``#3x3 reduce``, ``#5x5 reduce``) and after the pool (``pool proj``).
  This is what GoogLeNet is built from (``course_utils.models.googlenet.Inception``).

:func:`inception_module_costs` computes both analytically with
``course_utils.costs`` (tests check the figures against PyTorch's counter on
:func:`build_reduced_module` and :func:`build_naive_module`);
:func:`naive_network` stacks the naive module through Table 1 and shows the
blow-up the paper warns about. ``course_utils.widgets.inception_module`` is the
front end.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from torch import nn

from .. import costs
from ..models.blocks import BasicConv2d, MultiBranch
from ..models.googlenet import GOOGLENET_TABLE1, STEM_CHANNELS, Inception

__all__ = [
    "BRANCHES",
    "COLUMNS",
    "BranchCost",
    "ModuleCosts",
    "NaiveInception",
    "NaiveNetworkRow",
    "build_naive_module",
    "build_reduced_module",
    "inception_module_costs",
    "naive_googlenet",
    "naive_network",
    "table1_presets",
]

#: The branches in concatenation order (the names ``Inception.forward_branches`` uses).
BRANCHES = ("1x1", "3x3", "5x5", "pool proj")
#: Grid size of each stage at 224 x 224 (Table 1's output size column): inception3x, 4x, 5x.
_GRID_AT_224 = {"3": 28, "4": 14, "5": 7}
#: Table 1's six width columns, in order (the arguments of ``Inception``).
COLUMNS = ("#1x1", "#3x3 reduce", "#3x3", "#5x5 reduce", "#5x5", "pool proj")


@dataclass(frozen=True)
class BranchCost:
    """One branch of a module: its output channels, parameters and MACs (one image)."""

    name: str
    out_channels: int
    params: int
    macs: int


@dataclass(frozen=True)
class ModuleCosts:
    """An Inception module's costs, per branch, with dimension reductions and naive.

    ``reduced`` follows Figure 2(b) (what GoogLeNet uses), ``naive`` Figure 2(a):
    the same #1x1, #3x3 and #5x5 widths on the whole input, and a pool branch
    that passes all ``in_channels`` on (no parameters, no counted MACs).
    """

    in_channels: int
    spatial: int
    widths: tuple[int, int, int, int, int, int]
    kernel_5x5: int
    bias: bool
    reduced: tuple[BranchCost, ...]
    naive: tuple[BranchCost, ...]

    @property
    def reduced_out_channels(self) -> int:
        return sum(b.out_channels for b in self.reduced)

    @property
    def naive_out_channels(self) -> int:
        return sum(b.out_channels for b in self.naive)

    @property
    def reduced_params(self) -> int:
        return sum(b.params for b in self.reduced)

    @property
    def naive_params(self) -> int:
        return sum(b.params for b in self.naive)

    @property
    def reduced_macs(self) -> int:
        return sum(b.macs for b in self.reduced)

    @property
    def naive_macs(self) -> int:
        return sum(b.macs for b in self.naive)

    def summary(self) -> str:
        s = self.spatial
        return (
            f"input {s}x{s}x{self.in_channels}, columns {dict(zip(COLUMNS, self.widths))}\n"
            f"with reductions: {self.reduced_out_channels} output channels, {self.reduced_params:,} params, "
            f"{costs.format_count(self.reduced_macs)} MACs\n"
            f"naive:           {self.naive_out_channels} output channels, {self.naive_params:,} params, "
            f"{costs.format_count(self.naive_macs)} MACs "
            f"({self.naive_macs / max(self.reduced_macs, 1):.1f}x the MACs)"
        )


def _check_width(value, name: str, minimum: int = 1) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < minimum:
        raise ValueError(f"{name} must be a whole number of at least {minimum}, got {value!r}.")
    return value


def inception_module_costs(
    in_channels: int = 192,
    spatial: int = 28,
    ch1x1: int = 64,
    ch3x3red: int = 96,
    ch3x3: int = 128,
    ch5x5red: int = 16,
    ch5x5: int = 32,
    pool_proj: int = 32,
    kernel_5x5: int = 5,
    bias: bool = True,
) -> ModuleCosts:
    """Per-branch costs of one Inception module, with dimension reductions and naive.

    The defaults are inception (3a) of Table 1 (input 28x28x192). Every
    convolution is padded to keep ``spatial x spatial``. ``bias=True`` counts the
    conv biases of the paper's layout (no BatchNorm); ``kernel_5x5=3`` gives
    torchvision's "5x5" branch (pytorch/vision#906).
    """
    cin = _check_width(in_channels, "in_channels")
    _check_width(spatial, "spatial")
    widths = tuple(_check_width(w, n) for w, n in zip((ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj), COLUMNS))
    if kernel_5x5 not in (3, 5):
        raise ValueError(f"kernel_5x5 must be 5 (the paper) or 3 (torchvision's layout), got {kernel_5x5!r}.")
    k5 = kernel_5x5

    def conv(c_in, c_out, k):
        return costs.conv_cost(c_in, c_out, k, spatial, padding=k // 2, bias=bias)

    def branch(name, out_channels, *convs):
        return BranchCost(name, out_channels, sum(c.params for c in convs), sum(c.macs for c in convs))

    c1, c3r, c3, c5r, c5, cp = widths
    reduced = (
        branch("1x1", c1, conv(cin, c1, 1)),
        branch("3x3", c3, conv(cin, c3r, 1), conv(c3r, c3, 3)),
        branch("5x5", c5, conv(cin, c5r, 1), conv(c5r, c5, k5)),
        branch("pool proj", cp, conv(cin, cp, 1)),  # the max pool itself has no weights, no counted MACs
    )
    naive = (
        branch("1x1", c1, conv(cin, c1, 1)),
        branch("3x3", c3, conv(cin, c3, 3)),
        branch("5x5", c5, conv(cin, c5, k5)),
        branch("max pool", cin),  # Figure 2(a): the pooled input, all of its channels, no weights
    )
    return ModuleCosts(cin, spatial, widths, k5, bias, reduced, naive)


def table1_presets() -> dict[str, dict[str, int]]:
    """Every Inception row of Table 1 as keyword arguments of :func:`inception_module_costs`.

    Input channels and spatial size are those the module sees in GoogLeNet at 224 x 224
    (28 x 28 for 3a-3b, 14 x 14 for 4a-4e, 7 x 7 for 5a-5b).
    """
    table = GOOGLENET_TABLE1
    rows = table.items() if isinstance(table, Mapping) else ((r[0], tuple(r[1:])) for r in table if not isinstance(r, str))
    presets, channels = {}, STEM_CHANNELS[-1]
    for name, columns in rows:
        spatial = _GRID_AT_224[name[len("inception")]]
        presets[name] = dict(in_channels=channels, spatial=spatial, **dict(zip(
            ("ch1x1", "ch3x3red", "ch3x3", "ch5x5red", "ch5x5", "pool_proj"), columns)))
        channels = columns[0] + columns[2] + columns[4] + columns[5]
    return presets


class NaiveInception(MultiBranch):
    """The naive Inception module of Figure 2(a): 1x1, 3x3 and 5x5 convs and a 3x3 max pool on the whole input.

    Conv + bias + ReLU as in the paper's layout. The pool branch has no projection, so
    ``out_channels = ch1x1 + ch3x3 + ch5x5 + in_channels``.
    """

    branch_labels = {"branch1": "1x1", "branch2": "3x3", "branch3": "5x5", "branch4": "max pool"}

    def __init__(self, in_channels: int, ch1x1: int, ch3x3: int, ch5x5: int, kernel_5x5: int = 5, norm: bool = False) -> None:
        super().__init__()
        self.in_channels = in_channels
        self.out_channels = ch1x1 + ch3x3 + ch5x5 + in_channels
        self.branch1 = BasicConv2d(in_channels, ch1x1, kernel_size=1, norm=norm)
        self.branch2 = BasicConv2d(in_channels, ch3x3, kernel_size=3, padding=1, norm=norm)
        self.branch3 = BasicConv2d(in_channels, ch5x5, kernel_size=kernel_5x5, padding=kernel_5x5 // 2, norm=norm)
        self.branch4 = nn.MaxPool2d(kernel_size=3, stride=1, padding=1, ceil_mode=True)

    def forward_branches(self, x):
        # N x in_channels x H x W -> each branch keeps H x W
        return {
            "1x1": self.branch1(x),  # N x ch1x1 x H x W
            "3x3": self.branch2(x),  # N x ch3x3 x H x W
            "5x5": self.branch3(x),  # N x ch5x5 x H x W
            "max pool": self.branch4(x),  # N x in_channels x H x W: nothing projects it down
        }


def build_reduced_module(in_channels: int, ch1x1: int, ch3x3red: int, ch3x3: int, ch5x5red: int, ch5x5: int,
                         pool_proj: int, kernel_5x5: int = 5, norm: bool = False, **_ignored) -> Inception:
    """GoogLeNet's module (Figure 2(b)) with these widths; paper layout (bias, no BN) by default."""
    return Inception(in_channels, ch1x1, ch3x3red, ch3x3, ch5x5red, ch5x5, pool_proj, kernel_5x5=kernel_5x5, norm=norm)


def build_naive_module(in_channels: int, ch1x1: int, ch3x3: int, ch5x5: int, kernel_5x5: int = 5,
                       norm: bool = False, **_ignored) -> NaiveInception:
    """The naive module (Figure 2(a)) with the same #1x1/#3x3/#5x5 widths (reduce/proj columns are unused)."""
    return NaiveInception(in_channels, ch1x1, ch3x3, ch5x5, kernel_5x5=kernel_5x5, norm=norm)


@dataclass(frozen=True)
class NaiveNetworkRow:
    """One Table 1 module in GoogLeNet and in the same network built from naive modules."""

    name: str
    spatial: int
    real_in: int
    real_out: int
    real_params: int
    real_macs: int
    naive_in: int
    naive_out: int
    naive_params: int
    naive_macs: int


def naive_network(bias: bool = True) -> list[NaiveNetworkRow]:
    """Stack the naive module through all nine Table 1 modules (analytic costs at 224 x 224).

    Each naive module keeps the row's #1x1, #3x3 and #5x5 widths but, having no
    pool projection, passes all its input channels on, so every module's input
    is wider than the last one's. The real rows are GoogLeNet's (Figure 2(b)).
    """
    rows, naive_channels = [], STEM_CHANNELS[-1]
    for name, preset in table1_presets().items():
        real = inception_module_costs(**preset, bias=bias)
        widened = inception_module_costs(**{**preset, "in_channels": naive_channels}, bias=bias)
        rows.append(NaiveNetworkRow(
            name, preset["spatial"], preset["in_channels"], real.reduced_out_channels, real.reduced_params,
            real.reduced_macs, naive_channels, widened.naive_out_channels, widened.naive_params, widened.naive_macs,
        ))
        naive_channels = widened.naive_out_channels
    return rows


def naive_googlenet(num_classes: int = 1000, kernel_5x5: int = 5):
    """GoogLeNet (paper layout, no aux heads) with every Inception module replaced by the naive one.

    Same stem, pools and head as ``googlenet_paper``; module ``i`` gets the output of
    module ``i - 1`` (all of it: the naive modules have no pool projection), so the
    classifier sees :func:`naive_network`'s last width. Build it under
    ``torch.device("meta")`` to count its MACs without allocating its weights.
    """
    from ..models import create_model

    model = create_model("googlenet_paper", num_classes=num_classes, aux_logits=False)
    channels = STEM_CHANNELS[-1]
    for name, preset in table1_presets().items():
        block = build_naive_module(channels, preset["ch1x1"], preset["ch3x3"], preset["ch5x5"], kernel_5x5=kernel_5x5)
        setattr(model, name, block)
        channels = block.out_channels
    model.num_features = channels
    model.fc = nn.Linear(channels, num_classes)
    return model
