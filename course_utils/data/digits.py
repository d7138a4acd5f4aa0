"""Real handwritten digits for transfer learning, bundled with scikit-learn (lesson 08).

``sklearn.datasets.load_digits`` ships 1,797 scans of handwritten digits (UCI
"Optical Recognition of Handwritten Digits": 8 x 8 pixels, values 0-16, ten
classes, about 180 per class) inside the scikit-learn package itself, so the
lesson needs no download. They are the *target* task of lesson 08: a mini model
pretrained on the embedded shapes (48 px, ten shape classes) is reused on them.

* :func:`digits_splits` - a fixed, stratified train/test split (the same test set
  for every seed and every training-set size), upsampled to the minis' input
  size (bilinear), copied into 3 channels and normalized exactly like the
  embedded shapes the minis were trained on (:data:`EMBEDDED_MEAN`,
  :data:`EMBEDDED_STD`; ``model.preprocess`` of a shipped checkpoint says the same).
* :func:`digits_subset` - k labelled images per class, the few-label regime.
* :func:`plot_digits` - raw 8 x 8 scans next to what the network sees.

Nothing is cached on disk (it takes well under a second); the upsampled tensor
is memoized in the process, per size.
"""
from __future__ import annotations

from functools import lru_cache
from typing import NamedTuple

import torch
from torch import Tensor
from torch.nn import functional as F
from torch.utils.data import Dataset

from ..checks import CourseError, CourseTypeError, check_fraction, check_int, describe
from .shapes import DEFAULT_SIZE, EMBEDDED_MEAN, EMBEDDED_STD

#: Digits are 0-16 (4-bit gray levels of the 32 x 32 bitmaps, counted over 4 x 4 blocks).
DIGITS_MAX_VALUE = 16
DIGITS_CLASSES: tuple[str, ...] = tuple(str(d) for d in range(10))


class Digits(Dataset):
    """Handwritten digits as ``(image, label)`` pairs for a mini model.

    ``images`` is float N x 3 x size x size, normalized with the embedded data's
    mean and std; ``labels`` int64; ``raw`` the original 8 x 8 scans (float,
    0-16); ``indices`` the rows of ``load_digits()`` they come from.
    """

    classes: tuple[str, ...] = DIGITS_CLASSES

    def __init__(self, images: Tensor, labels: Tensor, raw: Tensor, indices: Tensor, split: str) -> None:
        self.images, self.labels, self.raw, self.indices, self.split = images, labels, raw, indices, split
        self.size = images.shape[-1]

    def __len__(self) -> int:
        return len(self.labels)

    def __getitem__(self, index: int) -> tuple[Tensor, Tensor]:
        return self.images[index], self.labels[index]

    def take(self, rows: Tensor, split: str | None = None) -> "Digits":
        """A new :class:`Digits` holding ``rows`` of this one (copies)."""
        rows = torch.as_tensor(rows, dtype=torch.long)
        return Digits(self.images[rows], self.labels[rows], self.raw[rows], self.indices[rows], split or self.split)

    def class_counts(self) -> list[int]:
        return torch.bincount(self.labels, minlength=len(self.classes)).tolist()

    def __repr__(self) -> str:
        return f"Digits(split={self.split!r}, n={len(self)}, size={self.size}, per class={self.class_counts()})"


class DigitsSplits(NamedTuple):
    """What :func:`digits_splits` returns."""

    train: Digits
    test: Digits


@lru_cache(maxsize=4)
def _all_digits(size: int) -> tuple[Tensor, Tensor, Tensor]:
    """(normalized images N x 3 x size x size, labels, raw 8 x 8), memoized per size."""
    from sklearn.datasets import load_digits

    bunch = load_digits()
    raw = torch.as_tensor(bunch.images, dtype=torch.float32)  # N x 8 x 8, 0..16
    labels = torch.as_tensor(bunch.target, dtype=torch.int64)
    x = (raw / DIGITS_MAX_VALUE).unsqueeze(1)  # N x 1 x 8 x 8 in [0, 1]
    x = F.interpolate(x, size=(size, size), mode="bilinear", align_corners=False).clamp_(0, 1)
    x = x.expand(-1, 3, -1, -1)  # gray -> the 3 channels the minis take
    mean = torch.tensor(EMBEDDED_MEAN).view(1, 3, 1, 1)
    std = torch.tensor(EMBEDDED_STD).view(1, 3, 1, 1)
    return ((x - mean) / std).contiguous(), labels, raw


def digits_splits(size: int = DEFAULT_SIZE, test_fraction: float = 0.3, seed: int = 0) -> DigitsSplits:
    """The digits as a fixed stratified ``(train, test)`` split of :class:`Digits` datasets.

    Args:
        size: side of the upsampled images (the minis take 48).
        test_fraction: share of each class held out for testing.
        seed: seed of the split itself. Keep the default: every experiment of the
            lesson uses split 0, so every training seed and size is tested on the same images.
    """
    from sklearn.model_selection import train_test_split

    size = check_int(size, "size", minimum=8, maximum=512, hint="The minis take 48 px images.")
    test_fraction = check_fraction(test_fraction, "test_fraction", hint="0.3 holds out 30% of each class.")
    if not 0.05 <= test_fraction <= 0.9:
        raise CourseError(f"test_fraction must be between 0.05 and 0.9, got {test_fraction}.")
    seed = check_int(seed, "seed", minimum=0)
    images, labels, raw = _all_digits(size)
    rows = torch.arange(len(labels))
    train_rows, test_rows = train_test_split(rows.numpy(), test_size=test_fraction, stratify=labels.numpy(),
                                             random_state=seed)
    train_rows, test_rows = torch.as_tensor(sorted(train_rows)), torch.as_tensor(sorted(test_rows))
    full = Digits(images, labels, raw, rows, "all")
    return DigitsSplits(full.take(train_rows, "train"), full.take(test_rows, "test"))


def digits_subset(dataset: Digits, labels_per_class: int | None, seed: int = 0) -> Digits:
    """The first ``labels_per_class`` images of each class in a permutation seeded by ``seed``.

    ``None`` keeps every image. Different seeds give different labelled images;
    a larger k with the same seed keeps the smaller k's images (the permutation
    is the same), so the sizes are nested.
    """
    if not isinstance(dataset, Digits):
        raise CourseTypeError(f"dataset must be a Digits dataset (from digits_splits()), got {describe(dataset)}.")
    seed = check_int(seed, "seed", minimum=0)
    if labels_per_class is None:
        return dataset
    smallest = min(c for c in dataset.class_counts() if c > 0)
    k = check_int(labels_per_class, "labels_per_class", minimum=1,
                  hint="It is the number of labelled images per class, or None for all.")
    if k > smallest:
        raise CourseError(
            f"labels_per_class={k} is more than the smallest class holds in this {dataset.split} split: at most "
            f"{smallest} (or None for every image)."
        )
    order = torch.randperm(len(dataset), generator=torch.Generator().manual_seed(seed))
    keep = torch.cat([order[dataset.labels[order] == c][:k] for c in range(len(dataset.classes))])
    return dataset.take(keep.sort().values)


def plot_digits(dataset: Digits | None = None, seed: int = 0):
    """One digit per class: the raw 8 x 8 scan (top) and the upsampled image the network sees (bottom).

    Returns the matplotlib Figure.
    """
    import matplotlib.pyplot as plt

    dataset = digits_splits().train if dataset is None else dataset
    if not isinstance(dataset, Digits):
        raise CourseTypeError(f"dataset must be a Digits dataset (from digits_splits()), got {describe(dataset)}.")
    one = digits_subset(dataset, 1, seed)
    one = one.take(one.labels.argsort())  # 0 to 9, left to right
    fig, axes = plt.subplots(2, len(one.classes), figsize=(9, 2.3), squeeze=False)
    mean, std = EMBEDDED_MEAN[0], EMBEDDED_STD[0]
    for j in range(len(one)):
        axes[0, j].imshow(one.raw[j].numpy(), cmap="gray", vmin=0, vmax=DIGITS_MAX_VALUE)
        axes[0, j].set_title(f"{int(one.labels[j])}", fontsize=9)
        axes[1, j].imshow((one.images[j, 0] * std + mean).numpy(), cmap="gray", vmin=0, vmax=1)
        for ax in axes[:, j]:
            ax.set_xticks([])
            ax.set_yticks([])
    axes[0, 0].set_ylabel("8 x 8", fontsize=9)
    axes[1, 0].set_ylabel(f"{one.size} x {one.size}", fontsize=9)
    fig.suptitle("handwritten digits (scikit-learn): raw scans and the upsampled network input", fontsize=10)
    fig.tight_layout()
    return fig
