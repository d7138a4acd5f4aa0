"""Inputs, layer names and forward hooks: what every view of lesson 07 is built on.

* Inputs: :func:`as_batch` checks an image (C x H x W) or batch against the
  model's own ``check_input``; :func:`display_image` turns a model input back into
  an image for ``imshow``.
* Layers: :func:`layer_names` (the ``feature_info`` stages), :func:`branch_layer_names`
  (the Inception modules), :func:`resolve_layer` (a name -> the submodule, or an
  error that lists the valid names).
* Feature maps: :func:`capture_activations` (any named layer) and
  :func:`capture_branches` (each branch of an Inception module before the merge),
  one eval-mode forward pass each, every hook removed even when the pass fails.
"""
from __future__ import annotations

import difflib
from contextlib import contextmanager
from typing import Callable, Iterator, Mapping, Sequence

import numpy as np
import torch
from torch import Tensor, nn

from ..models.blocks import MultiBranch

from ..checks import CourseError, CourseTypeError, describe


def model_name(model: nn.Module) -> str:
    return type(model).__name__


def as_batch(model: nn.Module, x: Tensor, single: bool = False) -> Tensor:
    """One image (C x H x W) or a batch -> a checked N x C x H x W batch.

    Uses the model's own ``check_input`` (CourseModel) so that a wrong channel
    count or a too-small image is reported with what the model expects.
    """
    if not isinstance(x, Tensor):
        raise CourseError(
            f"x must be the image as a torch.Tensor (what you would pass to model(x)), got {describe(x)}. "
            "Convert it with torchvision.transforms.functional.to_tensor and normalize it as the model expects."
        )
    if not x.is_floating_point():
        raise CourseError(
            f"x must be a floating-point image (normalized as the model expects), got dtype {x.dtype}. "
            "Convert 0-255 pixels with x.float() / 255, then normalize with the model's mean and std."
        )
    if x.dim() == 3:
        x = x.unsqueeze(0)  # C x H x W -> 1 x C x H x W: a single image is the common case here
    check = getattr(model, "check_input", None)
    if check is not None:
        check(x)
    elif x.dim() != 4:
        raise CourseError(f"x must be an image batch of shape (N, C, H, W), got shape {tuple(x.shape)}.")
    if single and x.shape[0] != 1:
        raise CourseError(
            f"This function explains one image at a time, got a batch of {x.shape[0]} in x "
            f"(shape {tuple(x.shape)}). Pass x[i:i+1] (or x[i]) for image i."
        )
    try:
        device = next(model.parameters()).device
    except StopIteration:  # a model without parameters: leave the input where it is
        return x
    return x.to(device)


@contextmanager
def eval_mode(model: nn.Module) -> Iterator[None]:
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


def main_logits(output) -> Tensor:
    """The main head's logits, also from AuxOutputs/torchvision's GoogLeNetOutputs (training mode)."""
    if isinstance(output, Tensor):
        return output
    logits = getattr(output, "logits", None)
    if isinstance(logits, Tensor):
        return logits
    raise CourseError(
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
        f"Unknown layer {describe(layer)} for {model_name(model)}.{hint} Its stages (feature_info): "
        f"{', '.join(layer_names(model))}.{branch_part} Any name from "
        f"[name for name, _ in model.named_modules()] also works (e.g. {example!r})."
    )


def resolve_layer(model: nn.Module, layer: str) -> nn.Module:
    """The submodule called ``layer``; ValueError listing the valid names if there is none."""
    if isinstance(layer, nn.Module):
        name = next((n for n, m in model.named_modules() if m is layer and n), None)
        where = f"pass layer={name!r}" if name else f"it is not a submodule of {model_name(model)}"
        raise CourseTypeError(
            f"layer must be the layer's name (a string), not the module itself: {where}. "
            f"{model_name(model)}'s stages: {', '.join(layer_names(model))}."
        )
    if not isinstance(layer, str) or not layer:
        raise CourseError(_unknown_layer_message(model, layer))
    try:
        return model.get_submodule(layer)
    except AttributeError:
        raise CourseError(_unknown_layer_message(model, layer)) from None


def check_spatial(model: nn.Module, layer: str, output: object, for_what: str) -> None:
    """ValueError unless ``output`` is an N x C x H x W tensor, saying why it is needed."""
    stages = ", ".join(layer_names(model))
    if output is None:
        raise CourseError(
            f"Layer {layer!r} of {model_name(model)} was not used by its forward pass (it is defined but "
            f"not called, e.g. an auxiliary head in eval mode), so it has no output to show. Pick one of "
            f"its stages: {stages}."
        )
    if not isinstance(output, Tensor):
        raise CourseError(
            f"Layer {layer!r} of {model_name(model)} returns a {type(output).__name__}, not a single "
            f"feature-map tensor, so {for_what} cannot use it. Pick one of its stages: {stages}."
        )
    if output.dim() != 4:
        raise CourseError(
            f"Layer {layer!r} of {model_name(model)} outputs shape {tuple(output.shape)}: it has no "
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


def probe_forward(model: nn.Module, x: Tensor, layers: Sequence[str], keep: bool) -> tuple[Tensor, dict[str, object]]:
    """One eval-mode forward pass without gradients: logits and the listed layers' outputs."""
    modules = {name: resolve_layer(model, name) for name in layers}
    probe = _Probe(modules, keep)
    with eval_mode(model), torch.no_grad(), probe.hooked():
        logits = main_logits(model(x))
    return logits, probe.outputs


def capture_activations(model: nn.Module, x: Tensor, layers: str | Sequence[str]) -> dict[str, Tensor]:
    """What the named layers output for ``x``: ``{layer: N x C x H x W tensor}``.

    ``layers`` are names from ``feature_info`` or any ``model.named_modules()``
    name. One forward pass in eval mode, without gradients; the hooks are removed
    even if the forward pass raises.
    """
    if isinstance(layers, nn.Module):
        resolve_layer(model, layers)  # says: pass the layer's name
    if not isinstance(layers, (str, list, tuple)):
        raise CourseTypeError(f"layers must be a layer name or a list of names, got {describe(layers)}.")
    names = [layers] if isinstance(layers, str) else list(layers)
    if not names:
        raise CourseError(f"layers is empty: give at least one layer name; {model_name(model)}'s stages: {', '.join(layer_names(model))}.")
    x = as_batch(model, x)
    _, outputs = probe_forward(model, x, names, keep=True)
    for name in names:
        check_spatial(model, name, outputs.get(name), "a feature-map view")
    return {name: outputs[name] for name in names}


@contextmanager
def spliced_branches(
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


def check_multibranch(model: nn.Module, layer: str) -> MultiBranch:
    module = resolve_layer(model, layer)
    if not isinstance(module, MultiBranch):
        names = branch_layer_names(model)
        valid = f"Its Inception modules: {', '.join(names)}." if names else f"{model_name(model)} has none."
        raise CourseError(
            f"Layer {layer!r} of {model_name(model)} is a {type(module).__name__}, not an Inception "
            f"module (MultiBranch), so it has no branches to show separately. {valid}"
        )
    return module


def _branches_not_seen(model: nn.Module, layer: str) -> ValueError:
    return ValueError(
        f"Inception module {layer!r} of {model_name(model)} was not run by the forward pass, or its "
        "forward does not call self.forward_branches, so its branches cannot be taken apart."
    )


def capture_branches(model: nn.Module, x: Tensor, layer: str) -> dict[str, Tensor]:
    """Each branch of the Inception module ``layer`` before concatenation: ``{branch: N x C_b x H x W}``.

    Ordered as concatenated (GoogLeNet, Szegedy et al. 2014, Figure 2(b): 1x1,
    3x3, 5x5, pool projection). Eval mode, no gradients, nothing left patched.
    """
    module = check_multibranch(model, layer)
    x = as_batch(model, x)
    captured, _ = branch_probe(model, x, module, layer)
    return captured


def branch_probe(model: nn.Module, x: Tensor, module: MultiBranch, layer: str) -> tuple[dict[str, Tensor], Tensor]:
    """One eval-mode forward pass without gradients: the branches of ``module`` and the logits."""
    captured: dict[str, Tensor] = {}

    def keep(outputs: dict[str, Tensor]) -> dict[str, Tensor]:
        # clone: the merge may apply an in-place ReLU to what we keep
        captured.update({name: out.detach().clone() for name, out in outputs.items()})
        return outputs

    with eval_mode(model), torch.no_grad(), spliced_branches(module, keep):
        logits = main_logits(model(x))
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


def shown_image(model: nn.Module | None, x: Tensor, image) -> np.ndarray:
    if image is not None:
        return display_image(image)
    pre = getattr(model, "preprocess", None)
    return display_image(x, getattr(pre, "mean", None), getattr(pre, "std", None))
