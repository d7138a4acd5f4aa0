"""Real photographs for filters, feature maps and Grad-CAM (lessons 01, 06, 07, 08).

Five public-domain/CC0 photos under ``data/photos/``, their sources in
``data/photos/SOURCES.md``: :func:`load_photo` reads one, :func:`photo_batch`
prepares several as a model's input.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import Tensor

from ..checks import CourseError, CourseTypeError, check_int, describe, did_you_mean
from ..paths import data_dir



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

    if not isinstance(name, str) or name not in PHOTOS:
        raise (CourseError if isinstance(name, str) else CourseTypeError)(
            f"Unknown photo {describe(name)} (argument name).{did_you_mean(name, PHOTOS)} "
            f"Available: {', '.join(PHOTOS)}."
        )
    path = photos_dir() / PHOTOS[name].file
    with Image.open(path) as im:
        x = TF.pil_to_tensor(im.convert("RGB")).float().div_(255)
    if size is not None:
        size = check_int(size, "size", minimum=1, hint="It is the shorter side in pixels.")
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

    from ..models.base import PreprocessConfig

    if preprocess is not None and not isinstance(preprocess, PreprocessConfig):
        raise CourseTypeError(
            f"preprocess must be a model's PreprocessConfig, got {describe(preprocess)}: pass model.preprocess."
        )
    cfg = preprocess if preprocess is not None else PreprocessConfig()
    if isinstance(names, str):
        names = [names]  # one photo, not one per letter of its name
    if names is not None and not isinstance(names, (list, tuple)):
        raise CourseTypeError(f"names must be a list of photo names such as ['chelsea', 'coffee'], got {describe(names)}.")
    names = photo_names() if names is None else list(names)
    side = check_int(size if size is not None else cfg.input_size[-1], "size", minimum=1,
                     hint="It is the side of the square images in pixels.")
    resize_to = int(math.floor(side / cfg.crop_pct))
    batch = []
    for name in names:
        x = load_photo(name)
        x = TF.resize(x, resize_to, antialias=True)
        x = TF.center_crop(x, [side, side])
        batch.append(TF.normalize(x, cfg.mean, cfg.std))
    return torch.stack(batch)

