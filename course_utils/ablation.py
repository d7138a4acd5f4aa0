"""Probing a trained multi-branch network: accuracy by object size, one branch switched off (lesson 02).

The embedded shapes dataset draws every object at a known radius
(``EmbeddedShapes.radii``, in pixels), so accuracy can be split by object size.
:func:`accuracy_by_size` does that; :func:`ablate_branch` zeroes the output of
one branch of one Inception module (a forward hook, removed on exit), and
:func:`branch_ablation` combines the two: accuracy per size bin with each branch
of a module zeroed in turn. GoogLeNet's paper argues for parallel 1x1/3x3/5x5
branches because "salient parts ... can have extremely large variation in size"
(Section 4); this is how to ask a trained network which branch it leans on for
small and for large objects.
"""
from __future__ import annotations

from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import Tensor, nn

from .models.blocks import MultiBranch

__all__ = [
    "SIZE_BINS",
    "SizeAccuracy",
    "ablate_branch",
    "accuracy_by_size",
    "branch_ablation",
    "branch_names",
    "predict",
]

#: Object radius as a fraction of the image side: bin edges of "small" to "large".
#: The dataset draws radii uniformly from 0.10 to 0.46 of the side (``data.RADIUS_RANGE``).
SIZE_BINS: tuple[float, ...] = (0.10, 0.19, 0.28, 0.37, 0.46)


def _module(model: nn.Module, layer: str) -> MultiBranch:
    try:
        module = model.get_submodule(layer)
    except AttributeError:
        names = [n for n, m in model.named_modules() if isinstance(m, MultiBranch)]
        raise ValueError(f"{type(model).__name__} has no module {layer!r}; its multi-branch modules: {names}.") from None
    if not isinstance(module, MultiBranch):
        raise ValueError(f"{layer!r} is a {type(module).__name__}, not a multi-branch (Inception) module.")
    return module


def _labels(module: MultiBranch) -> dict[str, str]:
    """Branch label -> attribute name ("1x1" -> "branch1")."""
    labels = getattr(module, "branch_labels", None) or {
        "branch1": "1x1", "branch2": "3x3", "branch3": "5x5", "branch4": "pool proj"}
    return {label: attr for attr, label in labels.items()}


def branch_names(model: nn.Module, layer: str) -> list[str]:
    """The branch labels of module ``layer``, in concatenation order (e.g. ``["1x1", "3x3", "5x5", "pool proj"]``)."""
    return list(_labels(_module(model, layer)))


@contextmanager
def ablate_branch(model: nn.Module, layer: str, branch: str) -> Iterator[None]:
    """Inside the ``with`` block, branch ``branch`` of module ``layer`` outputs zeros.

    The module's output keeps its width (the zeroed channels are still
    concatenated), so every later layer runs unchanged: only that branch's
    information is gone. The hook is removed on exit, even after an error.
    """
    labels = _labels(_module(model, layer))
    if branch not in labels:
        raise ValueError(f"{layer} has no branch {branch!r}; its branches: {list(labels)}.")
    target = _module(model, layer).get_submodule(labels[branch])
    handle = target.register_forward_hook(lambda mod, inputs, output: torch.zeros_like(output))
    try:
        yield
    finally:
        handle.remove()


@torch.no_grad()
def predict(model: nn.Module, images: Tensor, batch_size: int = 500) -> Tensor:
    """Predicted classes of a normalized image batch N x 3 x H x W (eval mode)."""
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        preds = [model(images[i:i + batch_size].to(device)).argmax(1).cpu() for i in range(0, len(images), batch_size)]
    finally:
        model.train(was_training)
    return torch.cat(preds)


@dataclass(frozen=True)
class SizeAccuracy:
    """Accuracy per object-size bin: ``edges`` (radius / image side), ``accuracy`` and ``count`` per bin."""

    edges: tuple[float, ...]
    accuracy: tuple[float, ...]
    count: tuple[int, ...]
    overall: float

    @property
    def labels(self) -> list[str]:
        return [f"{lo:.2f}-{hi:.2f}" for lo, hi in zip(self.edges[:-1], self.edges[1:])]


def _bins(radii_fraction: Tensor, edges: Sequence[float]) -> Tensor:
    edges_t = torch.tensor(list(edges[1:-1]), dtype=radii_fraction.dtype)
    return torch.bucketize(radii_fraction, edges_t, right=True)


def accuracy_by_size(preds: Tensor, labels: Tensor, radii: Tensor, image_size: int,
                     edges: Sequence[float] = SIZE_BINS) -> SizeAccuracy:
    """Accuracy of ``preds`` per bin of object radius (as a fraction of ``image_size``)."""
    if not (len(preds) == len(labels) == len(radii)):
        raise ValueError(f"preds, labels and radii must be equally long, got {len(preds)}, {len(labels)}, {len(radii)}.")
    if len(edges) < 2 or list(edges) != sorted(edges):
        raise ValueError(f"edges must be at least two increasing numbers, got {edges!r}.")
    right = (preds == labels).float()
    which = _bins(radii.float() / image_size, edges)
    accuracy, count = [], []
    for b in range(len(edges) - 1):
        mask = which == b
        count.append(int(mask.sum()))
        accuracy.append(float(right[mask].mean()) if mask.any() else float("nan"))
    return SizeAccuracy(tuple(edges), tuple(accuracy), tuple(count), float(right.mean()))


def branch_ablation(model: nn.Module, dataset, layer: str, indices: Sequence[int] | Tensor | None = None,
                    edges: Sequence[float] = SIZE_BINS) -> dict[str, SizeAccuracy]:
    """Accuracy by object size with nothing ablated (``"none"``) and with each branch of ``layer`` zeroed.

    ``dataset`` is an ``EmbeddedShapes`` split (it has ``labels`` and ``radii``);
    ``indices`` picks a subset (default: all of it).
    """
    idx = torch.arange(len(dataset)) if indices is None else torch.as_tensor(indices)
    images = dataset.normalized(idx)
    labels, radii = dataset.labels[idx], dataset.radii[idx]
    size = images.shape[-1]
    results = {"none": accuracy_by_size(predict(model, images), labels, radii, size, edges)}
    for branch in branch_names(model, layer):
        with ablate_branch(model, layer, branch):
            results[branch] = accuracy_by_size(predict(model, images), labels, radii, size, edges)
    return results
