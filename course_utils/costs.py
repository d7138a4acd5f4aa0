"""What a layer costs: parameters, multiply-accumulates, receptive field, time (lesson 01 on).

Three ways to know a cost, each checked against the others in the tests:

* **analytic** - from a layer's hyper-parameters alone (``conv_params``,
  ``conv_macs``, ``conv_output_size``, ``receptive_field``). This is the
  arithmetic of lesson 01 and of the Inception papers' tables.
* **counted** - run the module once under PyTorch's
  :class:`torch.utils.flop_counter.FlopCounterMode` (``count_macs``,
  ``count_flops``, ``cost_breakdown``).
* **measured** - time it (``measure_latency``, built on
  :class:`torch.utils.benchmark.Timer`). Counted work is not time: lesson 01
  and lesson 06 show why.

Convention (the one the course uses everywhere):

* one **MAC** (multiply-accumulate) is one multiplication and one addition;
  **FLOPs = 2 x MACs**. Papers mix the two: GoogLeNet's Table 1 "ops" and
  Xception's figures are multiply-adds.
* Only convolutions and matrix products (``nn.Linear``) are counted - what
  FlopCounterMode has formulas for. Bias additions, BatchNorm, ReLU,
  pooling, concatenation and residual additions are left out: they are a
  fraction of a percent of an Inception network's arithmetic.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import NamedTuple

import torch
from torch import Tensor, nn
from torch.utils.flop_counter import FlopCounterMode

from .checks import (
    CourseError,
    CourseTypeError,
    check_bool,
    check_int,
    check_int_pair,
    check_module,
    check_number,
    check_str,
    describe,
    did_you_mean,
    is_int,
)

__all__ = [
    "conv_output_size",
    "conv_params",
    "conv_macs",
    "ConvCost",
    "conv_cost",
    "linear_params",
    "RFLayer",
    "ReceptiveFieldRow",
    "receptive_field",
    "receptive_field_layers",
    "count_params",
    "count_flops",
    "count_macs",
    "CostRow",
    "CostReport",
    "cost_breakdown",
    "LatencyResult",
    "measure_latency",
    "format_count",
]

Pair = tuple[int, int]


# ---------------------------------------------------------------------------
# argument checking: every error names the argument and what is allowed
# ---------------------------------------------------------------------------
def _pair(value, name: str, minimum: int) -> Pair:
    """An int or (h, w) pair of ints >= minimum (numpy integers too), else an error naming ``name``."""
    return check_int_pair(value, name, minimum=minimum)


def _positive_int(value, name: str) -> int:
    return check_int(value, name, minimum=1)


def _check_groups(in_channels: int, out_channels: int, groups: int) -> None:
    groups = _positive_int(groups, "groups")
    for name, channels in (("in_channels", in_channels), ("out_channels", out_channels)):
        if channels % groups:
            divisors = [g for g in range(1, channels + 1) if channels % g == 0]
            raise CourseError(
                f"{name}={channels} is not divisible by groups={groups}; each group needs a whole "
                f"number of channels. Allowed groups for {name}={channels}: {divisors}."
            )


# ---------------------------------------------------------------------------
# analytic costs
# ---------------------------------------------------------------------------
def conv_output_size(input_size, kernel_size, stride=1, padding=0, dilation=1) -> Pair:
    """Spatial output size of a convolution or pooling layer.

    ``out = floor((in + 2 * padding - dilation * (kernel - 1) - 1) / stride) + 1``
    per dimension (the formula in the nn.Conv2d documentation). Every argument
    is an int or an (height, width) pair.
    """
    size = _pair(input_size, "input_size", 1)
    k = _pair(kernel_size, "kernel_size", 1)
    s = _pair(stride, "stride", 1)
    p = _pair(padding, "padding", 0)
    d = _pair(dilation, "dilation", 1)
    out = []
    for axis, (n, kk, ss, pp, dd) in enumerate(zip(size, k, s, p, d)):
        span = dd * (kk - 1) + 1  # what a dilated kernel covers
        if span > n + 2 * pp:
            which = "height" if axis == 0 else "width"
            raise CourseError(
                f"kernel_size={kernel_size!r} (covering {span} pixels with dilation {dilation!r}) is larger "
                f"than the padded input {which} {n} + 2*{pp} = {n + 2 * pp}. Use a smaller kernel, more "
                "padding or a larger input_size."
            )
        out.append((n + 2 * pp - span) // ss + 1)
    return out[0], out[1]


def conv_params(in_channels: int, out_channels: int, kernel_size, groups: int = 1, bias: bool = True) -> int:
    """Learnable parameters of a conv layer: ``k_h * k_w * (C_in / groups) * C_out (+ C_out bias)``.

    Each output channel has one ``k_h x k_w`` filter over the ``C_in / groups``
    input channels of its group, plus one bias.
    """
    _positive_int(in_channels, "in_channels")
    _positive_int(out_channels, "out_channels")
    in_channels = _positive_int(in_channels, "in_channels")
    out_channels = _positive_int(out_channels, "out_channels")
    kh, kw = _pair(kernel_size, "kernel_size", 1)
    _check_groups(in_channels, out_channels, groups)
    groups = int(groups)
    bias = check_bool(bias, "bias")
    return kh * kw * (in_channels // groups) * out_channels + (out_channels if bias else 0)


def conv_macs(
    in_channels: int,
    out_channels: int,
    kernel_size,
    input_size,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
) -> int:
    """Multiply-accumulates of one conv layer on one image (bias additions not counted).

    Every output value (``C_out x H_out x W_out`` of them) is a dot product of
    length ``k_h * k_w * C_in / groups``: one MAC per term.
    """
    _positive_int(in_channels, "in_channels")
    _positive_int(out_channels, "out_channels")
    _check_groups(in_channels, out_channels, groups)
    in_channels, out_channels, groups = int(in_channels), int(out_channels), int(groups)
    kh, kw = _pair(kernel_size, "kernel_size", 1)
    h_out, w_out = conv_output_size(input_size, kernel_size, stride, padding, dilation)
    return out_channels * h_out * w_out * kh * kw * (in_channels // groups)


@dataclass(frozen=True)
class ConvCost:
    """Parameters, MACs and output size of one conv layer (see :func:`conv_cost`)."""

    params: int
    macs: int
    output_size: Pair

    @property
    def flops(self) -> int:
        return 2 * self.macs


def conv_cost(
    in_channels: int,
    out_channels: int,
    kernel_size,
    input_size,
    stride=1,
    padding=0,
    dilation=1,
    groups: int = 1,
    bias: bool = True,
) -> ConvCost:
    """All analytic costs of a conv layer in one call."""
    return ConvCost(
        params=conv_params(in_channels, out_channels, kernel_size, groups, bias),
        macs=conv_macs(in_channels, out_channels, kernel_size, input_size, stride, padding, dilation, groups),
        output_size=conv_output_size(input_size, kernel_size, stride, padding, dilation),
    )


def linear_params(in_features: int, out_features: int, bias: bool = True) -> int:
    """Parameters of an nn.Linear layer; it costs ``in_features * out_features`` MACs per sample."""
    in_features = _positive_int(in_features, "in_features")
    out_features = _positive_int(out_features, "out_features")
    bias = check_bool(bias, "bias")
    return in_features * out_features + (out_features if bias else 0)


# ---------------------------------------------------------------------------
# receptive fields
# ---------------------------------------------------------------------------
class RFLayer(NamedTuple):
    """One layer as the receptive-field recurrence sees it (square kernels)."""

    name: str
    kernel_size: int
    stride: int = 1
    dilation: int = 1


class ReceptiveFieldRow(NamedTuple):
    """After ``layer``: one output pixel sees ``size`` x ``size`` input pixels, and
    neighbouring output pixels are ``jump`` input pixels apart."""

    layer: str
    size: int
    jump: int


def receptive_field(layers: Iterable[RFLayer | tuple]) -> list[ReceptiveFieldRow]:
    """Receptive field after each layer of a chain (lesson 01).

    The recurrence: ``r_out = r_in + (k_eff - 1) * j_in`` and
    ``j_out = j_in * stride``, with ``k_eff = dilation * (k - 1) + 1`` and
    ``r = j = 1`` for the input. Two stacked 3x3 convs therefore see 5x5, the
    fact behind Inception v2/v3 replacing 5x5 by two 3x3.
    """
    rows, size, jump = [], 1, 1
    for i, layer in enumerate(_rf_layer_list(layers)):
        k = _positive_int(layer.kernel_size, f"layers[{i}].kernel_size")
        s = _positive_int(layer.stride, f"layers[{i}].stride")
        d = _positive_int(layer.dilation, f"layers[{i}].dilation")
        size += (d * (k - 1)) * jump
        jump *= s
        rows.append(ReceptiveFieldRow(layer.name, size, jump))
    if not rows:
        raise CourseError("layers is empty: give at least one (name, kernel_size, stride, dilation) layer.")
    return rows


_RF_FORM = "(name, kernel_size, stride, dilation), e.g. ('conv 3x3/2', 3, 2) (stride and dilation default to 1)"


def _rf_layer_list(layers) -> list[RFLayer]:
    """``layers`` as RFLayers; bare numbers, modules and unnamed tuples get advice, not a wrong answer."""
    if isinstance(layers, nn.Module):
        raise CourseTypeError(
            f"layers must be a list of layers {_RF_FORM}, got {describe(layers)}. For a chain of modules, "
            "use receptive_field(receptive_field_layers(module))."
        )
    if isinstance(layers, (str, bytes)) or is_int(layers) or not isinstance(layers, Iterable):
        raise CourseTypeError(f"layers must be a list of layers {_RF_FORM}, got {describe(layers)}.")
    result = []
    for i, layer in enumerate(layers):
        if isinstance(layer, RFLayer):
            result.append(layer)
            continue
        if isinstance(layer, nn.Module):
            raise CourseTypeError(
                f"layers[{i}] is {describe(layer)}; each layer must be a tuple {_RF_FORM}. For modules, use "
                "receptive_field(receptive_field_layers(module))."
            )
        if not isinstance(layer, (tuple, list)) or not 2 <= len(layer) <= 4 or not isinstance(layer[0], str):
            example = ""
            if isinstance(layer, (tuple, list)) and layer and all(is_int(v) for v in layer):
                example = f" It has no name: write ('layer {i + 1}', {', '.join(str(int(v)) for v in layer)})."
            elif is_int(layer):
                example = f" A bare number is not enough: write ('layer {i + 1}', {int(layer)}) for stride 1."
            raise CourseTypeError(f"layers[{i}] must be a tuple {_RF_FORM}, got {describe(layer)}.{example}")
        result.append(RFLayer(*layer))
    return result


def receptive_field_layers(module: nn.Module) -> list[RFLayer]:
    """The conv and pooling layers of a sequential chain, in order, as :class:`RFLayer` s.

    Only meaningful for a chain (nn.Sequential or a single-path stem); layers
    with non-square kernels use their larger side.
    """
    check_module(module, "module")
    found = []
    for name, m in module.named_modules():
        if isinstance(m, (nn.Conv2d, nn.MaxPool2d, nn.AvgPool2d)):
            k = max(_pair(m.kernel_size, "kernel_size", 1))
            s = max(_pair(m.stride, "stride", 1))
            d = max(_pair(getattr(m, "dilation", 1), "dilation", 1))
            found.append(RFLayer(name or type(m).__name__, k, s, d))
    if not found:
        raise CourseError(f"{type(module).__name__} has no Conv2d or pooling layers to take a receptive field from.")
    return found


# ---------------------------------------------------------------------------
# counted costs
# ---------------------------------------------------------------------------
def count_params(module: nn.Module, trainable_only: bool = False) -> int:
    """Number of parameters (shared parameters counted once)."""
    check_module(module, "module")
    return sum(p.numel() for p in module.parameters() if p.requires_grad or not trainable_only)


def _as_input(module: nn.Module, inputs) -> Tensor:
    """A tensor to run: ``inputs`` itself, or zeros of the given shape on the module's device."""
    check_module(module, "module")
    if isinstance(inputs, Tensor):
        return inputs
    if isinstance(inputs, (tuple, list, torch.Size)) and inputs and all(is_int(v) for v in inputs):
        shape = tuple(_positive_int(v, f"inputs[{i}]") for i, v in enumerate(inputs))
        param = next(module.parameters(), None)
        device = param.device if param is not None else torch.device("cpu")
        dtype = param.dtype if param is not None and param.is_floating_point() else torch.float32
        return torch.zeros(shape, device=device, dtype=dtype)
    raise CourseTypeError(f"inputs must be a tensor or a shape such as (1, 3, 224, 224), got {describe(inputs)}.")


def _run(module: nn.Module, x: Tensor, what: str) -> None:
    """``module(x)``; an error from inside torch (wrong channels, too small an input) is re-raised
    saying which module and which input shape, in the course's words."""
    try:
        module(x)
    except (RuntimeError, IndexError) as err:
        first = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        raise CourseError(
            f"{what}: {type(module).__name__} cannot run on inputs of shape {tuple(x.shape)} "
            f"(dtype {x.dtype}): {first}. Check the input's channels and size against the module "
            "(e.g. model.preprocess.input_size for a course model)."
        ) from err


def _counted(module: nn.Module, inputs) -> FlopCounterMode:
    """Run ``module`` once in eval mode under FlopCounterMode; restore its mode afterwards."""
    x = _as_input(module, inputs)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad(), FlopCounterMode(display=False) as counter:
            _run(module, x, "counting MACs")
    finally:
        module.train(was_training)
    return counter


def count_flops(module: nn.Module, inputs) -> int:
    """FLOPs of one eval-mode forward pass on ``inputs`` (a tensor or a shape), = 2 x MACs."""
    return _counted(module, inputs).get_total_flops()


def count_macs(module: nn.Module, inputs) -> int:
    """Multiply-accumulates of one eval-mode forward pass (FLOPs / 2, see the module docstring).

    The count covers the whole batch: pass a batch of one to get per-image MACs.
    """
    return count_flops(module, inputs) // 2


def format_count(n: float, unit: str = "") -> str:
    """1_498_000_000 -> '1.50 G'; small numbers stay as integers."""
    n = check_number(n, "n", finite=False)
    if not isinstance(unit, str):
        raise CourseTypeError(f"unit must be a string such as 'MACs', got {describe(unit)}.")
    if math.isinf(n):
        return f"{n} {unit}".rstrip()
    for scale, suffix in ((1e12, "T"), (1e9, "G"), (1e6, "M"), (1e3, "K")):
        if abs(n) >= scale:
            return f"{n / scale:.2f} {suffix}{unit}"
    return f"{int(n)} {unit}".rstrip()


@dataclass
class CostRow:
    """One submodule's parameters, MACs and share of the total MACs."""

    name: str
    module_type: str
    params: int
    macs: int
    share: float


@dataclass
class CostReport:
    """Per-submodule breakdown of parameters and MACs, printable as a table.

    ``rows`` are the submodules at the requested depth (plus their
    children when ``expand`` names them); ``total_params``/``total_macs`` are
    the whole model's.
    """

    model: str
    input_shape: tuple[int, ...]
    rows: list[CostRow]
    total_params: int
    total_macs: int
    notes: list[str] = field(default_factory=list)

    def row(self, name: str) -> CostRow:
        for r in self.rows:
            if r.name == name:
                return r
        raise KeyError(f"No row named {name!r}; rows: {[r.name for r in self.rows]}")

    def __str__(self) -> str:
        header = ("module", "type", "params", "MACs", "% MACs")
        body = [
            (r.name, r.module_type, f"{r.params:,}", f"{r.macs:,}", f"{100 * r.share:.1f}")
            for r in self.rows
        ]
        body.append(("total", self.model, f"{self.total_params:,}", f"{self.total_macs:,}", "100.0"))
        widths = [max(len(str(c[i])) for c in [header, *body]) for i in range(len(header))]

        def line(cells):
            first, second, *nums = cells
            return "  ".join(
                [str(first).ljust(widths[0]), str(second).ljust(widths[1])]
                + [str(c).rjust(w) for c, w in zip(nums, widths[2:])]
            )

        rule = "-" * len(line(header))
        shape = "x".join(map(str, self.input_shape))
        lines = [f"{self.model} on input {shape} (1 MAC = 1 multiply + 1 add; FLOPs = 2 x MACs)", line(header), rule]
        lines += [line(r) for r in body[:-1]] + [rule, line(body[-1])]
        lines += [f"note: {n}" for n in self.notes]
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle) -> None:  # IPython shows the table, not a dataclass dump
        printer.text(str(self))


def cost_breakdown(module: nn.Module, inputs, depth: int = 1, expand: Sequence[str] = ()) -> CostReport:
    """Counted MACs and parameters per submodule (e.g. per Inception branch).

    Args:
        module: any nn.Module.
        inputs: a tensor or a shape such as ``(1, 3, 224, 224)``.
        depth: list submodules this many levels below ``module`` (1 = its children).
        expand: names of submodules whose children to list as well, e.g.
            ``["inception3a"]`` to see its four branches.

    The MACs come from FlopCounterMode's per-module accounting (a module's
    count includes everything run inside it); parameters from the module's
    own ``parameters()``.
    """
    _positive_int(depth, "depth")
    if isinstance(expand, str):
        expand = [expand]  # a single name, not its letters
    x = _as_input(module, inputs)
    counter = _counted(module, x)
    root = type(module).__name__
    # FlopCounterMode names modules "<RootClass>.<path>"; strip the root.
    flops_by_path = {
        name[len(root) + 1 :]: sum(ops.values())
        for name, ops in counter.get_flop_counts().items()
        if name.startswith(root + ".")
    }
    named = dict(module.named_modules())
    unknown = [n for n in expand if n not in named]
    if unknown:
        raise CourseError(
            f"expand names unknown submodules {unknown};{did_you_mean(unknown[0], named)} top-level names: "
            f"{[n for n, _ in module.named_children()]}."
        )

    selected = [n for n in named if n and n.count(".") < depth]
    for parent in expand:
        selected += [f"{parent}.{c}" for c, _ in named[parent].named_children()]
    ordered = [n for n in named if n in set(selected)]  # keep definition order

    total_macs = counter.get_total_flops() // 2
    rows = [
        CostRow(
            name=n,
            module_type=type(named[n]).__name__,
            params=count_params(named[n]),
            macs=flops_by_path.get(n, 0) // 2,
            share=(flops_by_path.get(n, 0) / 2) / total_macs if total_macs else 0.0,
        )
        for n in ordered
    ]
    return CostReport(
        model=root,
        input_shape=tuple(x.shape),
        rows=rows,
        total_params=count_params(module),
        total_macs=total_macs,
        notes=["counts convolutions and matrix products only (bias, BN, ReLU, pooling, adds are not counted)"],
    )


# ---------------------------------------------------------------------------
# measured cost
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class LatencyResult:
    """Wall-clock time of one forward pass: median and spread over repeats."""

    median_ms: float
    iqr_ms: float
    min_ms: float
    repeats: int
    threads: int
    device: str

    def __str__(self) -> str:
        return (
            f"{self.median_ms:.2f} ms median (IQR {self.iqr_ms:.2f} ms, min {self.min_ms:.2f} ms) "
            f"over {self.repeats} runs on {self.device} with {self.threads} thread(s)"
        )


def measure_latency(
    module: nn.Module,
    inputs,
    repeats: int = 20,
    warmup: int = 3,
    threads: int | None = None,
) -> LatencyResult:
    """Time ``module(inputs)`` in eval mode without autograd.

    Built on :class:`torch.utils.benchmark.Timer`, which synchronises CUDA and
    fixes the thread count. ``warmup`` untimed runs come first (the first calls
    allocate memory and pick kernels); each of ``repeats`` measurements is one
    forward pass, and the median with the inter-quartile range is reported,
    because a single timing on a shared machine is noise.
    """
    benchmark = _import_torch_benchmark()
    repeats = _positive_int(repeats, "repeats")
    warmup = check_int(warmup, "warmup", minimum=0)
    threads = torch.get_num_threads() if threads is None else _positive_int(threads, "threads")
    x = _as_input(module, inputs)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            for _ in range(warmup):
                _run(module, x, "measuring latency")
            timer = benchmark.Timer(
                stmt="with torch.no_grad(): module(x)",
                globals={"module": module, "x": x, "torch": torch},
                num_threads=threads,
            )
            times = [timer.timeit(1).median for _ in range(repeats)]
    finally:
        module.train(was_training)
    times_ms = sorted(t * 1e3 for t in times)
    q1, q3 = _quantile(times_ms, 0.25), _quantile(times_ms, 0.75)
    return LatencyResult(
        median_ms=_quantile(times_ms, 0.5),
        iqr_ms=q3 - q1,
        min_ms=times_ms[0],
        repeats=repeats,
        threads=threads,
        device=x.device.type,
    )


def _import_torch_benchmark():
    """Import torch.utils.benchmark without its stray CUDA_HOME warning.

    On a machine with CUDA tools but no CUDA runtime, importing it logs
    "No CUDA runtime is found" to stderr; in a notebook that is noise (and
    nbval compares stderr), so that one logger is quieted during the import.
    """
    import logging

    log = logging.getLogger("torch.utils.cpp_extension")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        from torch.utils import benchmark
    finally:
        log.setLevel(level)
    return benchmark


def _quantile(sorted_values: list[float], q: float) -> float:
    """Linear-interpolated quantile of an already sorted list."""
    pos = (len(sorted_values) - 1) * q
    lo, hi = math.floor(pos), math.ceil(pos)
    return sorted_values[lo] + (sorted_values[hi] - sorted_values[lo]) * (pos - lo)
