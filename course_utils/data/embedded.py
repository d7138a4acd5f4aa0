"""The embedded shapes dataset as torch data: the on-disk cache, the Dataset, the loaders, a sample grid.

The images come from :func:`course_utils.data.shapes.generate_shapes`; a whole
split is cached under ``data/cache/`` (rebuilt when the generator's version changes).
"""
from __future__ import annotations

import os
import tempfile
import zipfile
from pathlib import Path
from typing import NamedTuple

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from ..checks import CourseError, check_bool, check_int, check_tensor, did_you_mean, is_int
from ..paths import data_dir
from . import shapes
from .shapes import (
    CLASS_NAMES,
    DEFAULT_SIZE,
    EMBEDDED_MEAN,
    EMBEDDED_STD,
    NUM_CLASSES,
    SPLIT_SIZES,
    ShapeArrays,
    check_seed,
    check_size,
    check_split,
)

# -- the on-disk cache ------------------------------------------------------------


def cache_dir() -> Path:
    """``data/cache/``: generated files, safe to delete (they are rebuilt on demand)."""
    return data_dir() / "cache"


def _cache_path(n: int, seed: int, size: int, split: str) -> Path:
    return cache_dir() / f"shapes-v{shapes.GENERATOR_VERSION}-seed{seed}-{size}px-{split}-{n}.npz"


def _read_cache(path: Path) -> ShapeArrays | None:
    """The cached arrays, or None when the file is missing, stale or unreadable."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            if int(f["generator_version"]) != shapes.GENERATOR_VERSION:
                return None
            return ShapeArrays(*(f[k] for k in ShapeArrays._fields))
    except (OSError, KeyError, ValueError, zipfile.BadZipFile, EOFError):
        return None


def _write_cache(path: Path, arrays: ShapeArrays) -> None:
    """Write atomically (temporary file, then rename) and remove other versions of the same split."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.stem, suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            np.savez(f, generator_version=np.int64(shapes.GENERATOR_VERSION), **arrays._asdict())
        os.chmod(tmp, 0o644)  # mkstemp creates the file private (0600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    stale_pattern = path.name.replace(f"shapes-v{shapes.GENERATOR_VERSION}-", "shapes-v*-")
    for old in path.parent.glob(stale_pattern):
        if old != path:
            old.unlink(missing_ok=True)


def load_shapes(
    split: str = "train", seed: int = 0, size: int = DEFAULT_SIZE, n: int | None = None, cache: bool = True
) -> ShapeArrays:
    """The first ``n`` images of a split (all of it by default), from ``data/cache/`` when possible.

    A whole split (or more) is cached: the file's name holds the generator
    version, seed, size, split and count, and the file records the version
    again, so a change of :data:`~course_utils.data.shapes.GENERATOR_VERSION` rebuilds it. Fewer images
    are a slice of the cached split when it exists, else generated directly
    (a prefix needs only its own blocks). A read-only data folder just means no cache.
    """
    check_split(split)
    full = SPLIT_SIZES[split]
    n = full if n is None else n
    if not cache:
        return shapes.generate_shapes(n, seed, size, split)
    check_seed(seed)
    check_size(size)
    if is_int(n) and 0 < n < full:
        n = int(n)
        cached = _read_cache(_cache_path(full, seed, size, split))
        return ShapeArrays(*(a[:n] for a in cached)) if cached is not None else shapes.generate_shapes(n, seed, size, split)
    path = _cache_path(n, seed, size, split)
    arrays = _read_cache(path)
    if arrays is None:
        arrays = shapes.generate_shapes(n, seed, size, split)
        try:
            _write_cache(path, arrays)
        except OSError:
            pass  # e.g. a read-only checkout: the data is regenerated next time
    return arrays


# -- torch datasets and loaders ---------------------------------------------------


class EmbeddedShapes(Dataset):
    """The embedded shapes dataset as a torch Dataset: ``(image, label)`` pairs.

    ``image`` is a float tensor 3 x size x size normalized with
    :data:`EMBEDDED_MEAN`/:data:`EMBEDDED_STD`; ``label`` an int in
    ``range(10)`` (names in ``classes``). The raw uint8 images, the object boxes
    and radii stay available as ``images``, ``boxes`` and ``radii`` (lesson 07
    checks whether Grad-CAM falls inside ``boxes[i]``).

    ``augment=True`` flips images at random, horizontally and vertically: every
    class is symmetric under flips, so labels stay right (the boxes are not
    flipped: use it for training only).
    """

    classes: tuple[str, ...] = CLASS_NAMES

    def __init__(self, arrays: ShapeArrays, split: str, seed: int, augment: bool = False) -> None:
        self.images = torch.from_numpy(arrays.images)  # N x 3 x H x W uint8
        self.labels = torch.from_numpy(arrays.labels)
        self.boxes = torch.from_numpy(arrays.boxes.astype(np.int64))
        self.radii = torch.from_numpy(arrays.radii)
        self.split, self.seed, self.augment = split, seed, check_bool(augment, "augment")
        self.size = self.images.shape[-1]
        self.generator_version = shapes.GENERATOR_VERSION
        self._mean = torch.tensor(EMBEDDED_MEAN).view(3, 1, 1)
        self._std = torch.tensor(EMBEDDED_STD).view(3, 1, 1)

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Tensor, int]:
        x = self.images[index].float().div_(255)
        if self.augment:
            if torch.rand(()) < 0.5:
                x = x.flip(-1)
            if torch.rand(()) < 0.5:
                x = x.flip(-2)
        return (x - self._mean) / self._std, int(self.labels[index])

    def normalized(self, indices=None) -> Tensor:
        """Images (all, or ``indices``) as one normalized float batch N x 3 x H x W."""
        raw = self.images if indices is None else self.images[indices]
        return (raw.float() / 255 - self._mean) / self._std

    def __repr__(self) -> str:
        return (
            f"EmbeddedShapes(split={self.split!r}, n={len(self)}, size={self.size}, seed={self.seed}, "
            f"classes={len(self.classes)}, generator_version={self.generator_version})"
        )


def embedded_dataset(
    split: str = "train",
    seed: int = 0,
    size: int = DEFAULT_SIZE,
    n: int | None = None,
    augment: bool = False,
    cache: bool = True,
) -> EmbeddedShapes:
    """The embedded shapes dataset, one split (``"train"``, ``"val"`` or ``"test"``).

    Args:
        split: which split; each has its own random stream, so they never overlap.
        seed: the dataset's seed (0 is what the shipped checkpoints used).
        size: image side in pixels, 32-128 (48 by default).
        n: number of images (default :data:`SPLIT_SIZES`); small values make quick experiments.
        augment: random flips in ``__getitem__`` (training only).
        cache: keep the generated arrays under ``data/cache/`` for next time.
    """
    return EmbeddedShapes(load_shapes(split, seed, size, n, cache), split, seed, augment)


class Loaders(NamedTuple):
    """The three DataLoaders of a dataset: ``train`` (shuffled), ``val`` and ``test``."""

    train: DataLoader
    val: DataLoader
    test: DataLoader


def embedded_loaders(
    batch_size: int = 64,
    seed: int = 0,
    size: int = DEFAULT_SIZE,
    sizes: dict[str, int] | None = None,
    augment: bool = False,
    eval_batch_size: int = 256,
    num_workers: int = 0,
) -> Loaders:
    """DataLoaders for the three splits of the embedded dataset.

    The training loader shuffles with PyTorch's global generator, so
    ``course_utils.runtime.seed_everything`` makes the order repeat.
    ``sizes`` overrides the number of images per split, e.g. ``{"train": 2000}``; a split
    given ``None`` keeps its full size (so a caller can pass its optional counts as they are).
    Data lives in memory: ``num_workers=0`` (the default) is fastest here.
    """
    batch_size = check_int(batch_size, "batch_size", minimum=1, hint="64 is a good start.")
    eval_batch_size = check_int(eval_batch_size, "eval_batch_size", minimum=1)
    num_workers = check_int(num_workers, "num_workers", minimum=0)
    sizes = {split: n for split, n in (sizes or {}).items() if n is not None}
    unknown = set(sizes) - set(SPLIT_SIZES)
    if unknown:
        raise CourseError(
            f"sizes has unknown splits {sorted(unknown)};{did_you_mean(sorted(unknown)[0], SPLIT_SIZES)} "
            f"allowed: {', '.join(SPLIT_SIZES)}."
        )
    data = {
        split: embedded_dataset(split, seed, size, sizes.get(split), augment=augment and split == "train")
        for split in SPLIT_SIZES
    }
    return Loaders(
        train=DataLoader(data["train"], batch_size=batch_size, shuffle=True, num_workers=num_workers),
        val=DataLoader(data["val"], batch_size=eval_batch_size, num_workers=num_workers),
        test=DataLoader(data["test"], batch_size=eval_batch_size, num_workers=num_workers),
    )


def denormalize(x: Tensor, mean=EMBEDDED_MEAN, std=EMBEDDED_STD) -> Tensor:
    """Undo the normalization for display: values back in [0, 1]."""
    check_tensor(x, "x")
    mean = torch.as_tensor(mean, dtype=x.dtype).view(-1, 1, 1)
    std = torch.as_tensor(std, dtype=x.dtype).view(-1, 1, 1)
    return (x * std + mean).clamp(0, 1)


def plot_samples(dataset: EmbeddedShapes | None = None, per_class: int = 8, show_boxes: bool = True):
    """A grid of examples, one row per class, with the ground-truth boxes in red.

    Returns the matplotlib Figure (end the cell with ``plt.show()``).
    """
    import matplotlib.pyplot as plt
    from matplotlib.patches import Rectangle

    if dataset is None:
        dataset = embedded_dataset("train", n=max(per_class * NUM_CLASSES * 3, 500))
    per_class = check_int(per_class, "per_class", minimum=1)
    classes = dataset.classes
    fig, axes = plt.subplots(
        len(classes), per_class, figsize=(per_class * 0.9 + 1.2, len(classes) * 0.9), squeeze=False
    )
    for k, name in enumerate(classes):
        idx = torch.nonzero(dataset.labels == k).flatten()[:per_class].tolist()
        for j in range(per_class):
            ax = axes[k, j]
            ax.set_xticks([])
            ax.set_yticks([])
            if j >= len(idx):
                ax.axis("off")
                continue
            i = idx[j]
            ax.imshow(dataset.images[i].permute(1, 2, 0).numpy(), interpolation="nearest")
            if show_boxes:
                x0, y0, x1, y1 = dataset.boxes[i].tolist()
                ax.add_patch(Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0, y1 - y0, fill=False, ec="red", lw=0.8))
        axes[k, 0].set_ylabel(name, rotation=0, ha="right", va="center", fontsize=9)
    fig.suptitle(f"Embedded shapes ({dataset.split}, {dataset.size} px): one row per class", fontsize=10)
    fig.tight_layout()
    return fig

