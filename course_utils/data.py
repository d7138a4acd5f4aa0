"""The course's data: an embedded shapes dataset, real photographs, opt-in real datasets.

Three sources, from always-there to opt-in (see ``data/README.md``):

* **Embedded shapes** (every lesson that trains, 02-08): ten shape classes drawn
  procedurally at scales from a few pixels to most of the image, on cluttered,
  noisy backgrounds. Deterministic from a seed, generated in seconds with NumPy,
  cached under ``data/cache/``. Objects of widely varying size are the point: the
  GoogLeNet paper (Szegedy et al., 2014, section 4) motivates parallel 1x1/3x3/5x5
  branches by "salient parts" that "can have extremely large variation in size".
  ``embedded_dataset``, ``embedded_loaders``, ``plot_samples``.
* **Photographs** (lessons 01, 06, 07, 08): five public-domain/CC0 photos under
  ``data/photos/`` with their sources in ``data/photos/SOURCES.md``.
  ``load_photo``, ``photo_batch``.
* **Real datasets, opt-in**: CIFAR-10 and Fashion-MNIST through torchvision, any
  ImageFolder tree (e.g. Imagenette). Offline, a missing dataset fails within
  seconds with :class:`DatasetUnavailableError`, which says where to put the files.
  ``cifar10``, ``fashion_mnist``, ``imagenette``, ``image_folder``.
"""
from __future__ import annotations

import math
import os
import socket
import tempfile
import threading
import time
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, NamedTuple
from urllib.parse import urlparse

import numpy as np
import torch
from torch import Tensor
from torch.utils.data import DataLoader, Dataset

from .paths import data_dir

# ---------------------------------------------------------------------------
# The embedded shapes dataset
# ---------------------------------------------------------------------------

#: Bump whenever the generator's output changes: cached files of other versions are rebuilt.
GENERATOR_VERSION = 1

#: The ten classes, in label order. Four solid shapes, three outlines/thin shapes,
#: one cut-out shape and two textures: some are told apart by their outline at the
#: object's full size, others by fine detail (a ring's hole, a stripe's period),
#: which is what branches with different kernel sizes can share out between them.
CLASS_NAMES: tuple[str, ...] = (
    "disk",
    "ring",
    "square",
    "frame",
    "triangle",
    "cross",
    "star",
    "crescent",
    "stripes",
    "checker",
)
NUM_CLASSES = len(CLASS_NAMES)

DEFAULT_SIZE = 48
#: Images per split when no count is given.
SPLIT_SIZES: dict[str, int] = {"train": 10_000, "val": 2_000, "test": 2_000}
_SPLIT_STREAM = {"train": 0, "val": 1, "test": 2}  # each split has its own random stream
MIN_SIZE, MAX_SIZE = 32, 128

#: Object radius as a fraction of the image side: 0.1 (about 10 px wide at 48 px,
#: a 3x3 kernel's business) to 0.46 (fills the image, a job for the large kernels).
RADIUS_RANGE = (0.10, 0.46)
MAX_CLUTTER = 5  # line segments drawn behind the object
#: Images are made in blocks of 500, each from its own random stream with exactly
#: 50 images per class: the first n images of a split are the same whatever n is.
#: (Changing it changes the images: bump GENERATOR_VERSION.)
BLOCK = 500

#: Channel mean and std of the training split (seed 0, 48 px), used to normalize.
EMBEDDED_MEAN = (0.501, 0.500, 0.501)
EMBEDDED_STD = (0.234, 0.234, 0.233)


class ShapeArrays(NamedTuple):
    """One generated split as NumPy arrays (what is cached on disk).

    ``images``: N x 3 x H x W uint8. ``labels``: N int64 class indices.
    ``boxes``: N x 4 int16 ground-truth box of the main object, ``(x0, y0, x1, y1)``
    in pixels with x1, y1 exclusive (torchvision's XYXY convention), taken from
    the pixels the object covers by at least half. ``radii``: N float32 object
    radius in pixels (the scale the object was drawn at).
    """

    images: np.ndarray
    labels: np.ndarray
    boxes: np.ndarray
    radii: np.ndarray


def _check_size(size: int) -> None:
    if not isinstance(size, int) or isinstance(size, bool) or not MIN_SIZE <= size <= MAX_SIZE:
        raise ValueError(
            f"size must be an integer between {MIN_SIZE} and {MAX_SIZE} pixels, got {size!r}. "
            f"The default, {DEFAULT_SIZE}, is what the shipped checkpoints were trained on."
        )


def _check_seed(seed: int) -> None:
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}.")


def _check_split(split: str) -> None:
    if split not in SPLIT_SIZES:
        raise ValueError(f"split must be one of {', '.join(map(repr, SPLIT_SIZES))}, got {split!r}.")


def _sample_parameters(rng: np.random.Generator, n: int, size: int) -> dict[str, np.ndarray]:
    """Draw everything random about ``n`` images (one block) up front."""
    f32 = np.float32
    labels = rng.permutation(np.arange(n) % NUM_CLASSES)  # balanced classes, shuffled
    lo, hi = RADIUS_RANGE
    # Log-uniform radius: as many objects between 5 and 10 px as between 10 and 20 px.
    radius = size * np.exp(rng.uniform(math.log(lo), math.log(hi), n))
    margin = 0.95 * radius  # every shape fits in a circle of 0.95 radius: keep it inside
    cx = rng.uniform(margin, size - margin)
    cy = rng.uniform(margin, size - margin)
    theta = rng.uniform(0.0, 2 * math.pi, n)
    # Background: a colour fading to a nearby colour along a random direction.
    bg0 = rng.uniform(0.15, 0.85, (n, 3))
    bg1 = np.clip(bg0 + rng.uniform(-0.2, 0.2, (n, 3)), 0.0, 1.0)
    bg_angle = rng.uniform(0.0, 2 * math.pi, n)
    # Low-frequency "plasma": three plane waves of 0.5-3 cycles per image.
    wave_freq = rng.uniform(0.5, 3.0, (n, 3)) * 2 * math.pi / size
    wave_angle = rng.uniform(0.0, 2 * math.pi, (n, 3))
    wave_phase = rng.uniform(0.0, 2 * math.pi, (n, 3))
    wave_amp = rng.uniform(0.0, 0.05, (n, 3))
    # Object colour: lighter on dark backgrounds, darker on light ones, by 0.3-0.55
    # in every channel, with some colour jitter. Contrast never encodes the class.
    sign = np.where(bg0.mean(1, keepdims=True) < 0.5, 1.0, -1.0)
    fg = np.clip(bg0 + sign * rng.uniform(0.3, 0.55, (n, 1)) + rng.uniform(-0.15, 0.15, (n, 3)), 0, 1)
    # Clutter: 0-5 thin line segments with random colours, drawn behind the object.
    n_clutter = rng.integers(0, MAX_CLUTTER + 1, n)
    seg = rng.uniform(0, size, (n, MAX_CLUTTER, 4))
    seg_width = rng.uniform(0.6, 1.6, (n, MAX_CLUTTER))
    seg_colour = rng.uniform(0.0, 1.0, (n, MAX_CLUTTER, 3))
    noise_sigma = rng.uniform(0.02, 0.08, n)
    out = dict(
        labels=labels, radius=radius, cx=cx, cy=cy, theta=theta, bg0=bg0, bg1=bg1, bg_angle=bg_angle,
        wave_freq=wave_freq, wave_angle=wave_angle, wave_phase=wave_phase, wave_amp=wave_amp, fg=fg,
        n_clutter=n_clutter, seg=seg, seg_width=seg_width, seg_colour=seg_colour, noise_sigma=noise_sigma,
    )
    return {k: (v.astype(f32) if v.dtype == np.float64 else v) for k, v in out.items()}


# -- signed distance functions, in units of the object radius (negative = inside) --


def _box(u: np.ndarray, v: np.ndarray, half: float) -> np.ndarray:
    return np.maximum(np.abs(u), np.abs(v)) - half


def _sdf_disk(u, v):
    return np.hypot(u, v) - 0.9


def _sdf_ring(u, v):
    return np.abs(np.hypot(u, v) - 0.7) - 0.2


def _sdf_square(u, v):
    return _box(u, v, 0.68)


def _sdf_frame(u, v):
    return np.abs(np.maximum(np.abs(u), np.abs(v)) - 0.5) - 0.18


def _sdf_triangle(u, v):
    # Equilateral triangle inscribed in a circle of radius 0.95: the intersection of
    # three half-planes at the inradius (0.475) with normals 120 degrees apart.
    d = [u * math.cos(a) + v * math.sin(a) for a in (math.pi / 2, math.pi / 2 + 2 * math.pi / 3,
                                                     math.pi / 2 + 4 * math.pi / 3)]
    return np.maximum(np.maximum(d[0], d[1]), d[2]) - 0.475


def _sdf_cross(u, v):
    au, av = np.abs(u), np.abs(v)
    return np.minimum(np.maximum(au - 0.9, av - 0.28), np.maximum(au - 0.28, av - 0.9))


def _sdf_star(u, v):
    # Five points: the radius of the outline swings between 0.42 and 0.95 with the angle.
    phase = np.arctan2(v, u) * (5 / (2 * math.pi))
    w = np.abs(phase - np.floor(phase) - 0.5) * 2  # 1 at a point, 0 between points
    return (np.hypot(u, v) - (0.42 + 0.53 * w**1.5)) * 0.6  # 0.6: the outline is steep


def _sdf_crescent(u, v):
    return np.maximum(np.hypot(u, v) - 0.9, 0.7 - np.hypot(u - 0.45, v))


def _sdf_stripes(u, v):
    period = 0.72  # two bright stripes across the patch
    t = u / period
    stripe = (np.abs(t - np.floor(t) - 0.5) - 0.25) * period
    return np.maximum(_box(u, v, 0.68), stripe)


def _sdf_checker(u, v):
    cell = 0.68  # a 2 x 2 checkerboard filling the patch
    # Triangle waves of period 2 cells that change sign at u = 0 and v = 0.
    tu = np.abs(np.mod(u / cell + 0.5, 2.0) - 1.0) - 0.5
    tv = np.abs(np.mod(v / cell + 0.5, 2.0) - 1.0) - 0.5
    checker = -np.sign(tu * tv) * np.minimum(np.abs(tu), np.abs(tv)) * cell
    return np.maximum(_box(u, v, 0.68), checker)


_SDFS: tuple[Callable[[np.ndarray, np.ndarray], np.ndarray], ...] = (
    _sdf_disk, _sdf_ring, _sdf_square, _sdf_frame, _sdf_triangle,
    _sdf_cross, _sdf_star, _sdf_crescent, _sdf_stripes, _sdf_checker,
)
assert len(_SDFS) == NUM_CLASSES


def _render_block(p: dict[str, np.ndarray], size: int, rng: np.random.Generator) -> ShapeArrays:
    """Render the images whose parameters are ``p`` (all arrays of length B)."""
    n = len(p["labels"])
    xs = (np.arange(size, dtype=np.float32) + 0.5)  # pixel centres
    X, Y = xs[None, None, :], xs[None, :, None]  # 1 x 1 x W, 1 x H x 1
    col = lambda a: a[:, None, None]  # noqa: E731  per-image scalar -> B x 1 x 1

    # Background: linear gradient between two colours + low-frequency waves.
    c = size / 2
    t = ((X - c) * col(np.cos(p["bg_angle"])) + (Y - c) * col(np.sin(p["bg_angle"]))) / size + 0.5
    t = t[:, None]  # B x 1 x H x W
    img = p["bg0"][:, :, None, None] * (1 - t) + p["bg1"][:, :, None, None] * t  # B x 3 x H x W
    for k in range(3):
        fx, a = p["wave_freq"][:, k], p["wave_angle"][:, k]
        proj = X * col(fx * np.cos(a)) + Y * col(fx * np.sin(a)) + col(p["wave_phase"][:, k])
        img = img + (col(p["wave_amp"][:, k]) * np.cos(proj))[:, None]

    # Clutter: anti-aliased line segments (distance from each pixel to the segment).
    for j in range(MAX_CLUTTER):
        x0, y0, x1, y1 = (col(p["seg"][:, j, i]) for i in range(4))
        dx, dy = x1 - x0, y1 - y0
        s = np.clip(((X - x0) * dx + (Y - y0) * dy) / (dx * dx + dy * dy + 1e-6), 0, 1)
        dist = np.hypot(X - (x0 + s * dx), Y - (y0 + s * dy))
        alpha = np.clip(col(p["seg_width"][:, j]) / 2 - dist + 0.5, 0, 1)
        alpha = alpha * col((j < p["n_clutter"]).astype(np.float32))
        img = img * (1 - alpha[:, None]) + p["seg_colour"][:, j, :, None, None] * alpha[:, None]

    # The object: pixel coordinates -> the object's own rotated frame, in radii.
    r, th = col(p["radius"]), col(p["theta"])
    dx, dy = X - col(p["cx"]), Y - col(p["cy"])
    u = (dx * np.cos(th) + dy * np.sin(th)) / r
    v = (-dx * np.sin(th) + dy * np.cos(th)) / r
    sd = np.empty((n, size, size), dtype=np.float32)
    for k, sdf in enumerate(_SDFS):
        idx = p["labels"] == k
        if idx.any():
            sd[idx] = sdf(u[idx], v[idx])
    # Coverage of each pixel from the signed distance in pixels: a one-pixel ramp (anti-aliasing).
    alpha = np.clip(0.5 - sd * r, 0, 1)
    img = img * (1 - alpha[:, None]) + p["fg"][:, :, None, None] * alpha[:, None]

    img = img + rng.standard_normal(img.shape, dtype=np.float32) * p["noise_sigma"][:, None, None, None]
    images = np.round(np.clip(img, 0, 1) * 255).astype(np.uint8)

    # Ground-truth box of the object: rows/columns with at least one pixel >= half covered.
    inside = alpha >= 0.5
    rows, cols = inside.any(2), inside.any(1)  # B x H, B x W
    y0, x0 = rows.argmax(1), cols.argmax(1)
    y1, x1 = size - rows[:, ::-1].argmax(1), size - cols[:, ::-1].argmax(1)
    boxes = np.stack([x0, y0, x1, y1], 1).astype(np.int16)
    return ShapeArrays(images, p["labels"].astype(np.int64), boxes, p["radius"].astype(np.float32))


def generate_shapes(n: int, seed: int = 0, size: int = DEFAULT_SIZE, split: str = "train") -> ShapeArrays:
    """The first ``n`` images of a split of the embedded dataset (no cache; a pure function).

    Images come in blocks of :data:`BLOCK`; block ``b`` of a split is drawn from
    ``numpy.random.SeedSequence([seed, split, GENERATOR_VERSION, b])``. So the
    result depends only on the seed, size, split and generator version, the
    splits never share an image, and a smaller ``n`` gives a prefix of a larger
    one (``generate_shapes(300)`` is ``generate_shapes(2000)[:300]``).
    Every full block holds each class exactly 50 times.
    """
    if not isinstance(n, int) or isinstance(n, bool) or n < 1:
        raise ValueError(f"n must be a positive number of images, got {n!r}.")
    _check_seed(seed)
    _check_size(size)
    _check_split(split)
    blocks = []
    for b in range(-(-n // BLOCK)):  # ceil(n / BLOCK)
        rng = np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_STREAM[split], GENERATOR_VERSION, b]))
        params = _sample_parameters(rng, BLOCK, size)
        blocks.append(_render_block(params, size, rng))  # the whole block, so the noise never depends on n
    return ShapeArrays(*(np.concatenate(a)[:n] for a in zip(*blocks)))


# -- the on-disk cache ------------------------------------------------------------


def cache_dir() -> Path:
    """``data/cache/``: generated files, safe to delete (they are rebuilt on demand)."""
    return data_dir() / "cache"


def _cache_path(n: int, seed: int, size: int, split: str) -> Path:
    return cache_dir() / f"shapes-v{GENERATOR_VERSION}-seed{seed}-{size}px-{split}-{n}.npz"


def _read_cache(path: Path) -> ShapeArrays | None:
    """The cached arrays, or None when the file is missing, stale or unreadable."""
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as f:
            if int(f["generator_version"]) != GENERATOR_VERSION:
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
            np.savez(f, generator_version=np.int64(GENERATOR_VERSION), **arrays._asdict())
        os.chmod(tmp, 0o644)  # mkstemp creates the file private (0600)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    stale_pattern = path.name.replace(f"shapes-v{GENERATOR_VERSION}-", "shapes-v*-")
    for old in path.parent.glob(stale_pattern):
        if old != path:
            old.unlink(missing_ok=True)


def load_shapes(
    split: str = "train", seed: int = 0, size: int = DEFAULT_SIZE, n: int | None = None, cache: bool = True
) -> ShapeArrays:
    """The first ``n`` images of a split (all of it by default), from ``data/cache/`` when possible.

    A whole split (or more) is cached: the file's name holds the generator
    version, seed, size, split and count, and the file records the version
    again, so a change of :data:`GENERATOR_VERSION` rebuilds it. Fewer images
    are a slice of the cached split when it exists, else generated directly
    (a prefix needs only its own blocks). A read-only data folder just means no cache.
    """
    _check_split(split)
    full = SPLIT_SIZES[split]
    n = full if n is None else n
    if not cache:
        return generate_shapes(n, seed, size, split)
    _check_seed(seed)
    _check_size(size)
    if isinstance(n, int) and 0 < n < full:
        cached = _read_cache(_cache_path(full, seed, size, split))
        return ShapeArrays(*(a[:n] for a in cached)) if cached is not None else generate_shapes(n, seed, size, split)
    path = _cache_path(n, seed, size, split)
    arrays = _read_cache(path)
    if arrays is None:
        arrays = generate_shapes(n, seed, size, split)
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
        self.split, self.seed, self.augment = split, seed, bool(augment)
        self.size = self.images.shape[-1]
        self.generator_version = GENERATOR_VERSION
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
    ``sizes`` overrides the number of images per split, e.g. ``{"train": 2000}``.
    Data lives in memory: ``num_workers=0`` (the default) is fastest here.
    """
    if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size < 1:
        raise ValueError(f"batch_size must be a positive integer, got {batch_size!r}.")
    sizes = dict(sizes or {})
    unknown = set(sizes) - set(SPLIT_SIZES)
    if unknown:
        raise ValueError(f"sizes has unknown splits {sorted(unknown)}; allowed: {', '.join(SPLIT_SIZES)}.")
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
    if not isinstance(per_class, int) or per_class < 1:
        raise ValueError(f"per_class must be a positive integer, got {per_class!r}.")
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


# ---------------------------------------------------------------------------
# Photographs
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Photo:
    """A photograph under ``data/photos/`` and where it came from (see SOURCES.md there)."""

    file: str
    title: str
    source: str
    license: str


PHOTOS: dict[str, Photo] = {
    "astronaut": Photo("astronaut.jpg", "Astronaut Eileen Collins", "NASA Great Images, https://flic.kr/p/r9qvLn",
                       "public domain"),
    "chelsea": Photo("chelsea.jpg", "Chelsea the cat", "Stefan van der Walt (scikit-image)", "CC0"),
    "coffee": Photo("coffee.jpg", "A coffee cup", "Rachel Michetti (scikit-image)", "CC0"),
    "rocket": Photo("rocket.jpg", "Launch of DSCOVR on a Falcon 9",
                    "SpaceX Photos, https://www.flickr.com/photos/spacexphotos/16511594820/", "public domain"),
    "hubble_deep_field": Photo("hubble_deep_field.jpg", "Hubble eXtreme Deep Field",
                               "NASA/HubbleSite, release 2012-37", "public domain"),
}


def photos_dir() -> Path:
    return data_dir() / "photos"


def photo_names() -> list[str]:
    """Names accepted by :func:`load_photo`."""
    return list(PHOTOS)


def load_photo(name: str, size: int | None = None) -> Tensor:
    """A photograph as a float tensor 3 x H x W in [0, 1] (RGB).

    ``size`` resizes the shorter side to ``size`` pixels (aspect ratio kept).
    """
    from PIL import Image
    from torchvision.transforms import functional as TF

    if name not in PHOTOS:
        raise ValueError(f"Unknown photo {name!r}. Available: {', '.join(PHOTOS)}.")
    path = photos_dir() / PHOTOS[name].file
    with Image.open(path) as im:
        x = TF.pil_to_tensor(im.convert("RGB")).float().div_(255)
    if size is not None:
        if not isinstance(size, int) or size < 1:
            raise ValueError(f"size must be a positive integer number of pixels, got {size!r}.")
        x = TF.resize(x, size, antialias=True).clamp_(0, 1)
    return x


def photo_batch(names: list[str] | tuple[str, ...] | None = None, preprocess=None, size: int | None = None) -> Tensor:
    """Photographs as one batch, ready for a model: N x 3 x S x S, normalized.

    Follows the model's ``preprocess`` (a ``PreprocessConfig``; ImageNet
    defaults without one), as timm's evaluation transform does: resize the
    shorter side to ``S / crop_pct``, centre-crop ``S x S``, normalize with
    ``mean``/``std``. ``size`` overrides S (the config's input size).
    """
    from torchvision.transforms import functional as TF

    from .models.base import PreprocessConfig

    cfg = preprocess if preprocess is not None else PreprocessConfig()
    names = photo_names() if names is None else list(names)
    side = size if size is not None else cfg.input_size[-1]
    if not isinstance(side, int) or side < 1:
        raise ValueError(f"size must be a positive integer number of pixels, got {side!r}.")
    resize_to = int(math.floor(side / cfg.crop_pct))
    batch = []
    for name in names:
        x = load_photo(name)
        x = TF.resize(x, resize_to, antialias=True)
        x = TF.center_crop(x, [side, side])
        batch.append(TF.normalize(x, cfg.mean, cfg.std))
    return torch.stack(batch)


# ---------------------------------------------------------------------------
# Real datasets, opt-in
# ---------------------------------------------------------------------------

#: Seconds to wait for a download server before declaring the machine offline.
NETWORK_TIMEOUT_S = 5.0

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
IMAGENETTE_URL = "https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz"
CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
FASHION_MNIST_MEAN, FASHION_MNIST_STD = (0.2860,) * 3, (0.3530,) * 3


class DatasetUnavailableError(RuntimeError):
    """A real dataset is neither on disk nor downloadable (e.g. no internet)."""


def downloads_dir() -> Path:
    """Default root of the opt-in datasets: ``data/downloads/`` (not committed)."""
    return data_dir() / "downloads"


def _server_reachable(url: str, timeout: float) -> bool:
    """Can we open a TCP connection to ``url``'s server within ``timeout`` seconds?

    The connection (DNS lookup included, which has no timeout of its own) runs in
    a daemon thread, so an unresponsive network costs ``timeout`` seconds, not minutes.
    """
    parsed = urlparse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    result: list[bool] = []

    def connect() -> None:
        try:
            socket.create_connection((parsed.hostname, port), timeout=timeout).close()
            result.append(True)
        except OSError:
            result.append(False)

    worker = threading.Thread(target=connect, daemon=True, name="course-utils-net-check")
    worker.start()
    worker.join(timeout)
    return bool(result and result[0])


def _unavailable(name: str, url: str, folder: Path, layout: str, call: str, why: str) -> DatasetUnavailableError:
    return DatasetUnavailableError(
        f"{name} is not on disk under {folder} and cannot be downloaded: {why}.\n"
        f"To use {name} offline, download {url} on a machine with internet and put the files here:\n"
        f"    {layout}\n"
        f"then call {call} again (it reads files already on disk without touching the network).\n"
        "The lessons do not need it: they train on the embedded dataset (course_utils.data.embedded_dataset)."
    )


def _download(name: str, url: str, folder: Path, layout: str, call: str, fetch: Callable[[], None]) -> None:
    """Check the server answers, then ``fetch()``; either failure -> DatasetUnavailableError."""
    start = time.monotonic()
    if not _server_reachable(url, NETWORK_TIMEOUT_S):
        why = f"{urlparse(url).hostname} did not answer within {NETWORK_TIMEOUT_S:g} s (no internet?)"
        raise _unavailable(name, url, folder, layout, call, why)
    try:
        fetch()
    except Exception as err:  # torchvision raises URLError, RuntimeError, OSError ...
        why = f"the download failed after {time.monotonic() - start:.0f} s ({type(err).__name__}: {err})"
        raise _unavailable(name, url, folder, layout, call, why) from err


def _split_is_train(split: str) -> bool:
    if split not in ("train", "test"):
        raise ValueError(f"split must be 'train' or 'test', got {split!r}.")
    return split == "train"


def _default_transform(mean, std, size: int | None, gray_to_rgb: bool = False):
    from torchvision import transforms as T

    steps = [T.Grayscale(num_output_channels=3)] if gray_to_rgb else []
    if size is not None:
        steps.append(T.Resize(size, antialias=True))
    steps += [T.ToTensor(), T.Normalize(mean, std)]
    return T.Compose(steps)


def cifar10(
    split: str = "train",
    root: str | Path | None = None,
    download: bool = True,
    transform=None,
    size: int | None = None,
    check_md5: bool = True,
):
    """CIFAR-10 (Krizhevsky, 2009) through ``torchvision.datasets.CIFAR10``; opt-in.

    Files already under ``root`` (default ``data/downloads/``) are read without
    touching the network. Otherwise, with ``download=True``, the server is checked
    first; offline this raises :class:`DatasetUnavailableError` within
    :data:`NETWORK_TIMEOUT_S` seconds, naming the URL and where the files go.

    The default transform gives normalized 3 x 32 x 32 tensors (``size`` resizes).
    ``check_md5=False`` accepts files whose checksums differ from the official
    ones, e.g. a subset you prepared in the same (pickle) format.
    """
    from torchvision.datasets import CIFAR10

    train = _split_is_train(split)
    root = Path(root) if root is not None else downloads_dir()
    transform = transform if transform is not None else _default_transform(CIFAR10_MEAN, CIFAR10_STD, size)
    cls = CIFAR10 if check_md5 else _cifar10_any_checksum_class()
    folder = root / CIFAR10.base_folder
    files = [f for f, _ in CIFAR10.train_list + CIFAR10.test_list] + [CIFAR10.meta["filename"]]
    if not all((folder / f).is_file() for f in files):
        layout = f"{folder}/{{{','.join(files)}}}   (extract {CIFAR10.filename} in {root})"
        call = "course_utils.data.cifar10(root=...)"
        if not download:
            raise _unavailable("CIFAR-10", CIFAR10_URL, root, layout, call, "download=False was given")
        _download("CIFAR-10", CIFAR10_URL, root, layout, call,
                  lambda: CIFAR10(root, train=train, download=True))
    try:
        return cls(root, train=train, transform=transform)
    except RuntimeError as err:
        raise DatasetUnavailableError(
            f"The CIFAR-10 files under {folder} are there but do not match the official checksums "
            f"({err}). Delete the folder and download again, or pass check_md5=False to read a copy "
            "you prepared yourself."
        ) from err


def _cifar10_any_checksum_class():
    """torchvision's CIFAR10, minus the checksum tests (built on call: importing torchvision.datasets is slow)."""
    from torchvision.datasets import CIFAR10

    class CIFAR10AnyChecksum(CIFAR10):
        """CIFAR10 that only checks the files exist (for subsets in the official format)."""

        def _check_integrity(self) -> bool:
            folder = Path(self.root) / self.base_folder
            return all((folder / f).is_file() for f, _ in self.train_list + self.test_list)

        def _load_meta(self) -> None:
            import pickle

            with open(Path(self.root) / self.base_folder / self.meta["filename"], "rb") as f:
                self.classes = pickle.load(f, encoding="latin1")[self.meta["key"]]
            self.class_to_idx = {c: i for i, c in enumerate(self.classes)}

    return CIFAR10AnyChecksum


def fashion_mnist(
    split: str = "train",
    root: str | Path | None = None,
    download: bool = True,
    transform=None,
    size: int | None = 32,
):
    """Fashion-MNIST (Xiao et al., 2017) through ``torchvision.datasets.FashionMNIST``; opt-in.

    Same offline behaviour as :func:`cifar10`. The default transform makes the
    28 x 28 grayscale images 3-channel and resizes them to ``size`` (32: every
    mini model accepts it; ``None`` keeps 28), normalized.
    """
    from torchvision.datasets import FashionMNIST

    train = _split_is_train(split)
    root = Path(root) if root is not None else downloads_dir()
    if transform is None:
        transform = _default_transform(FASHION_MNIST_MEAN, FASHION_MNIST_STD, size, gray_to_rgb=True)
    raw = root / "FashionMNIST" / "raw"
    files = [Path(f).stem for f, _ in FashionMNIST.resources]  # the .gz names without .gz
    if not all((raw / f).is_file() for f in files):
        layout = f"{raw}/{{{','.join(files)}}}   (the four .gz files, gunzipped)"
        call = "course_utils.data.fashion_mnist(root=...)"
        if not download:
            raise _unavailable("Fashion-MNIST", FASHION_MNIST_URL, root, layout, call, "download=False was given")
        _download("Fashion-MNIST", FASHION_MNIST_URL, root, layout, call,
                  lambda: FashionMNIST(root, train=train, download=True))
    return FashionMNIST(root, train=train, transform=transform)


def image_folder(path: str | Path, size: int = 160, transform=None, mean=None, std=None):
    """Any folder of class sub-folders (``path/<class>/<image>``) as a torchvision ``ImageFolder``.

    The default transform resizes the shorter side to ``size``, centre-crops
    ``size x size`` and normalizes (ImageNet mean/std unless given). Imagenette
    (``imagenette2-160/train``) is laid out this way: see :func:`imagenette`.
    """
    from torchvision import transforms as T
    from torchvision.datasets import ImageFolder

    from .models.base import IMAGENET_MEAN, IMAGENET_STD

    path = Path(path).expanduser()
    if not path.is_dir():
        raise DatasetUnavailableError(
            f"No folder {path}. image_folder expects one sub-folder per class holding its images, "
            f"e.g. {path}/cat/1.jpg, {path}/dog/2.png. For Imagenette, download and extract "
            f"{IMAGENETTE_URL} and pass its train/ or val/ folder (or call course_utils.data.imagenette())."
        )
    if transform is None:
        transform = T.Compose([
            T.Resize(size, antialias=True), T.CenterCrop(size), T.ToTensor(),
            T.Normalize(mean or IMAGENET_MEAN, std or IMAGENET_STD),
        ])
    try:
        return ImageFolder(path, transform=transform)
    except (FileNotFoundError, RuntimeError) as err:
        raise DatasetUnavailableError(
            f"{path} is not an image-folder tree ({err}). Expected one sub-folder per class with "
            f"images inside, e.g. {path}/cat/1.jpg."
        ) from err


def imagenette(split: str = "train", root: str | Path | None = None, download: bool = True, size: int = 160):
    """Imagenette (fast.ai's 10-class ImageNet subset, 160 px version) as an ImageFolder; opt-in.

    Same offline behaviour as :func:`cifar10`; ``split`` is ``"train"`` or ``"val"``.
    """
    if split not in ("train", "val"):
        raise ValueError(f"split must be 'train' or 'val', got {split!r}.")
    root = Path(root) if root is not None else downloads_dir()
    folder = root / "imagenette2-160" / split
    if not folder.is_dir():
        layout = f"{root}/imagenette2-160/{{train,val}}/<class>/<image>.JPEG   (extract the .tgz in {root})"
        call = "course_utils.data.imagenette(root=...)"
        if not download:
            raise _unavailable("Imagenette", IMAGENETTE_URL, root, layout, call, "download=False was given")

        def fetch() -> None:
            from torchvision.datasets.utils import download_and_extract_archive

            download_and_extract_archive(IMAGENETTE_URL, str(root))

        _download("Imagenette", IMAGENETTE_URL, root, layout, call, fetch)
    return image_folder(folder, size=size)


# ---------------------------------------------------------------------------
# Command line: python -m course_utils.data [--samples PATH]
# ---------------------------------------------------------------------------


def _main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(description="Generate (and cache) the embedded shapes dataset.")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--size", type=int, default=DEFAULT_SIZE)
    parser.add_argument("--samples", type=Path, help="also save a grid of sample images to this PNG")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    for split in SPLIT_SIZES:
        t = time.perf_counter()
        ds = embedded_dataset(split, seed=args.seed, size=args.size)
        x = ds.images.float() / 255
        print(f"{split:5s}: {len(ds):6d} images in {time.perf_counter() - t:5.1f} s, channel mean "
              f"{[round(v, 3) for v in x.mean((0, 2, 3)).tolist()]}, std {[round(v, 3) for v in x.std((0, 2, 3)).tolist()]}")
    print(f"total {time.perf_counter() - start:.1f} s; cache: {cache_dir()}")
    if args.samples:
        import matplotlib

        matplotlib.use("Agg")
        fig = plot_samples(embedded_dataset("train", seed=args.seed, size=args.size), per_class=8)
        jpeg = args.samples.suffix.lower() in (".jpg", ".jpeg")
        fig.savefig(args.samples, dpi=90, **({"pil_kwargs": {"quality": 85}} if jpeg else {}))
        print(f"wrote {args.samples}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
