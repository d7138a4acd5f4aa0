"""The figures of lesson 07: feature maps, Grad-CAM (one map, per branch, sanity check), first-layer filters.

Every function returns its matplotlib Figure; end a notebook cell with ``plt.show()``.
"""
from __future__ import annotations

import math
from typing import Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
from matplotlib.figure import Figure
from torch import Tensor, nn

from ..checks import CourseError, CourseTypeError, check_int, describe

from .gradcam import GradCam
from .probe import display_image, model_name
from .sanity import SanityCheck, cam_mass_in_box, cam_peak_in_box

#: Colormap of every heat map (Grad-CAM, feature maps): perceptually uniform, readable in grey.
HEATMAP_CMAP = "inferno"


def imshow_image(ax, img: np.ndarray) -> None:
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
    if not isinstance(maps, Mapping):
        raise CourseTypeError(
            f"maps must be the dict returned by capture_branches or capture_activations (or one tensor), got {describe(maps)}."
        )
    if not maps:
        raise CourseError("maps is empty: pass the dict returned by capture_branches or capture_activations.")
    max_channels = check_int(max_channels, "max_channels", minimum=1)
    rows: list[tuple[str, Tensor, list[int]]] = []
    for name, fmap in maps.items():
        fmap = fmap.detach().float().cpu()
        fmap = fmap[0] if fmap.dim() == 4 else fmap
        if fmap.dim() != 3:
            raise CourseError(f"Feature map {name!r} has shape {tuple(fmap.shape)}; expected C x H x W or N x C x H x W.")
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
            imshow_image(row_axes[0], shown)
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
        raise CourseError(f"channels must be 'top', 'first' or a list of channel indices, got {channels!r}.")
    idx = [int(c) for c in channels]
    bad = [c for c in idx if not 0 <= c < n]
    if bad or not idx:
        raise CourseError(f"Channel indices {bad or idx} are out of range for {name!r}, which has {n} channels (0..{n - 1}).")
    return idx[:max_channels]


def _class_label(index: int, class_names: Sequence[str] | None) -> str:
    if class_names is not None and 0 <= index < len(class_names):
        return f"'{class_names[index]}'"
    return f"class {index}"


def _overlay(ax, cam: GradCam, vmax: float | None, alpha: float):
    """Image, then the map on top; returns an opaque mappable for the colorbar."""
    imshow_image(ax, cam.image)
    values = cam.heatmap.numpy() / vmax if vmax else cam.normalized.numpy()
    ax.imshow(values, cmap=HEATMAP_CMAP, alpha=alpha, vmin=0, vmax=1, interpolation="bilinear")
    ax.set_xticks([])
    ax.set_yticks([])
    # The colorbar shows the colormap itself, not the see-through overlay.
    return plt.cm.ScalarMappable(norm=plt.Normalize(0, 1), cmap=HEATMAP_CMAP)


def cam_title(cam: GradCam, class_names) -> str:
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
    if not isinstance(cam, GradCam):
        raise CourseTypeError(f"cam must be the GradCam that grad_cam(model, x) returns, got {describe(cam)}.")
    if ax is None:
        fig, ax = plt.subplots(figsize=(4.6, 4.0), layout="constrained")
    fig = ax.figure
    im = _overlay(ax, cam, None, alpha)
    text = title or f"{cam_title(cam, class_names)}\nat {cam.where}"
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
        raise CourseError("cams is empty: pass the dict returned by grad_cam_branches.")
    first = next(iter(cams.values()))
    n = len(cams) + 1
    fig, axes = plt.subplots(1, n, figsize=(2.5 * n + 0.8, 3.2), layout="constrained")
    imshow_image(axes[0], first.image)
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
    fig.suptitle(f"{cam_title(first, class_names).splitlines()[0]}, per branch of {first.layer}", fontsize=10)
    return fig


def plot_sanity_check(check: SanityCheck, class_names: Sequence[str] | None = None, box: Sequence[int] | None = None,
                      alpha: float = 0.55) -> Figure:
    """Input, trained-model map and randomized-model map side by side (each scaled to its maximum)."""
    fig, axes = plt.subplots(1, 3, figsize=(10.0, 3.8), layout="constrained")
    imshow_image(axes[0], check.trained.image)
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


def first_layer_filters(model: nn.Module) -> tuple[str, Tensor]:
    """The first convolution's name and kernels (out_channels x in_channels x kh x kw)."""
    for name, module in model.named_modules():
        if isinstance(module, nn.Conv2d):
            return name, module.weight.detach().cpu()
    raise CourseError(f"{model_name(model)} has no nn.Conv2d layer, so it has no filters to show.")


def plot_first_layer_filters(model: nn.Module, max_filters: int = 64, per_filter_scale: bool = True,
                             title: str | None = None) -> Figure:
    """The first layer's kernels as small images, mid-grey = a zero weight.

    Three input channels are shown as RGB colour (a filter that responds to red
    looks red); any other count shows input channel 0 with a diverging colormap
    and a colorbar. ``per_filter_scale`` stretches each filter to its own largest
    |weight| (shapes become visible); otherwise one scale for all (strengths compare).
    """
    name, weight = first_layer_filters(model)
    max_filters = check_int(max_filters, "max_filters", minimum=1)
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
