"""The course's data: an embedded shapes dataset, real photographs, opt-in real datasets.

Three sources, from always-there to opt-in (see ``data/README.md``), one module each:

* ``shapes``     - the embedded dataset's generator (every lesson that trains, 02-08):
  ten shape classes drawn procedurally at scales from a few pixels to most of
  the image. ``generate_shapes``.
* ``embedded``   - that dataset as torch data, cached under ``data/cache/``:
  ``embedded_dataset``, ``embedded_loaders``, ``denormalize``, ``plot_samples``.
* ``photos``     - five public-domain/CC0 photographs under ``data/photos/``
  (lessons 01, 06, 07, 08): ``load_photo``, ``photo_batch``.
* ``downloads``  - CIFAR-10, Fashion-MNIST, any ImageFolder tree (e.g. Imagenette),
  opt-in; offline they fail within seconds with :class:`DatasetUnavailableError`,
  which says where to put the files.

``python -m course_utils.data`` generates and caches the embedded dataset
(``__main__.py``). Every public name is importable from ``course_utils.data``.
"""
from .downloads import (
    CIFAR10_MEAN,
    CIFAR10_STD,
    CIFAR10_URL,
    FASHION_MNIST_MEAN,
    FASHION_MNIST_STD,
    FASHION_MNIST_URL,
    IMAGENETTE_URL,
    NETWORK_TIMEOUT_S,
    DatasetUnavailableError,
    cifar10,
    downloads_dir,
    fashion_mnist,
    image_folder,
    imagenette,
)
from .digits import DIGITS_CLASSES, Digits, DigitsSplits, digits_splits, digits_subset, plot_digits
from .embedded import (
    EmbeddedShapes,
    Loaders,
    cache_dir,
    denormalize,
    embedded_dataset,
    embedded_loaders,
    load_shapes,
    plot_samples,
)
from .photos import PHOTOS, Photo, load_photo, photo_batch, photo_names, photos_dir
from .shapes import (
    BLOCK,
    CLASS_NAMES,
    DEFAULT_SIZE,
    EMBEDDED_MEAN,
    EMBEDDED_STD,
    GENERATOR_VERSION,
    MAX_SIZE,
    MIN_SIZE,
    NUM_CLASSES,
    RADIUS_RANGE,
    SPLIT_SIZES,
    ShapeArrays,
    generate_shapes,
)

__all__ = [
    "DIGITS_CLASSES", "Digits", "DigitsSplits", "digits_splits", "digits_subset", "plot_digits",
    "BLOCK", "CIFAR10_MEAN", "CIFAR10_STD", "CIFAR10_URL", "CLASS_NAMES", "DEFAULT_SIZE",
    "DatasetUnavailableError", "EMBEDDED_MEAN", "EMBEDDED_STD", "EmbeddedShapes", "FASHION_MNIST_MEAN",
    "FASHION_MNIST_STD", "FASHION_MNIST_URL", "GENERATOR_VERSION", "IMAGENETTE_URL", "Loaders", "MAX_SIZE",
    "MIN_SIZE", "NETWORK_TIMEOUT_S", "NUM_CLASSES", "PHOTOS", "Photo", "RADIUS_RANGE", "SPLIT_SIZES",
    "ShapeArrays", "cache_dir", "cifar10", "denormalize", "downloads_dir", "embedded_dataset",
    "embedded_loaders", "fashion_mnist", "generate_shapes", "image_folder", "imagenette", "load_photo",
    "load_shapes", "photo_batch", "photo_names", "photos_dir", "plot_samples",
]
