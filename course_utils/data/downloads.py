"""Real datasets, opt-in: CIFAR-10, Fashion-MNIST, any ImageFolder tree (e.g. Imagenette).

Files already on disk are read without touching the network. Otherwise the
server is probed first (:func:`course_utils.network.reachable`): offline, a
missing dataset fails within :data:`NETWORK_TIMEOUT_S` seconds with
:class:`DatasetUnavailableError`, which says where to put the files.
"""
from __future__ import annotations

import time
from pathlib import Path
from typing import Callable
from urllib.parse import urlparse

from .. import network
from ..checks import CourseException
from ..paths import data_dir


#: Seconds to wait for a download server before declaring the machine offline.
NETWORK_TIMEOUT_S = 5.0

CIFAR10_URL = "https://www.cs.toronto.edu/~kriz/cifar-10-python.tar.gz"
FASHION_MNIST_URL = "http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"
IMAGENETTE_URL = "https://s3.amazonaws.com/fast-ai-imageclas/imagenette2-160.tgz"
CIFAR10_MEAN, CIFAR10_STD = (0.4914, 0.4822, 0.4465), (0.2470, 0.2435, 0.2616)
FASHION_MNIST_MEAN, FASHION_MNIST_STD = (0.2860,) * 3, (0.3530,) * 3


class DatasetUnavailableError(CourseException, RuntimeError):
    """A real dataset is neither on disk nor downloadable (e.g. no internet)."""


def downloads_dir() -> Path:
    """Default root of the opt-in datasets: ``data/downloads/`` (not committed)."""
    return data_dir() / "downloads"


def _unavailable(name: str, url: str, folder: Path, layout: str, call: str, why: str) -> DatasetUnavailableError:
    return DatasetUnavailableError(
        f"{name} is not on disk under {folder} and cannot be downloaded: {why}.\n"
        f"To use {name} offline, download {url} on a machine with internet and put the files here:\n"
        f"    {layout}\n"
        f"then call {call} again (it reads files already on disk without touching the network).\n"
        "The lessons do not need it: they train on the embedded dataset (course_utils.data.embedded_dataset)."
    )


def _download(name: str, url: str, folder: Path, layout: str, call: str, download: bool,
              fetch: Callable[[], None]) -> None:
    """Files missing: unless ``download``, check the server answers, then ``fetch()``.

    Not allowed to download, an unreachable server or a failed download: DatasetUnavailableError,
    which says where to put the files by hand.
    """
    if not download:
        raise _unavailable(name, url, folder, layout, call, "download=False was given")
    start = time.monotonic()
    if not network.reachable(*network.host_port(url), timeout=NETWORK_TIMEOUT_S):
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
        _download("CIFAR-10", CIFAR10_URL, root, layout, "course_utils.data.cifar10(root=...)", download,
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
        _download("Fashion-MNIST", FASHION_MNIST_URL, root, layout, "course_utils.data.fashion_mnist(root=...)",
                  download, lambda: FashionMNIST(root, train=train, download=True))
    return FashionMNIST(root, train=train, transform=transform)


def image_folder(path: str | Path, size: int = 160, transform=None, mean=None, std=None):
    """Any folder of class sub-folders (``path/<class>/<image>``) as a torchvision ``ImageFolder``.

    The default transform resizes the shorter side to ``size``, centre-crops
    ``size x size`` and normalizes (ImageNet mean/std unless given). Imagenette
    (``imagenette2-160/train``) is laid out this way: see :func:`imagenette`.
    """
    from torchvision import transforms as T
    from torchvision.datasets import ImageFolder

    from ..models.base import IMAGENET_MEAN, IMAGENET_STD

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

        def fetch() -> None:
            from torchvision.datasets.utils import download_and_extract_archive

            download_and_extract_archive(IMAGENETTE_URL, str(root))

        _download("Imagenette", IMAGENETTE_URL, root, layout, "course_utils.data.imagenette(root=...)", download, fetch)
    return image_folder(folder, size=size)

