"""Tests of course_utils.data: the embedded dataset, the photos, the opt-in real datasets."""
from __future__ import annotations

import hashlib
import pickle
import socket
import struct
import threading
import time
from pathlib import Path

import numpy as np
import pytest
import torch

from course_utils import data, network
from course_utils.data import downloads, embedded, shapes
from course_utils.data import (
    CLASS_NAMES,
    EMBEDDED_MEAN,
    EMBEDDED_STD,
    PHOTOS,
    RADIUS_RANGE,
    DatasetUnavailableError,
    generate_shapes,
)
from course_utils.models.base import PreprocessConfig
from course_utils.paths import REPO_ROOT


def digest(arrays: data.ShapeArrays) -> str:
    h = hashlib.sha256()
    for a in arrays:
        h.update(np.ascontiguousarray(a).tobytes())
    return h.hexdigest()


@pytest.fixture
def data_home(tmp_path, monkeypatch):
    """A private data folder, so tests never touch the repository's cache."""
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    return tmp_path


# ---------------------------------------------------------------------------
# generation
# ---------------------------------------------------------------------------


def test_same_seed_gives_identical_tensors_and_other_seeds_do_not():
    first = generate_shapes(240, seed=3, size=32, split="train")
    again = generate_shapes(240, seed=3, size=32, split="train")
    assert digest(first) == digest(again)
    assert digest(first) != digest(generate_shapes(240, seed=4, size=32, split="train"))
    # The splits draw from separate streams: no shared images.
    assert digest(first) != digest(generate_shapes(240, seed=3, size=32, split="test"))


def test_fewer_images_are_a_prefix_of_more():
    many = generate_shapes(data.BLOCK + 100, seed=1, size=32)
    few = generate_shapes(130, seed=1, size=32)
    assert digest(few) == digest(data.ShapeArrays(*(a[:130] for a in many)))


def test_arrays_have_the_documented_layout():
    a = generate_shapes(2 * data.BLOCK, seed=0, size=48)
    assert a.images.shape == (1000, 3, 48, 48) and a.images.dtype == np.uint8
    assert a.labels.dtype == np.int64 and a.boxes.shape == (1000, 4) and a.radii.shape == (1000,)
    # Balanced classes: every block of 500 holds each of the 10 classes 50 times.
    for block in (a.labels[:500], a.labels[500:]):
        assert np.bincount(block, minlength=10).tolist() == [50] * 10
    # Images use the whole range of values (backgrounds, objects, noise), not a constant.
    assert a.images.std() > 30


def test_boxes_enclose_an_object_of_the_recorded_size():
    size = 48
    a = generate_shapes(500, seed=2, size=size)
    x0, y0, x1, y1 = a.boxes.T.astype(int)
    assert (x0 >= 0).all() and (y0 >= 0).all() and (x1 <= size).all() and (y1 <= size).all()
    assert (x1 > x0).all() and (y1 > y0).all()
    # Every shape spans 0.9-1.9 radii across (the thin star arms and crescent included).
    extent = np.maximum(x1 - x0, y1 - y0)
    assert (extent >= 0.9 * a.radii).all() and (extent <= 1.95 * a.radii + 2).all()
    # The object differs from the background: the box is not the same colour as its surroundings.
    inside = [a.images[i, :, y0[i]:y1[i], x0[i]:x1[i]].reshape(3, -1).mean(1) for i in range(50)]
    whole = a.images[:50].reshape(50, 3, -1).mean(2)
    assert np.mean([np.abs(inside[i] - whole[i]).max() for i in range(50)]) > 5


def test_scales_range_from_a_few_pixels_to_most_of_the_image():
    size = 48
    radii = generate_shapes(2000, seed=0, size=size).radii
    lo, hi = (r * size for r in RADIUS_RANGE)
    assert radii.min() >= lo - 1e-3 and radii.max() <= hi + 1e-3
    assert radii.min() < lo * 1.1 and radii.max() > hi * 0.95
    # Log-uniform: about half the objects are smaller than the geometric mean.
    assert 0.45 < (radii < np.sqrt(lo * hi)).mean() < 0.55


def test_normalization_constants_match_the_data():
    x = torch.from_numpy(generate_shapes(2000, seed=0, size=48).images).float() / 255
    assert torch.allclose(x.mean((0, 2, 3)), torch.tensor(EMBEDDED_MEAN), atol=0.01)
    assert torch.allclose(x.std((0, 2, 3)), torch.tensor(EMBEDDED_STD), atol=0.01)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        (dict(n=10, size=16), "between 32 and 128"),
        (dict(n=10, seed=-1), "non-negative"),
        (dict(n=0), "positive number of images"),
        (dict(n=10, split="validation"), "'train', 'val', 'test'"),
    ],
)
def test_bad_arguments_say_what_is_allowed(kwargs, message):
    with pytest.raises(ValueError, match=message):
        generate_shapes(**kwargs)


# ---------------------------------------------------------------------------
# cache
# ---------------------------------------------------------------------------


@pytest.fixture
def small_splits(monkeypatch):
    """Splits of 60/30/30 images, so that the whole-split cache is quick to make."""
    for split, n in {"train": 60, "val": 30, "test": 30}.items():
        monkeypatch.setitem(data.SPLIT_SIZES, split, n)


def test_cache_is_written_then_reused(data_home, small_splits, monkeypatch):
    first = data.load_shapes("val", seed=5, size=32)
    files = list((data_home / "cache").glob("*.npz"))
    assert [f.name for f in files] == [f"shapes-v{data.GENERATOR_VERSION}-seed5-32px-val-30.npz"]

    def must_not_generate(*args, **kwargs):
        raise AssertionError("the cached file should have been read")

    monkeypatch.setattr(shapes, "generate_shapes", must_not_generate)
    assert digest(data.load_shapes("val", seed=5, size=32)) == digest(first)
    # Fewer images: a slice of the cached split.
    assert digest(data.load_shapes("val", seed=5, size=32, n=10)) == digest(data.ShapeArrays(*(a[:10] for a in first)))


def test_a_prefix_is_generated_without_making_the_whole_split(data_home):
    arrays = data.load_shapes("train", seed=0, size=32, n=20)
    assert len(arrays.labels) == 20 and not (data_home / "cache").exists()


def test_a_new_generator_version_rebuilds_the_cache(data_home, small_splits, monkeypatch):
    data.load_shapes("test", seed=0, size=32)
    monkeypatch.setattr(shapes, "GENERATOR_VERSION", shapes.GENERATOR_VERSION + 1)
    calls = []
    real = shapes.generate_shapes
    monkeypatch.setattr(shapes, "generate_shapes", lambda *a, **k: calls.append(a) or real(*a, **k))
    data.load_shapes("test", seed=0, size=32)
    assert len(calls) == 1
    names = [f.name for f in (data_home / "cache").glob("*.npz")]
    assert names == [f"shapes-v{shapes.GENERATOR_VERSION}-seed0-32px-test-30.npz"]  # the stale file is gone


def test_a_file_claiming_another_version_is_rebuilt(data_home, small_splits):
    path = embedded._cache_path(30, 0, 32, "test")
    path.parent.mkdir(parents=True)
    good = generate_shapes(30, 0, 32, "test")
    np.savez(path, generator_version=np.int64(-7), **good._asdict())
    assert embedded._read_cache(path) is None
    assert digest(data.load_shapes("test", 0, 32)) == digest(good)
    assert embedded._read_cache(path) is not None


def test_a_corrupted_cache_file_is_rebuilt(data_home, small_splits):
    path = embedded._cache_path(60, 0, 32, "train")
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an npz file")
    arrays = data.load_shapes("train", 0, 32)
    assert digest(arrays) == digest(generate_shapes(60, 0, 32, "train"))
    assert embedded._read_cache(path) is not None


def test_an_interrupted_cache_write_leaves_no_file(data_home, small_splits, monkeypatch):
    def broken_savez(f, **arrays):
        f.write(b"PK\x03\x04 half a zip")
        raise KeyboardInterrupt

    monkeypatch.setattr(np, "savez", broken_savez)
    with pytest.raises(KeyboardInterrupt):
        data.load_shapes("val", 0, 32)
    assert list((data_home / "cache").iterdir()) == []


def test_a_read_only_data_folder_still_gives_data(data_home, small_splits, monkeypatch):
    def refuse(*args, **kwargs):
        raise PermissionError("read-only file system")

    monkeypatch.setattr(embedded, "_write_cache", refuse)
    assert len(data.load_shapes("val", 0, 32).labels) == 30


# ---------------------------------------------------------------------------
# torch datasets and loaders
# ---------------------------------------------------------------------------


def test_embedded_dataset_items_are_normalized_tensors(data_home):
    ds = data.embedded_dataset("train", n=50, size=32)
    x, y = ds[0]
    assert x.shape == (3, 32, 32) and x.dtype == torch.float32 and isinstance(y, int)
    assert ds.classes == CLASS_NAMES and len(ds) == 50
    batch = ds.normalized()
    assert torch.allclose(batch[0], x)
    assert abs(batch.mean().item()) < 0.3 and 0.7 < batch.std().item() < 1.3
    assert ds.boxes.shape == (50, 4) and "EmbeddedShapes(split='train', n=50" in repr(ds)
    back = data.denormalize(x)
    assert torch.allclose(back, ds.images[0].float() / 255, atol=1e-5)


def test_augmentation_only_flips(data_home):
    ds = data.embedded_dataset("train", n=10, size=32, augment=True)
    plain = ds.normalized([3])[0]
    torch.manual_seed(0)
    seen = {tuple(ds[3][0].flatten()[:5].tolist()) for _ in range(30)}
    flips = {tuple(plain.flip(d).flatten()[:5].tolist()) for d in [(), (-1,), (-2,), (-1, -2)]}
    assert seen <= flips and len(seen) > 1


def test_embedded_loaders_batches(data_home):
    loaders = data.embedded_loaders(batch_size=16, size=32, sizes={"train": 40, "val": 20, "test": 20})
    x, y = next(iter(loaders.train))
    assert x.shape == (16, 3, 32, 32) and y.shape == (16,) and y.dtype == torch.int64
    assert len(loaders.val.dataset) == 20 and not loaders.test.dataset.augment
    with pytest.raises(ValueError, match="unknown splits"):
        data.embedded_loaders(sizes={"training": 10})
    full_test = data.embedded_loaders(batch_size=16, size=32, sizes={"train": 40, "val": 20, "test": None})
    assert len(full_test.test.dataset) == len(data.embedded_loaders(size=32).test.dataset)  # None: the whole split
    with pytest.raises(ValueError, match="batch_size"):
        data.embedded_loaders(batch_size=0)


def test_plot_samples_draws_one_row_per_class(data_home):
    import matplotlib.pyplot as plt

    fig = data.plot_samples(data.embedded_dataset("val", n=200, size=32), per_class=3)
    try:
        assert len(fig.axes) == 10 * 3
        assert [fig.axes[3 * k].get_ylabel() for k in range(10)] == list(CLASS_NAMES)
        assert len(fig.axes[0].patches) == 1  # the ground-truth box
    finally:
        plt.close(fig)


# ---------------------------------------------------------------------------
# photographs
# ---------------------------------------------------------------------------


def test_every_photo_is_shipped_small_and_has_its_source_and_license_recorded():
    folder = REPO_ROOT / "data" / "photos"
    sources = (folder / "SOURCES.md").read_text()
    total = 0
    for name, photo in PHOTOS.items():
        path = folder / photo.file
        assert path.is_file(), path
        total += path.stat().st_size
        row = next(line for line in sources.splitlines() if line.startswith(f"| {photo.file} "))
        assert "public domain" in row.lower() or "cc0" in row.lower(), row
    assert total < 1_000_000
    images = {p.name for p in folder.iterdir() if p.suffix.lower() in {".jpg", ".png"}}
    assert images == {p.file for p in PHOTOS.values()}  # no unlisted image


def test_load_photo_and_photo_batch():
    x = data.load_photo("chelsea")
    assert x.shape[0] == 3 and x.min() >= 0 and x.max() <= 1 and max(x.shape[1:]) == 256
    assert min(data.load_photo("chelsea", size=64).shape[1:]) == 64
    cfg = PreprocessConfig(input_size=(3, 96, 96), mean=(0.5, 0.5, 0.5), std=(0.5, 0.5, 0.5), crop_pct=0.875)
    batch = data.photo_batch(["astronaut", "rocket"], preprocess=cfg)
    assert batch.shape == (2, 3, 96, 96) and batch.min() >= -1 - 1e-4 and batch.max() <= 1 + 1e-4
    assert data.photo_batch(size=40).shape == (len(PHOTOS), 3, 40, 40)
    with pytest.raises(ValueError, match="Available: astronaut"):
        data.load_photo("lena")


# ---------------------------------------------------------------------------
# opt-in real datasets: files on disk, no network
# ---------------------------------------------------------------------------


@pytest.fixture
def no_network(monkeypatch):
    """Every way out is closed: sockets fail, and torchvision's downloader must not be reached."""

    def unreachable(*args, **kwargs):
        raise OSError(101, "Network is unreachable")

    monkeypatch.setattr(socket, "create_connection", unreachable)
    monkeypatch.setattr(socket.socket, "connect", unreachable)
    monkeypatch.setattr(socket, "getaddrinfo", unreachable)
    import torchvision.datasets.utils as tv_utils

    def no_download(*args, **kwargs):
        raise AssertionError("torchvision's downloader must not be called offline")

    monkeypatch.setattr(tv_utils, "download_url", no_download)
    monkeypatch.setattr(tv_utils, "download_and_extract_archive", no_download)


def write_fake_cifar10(root: Path, per_batch: int = 4) -> None:
    """A tiny CIFAR-10 in the official python-pickle layout (5 train batches, 1 test batch, meta)."""
    folder = root / "cifar-10-batches-py"
    folder.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for name in [f"data_batch_{i}" for i in range(1, 6)] + ["test_batch"]:
        entry = {
            "batch_label": name,
            "labels": rng.integers(0, 10, per_batch).tolist(),
            "data": rng.integers(0, 256, (per_batch, 3072), dtype=np.uint8),  # rows of R, G, B planes
            "filenames": [f"{name}_{i}.png" for i in range(per_batch)],
        }
        (folder / name).write_bytes(pickle.dumps(entry))
    meta = {"label_names": ["airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship", "truck"]}
    (folder / "batches.meta").write_bytes(pickle.dumps(meta))


def write_idx(path: Path, array: np.ndarray) -> None:
    """The idx format of (Fashion-)MNIST: magic (0, 0, dtype 0x08 = ubyte, ndim), sizes, bytes."""
    header = struct.pack(">BBBB", 0, 0, 0x08, array.ndim) + struct.pack(f">{array.ndim}I", *array.shape)
    path.write_bytes(header + array.astype(np.uint8).tobytes())


def write_fake_fashion_mnist(root: Path, n_train: int = 6, n_test: int = 3) -> None:
    raw = root / "FashionMNIST" / "raw"
    raw.mkdir(parents=True)
    rng = np.random.default_rng(0)
    for prefix, n in (("train", n_train), ("t10k", n_test)):
        write_idx(raw / f"{prefix}-images-idx3-ubyte", rng.integers(0, 256, (n, 28, 28)))
        write_idx(raw / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, n))


def test_cifar10_reads_files_on_disk_without_the_network(tmp_path, no_network):
    write_fake_cifar10(tmp_path)
    train = data.cifar10("train", root=tmp_path, check_md5=False)
    test = data.cifar10("test", root=tmp_path, check_md5=False, size=48)
    assert len(train) == 20 and len(test) == 4
    x, y = train[0]
    assert x.shape == (3, 32, 32) and 0 <= y < 10 and train.classes[0] == "airplane"
    assert test[0][0].shape == (3, 48, 48)
    # Pixel layout: the first 1024 values are the red plane (row-major), as in the official files.
    batch = pickle.loads((tmp_path / "cifar-10-batches-py" / "data_batch_1").read_bytes())
    assert (train.data[0][..., 0].flatten() == batch["data"][0][:1024]).all()


def test_cifar10_with_wrong_checksums_says_so(tmp_path, no_network):
    write_fake_cifar10(tmp_path)
    with pytest.raises(DatasetUnavailableError, match="official checksums.*check_md5=False"):
        data.cifar10(root=tmp_path)


def test_fashion_mnist_reads_idx_files_on_disk_without_the_network(tmp_path, no_network):
    write_fake_fashion_mnist(tmp_path)
    train = data.fashion_mnist("train", root=tmp_path)
    test = data.fashion_mnist("test", root=tmp_path, size=None)
    assert len(train) == 6 and len(test) == 3
    x, y = train[0]
    assert x.shape == (3, 32, 32) and torch.equal(x[0], x[1]) and 0 <= y < 10
    assert test[0][0].shape == (3, 28, 28)


def test_image_folder_reads_a_class_per_folder_tree(tmp_path):
    from PIL import Image

    rng = np.random.default_rng(0)
    for cls in ("cat", "dog", "fish"):
        (tmp_path / cls).mkdir()
        for i in range(2):
            Image.fromarray(rng.integers(0, 256, (40, 60, 3), dtype=np.uint8)).save(tmp_path / cls / f"{i}.png")
    ds = data.image_folder(tmp_path, size=32)
    assert ds.classes == ["cat", "dog", "fish"] and len(ds) == 6
    x, y = ds[5]
    assert x.shape == (3, 32, 32) and y == 2
    with pytest.raises(DatasetUnavailableError, match="one sub-folder per class"):
        data.image_folder(tmp_path / "missing")
    (tmp_path / "empty").mkdir()
    with pytest.raises(DatasetUnavailableError, match="not an image-folder tree"):
        data.image_folder(tmp_path / "empty")


# ---------------------------------------------------------------------------
# opt-in real datasets: offline failures
# ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    "loader, name, url",
    [
        (data.cifar10, "CIFAR-10", data.CIFAR10_URL),
        (data.fashion_mnist, "Fashion-MNIST", data.FASHION_MNIST_URL),
        (data.imagenette, "Imagenette", data.IMAGENETTE_URL),
    ],
)
def test_offline_requests_fail_fast_with_what_to_do(tmp_path, no_network, loader, name, url):
    start = time.monotonic()
    with pytest.raises(DatasetUnavailableError) as info:
        loader(root=tmp_path)
    assert time.monotonic() - start < 10  # the bound; with a refused connection it is immediate
    message = str(info.value)
    assert name in message and url in message and str(tmp_path) in message
    assert "no internet" in message and "embedded_dataset" in message


def test_an_unresponsive_network_is_given_up_after_the_timeout(tmp_path, monkeypatch):
    released = threading.Event()

    def hang(*args, **kwargs):  # a network that swallows packets: no answer, no error
        released.wait(30)
        raise OSError("timed out")

    monkeypatch.setattr(socket, "create_connection", hang)
    monkeypatch.setattr(downloads, "NETWORK_TIMEOUT_S", 0.3)
    start = time.monotonic()
    try:
        with pytest.raises(DatasetUnavailableError, match=r"did not answer within 0.3 s"):
            data.fashion_mnist(root=tmp_path)
        assert time.monotonic() - start < 10
    finally:
        released.set()


def test_download_false_never_touches_the_network(tmp_path, no_network):
    with pytest.raises(DatasetUnavailableError, match="download=False"):
        data.cifar10(root=tmp_path, download=False)
    with pytest.raises(ValueError, match="'train' or 'test'"):
        data.cifar10(split="val", root=tmp_path)


def test_a_failed_download_is_reported_with_the_same_advice(tmp_path, monkeypatch):
    monkeypatch.setattr(network, "reachable", lambda host, port, timeout: True)
    import torchvision.datasets.utils as tv_utils

    def broken(*args, **kwargs):
        raise OSError("connection reset by peer")

    monkeypatch.setattr(tv_utils, "download_and_extract_archive", broken)
    with pytest.raises(DatasetUnavailableError, match="the download failed.*connection reset") as info:
        data.imagenette(root=tmp_path)
    assert data.IMAGENETTE_URL in str(info.value)



@pytest.mark.parametrize("value, offline", [("1", True), ("true", True), ("YES", True), ("0", False), ("", False)])
def test_course_offline_turns_every_server_unreachable_without_trying(monkeypatch, value, offline):
    tried = []
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: tried.append(a) or _Closing())
    monkeypatch.setenv("COURSE_OFFLINE", value)
    assert network.forced_offline() is offline
    assert network.reachable("example.com", 443, timeout=1.0) is (not offline)
    assert bool(tried) is (not offline)  # offline: not even a connection attempt


class _Closing:
    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False
