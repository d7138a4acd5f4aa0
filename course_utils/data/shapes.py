"""The embedded shapes dataset's generator: ten shape classes drawn procedurally (a pure function).

Every lesson that trains (02-08) uses it, through ``data.embedded``. Objects
appear at scales from a few pixels to most of the image, on cluttered, noisy
backgrounds: the GoogLeNet paper (Szegedy et al., 2014, section 4) motivates
parallel 1x1/3x3/5x5 branches by "salient parts" that "can have extremely large
variation in size". Deterministic from a seed; generated in seconds with NumPy.
"""
from __future__ import annotations

import math
from typing import Callable, NamedTuple

import numpy as np

from ..checks import CourseError, CourseTypeError, check_choice, check_int, describe, is_int


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


def check_size(size: int) -> None:
    if not is_int(size) or not MIN_SIZE <= size <= MAX_SIZE:
        raise (CourseError if is_int(size) else CourseTypeError)(
            f"size must be an integer between {MIN_SIZE} and {MAX_SIZE} pixels, got {size!r}. "
            f"The default, {DEFAULT_SIZE}, is what the shipped checkpoints were trained on."
        )


def check_seed(seed: int) -> None:
    check_int(seed, "seed", minimum=0)


def check_split(split: str) -> None:
    check_choice(split, "split", SPLIT_SIZES)


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
    if not is_int(n) or n < 1:
        raise (CourseError if is_int(n) else CourseTypeError)(f"n must be a positive number of images, got {describe(n)}.")
    n = int(n)
    check_seed(seed)
    check_size(size)
    check_split(split)
    blocks = []
    for b in range(-(-n // BLOCK)):  # ceil(n / BLOCK)
        rng = np.random.default_rng(np.random.SeedSequence([seed, _SPLIT_STREAM[split], GENERATOR_VERSION, b]))
        params = _sample_parameters(rng, BLOCK, size)
        blocks.append(_render_block(params, size, rng))  # the whole block, so the noise never depends on n
    return ShapeArrays(*(np.concatenate(a)[:n] for a in zip(*blocks)))

