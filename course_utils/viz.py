"""Seeing inside a network (lesson 07): feature maps, Grad-CAM, first-layer filters.

Everything here works for every course model through the small API of
:class:`~course_utils.models.base.CourseModel`: ``feature_info`` names the stages
a learner can look at, and every Inception module is a
:class:`~course_utils.models.blocks.MultiBranch` whose ``forward_branches``
keeps the branches addressable, so each branch can be shown on its own.

* **Feature maps** - :func:`capture_activations` (any named layer),
  :func:`capture_branches` (each branch of an Inception module before the
  concatenation), :func:`plot_feature_maps`.
* **Grad-CAM** (Selvaraju et al., 2017, "Grad-CAM: Visual Explanations from Deep
  Networks via Gradient-based Localization", Eq. 1-2) through Captum's
  ``LayerGradCam`` and ``LayerAttribution.interpolate``: :func:`grad_cam`,
  :func:`grad_cam_branches`, :func:`plot_grad_cam`, :func:`plot_grad_cam_branches`.
* **Sanity check** (Adebayo et al., 2018, "Sanity Checks for Saliency Maps",
  section 3, model parameter randomization test): :func:`randomize_weights`,
  :func:`randomization_sanity_check`, :func:`plot_sanity_check`, and the
  localization metrics :func:`cam_mass_in_box` (the "energy-based pointing game"
  of Wang et al., 2020, Score-CAM, section 5.2) and :func:`cam_peak_in_box` (the
  pointing game of Zhang et al., 2016).
* **Filters** - :func:`first_layer_filters`, :func:`plot_first_layer_filters`.
* **The lesson-07 widget** - :func:`seeing_inside_choices` (the pure logic: which
  layers and views a choice of model allows), :func:`render_seeing_inside`
  (the figure) and :func:`seeing_inside_widget` (the ipywidgets front end).

Conventions: ``x`` is always what you would pass to ``model(x)`` (normalized,
``N x C x H x W`` or one ``C x H x W`` image). Figures are drawn with the image
un-normalized by ``model.preprocess`` unless ``image=`` (values in [0, 1]) is given:
pass it when the data was normalized otherwise (the embedded dataset uses its own
mean and std: ``image=data.denormalize(x)``).
Every plot function returns its matplotlib Figure; end a notebook cell with
``plt.show()``. Models are run in eval mode (running BatchNorm statistics, no
dropout, plain logits even for models with auxiliary heads) and put back in the
mode they were in afterwards; every hook is removed even when the forward pass fails.
"""
from __future__ import annotations

import copy
import difflib
import math
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Callable, Iterator, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from captum.attr import LayerAttribution, LayerGradCam
from matplotlib.figure import Figure
from torch import Tensor, nn

from .models.blocks import MultiBranch

__all__ = [
    "GradCam",
    "SanityCheck",
    "SeeingInsideSelection",
    "VIEWS",
    "branch_layer_names",
    "cam_mass_in_box",
    "cam_peak_in_box",
    "capture_activations",
    "capture_branches",
    "default_cam_layer",
    "display_image",
    "first_layer_filters",
    "grad_cam",
    "grad_cam_branches",
    "layer_catalog",
    "layer_names",
    "plot_feature_maps",
    "plot_first_layer_filters",
    "plot_grad_cam",
    "plot_grad_cam_branches",
    "plot_sanity_check",
    "randomization_sanity_check",
    "randomize_weights",
    "rank_correlation",
    "render_seeing_inside",
    "resolve_layer",
    "seeing_inside_choices",
    "seeing_inside_widget",
]

#: Colormap of every heat map (Grad-CAM, feature maps): perceptually uniform, readable in grey.
HEATMAP_CMAP = "inferno"


# ---------------------------------------------------------------------------
# Inputs, layers and modes
# ---------------------------------------------------------------------------


def _model_name(model: nn.Module) -> str:
    return type(model).__name__


def _as_batch(model: nn.Module, x: Tensor, single: bool = False) -> Tensor:
    """One image (C x H x W) or a batch -> a checked N x C x H x W batch.

    Uses the model's own ``check_input`` (CourseModel) so that a wrong channel
    count or a too-small image is reported with what the model expects.
    """
    if not isinstance(x, Tensor):
        raise ValueError(
            f"Expected the image as a torch.Tensor (what you would pass to model(x)), got {type(x).__name__}. "
            "Convert it with torchvision.transforms.functional.to_tensor and normalize it as the model expects."
        )
    if not x.is_floating_point():
        raise ValueError(
            f"Expected a floating-point image (normalized as the model expects), got dtype {x.dtype}. "
            "Convert 0-255 pixels with x.float() / 255, then normalize with the model's mean and std."
        )
    if x.dim() == 3:
        x = x.unsqueeze(0)  # C x H x W -> 1 x C x H x W: a single image is the common case here
    check = getattr(model, "check_input", None)
    if check is not None:
        check(x)
    elif x.dim() != 4:
        raise ValueError(f"Expected an image batch of shape (N, C, H, W), got shape {tuple(x.shape)}.")
    if single and x.shape[0] != 1:
        raise ValueError(
            f"This function explains one image at a time, got a batch of {x.shape[0]} "
            f"(shape {tuple(x.shape)}). Pass x[i:i+1] (or x[i]) for image i."
        )
    try:
        device = next(model.parameters()).device
    except StopIteration:  # a model without parameters: leave the input where it is
        return x
    return x.to(device)


@contextmanager
def _eval_mode(model: nn.Module) -> Iterator[None]:
    """Run ``model`` in eval mode, then restore every submodule's own training flag.

    Eval mode is what an explanation is about: BatchNorm's running statistics, no
    dropout, and plain logits from models with auxiliary classifiers.
    """
    modes = {m: m.training for m in model.modules()}
    model.eval()
    try:
        yield
    finally:
        for m, training in modes.items():
            m.training = training


def _logits(output) -> Tensor:
    """The main head's logits, also from AuxOutputs/torchvision's GoogLeNetOutputs (training mode)."""
    if isinstance(output, Tensor):
        return output
    logits = getattr(output, "logits", None)
    if isinstance(logits, Tensor):
        return logits
    raise ValueError(
        f"The model returned a {type(output).__name__}, not logits. Grad-CAM needs a model whose "
        "forward returns class scores (a tensor, or an object with a .logits tensor)."
    )


def layer_names(model: nn.Module) -> list[str]:
    """The stages a learner is offered: ``feature_info`` names, else every conv-like submodule.

    Any other submodule name from ``model.named_modules()`` works too; this is the
    short list that error messages and the lesson-07 widget show.
    """
    info = getattr(model, "feature_info", None)
    if info:
        return [f.module for f in info]
    return [n for n, m in model.named_modules() if n and isinstance(m, (nn.Conv2d, MultiBranch))]


def branch_layer_names(model: nn.Module) -> list[str]:
    """Names of the Inception modules (MultiBranch) of ``model``, in definition order."""
    return [n for n, m in model.named_modules() if n and isinstance(m, MultiBranch)]


def _unknown_layer_message(model: nn.Module, layer: object) -> str:
    all_names = [n for n, _ in model.named_modules() if n]
    close = difflib.get_close_matches(str(layer), all_names, n=3, cutoff=0.6)
    hint = f" Did you mean {', '.join(repr(c) for c in close)}?" if close else ""
    branches = branch_layer_names(model)
    branch_part = f" Inception modules (shown per branch): {', '.join(branches)}." if branches else ""
    # An example of a deeper name: a branch inside the first Inception module, else any nested module.
    nested = [n for n in all_names if branches and n.startswith(branches[0] + ".")] or [n for n in all_names if "." in n]
    example = (nested or all_names or ["conv1"])[0]
    return (
        f"Unknown layer {layer!r} for {_model_name(model)}.{hint} Its stages (feature_info): "
        f"{', '.join(layer_names(model))}.{branch_part} Any name from "
        f"[name for name, _ in model.named_modules()] also works (e.g. {example!r})."
    )


def resolve_layer(model: nn.Module, layer: str) -> nn.Module:
    """The submodule called ``layer``; ValueError listing the valid names if there is none."""
    if not isinstance(layer, str) or not layer:
        raise ValueError(_unknown_layer_message(model, layer))
    try:
        return model.get_submodule(layer)
    except AttributeError:
        raise ValueError(_unknown_layer_message(model, layer)) from None


def _check_spatial(model: nn.Module, layer: str, output: object, for_what: str) -> None:
    """ValueError unless ``output`` is an N x C x H x W tensor, saying why it is needed."""
    stages = ", ".join(layer_names(model))
    if output is None:
        raise ValueError(
            f"Layer {layer!r} of {_model_name(model)} was not used by its forward pass (it is defined but "
            f"not called, e.g. an auxiliary head in eval mode), so it has no output to show. Pick one of "
            f"its stages: {stages}."
        )
    if not isinstance(output, Tensor):
        raise ValueError(
            f"Layer {layer!r} of {_model_name(model)} returns a {type(output).__name__}, not a single "
            f"feature-map tensor, so {for_what} cannot use it. Pick one of its stages: {stages}."
        )
    if output.dim() != 4:
        raise ValueError(
            f"Layer {layer!r} of {_model_name(model)} outputs shape {tuple(output.shape)}: it has no "
            f"spatial (H x W) grid, so {for_what} cannot use it (there is no 'where' left after global "
            f"pooling or in a classifier). Pick a layer before global average pooling, e.g. one of its "
            f"stages: {stages}."
        )


class _Probe:
    """Records what chosen layers output during one forward pass (hooks always removed)."""

    def __init__(self, modules: Mapping[str, nn.Module], keep: bool) -> None:
        self.modules = modules
        self.keep = keep  # keep a detached copy of the outputs, or only their shapes
        self.outputs: dict[str, object] = {}

    @contextmanager
    def hooked(self) -> Iterator["_Probe"]:
        handles = []
        try:
            for name, module in self.modules.items():
                handles.append(module.register_forward_hook(self._hook(name)))
            yield self
        finally:
            for handle in handles:
                handle.remove()

    def _hook(self, name: str) -> Callable:
        def hook(module, inputs, output):
            if isinstance(output, Tensor):
                # clone: a later in-place ReLU would otherwise overwrite what we keep.
                output = output.detach().clone() if self.keep else torch.empty(output.shape, device="meta")
            self.outputs[name] = output

        return hook


def _run(model: nn.Module, x: Tensor, layers: Sequence[str], keep: bool) -> tuple[Tensor, dict[str, object]]:
    """One eval-mode forward pass without gradients: logits and the listed layers' outputs."""
    modules = {name: resolve_layer(model, name) for name in layers}
    probe = _Probe(modules, keep)
    with _eval_mode(model), torch.no_grad(), probe.hooked():
        logits = _logits(model(x))
    return logits, probe.outputs


# ---------------------------------------------------------------------------
# Feature maps
# ---------------------------------------------------------------------------


def capture_activations(model: nn.Module, x: Tensor, layers: str | Sequence[str]) -> dict[str, Tensor]:
    """What the named layers output for ``x``: ``{layer: N x C x H x W tensor}``.

    ``layers`` are names from ``feature_info`` or any ``model.named_modules()``
    name. One forward pass in eval mode, without gradients; the hooks are removed
    even if the forward pass raises.
    """
    names = [layers] if isinstance(layers, str) else list(layers)
    if not names:
        raise ValueError(f"Give at least one layer name; {_model_name(model)}'s stages: {', '.join(layer_names(model))}.")
    x = _as_batch(model, x)
    _, outputs = _run(model, x, names, keep=True)
    for name in names:
        _check_spatial(model, name, outputs.get(name), "a feature-map view")
    return {name: outputs[name] for name in names}


@contextmanager
def _spliced_branches(
    module: MultiBranch, on_branches: Callable[[dict[str, Tensor]], dict[str, Tensor]]
) -> Iterator[None]:
    """Pass the branch outputs of ``module`` through ``on_branches`` before they are merged.

    The module's ``forward`` (plain concatenation, or Inception-ResNet's residual
    sum) calls ``self.forward_branches``; shadowing that method on this one
    instance lets us see, or hook, every branch before the merge, whatever the
    merge is. The class's method is back in place on exit, even after an error.
    """
    original = module.forward_branches

    def forward_branches(x: Tensor) -> dict[str, Tensor]:
        return on_branches(original(x))

    module.forward_branches = forward_branches  # instance attribute shadows the class method
    try:
        yield
    finally:
        del module.forward_branches


class _BranchTap(nn.Module):
    """Returns the branch outputs unchanged: one hook point where Captum sees all of them.

    Captum's LayerGradCam accepts a layer with several output tensors and returns
    one map per tensor, so a single forward and backward pass explains every branch.
    """

    def forward(self, *branches: Tensor) -> tuple[Tensor, ...]:
        return branches


def _check_multibranch(model: nn.Module, layer: str) -> MultiBranch:
    module = resolve_layer(model, layer)
    if not isinstance(module, MultiBranch):
        names = branch_layer_names(model)
        valid = f"Its Inception modules: {', '.join(names)}." if names else f"{_model_name(model)} has none."
        raise ValueError(
            f"Layer {layer!r} of {_model_name(model)} is a {type(module).__name__}, not an Inception "
            f"module (MultiBranch), so it has no branches to show separately. {valid}"
        )
    return module


def _branches_not_seen(model: nn.Module, layer: str) -> ValueError:
    return ValueError(
        f"Inception module {layer!r} of {_model_name(model)} was not run by the forward pass, or its "
        "forward does not call self.forward_branches, so its branches cannot be taken apart."
    )


def capture_branches(model: nn.Module, x: Tensor, layer: str) -> dict[str, Tensor]:
    """Each branch of the Inception module ``layer`` before concatenation: ``{branch: N x C_b x H x W}``.

    Ordered as concatenated (GoogLeNet, Szegedy et al. 2014, Figure 2(b): 1x1,
    3x3, 5x5, pool projection). Eval mode, no gradients, nothing left patched.
    """
    module = _check_multibranch(model, layer)
    x = _as_batch(model, x)
    captured, _ = _branch_probe(model, x, module, layer)
    return captured


def _branch_probe(model: nn.Module, x: Tensor, module: MultiBranch, layer: str) -> tuple[dict[str, Tensor], Tensor]:
    """One eval-mode forward pass without gradients: the branches of ``module`` and the logits."""
    captured: dict[str, Tensor] = {}

    def keep(outputs: dict[str, Tensor]) -> dict[str, Tensor]:
        # clone: the merge may apply an in-place ReLU to what we keep
        captured.update({name: out.detach().clone() for name, out in outputs.items()})
        return outputs

    with _eval_mode(model), torch.no_grad(), _spliced_branches(module, keep):
        logits = _logits(model(x))
    if not captured:
        raise _branches_not_seen(model, layer)
    return captured, logits


def display_image(x: Tensor, mean: Sequence[float] | None = None, std: Sequence[float] | None = None) -> np.ndarray:
    """A model input (C x H x W or 1 x C x H x W) -> an H x W x C array in [0, 1] for imshow.

    With ``mean``/``std`` the normalization ``(image - mean) / std`` is undone
    first; without them ``x`` is taken to be in [0, 1] already.
    """
    if isinstance(x, np.ndarray):
        x = torch.from_numpy(x)
        if x.dim() == 3 and x.shape[-1] in (1, 3) and x.shape[0] not in (1, 3):
            x = x.permute(2, 0, 1)  # H x W x C array -> C x H x W
    x = x.detach().float().cpu()
    if x.dim() == 4:
        x = x[0]
    if x.dim() == 2:
        x = x.unsqueeze(0)
    if mean is not None and std is not None:
        m = torch.tensor(mean, dtype=x.dtype).view(-1, 1, 1)
        s = torch.tensor(std, dtype=x.dtype).view(-1, 1, 1)
        x = x * s + m
    if x.dtype == torch.uint8 or x.max() > 1.5:
        x = x / 255.0
    return x.clamp(0, 1).permute(1, 2, 0).numpy()


def _display(model: nn.Module | None, x: Tensor, image) -> np.ndarray:
    if image is not None:
        return display_image(image)
    pre = getattr(model, "preprocess", None)
    return display_image(x, getattr(pre, "mean", None), getattr(pre, "std", None))


def _imshow_image(ax, img: np.ndarray) -> None:
    if img.shape[-1] == 1:
        ax.imshow(img[..., 0], cmap="gray", vmin=0, vmax=1)
    else:
        ax.imshow(img)


def plot_feature_maps(
    maps: Mapping[str, Tensor] | Tensor,
    max_channels: int = 8,
    channels: str | Sequence[int] = "top",
    image=None,
    title: str | None = None,
    cmap: str = "viridis",
) -> Figure:
    """A grid of feature maps: one row per layer or branch, one column per channel.

    Args:
        maps: ``{name: C x H x W or N x C x H x W}`` from :func:`capture_branches`
            or :func:`capture_activations` (image 0 of a batch is shown), or one tensor.
        max_channels: columns per row.
        channels: ``"top"`` - the most active channels (largest mean activation),
            ``"first"`` - channels 0, 1, 2 ..., or explicit channel indices.
        image: optional input image (values in [0, 1]) shown at the left of every row.
        title: figure title.
        cmap: colormap; each row shares one colour scale, shown by its colorbar.

    Each panel is labelled with its channel index within its layer/branch.
    """
    if isinstance(maps, Tensor):
        maps = {"feature map": maps}
    if not maps:
        raise ValueError("maps is empty: pass the dict returned by capture_branches or capture_activations.")
    if not isinstance(max_channels, int) or max_channels < 1:
        raise ValueError(f"max_channels must be a positive integer, got {max_channels!r}.")
    rows: list[tuple[str, Tensor, list[int]]] = []
    for name, fmap in maps.items():
        fmap = fmap.detach().float().cpu()
        fmap = fmap[0] if fmap.dim() == 4 else fmap
        if fmap.dim() != 3:
            raise ValueError(f"Feature map {name!r} has shape {tuple(fmap.shape)}; expected C x H x W or N x C x H x W.")
        rows.append((name, fmap, _pick_channels(name, fmap, channels, max_channels)))
    ncols = max(len(idx) for _, _, idx in rows) + (image is not None)
    fig, axes = plt.subplots(
        len(rows), ncols, figsize=(1.45 * ncols + 1.3, 1.55 * len(rows) + 0.6), squeeze=False, layout="constrained"
    )
    shown = display_image(image) if image is not None else None
    for r, (name, fmap, idx) in enumerate(rows):
        row_axes = axes[r]
        offset = 0
        if shown is not None:
            _imshow_image(row_axes[0], shown)
            row_axes[0].set_title("input", fontsize=8)
            offset = 1
        values = fmap[idx]
        vmin, vmax = float(values.min()), float(values.max())
        if vmax <= vmin:
            vmax = vmin + 1e-6
        im = None
        for k, c in enumerate(idx):
            ax = row_axes[offset + k]
            im = ax.imshow(fmap[c].numpy(), cmap=cmap, vmin=vmin, vmax=vmax, interpolation="nearest")
            ax.set_title(f"ch {c}", fontsize=8)
        for ax in row_axes:
            ax.set_xticks([])
            ax.set_yticks([])
        for ax in row_axes[offset + len(idx):]:
            ax.axis("off")
        c, h, w = fmap.shape
        row_axes[0].set_ylabel(f"{name}\n{c} ch, {h}x{w}", fontsize=9)
        cbar = fig.colorbar(im, ax=list(row_axes), shrink=0.9, pad=0.01)
        cbar.set_label("activation", fontsize=8)
        cbar.ax.tick_params(labelsize=7)
    which = {"top": "most active channels", "first": "first channels"}.get(channels, "chosen channels") \
        if isinstance(channels, str) else "chosen channels"
    fig.suptitle(title or f"Feature maps ({which}; one colour scale per row)", fontsize=11)
    return fig


def _pick_channels(name: str, fmap: Tensor, channels, max_channels: int) -> list[int]:
    n = fmap.shape[0]
    if isinstance(channels, str):
        if channels == "first":
            return list(range(min(n, max_channels)))
        if channels == "top":
            strength = fmap.mean(dim=(1, 2))
            return sorted(strength.argsort(descending=True)[:max_channels].tolist())
        raise ValueError(f"channels must be 'top', 'first' or a list of channel indices, got {channels!r}.")
    idx = [int(c) for c in channels]
    bad = [c for c in idx if not 0 <= c < n]
    if bad or not idx:
        raise ValueError(f"Channel indices {bad or idx} are out of range for {name!r}, which has {n} channels (0..{n - 1}).")
    return idx[:max_channels]


# ---------------------------------------------------------------------------
# Grad-CAM (Captum)
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class GradCam:
    """One Grad-CAM map (Selvaraju et al., 2017, Eq. 1-2) and what it explains.

    Attributes:
        heatmap: H x W at the input's resolution (bilinear upsampling of
            ``layer_map`` by Captum's ``LayerAttribution.interpolate``), >= 0.
        layer_map: h x w at the layer's own resolution: ReLU(sum_k alpha_k A^k),
            alpha_k the spatially averaged gradient of the target score w.r.t. channel k.
        target: the class explained.
        probability: the model's softmax probability for ``target`` on this image.
        predicted: the class the model predicts for this image.
        layer: the layer (and ``branch`` of an Inception module, if any) it was computed at.
        image: the input as an H x W x C array in [0, 1], for drawing.
    """

    heatmap: Tensor
    layer_map: Tensor
    target: int
    probability: float
    predicted: int
    layer: str
    branch: str | None
    image: np.ndarray

    @property
    def normalized(self) -> Tensor:
        """``heatmap`` divided by its maximum (all zeros if the map is zero everywhere)."""
        top = float(self.heatmap.max())
        return self.heatmap / top if top > 0 else torch.zeros_like(self.heatmap)

    @property
    def where(self) -> str:
        return f"{self.layer} / {self.branch}" if self.branch else self.layer


#: A Grad-CAM map is only as fine as its layer: the default layer has at least this many
#: cells a side (GoogLeNet's last stage at 224 px is 7 x 7; a 3 x 3 map can only name a ninth).
MIN_CAM_GRID = 6


def default_cam_layer(model: nn.Module, x: Tensor) -> str:
    """The layer Grad-CAM uses when none is given: the last stage still at least 6 x 6 for ``x``.

    Grad-CAM's usual choice is the last convolutional stage (Selvaraju et al.,
    2017, section 3: "the best compromise between high-level semantics and
    detailed spatial information"). That holds at the reference input sizes (7 x 7
    for GoogLeNet at 224, 8 x 8 for Inception v3 at 299), but at the mini models'
    48 px the last stage is 2 x 2 or 3 x 3, too coarse to point at an object, so
    the default is the last ``feature_info`` stage of at least
    :data:`MIN_CAM_GRID` cells a side. If none is that fine, the last stage with
    any spatial grid (at least 2 x 2) is used; a 1 x 1 map could only say "everywhere".
    """
    x = _as_batch(model, x)
    names = layer_names(model)
    _, outputs = _run(model, x, names, keep=False)
    return _last_spatial_stage(model, x, names, outputs)


def _last_spatial_stage(model: nn.Module, x: Tensor, names: Sequence[str], outputs: Mapping[str, object]) -> str:
    grid = {n: min(outputs[n].shape[-2:]) for n in names if isinstance(outputs.get(n), Tensor) and outputs[n].dim() == 4}
    fine = [n for n in grid if grid[n] >= MIN_CAM_GRID]
    spatial = [n for n in grid if grid[n] >= 2]
    if not spatial:
        raise ValueError(
            f"No stage of {_model_name(model)} keeps a spatial grid of at least 2x2 for an input of "
            f"{x.shape[-2]}x{x.shape[-1]} pixels, so Grad-CAM has nowhere to point. Use a larger image."
        )
    return (fine or spatial)[-1]


def _check_target(model: nn.Module, logits: Tensor, target) -> int:
    num_classes = logits.shape[-1]
    if target is None:
        return int(logits[0].argmax())
    if isinstance(target, Tensor) and target.numel() == 1:
        target = int(target)
    if not isinstance(target, (int, np.integer)) or isinstance(target, bool) or not 0 <= target < num_classes:
        raise ValueError(
            f"target must be a class index from 0 to {num_classes - 1} for {_model_name(model)}, "
            f"got {target!r}. Leave it out (None) to explain the predicted class."
        )
    return int(target)


def _attribute(model: nn.Module, x: Tensor, layer_module: nn.Module, target: int) -> tuple[Tensor, ...]:
    """Captum's LayerGradCam at ``layer_module`` (ReLU applied, as in Eq. 2): 1 x 1 x h x w per output."""

    def forward(inputs: Tensor) -> Tensor:
        return _logits(model(inputs))  # eval mode already; unwrap in case a model returns AuxOutputs anyway

    attribution = LayerGradCam(forward, layer_module).attribute(x, target=target, relu_attributions=True)
    return tuple(a.detach() for a in attribution) if isinstance(attribution, tuple) else (attribution.detach(),)


def _finish(attribution: Tensor, x: Tensor, **fields) -> GradCam:
    heatmap = LayerAttribution.interpolate(attribution, tuple(x.shape[-2:]), interpolate_mode="bilinear")
    # Bilinear upsampling of a non-negative map stays non-negative; clamp only float round-off.
    return GradCam(heatmap=heatmap[0, 0].clamp_min(0).cpu(), layer_map=attribution[0, 0].cpu(), **fields)


def _explained(model: nn.Module, logits: Tensor, target) -> dict[str, object]:
    """The GradCam fields that come from the logits: target (default: predicted), probability, prediction."""
    target = _check_target(model, logits, target)
    return {"target": target, "probability": float(logits.softmax(-1)[0, target]),
            "predicted": int(logits[0].argmax())}


def grad_cam(model: nn.Module, x: Tensor, target: int | None = None, layer: str | None = None, image=None) -> GradCam:
    """Grad-CAM of ``target`` (default: the predicted class) at ``layer`` for one image.

    Args:
        model: a course model (or any nn.Module returning logits); run in eval mode.
        x: one image as the model takes it, C x H x W or 1 x C x H x W.
        target: the class index to explain; None explains the model's prediction.
        layer: a ``feature_info`` stage or any submodule name with a spatial output;
            None picks :func:`default_cam_layer` (the last stage still >= 6x6).
        image: the image to draw under the map (values in [0, 1]); default: ``x``
            un-normalized with ``model.preprocess``.

    Returns a :class:`GradCam` whose ``heatmap`` has the input's resolution.
    """
    x = _as_batch(model, x, single=True)
    # One probing pass without gradients: the logits (for the default target) and the layers' shapes.
    candidates = layer_names(model) if layer is None else [layer]
    logits, outputs = _run(model, x, candidates, keep=False)
    layer = _last_spatial_stage(model, x, candidates, outputs) if layer is None else layer
    _check_spatial(model, layer, outputs.get(layer), "Grad-CAM")
    fields = _explained(model, logits, target)
    with _eval_mode(model):
        (attribution,) = _attribute(model, x, resolve_layer(model, layer), fields["target"])
    return _finish(attribution, x, layer=layer, branch=None, image=_display(model, x, image), **fields)


def grad_cam_branches(model: nn.Module, x: Tensor, layer: str, target: int | None = None, image=None) -> dict[str, GradCam]:
    """Grad-CAM of each branch of the Inception module ``layer``: ``{branch: GradCam}``.

    Each branch's output A_b gets its own Grad-CAM, ReLU(sum_k alpha_k A_b^k),
    with alpha from the gradient of the target score w.r.t. that branch's output
    (Captum LayerGradCam on a pass-through module spliced in after the branches,
    one forward and backward pass for all of them). For a
    concatenating module the branch maps add up, before the ReLU, to the module's
    map; for a residual module they show what each branch adds to the sum.
    """
    module = _check_multibranch(model, layer)
    x = _as_batch(model, x, single=True)
    branches, logits = _branch_probe(model, x, module, layer)
    fields = _explained(model, logits, target)
    tap = _BranchTap()

    def through_tap(outputs: dict[str, Tensor]) -> dict[str, Tensor]:
        return dict(zip(outputs, tap(*outputs.values())))

    with _eval_mode(model), _spliced_branches(module, through_tap):
        attributions = _attribute(model, x, tap, fields["target"])
    shown = _display(model, x, image)
    return {name: _finish(a, x, layer=layer, branch=name, image=shown, **fields)
            for name, a in zip(branches, attributions)}


def _class_label(index: int, class_names: Sequence[str] | None) -> str:
    if class_names is not None and 0 <= index < len(class_names):
        return f"'{class_names[index]}'"
    return f"class {index}"


def _overlay(ax, cam: GradCam, vmax: float | None, alpha: float):
    """Image, then the map on top; returns an opaque mappable for the colorbar."""
    _imshow_image(ax, cam.image)
    values = cam.heatmap.numpy() / vmax if vmax else cam.normalized.numpy()
    ax.imshow(values, cmap=HEATMAP_CMAP, alpha=alpha, vmin=0, vmax=1, interpolation="bilinear")
    ax.set_xticks([])
    ax.set_yticks([])
    # The colorbar shows the colormap itself, not the see-through overlay.
    return plt.cm.ScalarMappable(norm=plt.Normalize(0, 1), cmap=HEATMAP_CMAP)


def _cam_title(cam: GradCam, class_names) -> str:
    explained = _class_label(cam.target, class_names)
    line = f"Grad-CAM for {explained} (p = {cam.probability:.2f})"
    if cam.predicted != cam.target:
        line += f"\npredicted: {_class_label(cam.predicted, class_names)}"
    return line


def plot_grad_cam(cam: GradCam, ax=None, class_names: Sequence[str] | None = None, alpha: float = 0.55,
                  box: Sequence[int] | None = None, title: str | None = None) -> Figure:
    """Draw ``cam`` over its image, with a colorbar (relative importance, 0 = none, 1 = max).

    With ``box`` (x0, y0, x1, y1 pixels, x1/y1 exclusive) the object's box is
    outlined and the share of the map inside it (:func:`cam_mass_in_box`) is shown.
    """
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.6, 4.0), layout="constrained")
    fig = ax.figure
    im = _overlay(ax, cam, None, alpha)
    text = title or f"{_cam_title(cam, class_names)}\nat {cam.where}"
    if float(cam.heatmap.max()) == 0:
        text += "\n(zero everywhere: no positive evidence here)"
    if box is not None:
        _draw_box(ax, box)
        share = cam_mass_in_box(cam.heatmap, box)
        if not math.isnan(share):
            peak = "inside" if cam_peak_in_box(cam.heatmap, box) else "outside"
            text += f"\n{100 * share:.0f}% of the map in the box, peak {peak}"
    ax.set_title(text, fontsize=9)
    cbar = fig.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
    cbar.set_label("Grad-CAM, relative to its maximum", fontsize=8)
    return fig


def _draw_box(ax, box: Sequence[int]) -> None:
    x0, y0, x1, y1 = (float(v) for v in box)
    ax.add_patch(plt.Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, edgecolor="cyan", linewidth=1.5))


def plot_grad_cam_branches(cams: Mapping[str, GradCam], class_names: Sequence[str] | None = None,
                           alpha: float = 0.55, shared_scale: bool = True) -> Figure:
    """One panel per branch of an Inception module, after the input image.

    With ``shared_scale`` all branches share one colour scale (the largest value
    over all of them = 1), so a weak branch looks weak; each title gives the
    branch's share of the summed Grad-CAM mass.
    """
    if not cams:
        raise ValueError("cams is empty: pass the dict returned by grad_cam_branches.")
    first = next(iter(cams.values()))
    n = len(cams) + 1
    fig, axes = plt.subplots(1, n, figsize=(2.5 * n + 0.8, 3.2), layout="constrained")
    _imshow_image(axes[0], first.image)
    axes[0].set_title("input", fontsize=9)
    axes[0].set_xticks([])
    axes[0].set_yticks([])
    total = sum(float(c.heatmap.sum()) for c in cams.values())
    vmax = max(float(c.heatmap.max()) for c in cams.values()) if shared_scale else None
    im = None
    for ax, (name, cam) in zip(axes[1:], cams.items()):
        im = _overlay(ax, cam, vmax or None, alpha)
        share = float(cam.heatmap.sum()) / total if total > 0 else 0.0
        ax.set_title(f"{name}\n{100 * share:.0f}% of the mass", fontsize=9)
    cbar = fig.colorbar(im, ax=list(axes), fraction=0.025, pad=0.01)
    scale = "largest branch value" if shared_scale else "each branch's maximum"
    cbar.set_label(f"Grad-CAM, relative to the {scale}", fontsize=8)
    fig.suptitle(f"{_cam_title(first, class_names).splitlines()[0]}, per branch of {first.layer}", fontsize=10)
    return fig


# ---------------------------------------------------------------------------
# Sanity check: randomized weights must change the map
# ---------------------------------------------------------------------------


def randomize_weights(model: nn.Module, seed: int = 0) -> nn.Module:
    """A copy of ``model`` with every weight re-initialized (Adebayo et al., 2018, section 3).

    Each submodule with ``reset_parameters`` (conv, linear, BatchNorm: weights and
    running statistics) draws fresh initial values; any other parameter is
    redrawn from a normal distribution with its own mean and std. The original
    model and the global random state are left untouched.
    """
    randomized = copy.deepcopy(model)
    covered: set[int] = set()
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        for module in randomized.modules():
            if hasattr(module, "reset_parameters"):
                module.reset_parameters()
                covered.update(id(p) for p in module.parameters(recurse=False))
        with torch.no_grad():
            for p in randomized.parameters():
                if id(p) not in covered:
                    std = float(p.std()) if p.numel() > 1 else 0.0
                    p.copy_(torch.randn_like(p) * std + p.mean())
    return randomized


def cam_mass_in_box(heatmap: Tensor, box: Sequence[int]) -> float:
    """The fraction of the map's mass inside the box (Score-CAM's energy-based pointing game).

    ``box`` is ``(x0, y0, x1, y1)`` in pixels with x1, y1 exclusive (torchvision's
    XYXY convention, as the embedded dataset's boxes). A map spread evenly over
    the image scores the box's share of the image area; a perfect one scores 1.
    Returns NaN for a map that is zero everywhere (it points nowhere).
    """
    heatmap = heatmap.detach().float()
    if heatmap.dim() != 2:
        raise ValueError(f"heatmap must be H x W, got shape {tuple(heatmap.shape)} (use GradCam.heatmap).")
    h, w = heatmap.shape
    x0, y0, x1, y1 = (int(v) for v in box)
    if not (0 <= x0 < x1 <= w and 0 <= y0 < y1 <= h):
        raise ValueError(f"box {tuple(box)} is not (x0, y0, x1, y1) with 0 <= x0 < x1 <= {w} and 0 <= y0 < y1 <= {h}.")
    total = float(heatmap.sum())
    if total <= 0:
        return float("nan")
    return float(heatmap[y0:y1, x0:x1].sum()) / total


def cam_peak_in_box(heatmap: Tensor, box: Sequence[int]) -> bool:
    """Whether the map's maximum lies inside the box: the pointing game
    (Zhang et al., 2016, "Top-down Neural Attention by Excitation Backprop", section 5.1).

    ``box`` as in :func:`cam_mass_in_box`. A map that is zero everywhere points
    nowhere: False.
    """
    heatmap = heatmap.detach().float()
    cam_mass_in_box(heatmap, box)  # same checks of shapes and box
    if float(heatmap.max()) <= 0:
        return False
    y, x = divmod(int(heatmap.argmax()), heatmap.shape[1])
    x0, y0, x1, y1 = (int(v) for v in box)
    return x0 <= x < x1 and y0 <= y < y1


def _average_ranks(v: Tensor) -> Tensor:
    """Ranks 0..n-1, ties sharing their average rank (as Spearman's rho needs)."""
    sorted_v, order = v.sort()
    _, inverse, counts = torch.unique_consecutive(sorted_v, return_inverse=True, return_counts=True)
    ends = counts.cumsum(0)
    average = (ends - counts + ends - 1).double() / 2
    ranks = torch.empty_like(v, dtype=torch.float64)
    ranks[order] = average[inverse]
    return ranks


def rank_correlation(a: Tensor, b: Tensor) -> float:
    """Spearman's rank correlation of two maps (Adebayo et al., 2018, Fig. 2's similarity measure).

    1 = the same ordering of positions, 0 = unrelated; NaN if either map is constant.
    """
    if a.shape != b.shape:
        raise ValueError(f"The maps must have the same shape, got {tuple(a.shape)} and {tuple(b.shape)}.")
    ra, rb = _average_ranks(a.flatten().double()), _average_ranks(b.flatten().double())
    ra, rb = ra - ra.mean(), rb - rb.mean()
    denominator = float(ra.norm() * rb.norm())
    return float((ra * rb).sum()) / denominator if denominator > 0 else float("nan")


@dataclass(frozen=True)
class SanityCheck:
    """The model parameter randomization test for one image.

    ``rank_correlation`` compares the two maps at the layer's resolution (the
    upsampled maps would add only interpolation); a map that explains the
    *trained* model changes a lot (rho far below 1) once the weights are random.
    """

    trained: GradCam
    randomized: GradCam
    rank_correlation: float


def randomization_sanity_check(model: nn.Module, x: Tensor, target: int | None = None, layer: str | None = None,
                               seed: int = 0, image=None) -> SanityCheck:
    """Grad-CAM of the trained model vs. the same model with random weights, same target and layer."""
    trained = grad_cam(model, x, target=target, layer=layer, image=image)
    randomized = grad_cam(randomize_weights(model, seed), x, target=trained.target, layer=trained.layer, image=image)
    return SanityCheck(trained, randomized, rank_correlation(trained.layer_map, randomized.layer_map))


def plot_sanity_check(check: SanityCheck, class_names: Sequence[str] | None = None, box: Sequence[int] | None = None,
                      alpha: float = 0.55) -> Figure:
    """Input, trained-model map and randomized-model map side by side (each scaled to its maximum)."""
    fig, axes = plt.subplots(1, 3, figsize=(10.0, 3.8), layout="constrained")
    _imshow_image(axes[0], check.trained.image)
    axes[0].set_title(f"input\ntarget: {_class_label(check.trained.target, class_names)}", fontsize=9)
    axes[0].set_xticks([])
    axes[0].set_yticks([])
    im = None
    for ax, cam, label in ((axes[1], check.trained, "trained weights"), (axes[2], check.randomized, "random weights")):
        im = _overlay(ax, cam, None, alpha)
        text = f"{label}\np = {cam.probability:.2f}"
        if box is not None:
            _draw_box(ax, box)
            share = cam_mass_in_box(cam.heatmap, box)
            text += f", {100 * share:.0f}% in box" if not math.isnan(share) else ", map is zero"
        ax.set_title(text, fontsize=9)
    if box is not None:
        _draw_box(axes[0], box)
    cbar = fig.colorbar(im, ax=list(axes[1:]), fraction=0.04, pad=0.02)
    cbar.set_label("Grad-CAM, relative to its maximum", fontsize=8)
    rho = check.rank_correlation
    rho_text = "undefined (a map is constant)" if math.isnan(rho) else f"{rho:.2f}"
    fig.suptitle(f"Sanity check at {check.trained.layer}: rank correlation trained vs random = {rho_text}", fontsize=10)
    return fig


# ---------------------------------------------------------------------------
# First-layer filters
# ---------------------------------------------------------------------------


def first_layer_filters(model: nn.Module) -> tuple[str, Tensor]:
    """The first convolution's name and kernels (out_channels x in_channels x kh x kw)."""
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return name, module.weight.detach().cpu()
    raise ValueError(f"{_model_name(model)} has no nn.Conv2d layer, so it has no filters to show.")


def plot_first_layer_filters(model: nn.Module, max_filters: int = 64, per_filter_scale: bool = True,
                             title: str | None = None) -> Figure:
    """The first layer's kernels as small images, mid-grey = a zero weight.

    Three input channels are shown as RGB colour (a filter that responds to red
    looks red); any other count shows input channel 0 with a diverging colormap
    and a colorbar. ``per_filter_scale`` stretches each filter to its own largest
    |weight| (shapes become visible); otherwise one scale for all (strengths compare).
    """
    name, weight = first_layer_filters(model)
    if not isinstance(max_filters, int) or max_filters < 1:
        raise ValueError(f"max_filters must be a positive integer, got {max_filters!r}.")
    weight = weight[:max_filters].float()
    n, c, kh, kw = weight.shape
    ncols = min(n, 8)
    nrows = math.ceil(n / ncols)
    fig, axes = plt.subplots(nrows, ncols, figsize=(1.1 * ncols + (1.0 if c != 3 else 0.2), 1.15 * nrows + 0.9),
                             squeeze=False, layout="constrained")
    dims = (1, 2, 3)
    limit = weight.abs().amax(dim=dims, keepdim=True) if per_filter_scale else weight.abs().max().expand(n, 1, 1, 1)
    scaled = weight / limit.clamp_min(1e-12)  # in [-1, 1]
    im = None
    for i, ax in enumerate(axes.flat):
        ax.set_xticks([])
        ax.set_yticks([])
        if i >= n:
            ax.axis("off")
            continue
        if c == 3:
            ax.imshow((0.5 + 0.5 * scaled[i]).permute(1, 2, 0).numpy(), interpolation="nearest")
        else:
            im = ax.imshow(scaled[i, 0].numpy(), cmap="RdBu_r", vmin=-1, vmax=1, interpolation="nearest")
        ax.set_title(f"#{i}", fontsize=8)
    if im is not None:
        cbar = fig.colorbar(im, ax=axes.ravel().tolist(), fraction=0.03)
        cbar.set_label("weight / max |weight|", fontsize=8)
    scale = "each filter scaled to its own max |w|" if per_filter_scale else "one scale for all filters"
    colour = "RGB" if c == 3 else f"input channel 0 of {c}"
    fig.suptitle(title or f"First layer '{name}': {n} filters of {c}x{kh}x{kw}\n({colour}; mid-grey = 0; {scale})",
                 fontsize=10)
    return fig


# ---------------------------------------------------------------------------
# Lesson 07 widget: pick image, model, view and layer
# ---------------------------------------------------------------------------

#: What the widget can show, in menu order.
VIEWS: tuple[str, ...] = ("Grad-CAM", "Grad-CAM per branch", "feature maps", "first-layer filters")


@dataclass(frozen=True)
class SeeingInsideSelection:
    """What the lesson-07 widget should show, and the choices its menus should offer.

    ``layer`` is None for the filters view (it has no layer). ``note`` explains
    any choice that had to change (e.g. a layer the newly picked model lacks).
    """

    image: str
    model: str
    view: str
    layer: str | None
    layer_options: tuple[str, ...]
    view_options: tuple[str, ...]
    note: str = ""


def _pick(kind: str, value: str | None, options: Sequence[str]) -> str:
    if value is None:
        return options[0]
    if value not in options:
        raise ValueError(f"Unknown {kind} {value!r}. Valid {kind}s: {', '.join(options)}.")
    return value


def seeing_inside_choices(
    images: Sequence[str],
    model_layers: Mapping[str, Mapping[str, Sequence[str]]],
    image: str | None = None,
    model: str | None = None,
    view: str | None = None,
    layer: str | None = None,
) -> SeeingInsideSelection:
    """The pure logic of the lesson-07 widget (no models run, no browser needed).

    Args:
        images: names of the images on offer.
        model_layers: per model name, ``{"stages": [...], "branches": [...], "default": name}``:
            its ``feature_info`` stages, its Inception modules and its default
            Grad-CAM layer (see :func:`layer_catalog`).
        image, model, view, layer: the current menu values (None = the first / default).

    Rules: per-branch Grad-CAM is offered only for models with Inception modules
    and then lists only those; feature maps and Grad-CAM list stages and Inception
    modules; filters need no layer. A layer the chosen model does not have (after
    switching model or view) becomes the model's default, and ``note`` says so.
    """
    if not images or not model_layers:
        raise ValueError("Give at least one image and one model to choose from.")
    image = _pick("image", image, list(images))
    model = _pick("model", model, list(model_layers))
    catalog = model_layers[model]
    stages, branches = list(catalog.get("stages", ())), list(catalog.get("branches", ()))
    view_options = tuple(v for v in VIEWS if v != "Grad-CAM per branch" or branches)
    notes = []
    if view is not None and view not in VIEWS:
        raise ValueError(f"Unknown view {view!r}. Valid views: {', '.join(VIEWS)}.")
    if view is None:
        view = view_options[0]
    elif view not in view_options:
        notes.append(f"{model} has no Inception modules, so there are no branches to explain; showing Grad-CAM.")
        view = "Grad-CAM"
    if view == "first-layer filters":
        return SeeingInsideSelection(image, model, view, None, (), view_options, " ".join(notes))
    if view == "Grad-CAM per branch":
        layer_options = tuple(branches)
    else:
        layer_options = tuple(dict.fromkeys(stages + branches))  # stages first, then modules not already listed
    default = catalog.get("default")
    if default not in layer_options:
        default = layer_options[-1]
    if layer is None:
        layer = default
    elif layer not in layer_options:
        notes.append(f"{model} has no layer {layer!r} for this view; showing {default!r} instead.")
        layer = default
    return SeeingInsideSelection(image, model, view, layer, layer_options, view_options, " ".join(notes))


def layer_catalog(model: nn.Module, x: Tensor) -> dict[str, object]:
    """``{"stages", "branches", "default"}`` of ``model`` for :func:`seeing_inside_choices`.

    Only layers with a spatial output for ``x`` are listed (one probing forward pass).
    """
    x = _as_batch(model, x)
    names = list(dict.fromkeys(layer_names(model) + branch_layer_names(model)))
    _, outputs = _run(model, x, names, keep=False)
    spatial = {n for n in names if isinstance(outputs.get(n), Tensor) and outputs[n].dim() == 4}
    return {
        "stages": [n for n in layer_names(model) if n in spatial],
        "branches": [n for n in branch_layer_names(model) if n in spatial],
        "default": default_cam_layer(model, x),
    }


def render_seeing_inside(selection: SeeingInsideSelection, models: Mapping[str, nn.Module],
                         inputs: Mapping[str, Tensor], class_names: Sequence[str] | None = None,
                         display: Mapping[str, Tensor] | None = None, max_channels: int = 8) -> Figure:
    """Draw what ``selection`` asks for (the widget's output; also usable on its own).

    ``inputs[name]`` is the image as the models take it; ``display[name]``
    optionally the same image in [0, 1] for drawing.
    """
    model, x = models[selection.model], inputs[selection.image]
    image = display[selection.image] if display is not None else None
    if selection.view == "first-layer filters":
        return plot_first_layer_filters(model)
    if selection.view == "Grad-CAM per branch":
        cams = grad_cam_branches(model, x, selection.layer, image=image)
        return plot_grad_cam_branches(cams, class_names=class_names)
    if selection.view == "feature maps":
        if selection.layer in branch_layer_names(model):
            maps = capture_branches(model, x, selection.layer)
        else:
            maps = capture_activations(model, x, selection.layer)
        shown = image if image is not None else _display(model, _as_batch(model, x), None)
        return plot_feature_maps(maps, max_channels=max_channels, image=shown,
                                 title=f"{selection.model}: feature maps at {selection.layer}")
    cam = grad_cam(model, x, layer=selection.layer, image=image)
    return plot_grad_cam(cam, class_names=class_names,
                         title=f"{selection.model}: {_cam_title(cam, class_names)}\nat {cam.where}")


def seeing_inside_widget(models: Mapping[str, nn.Module], inputs: Mapping[str, Tensor],
                         class_names: Sequence[str] | None = None, display: Mapping[str, Tensor] | None = None):
    """Menus for image, model, view and layer, and the figure they select (lesson 07).

    ``models``: name -> model; ``inputs``: image name -> the image as the models
    take it (C x H x W); ``display``: optionally the images in [0, 1] for drawing.
    The menu logic is :func:`seeing_inside_choices`; drawing is :func:`render_seeing_inside`.
    """
    import ipywidgets as widgets  # imported here: the rest of viz works without a notebook front end
    from IPython.display import display as show

    if not models or not inputs:
        raise ValueError("Give at least one model and one image.")
    first_input = next(iter(inputs.values()))
    catalogs = {name: layer_catalog(model, first_input) for name, model in models.items()}
    state = seeing_inside_choices(list(inputs), catalogs)
    style = {"description_width": "60px"}
    menus = {
        "image": widgets.Dropdown(options=list(inputs), value=state.image, description="image", style=style),
        "model": widgets.Dropdown(options=list(models), value=state.model, description="model", style=style),
        "view": widgets.Dropdown(options=state.view_options, value=state.view, description="view", style=style),
        "layer": widgets.Dropdown(options=state.layer_options, value=state.layer, description="layer", style=style),
    }
    note = widgets.HTML()
    out = widgets.Output()
    updating = [False]  # menus set by update() must not re-trigger it

    def update(_change=None) -> None:
        if updating[0]:
            return
        updating[0] = True
        try:
            selection = seeing_inside_choices(
                list(inputs), catalogs, image=menus["image"].value, model=menus["model"].value,
                view=menus["view"].value, layer=menus["layer"].value if menus["layer"].options else None,
            )
            menus["view"].options = selection.view_options
            menus["view"].value = selection.view
            menus["layer"].options = selection.layer_options
            menus["layer"].value = selection.layer
            menus["layer"].disabled = selection.layer is None
        finally:
            updating[0] = False
        note.value = f"<i>{selection.note}</i>" if selection.note else ""
        with out:
            out.clear_output(wait=True)
            fig = render_seeing_inside(selection, models, inputs, class_names=class_names, display=display)
            show(fig)  # this figure only (plt.show() would also flush any other open figure here)
            plt.close(fig)

    for menu in menus.values():
        menu.observe(update, names="value")
    update()
    return widgets.VBox([widgets.HBox(list(menus.values())), note, out])
