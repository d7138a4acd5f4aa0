"""Checkpoints: saved atomically, loaded safely, mismatches explained (lessons 02-08).

A checkpoint is one file written by ``torch.save`` holding a plain dict::

    {"metadata": {...plain Python types...}, "state_dict": {name: tensor}}

* **Saved atomically**: written to a temporary file in the same folder, flushed
  to disk, then renamed over the target with ``os.replace``. A crash or Ctrl-C
  mid-save leaves the old file (or no file), never half of a new one.
* **Loaded safely**: ``torch.load(weights_only=True)`` unpickles only tensors
  and plain containers, so a checkpoint cannot run code on your machine. That
  is why the metadata may hold only ``None``/bool/int/float/str and lists,
  tuples and dicts of them.
* **Verified**: every entry of the zip archive ``torch.save`` writes carries a
  CRC-32 checksum; they are all checked before loading (``torch.load`` does not
  check them), so a file with flipped bytes in its weights fails instead of
  loading a model that silently scores at chance.
* **Checked when saved**: the architecture name, its arguments (the model they
  build must have the saved model's weights), the accuracy (a fraction) and
  the metadata types are checked by ``save_checkpoint``, not discovered when
  the file is loaded; a full disk is reported as such.
* **Explained**: a corrupted or truncated file raises :class:`CheckpointError`
  saying so; weights that do not fit the model (wrong architecture, missing or
  unexpected keys, different shapes) raise :class:`CheckpointMismatchError`
  listing every difference.

The metadata records what is needed to rebuild and judge the model: ``arch`` and
``arch_kwargs`` (for ``create_model``), the dataset and its version, the test
accuracy, the training time and the torch version. The shipped checkpoints of
the mini models live in ``data/checkpoints/`` (made by ``data/make_checkpoints.py``).
"""
from __future__ import annotations

import errno
import os
import pickle
import tempfile
import zipfile
from datetime import datetime, timezone
from pathlib import Path
from typing import Any, Mapping

import torch
from torch import Tensor, nn

from .checks import (
    CourseError,
    CourseException,
    CourseTypeError,
    check_bool,
    check_choice,
    check_fraction,
    check_module,
    check_number,
    check_str,
    describe,
    did_you_mean,
)
from .paths import data_dir

#: Identifies the file layout; bump if the layout of the saved dict changes.
CHECKPOINT_FORMAT = "course_utils.checkpoint/1"
_PLAIN_SCALARS = (type(None), bool, int, float, str)


class CheckpointError(CourseException, RuntimeError):
    """A checkpoint file cannot be read or written: missing, corrupted, truncated, not a course
    checkpoint, or the disk is full."""


class CheckpointNotFoundError(CheckpointError, FileNotFoundError):
    """No checkpoint file at that path (or no shipped checkpoint of that name)."""


class CheckpointMismatchError(CheckpointError):
    """The checkpoint's weights do not fit the model; ``differences`` lists each one."""

    def __init__(self, message: str, differences: list[str]) -> None:
        super().__init__(message)
        self.differences = differences


def checkpoints_dir() -> Path:
    """``data/checkpoints/``: the shipped checkpoints of the mini models."""
    return data_dir() / "checkpoints"


def list_checkpoints() -> list[str]:
    """Names of the shipped checkpoints (``load_checkpoint(name)`` accepts them)."""
    folder = checkpoints_dir()
    return sorted(p.stem for p in folder.glob("*.pt")) if folder.is_dir() else []


def resolve_checkpoint(path_or_name: str | os.PathLike) -> Path:
    """A shipped checkpoint's name (``"mini_googlenet"``) or a path -> the file's path."""
    if not isinstance(path_or_name, (str, os.PathLike)):
        raise CheckpointNotFoundError(
            f"path_or_name must be a file path or a shipped checkpoint's name (a string such as "
            f"'mini_googlenet'), got {describe(path_or_name)}. Shipped: {', '.join(list_checkpoints()) or 'none yet'}."
        )
    path = Path(path_or_name)
    named = isinstance(path_or_name, str) and path.suffix == "" and len(path.parts) == 1
    if named:
        path = checkpoints_dir() / f"{path_or_name}.pt"
    if not path.is_file():
        shipped = list_checkpoints()
        suggestion = did_you_mean(path_or_name if named else path.stem, shipped)
        what = "is a folder, not a checkpoint file" if path.is_dir() else "does not exist"
        raise CheckpointNotFoundError(
            f"No checkpoint at {path} (path_or_name={str(path_or_name)!r}: it {what}).{suggestion} Shipped "
            f"checkpoints (load them by name): {', '.join(shipped) or 'none yet'}. "
            "Create them with `python data/make_checkpoints.py`."
        )
    return path


def _to_plain(value: Any) -> Any:
    """numpy scalars -> the Python int/float/bool they hold (recursively), so that
    ``arch_kwargs={"num_classes": np.int64(10)}`` saves; everything else unchanged."""
    if type(value) in (list, tuple):
        return type(value)(_to_plain(v) for v in value)
    if type(value) is dict:
        return {k: _to_plain(v) for k, v in value.items()}
    if type(value).__module__ == "numpy" and getattr(value, "shape", None) == ():
        return value.item()
    return value


def _check_plain(value: Any, where: str = "metadata") -> None:
    """CourseError (a ValueError) unless ``value`` is made of types that ``weights_only=True`` loading accepts."""
    # Exact types: subclasses (numpy.float64, torch's TorchVersion string) pickle as their own class.
    if type(value) in _PLAIN_SCALARS:
        return
    if type(value) in (list, tuple):
        for i, item in enumerate(value):
            _check_plain(item, f"{where}[{i}]")
        return
    if type(value) is dict:
        for key, item in value.items():
            if type(key) is not str:
                raise CourseError(f"{where} has a non-string key {key!r}; use string keys.")
            _check_plain(item, f"{where}[{key!r}]")
        return
    raise CourseError(
        f"{where} is a {type(value).__name__}; checkpoint metadata may only hold None, bool, int, float, "
        "str and lists/tuples/dicts of them (torch.load(weights_only=True) refuses anything else). "
        "Convert it, e.g. float(x) for a tensor or str(p) for a path."
    )


def save_checkpoint(
    model: nn.Module,
    path: str | os.PathLike,
    *,
    arch: str,
    arch_kwargs: Mapping[str, Any] | None = None,
    dataset: str | None = None,
    dataset_version: int | str | None = None,
    accuracy: float | None = None,
    train_time_s: float | None = None,
    half: bool = False,
    extra: Mapping[str, Any] | None = None,
) -> Path:
    """Save ``model``'s weights and metadata to ``path``, atomically.

    Args:
        model: the trained model (its ``state_dict`` is saved, moved to the CPU).
        path: the file to write (folders are created).
        arch, arch_kwargs: the registry name and keyword arguments that rebuild the
            model with ``create_model(arch, **arch_kwargs)``.
        dataset, dataset_version: what it was trained on (e.g. ``"embedded_shapes"``,
            ``course_utils.data.GENERATOR_VERSION``).
        accuracy: test accuracy (fraction in [0, 1]) of the weights as saved.
        train_time_s: seconds of training.
        half: store floating-point tensors as float16 (half the size; they are
            converted back to the model's dtype on loading). Measure the accuracy of
            the saved weights, not the float32 ones, if you use it.
        extra: more plain-typed metadata (history, seeds, hyper-parameters...).
    """
    check_module(model, "model")
    _check_arch(model, arch, arch_kwargs)
    if accuracy is not None:
        accuracy = check_fraction(accuracy, "accuracy", hint="It is the test accuracy of the saved weights.")
    if train_time_s is not None:
        train_time_s = check_number(train_time_s, "train_time_s", minimum=0, hint="It is the training time in seconds.")
    check_bool(half, "half")
    if dataset is not None:
        check_str(dataset, "dataset", hint="For example 'embedded_shapes'.")
    if not (dataset_version is None or isinstance(dataset_version, (int, str))) or isinstance(dataset_version, bool):
        raise CourseError(f"dataset_version must be an int, a str or None, got {describe(dataset_version)}.")
    if extra is not None and not isinstance(extra, Mapping):
        raise CourseError(f"extra must be a dict of more metadata, got {describe(extra)}.")
    if extra is not None:
        _check_plain(_to_plain(dict(extra)), "extra")
    if not isinstance(path, (str, os.PathLike)):
        raise CourseTypeError(f"path must be the checkpoint file to write (e.g. 'my_model.pt'), got {describe(path)}.")
    if Path(path).is_dir():
        raise CourseError(
            f"path must be the checkpoint file to write, got the folder {path}: add a file name, "
            f"e.g. {Path(path) / 'my_model.pt'}."
        )
    metadata: dict[str, Any] = {
        "format": CHECKPOINT_FORMAT,
        "arch": arch,
        "arch_kwargs": dict(arch_kwargs or {}),
        "dataset": dataset,
        "dataset_version": dataset_version,
        "accuracy": None if accuracy is None else float(accuracy),
        "train_time_s": None if train_time_s is None else float(train_time_s),
        "torch_version": str(torch.__version__),  # a str subclass: stored as a plain str
        "num_params": sum(p.numel() for p in model.parameters()),
        "stored_dtype": "float16" if half else "as trained",
        "saved_at": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }
    for key, value in dict(extra or {}).items():
        if key in metadata:
            raise CourseError(f"extra metadata key {key!r} clashes with a standard field; rename it.")
        metadata[key] = value
    metadata = _to_plain(metadata)
    _check_plain(metadata)

    state_dict = {}
    for name, tensor in model.state_dict().items():
        tensor = tensor.detach().cpu()
        state_dict[name] = tensor.half() if (half and tensor.is_floating_point()) else tensor.clone()

    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    # Same folder as the target: os.replace is only atomic within one file system.
    fd, tmp_name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            torch.save({"metadata": metadata, "state_dict": state_dict}, f)
            f.flush()
            os.fsync(f.fileno())  # the bytes are on disk before the name points at them
        os.chmod(tmp_name, 0o644)  # mkstemp creates the file private (0600)
        os.replace(tmp_name, path)
    except (OSError, RuntimeError) as err:  # a full disk reaches us from torch's zip writer as a RuntimeError
        Path(tmp_name).unlink(missing_ok=True)
        size_mb = sum(t.numel() * t.element_size() for t in state_dict.values()) / 2**20
        full = getattr(err, "errno", None) == errno.ENOSPC or "write failed" in str(err) or "No space" in str(err)
        reason = "the disk is full" if full else "writing failed"
        previous = "the previous file there is untouched" if path.exists() else "no file was written"
        raise CheckpointError(
            f"Could not save the checkpoint to {path}: {reason} ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else 'no details'}); {previous}. It needs about "
            f"{size_mb:.1f} MiB: free some disk space or save to another folder."
        ) from err
    except BaseException:  # KeyboardInterrupt too: never leave the temporary file behind
        Path(tmp_name).unlink(missing_ok=True)
        raise
    return path


def _check_arch(model: nn.Module, arch: Any, arch_kwargs: Any) -> None:
    """The model ``create_model(arch, **arch_kwargs)`` builds must have ``model``'s weights.

    Checked when saving, so that a typo in the name or a forgotten argument is caught
    while the trained model is still in memory, not when someone loads the file. The
    model is rebuilt on PyTorch's "meta" device: shapes only, no memory, no time.
    """
    from .models import create_model, list_models

    check_choice(arch, "arch", list_models(), what="model name",
                 hint="arch is the registry name that rebuilds the model (create_model(arch)).")
    if arch_kwargs is not None and not isinstance(arch_kwargs, Mapping):
        raise CourseError(f"arch_kwargs must be a dict of create_model's keyword arguments, got {describe(arch_kwargs)}.")
    kwargs = _to_plain(dict(arch_kwargs or {}))
    try:
        with torch.device("meta"):
            rebuilt = create_model(arch, **kwargs)
    except (ValueError, TypeError) as err:
        raise CourseError(
            f"arch={arch!r} with arch_kwargs={kwargs} does not build a model: {err}"
        ) from err
    differences = state_dict_differences(rebuilt.state_dict(), model.state_dict())
    if differences:
        shown = "\n  ".join(differences[:5]) + (f"\n  ... and {len(differences) - 5} more" if len(differences) > 5 else "")
        raise CourseError(
            f"create_model({arch!r}, **{kwargs}) builds a model whose weights differ from the model being saved, "
            f"so the checkpoint could not be loaded back. Pass the arch and arch_kwargs the model was built with. "
            f"Differences:\n  {shown}"
        )


def read_checkpoint(path_or_name: str | os.PathLike) -> tuple[dict[str, Tensor], dict[str, Any]]:
    """``(state_dict, metadata)`` of a checkpoint file, with a clear error for a bad file."""
    path = resolve_checkpoint(path_or_name)
    fix = (
        "Re-create it with `python data/make_checkpoints.py`, or restore the shipped file with "
        f"`git checkout -- {path}`."
    )
    # torch.save writes a zip archive. Checking that first makes every damaged file fail
    # the same way: random bytes fed to torch.load's legacy (non-zip) reader can raise
    # almost anything, from UnpicklingError to KeyError, depending on the bytes.
    if not zipfile.is_zipfile(path):
        raise CheckpointError(
            f"{path} ({path.stat().st_size:,} bytes) is corrupted or truncated and cannot be loaded "
            f"(it is not the zip archive torch.save writes). {fix}"
        )
    _verify_checksums(path, fix)
    try:
        payload = torch.load(path, map_location="cpu", weights_only=True)
    except pickle.UnpicklingError as err:
        if "Unsupported global" not in str(err):  # garbage bytes fail in the unpickler too
            raise CheckpointError(
                f"{path} ({path.stat().st_size:,} bytes) is corrupted or truncated and cannot be loaded "
                f"(UnpicklingError: {str(err).splitlines()[0] if str(err) else 'no details'}). {fix}"
            ) from err
        unsupported = next((line.strip() for line in str(err).splitlines() if "Unsupported global" in line), "")
        raise CheckpointError(
            f"{path} holds Python objects other than tensors and plain types, which "
            f"torch.load(weights_only=True) refuses to unpickle for safety ({unsupported}). Checkpoints "
            "written by course_utils.checkpoints.save_checkpoint never do; re-create it with it."
        ) from err
    except (RuntimeError, EOFError, ValueError, OSError, zipfile.BadZipFile) as err:
        raise CheckpointError(
            f"{path} ({path.stat().st_size:,} bytes) is corrupted or truncated and cannot be loaded "
            f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else 'no details'}). {fix}"
        ) from err
    if not (isinstance(payload, dict) and {"metadata", "state_dict"} <= payload.keys()):
        found = sorted(payload) if isinstance(payload, dict) else type(payload).__name__
        raise CheckpointError(
            f"{path} is not a course_utils checkpoint: expected a dict with 'metadata' and 'state_dict', "
            f"found {found}. A bare state dict loads with model.load_state_dict(torch.load(path, weights_only=True))."
        )
    metadata = payload["metadata"]
    if metadata.get("format") != CHECKPOINT_FORMAT:
        raise CheckpointError(
            f"{path} has checkpoint format {metadata.get('format')!r}; this course_utils reads "
            f"{CHECKPOINT_FORMAT!r}. {fix}"
        )
    return payload["state_dict"], metadata


def _verify_checksums(path: Path, fix: str) -> None:
    """CheckpointError unless every entry of the zip archive matches its stored CRC-32.

    ``torch.load`` does not check them: flipped bytes inside the weights would load
    silently and the model would score at chance while its metadata promises 96%.
    Reading the archive once costs a few milliseconds per megabyte.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            bad = archive.testzip()
    except (zipfile.BadZipFile, OSError, EOFError, ValueError, RuntimeError) as err:
        raise CheckpointError(
            f"{path} ({path.stat().st_size:,} bytes) is corrupted or truncated and cannot be loaded "
            f"({type(err).__name__}: {str(err).splitlines()[0] if str(err) else 'no details'}). {fix}"
        ) from err
    if bad is not None:
        raise CheckpointError(
            f"{path} is corrupted and cannot be loaded: the bytes of {bad!r} inside it do not match their "
            f"stored checksum (CRC-32), so its weights are damaged. {fix}"
        )


def state_dict_differences(expected: Mapping[str, Tensor], found: Mapping[str, Tensor]) -> list[str]:
    """Every way ``found`` (a checkpoint) fails to fit ``expected`` (a model): one line each.

    Missing keys (the model has them, the checkpoint does not), unexpected keys
    (the other way round) and shape mismatches. Empty when they fit.
    """
    lines = [f"missing key (in the model, not in the checkpoint): {k}" for k in expected if k not in found]
    lines += [f"unexpected key (in the checkpoint, not in the model): {k}" for k in found if k not in expected]
    for key in expected:
        if key in found and tuple(expected[key].shape) != tuple(found[key].shape):
            lines.append(
                f"shape mismatch for {key}: checkpoint {tuple(found[key].shape)}, model {tuple(expected[key].shape)}"
            )
    return lines


def _raise_mismatch(path: Path, metadata: dict, differences: list[str], arch: str | None) -> None:
    shown = differences[:10]  # all of them are in the exception's .differences
    more = (f"\n  ... and {len(differences) - len(shown)} more (all listed in the exception's .differences)"
            if len(differences) > len(shown) else "")
    header = (
        f"The weights in {path} do not fit the model. The checkpoint was saved from "
        f"{metadata.get('arch')!r} with arguments {metadata.get('arch_kwargs')}"
        + (f"; you asked for {arch!r}" if arch else "")
        + f". {len(differences)} difference(s):\n  "
    )
    hint = (
        "\nBuild the model the checkpoint describes: course_utils.checkpoints.load_checkpoint(path) does that "
        "from its metadata."
    )
    raise CheckpointMismatchError(header + "\n  ".join(shown) + more + hint, differences)


def load_weights(model: nn.Module, path_or_name: str | os.PathLike, arch: str | None = None) -> dict[str, Any]:
    """Load a checkpoint's weights into an existing ``model``; returns the metadata.

    ``arch`` (optional) is the registry name ``model`` was built from: a
    checkpoint of another architecture is then refused up front. Either way, every
    missing/unexpected key and shape mismatch is listed in a
    :class:`CheckpointMismatchError` before anything is copied.
    """
    state_dict, metadata = read_checkpoint(path_or_name)
    path = resolve_checkpoint(path_or_name)
    differences = state_dict_differences(model.state_dict(), state_dict)
    if arch is not None and arch != metadata.get("arch"):
        differences.insert(0, f"architecture: checkpoint {metadata.get('arch')!r}, model {arch!r}")
    if differences:
        _raise_mismatch(path, metadata, differences, arch)
    model.load_state_dict(state_dict)  # copies, converting float16-stored tensors to the model's dtype
    return metadata


def load_checkpoint(
    path_or_name: str | os.PathLike, arch: str | None = None, device: str | torch.device = "cpu"
) -> tuple[nn.Module, dict[str, Any]]:
    """Rebuild the model a checkpoint describes and load its weights: ``(model, metadata)``.

    ``path_or_name`` is a file or a shipped checkpoint's name (see
    :func:`list_checkpoints`). ``arch``, if given, must match the checkpoint's
    architecture. The model comes back in eval mode.
    """
    from .models import create_model  # here, not at the top: importing the models is the slow part

    state_dict, metadata = read_checkpoint(path_or_name)
    path = resolve_checkpoint(path_or_name)
    if arch is not None and arch != metadata["arch"]:
        _raise_mismatch(path, metadata, [f"architecture: checkpoint {metadata['arch']!r}, requested {arch!r}"], arch)
    from .runtime import pick_device

    device = pick_device(device)  # an unknown device is refused before the model is built
    model = create_model(metadata["arch"], **metadata["arch_kwargs"])
    differences = state_dict_differences(model.state_dict(), state_dict)
    if differences:
        _raise_mismatch(path, metadata, differences, arch)
    model.load_state_dict(state_dict)
    _set_training_preprocess(model, metadata)
    return model.to(device).eval(), metadata


def _set_training_preprocess(model: nn.Module, metadata: Mapping[str, Any]) -> None:
    """A model trained on the embedded shapes expects that data's normalization and size.

    Preprocessing facts live next to the model (``model.preprocess``), so a
    checkpoint's model says what it was trained on: the viz helpers use it to
    draw images un-normalized, a learner to prepare new inputs.
    """
    if metadata.get("dataset") != "embedded_shapes" or not hasattr(model, "preprocess"):
        return
    from dataclasses import replace

    from .data import DEFAULT_SIZE, EMBEDDED_MEAN, EMBEDDED_STD

    size = int(metadata.get("dataset_kwargs", {}).get("size", DEFAULT_SIZE))
    model.preprocess = replace(model.preprocess, input_size=(model.preprocess.input_size[0], size, size),
                               mean=tuple(EMBEDDED_MEAN), std=tuple(EMBEDDED_STD))
