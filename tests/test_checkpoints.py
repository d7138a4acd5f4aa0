"""Tests of course_utils.checkpoints: atomic saves, safe loads, clear errors, and the shipped checkpoints."""
from __future__ import annotations

import json
import os
import random

import pytest
import torch
from torch import nn

from course_utils import checkpoints
from course_utils.checkpoints import (
    CheckpointError,
    CheckpointMismatchError,
    load_checkpoint,
    load_weights,
    read_checkpoint,
    save_checkpoint,
    state_dict_differences,
)
from course_utils.models import list_models, registry
from course_utils.paths import REPO_ROOT


class Small(nn.Module):
    """A registered test model: conv-BN-ReLU, pooling, linear."""

    def __init__(self, num_classes: int = 10, width: int = 4) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.conv = nn.Conv2d(3, width, 3, padding=1)
        self.bn = nn.BatchNorm2d(width)
        self.fc = nn.Linear(width, num_classes)

    def forward(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).mean((2, 3)))


class SmallPlusHead(Small):
    def __init__(self, num_classes: int = 10, width: int = 4) -> None:
        super().__init__(num_classes, width)
        self.extra = nn.Linear(num_classes, num_classes)


@pytest.fixture
def registered(monkeypatch):
    """Register the test models for this test only (the real registry is restored afterwards)."""
    monkeypatch.setitem(registry._MODELS, "test_small", Small)
    monkeypatch.setitem(registry._MODELS, "test_small_plus", SmallPlusHead)


def trained_small(width: int = 4) -> Small:
    torch.manual_seed(0)
    model = Small(width=width)
    model.train()
    model(torch.randn(8, 3, 8, 8))  # moves the BatchNorm running statistics away from their defaults
    return model.eval()


def save_small(path, width: int = 4, **kwargs):
    defaults = dict(arch="test_small", arch_kwargs={"width": width}, dataset="embedded_shapes", dataset_version=1,
                    accuracy=0.5, train_time_s=1.5)
    return save_checkpoint(trained_small(width), path, **{**defaults, **kwargs})


def test_round_trip_rebuilds_the_model_with_its_metadata(tmp_path, registered):
    model = trained_small()
    path = save_checkpoint(model, tmp_path / "sub" / "small.pt", arch="test_small", arch_kwargs={"width": 4},
                           dataset="embedded_shapes", dataset_version=1, accuracy=0.875, train_time_s=12.5,
                           extra={"seed": 0, "history": {"val_acc": [0.5, 0.875]}})
    loaded, meta = load_checkpoint(path)
    x = torch.randn(4, 3, 8, 8)
    assert isinstance(loaded, Small) and not loaded.training
    assert torch.equal(loaded(x), model(x))
    assert meta["arch"] == "test_small" and meta["arch_kwargs"] == {"width": 4}
    assert meta["dataset"] == "embedded_shapes" and meta["dataset_version"] == 1
    assert meta["accuracy"] == 0.875 and meta["train_time_s"] == 12.5
    assert meta["torch_version"] == torch.__version__ and meta["num_params"] == sum(p.numel() for p in model.parameters())
    assert meta["seed"] == 0 and meta["history"]["val_acc"] == [0.5, 0.875]
    # Plain types all the way down: loadable with weights_only=True, and printable as JSON.
    payload = torch.load(path, weights_only=True)
    json.dumps(payload["metadata"])


def test_half_precision_storage_halves_the_file_and_loads_as_float32(tmp_path, registered):
    full = save_small(tmp_path / "full.pt", width=64)  # big enough for the weights to dominate the file
    half = save_small(tmp_path / "half.pt", width=64, half=True)
    state, meta = read_checkpoint(half)
    assert state["conv.weight"].dtype == torch.float16 and meta["stored_dtype"] == "float16"
    assert state["bn.num_batches_tracked"].dtype == torch.int64  # integers are left alone
    model, _ = load_checkpoint(half)
    assert model.conv.weight.dtype == torch.float32
    x = torch.randn(2, 3, 8, 8)
    assert torch.allclose(model(x), load_checkpoint(full)[0](x), atol=2e-2)
    assert os.path.getsize(half) < 0.8 * os.path.getsize(full)


def test_metadata_must_be_plain_types(tmp_path, registered):
    with pytest.raises(ValueError, match=r"extra\['accuracy_tensor'\] is a Tensor.*float\(x\)"):
        save_small(tmp_path / "x.pt", extra={"accuracy_tensor": torch.tensor(0.5)})
    with pytest.raises(ValueError, match="clashes with a standard field"):
        save_small(tmp_path / "x.pt", extra={"accuracy": 1.0})
    with pytest.raises(ValueError, match="registry name"):
        save_small(tmp_path / "x.pt", arch="")
    assert not (tmp_path / "x.pt").exists()


# ---------------------------------------------------------------------------
# atomic saves
# ---------------------------------------------------------------------------


def interrupt_torch_save(monkeypatch):
    """torch.save writes part of the file, then the user presses Ctrl-C."""

    def half_written(obj, f):
        f.write(b"PK\x03\x04" + b"\0" * 100)
        raise KeyboardInterrupt

    monkeypatch.setattr(checkpoints.torch, "save", half_written)


def test_an_interrupted_save_keeps_the_previous_file_intact(tmp_path, monkeypatch, registered):
    path = save_small(tmp_path / "small.pt")
    before = path.read_bytes()
    real_save = checkpoints.torch.save
    interrupt_torch_save(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        save_small(path, accuracy=0.9)
    assert path.read_bytes() == before
    assert sorted(p.name for p in tmp_path.iterdir()) == ["small.pt"]  # no temporary file left behind
    monkeypatch.setattr(checkpoints.torch, "save", real_save)
    assert load_checkpoint(path)[1]["accuracy"] == 0.5


def test_an_interrupted_first_save_leaves_no_file(tmp_path, monkeypatch, registered):
    interrupt_torch_save(monkeypatch)
    with pytest.raises(KeyboardInterrupt):
        save_small(tmp_path / "new.pt")
    assert list(tmp_path.iterdir()) == []


# ---------------------------------------------------------------------------
# unreadable files
# ---------------------------------------------------------------------------


# Random bytes once made torch.load's legacy reader raise whatever the bytes led it to
# (UnpicklingError, KeyError, ...): several fixed seeds keep that from coming back.
@pytest.mark.parametrize("damage", ["truncated", "empty", "flipped"] + [f"garbage-{seed}" for seed in range(8)])
def test_a_damaged_file_gives_a_clear_error(tmp_path, damage, registered):
    path = save_small(tmp_path / "small.pt")
    raw = path.read_bytes()
    if damage == "truncated":
        path.write_bytes(raw[: len(raw) // 2])
    elif damage.startswith("garbage"):
        path.write_bytes(random.Random(int(damage.split("-")[1])).randbytes(2000))
    elif damage == "empty":
        path.write_bytes(b"")
    else:  # the zip's central directory, at the end of the file, overwritten
        path.write_bytes(raw[:-60] + b"\xff" * 60)
    with pytest.raises(CheckpointError, match="corrupted or truncated") as info:
        load_checkpoint(path)
    assert "make_checkpoints.py" in str(info.value) and str(path) in str(info.value)


def test_a_bare_state_dict_is_not_mistaken_for_a_checkpoint(tmp_path):
    path = tmp_path / "bare.pt"
    torch.save(Small().state_dict(), path)
    with pytest.raises(CheckpointError, match="not a course_utils checkpoint.*load_state_dict"):
        read_checkpoint(path)


def test_a_file_with_arbitrary_python_objects_is_refused_for_safety(tmp_path):
    import numpy as np

    path = tmp_path / "unsafe.pt"
    torch.save({"metadata": {"format": checkpoints.CHECKPOINT_FORMAT, "scale": np.float64(2.0)},
                "state_dict": Small().state_dict()}, path)
    with pytest.raises(CheckpointError, match="refuses to unpickle for safety"):
        read_checkpoint(path)


def test_a_missing_file_lists_the_shipped_checkpoints(tmp_path):
    with pytest.raises(FileNotFoundError, match="Shipped checkpoints"):
        load_checkpoint(tmp_path / "nothing.pt")
    with pytest.raises(FileNotFoundError, match="No checkpoint at"):
        load_checkpoint("no_such_model")


# ---------------------------------------------------------------------------
# mismatches
# ---------------------------------------------------------------------------


def test_differences_list_missing_unexpected_and_reshaped_keys():
    model = {"a": torch.zeros(2), "b": torch.zeros(3, 3), "c": torch.zeros(1)}
    ckpt = {"a": torch.zeros(2), "b": torch.zeros(3, 4), "d": torch.zeros(1)}
    assert state_dict_differences(model, ckpt) == [
        "missing key (in the model, not in the checkpoint): c",
        "unexpected key (in the checkpoint, not in the model): d",
        "shape mismatch for b: checkpoint (3, 4), model (3, 3)",
    ]
    assert state_dict_differences(model, model) == []


def test_loading_into_a_model_of_another_architecture_lists_what_differs(tmp_path, registered):
    path = save_small(tmp_path / "small.pt")
    target = SmallPlusHead()
    before = {k: v.clone() for k, v in target.state_dict().items()}
    with pytest.raises(CheckpointMismatchError) as info:
        load_weights(target, path, arch="test_small_plus")
    message = str(info.value)
    assert "architecture: checkpoint 'test_small', model 'test_small_plus'" in message
    assert "missing key (in the model, not in the checkpoint): extra.weight" in message
    assert info.value.differences[0].startswith("architecture")
    assert all(torch.equal(v, target.state_dict()[k]) for k, v in before.items())  # nothing was copied


def test_shape_mismatches_are_listed_with_both_shapes(tmp_path, registered):
    path = save_small(tmp_path / "small.pt")
    with pytest.raises(CheckpointMismatchError, match=r"shape mismatch for conv.weight: checkpoint \(4, 3, 3, 3\), "
                                                      r"model \(6, 3, 3, 3\)"):
        load_weights(Small(width=6), path)


def test_unexpected_keys_are_listed(tmp_path, registered):
    path = save_checkpoint(SmallPlusHead(), tmp_path / "plus.pt", arch="test_small_plus")
    with pytest.raises(CheckpointMismatchError, match="unexpected key .*: extra.bias"):
        load_weights(Small(), path)


def test_load_checkpoint_refuses_another_requested_architecture(tmp_path, registered):
    path = save_small(tmp_path / "small.pt")
    with pytest.raises(CheckpointMismatchError, match="requested 'test_small_plus'"):
        load_checkpoint(path, arch="test_small_plus")
    assert load_weights(Small(), path, arch="test_small")["arch"] == "test_small"


# ---------------------------------------------------------------------------
# the shipped checkpoints (data/checkpoints/, made by data/make_checkpoints.py)
# ---------------------------------------------------------------------------

SHIPPED = REPO_ROOT / "data" / "checkpoints"


def test_every_mini_model_has_a_shipped_checkpoint_and_they_are_small():
    shipped = {p.stem for p in SHIPPED.glob("*.pt")}
    assert set(list_models("mini_*")) <= shipped
    assert sum(p.stat().st_size for p in SHIPPED.glob("*.pt")) <= 20 * 2**20
    summary = json.loads((SHIPPED / "summary.json").read_text())
    assert {row["arch"] for row in summary["checkpoints"]} == shipped


def test_the_readmes_show_the_measured_checkpoint_table():
    """README.md and data/README.md copy summary.md's table, which make_checkpoints.py wrote."""
    table = [line for line in (SHIPPED / "summary.md").read_text().splitlines() if line.startswith("|")]
    summary = json.loads((SHIPPED / "summary.json").read_text())
    assert len(table) == 2 + len(summary["checkpoints"])
    for readme in (REPO_ROOT / "README.md", REPO_ROOT / "data" / "README.md"):
        text = readme.read_text()
        missing = [line for line in table if line not in text]
        assert not missing, f"{readme.name} lacks these rows of data/checkpoints/summary.md: {missing}"


@pytest.mark.slow  # 2,000 test images through each of the seven minis: about 20 s each on 2 cores
@pytest.mark.parametrize("name", sorted(p.stem for p in SHIPPED.glob("*.pt")))
def test_shipped_checkpoint_reproduces_its_recorded_test_accuracy(name):
    from course_utils.data import GENERATOR_VERSION, embedded_dataset
    from course_utils.train import evaluate

    model, meta = load_checkpoint(name)
    assert meta["arch"] == name and meta["dataset"] == "embedded_shapes"
    assert meta["dataset_version"] == GENERATOR_VERSION, "the dataset changed: re-run data/make_checkpoints.py"
    assert meta["train_time_s"] > 0 and meta["torch_version"]
    test_set = embedded_dataset("test", **meta["dataset_kwargs"])
    loader = torch.utils.data.DataLoader(test_set, batch_size=500)
    accuracy = evaluate(model, loader, device="cpu").accuracy
    assert abs(accuracy - meta["accuracy"]) <= 0.005, (name, accuracy, meta["accuracy"])


# ---------------------------------------------------------------------------
# issue 16: damage inside the weights, mistakes caught at save time, a full disk
# ---------------------------------------------------------------------------


def test_flipped_bytes_inside_the_weights_fail_the_checksum(tmp_path):
    import zipfile

    shipped = checkpoints.checkpoints_dir() / "mini_googlenet.pt"
    raw = bytearray(shipped.read_bytes())
    with zipfile.ZipFile(shipped) as archive:
        entry = max(archive.infolist(), key=lambda i: i.file_size)  # the largest weight tensor
    start = entry.header_offset + 30 + len(entry.filename.encode()) + len(entry.extra)
    for offset in range(start + 100, start + 200, 7):  # inside the tensor's bytes, headers untouched
        raw[offset] ^= 0xFF
    path = tmp_path / "mini_googlenet.pt"
    path.write_bytes(bytes(raw))
    with pytest.raises(CheckpointError, match="checksum") as info:
        load_checkpoint(path)
    assert entry.filename in str(info.value) and "make_checkpoints.py" in str(info.value)


def test_save_checks_the_architecture_and_the_accuracy(tmp_path, registered):
    import numpy as np

    with pytest.raises(ValueError, match="Did you mean 'test_small'") as info:
        save_small(tmp_path / "x.pt", arch="test_smal")
    assert "arch" in str(info.value)
    with pytest.raises(ValueError, match=r"(?s)weights differ.*shape mismatch"):
        save_small(tmp_path / "x.pt", arch_kwargs={"width": 8})
    with pytest.raises(ValueError, match=r"accuracy.*fraction, not a percentage: write 0.95"):
        save_small(tmp_path / "x.pt", accuracy=95)
    with pytest.raises(ValueError, match="train_time_s"):
        save_small(tmp_path / "x.pt", train_time_s=float("nan"))
    with pytest.raises(TypeError, match="model must be a torch.nn.Module"):
        save_checkpoint("test_small", tmp_path / "x.pt", arch="test_small")
    assert not (tmp_path / "x.pt").exists()
    # numpy numbers in the metadata are stored as the Python numbers they hold
    path = save_small(tmp_path / "x.pt", arch_kwargs={"width": np.int64(4)}, accuracy=np.float32(0.5))
    assert type(read_checkpoint(path)[1]["arch_kwargs"]["width"]) is int


def test_a_full_disk_is_reported_in_the_courses_words(tmp_path, monkeypatch, registered):
    path = save_small(tmp_path / "small.pt")
    before = path.read_bytes()

    def disk_full(obj, f):
        f.write(b"PK\x03\x04")
        raise RuntimeError("[enforce fail at inline_container.cc:783] . PytorchStreamWriter failed writing file "
                           "data/3: file write failed")

    monkeypatch.setattr(checkpoints.torch, "save", disk_full)
    with pytest.raises(CheckpointError, match="disk is full.*previous file there is untouched.*MiB"):
        save_small(path, accuracy=0.9)
    assert path.read_bytes() == before and sorted(p.name for p in tmp_path.iterdir()) == ["small.pt"]


def test_a_mistyped_checkpoint_name_gets_a_suggestion():
    with pytest.raises(FileNotFoundError, match="Did you mean 'mini_googlenet'"):
        load_checkpoint("mini_googlnet")
    with pytest.raises(CheckpointError, match="path_or_name must be a file path"):
        load_checkpoint(3)
