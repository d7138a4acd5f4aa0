"""The pretrained ImageNet route of lesson 08 (opt-in: it needs the published weights).

The course's seed had a Keras demo: InceptionV3 with ImageNet weights names what
is in a few photographs. This module is that demo with the course's own models:

* :func:`imagenet_class_names` - the 1000 class names, offline (torchvision ships them);
* :func:`top5`, :func:`classify_photos` - the five most probable classes of each photograph;
* :func:`preprocessing_cost` - what feeding the wrong input scaling costs;
* :func:`pretrained_or_skip`, :func:`imagenette_or_skip` - the model / the data, or ``None``
  after two short lines that say what is missing and what to do (no traceback in a lesson);
* :func:`fine_tune_imagenette` - the pretrained Inception v3 fine-tuned on Imagenette.

Why the input scaling matters
-----------------------------
Google trained Inception v3 (and v4, Inception-ResNet, Xception) on pixels scaled to
[-1, 1]: ``(x - 0.5) / 0.5`` with x in [0, 1]. Torchvision's ResNets were trained on
ImageNet-normalized pixels: ``(x - (0.485, 0.456, 0.406)) / (0.229, 0.224, 0.225)``,
roughly [-2.1, 2.6]. The weights are tuned to the statistics of their training
inputs (the first batch-norm layers' running means and variances were measured on
them), so the other scaling shifts and stretches every activation downstream.

Which scaling a *caller* must feed depends on the model, and that is the trap:

* ``create_model("inception_v3")`` (the default, ``transform_input=True``, as torchvision's
  pretrained builder) expects **ImageNet-normalized** input and re-maps it to [-1, 1]
  inside the model (``transform_imagenet_to_inception``, the first step of its forward
  pass), so ``model.preprocess`` says ImageNet's mean/std. Feeding it [-1, 1] input is
  wrong: the re-mapping is applied a second time and squeezes the pixels into about
  [-0.64, 0.43] (half the contrast, shifted down, blue most).
* ``create_model("inception_v3", transform_input=False)`` takes the network's input as
  it is: feed **[-1, 1]** (``model.preprocess`` says mean = std = 0.5), as Keras's
  ``InceptionV3`` (``preprocess_input``) and timm's ``inception_v3.tf_in1k`` expect.
  ImageNet-normalized input is wrong for it.

Either way the first convolution of a correctly fed model sees [-1, 1]. The safe rule
is the one this module follows: prepare images with the model's own ``model.preprocess``
(:func:`course_utils.data.photo_batch` does), and :func:`wrong_preprocess` gives the
other scaling for the comparison.
"""
from __future__ import annotations

import dataclasses
import math
import os
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import torch
from torch import Tensor, nn

from .checks import CourseTypeError, check_int, describe
from .models.base import (
    IMAGENET_MEAN,
    IMAGENET_STD,
    INCEPTION_MEAN,
    INCEPTION_STD,
    PreprocessConfig,
    inception_preprocess,
)

__all__ = [
    "INCEPTION_PREPROCESS",
    "WRONG_PREPROCESS",
    "IMAGENETTE_CLASSES",
    "imagenet_class_names",
    "wrong_preprocess",
    "scaling_name",
    "top5",
    "PhotoPredictions",
    "classify_photos",
    "PreprocessingCost",
    "preprocessing_cost",
    "pretrained_or_skip",
    "imagenette_or_skip",
    "fine_tune_imagenette",
]

#: Google's Inception checkpoints: 299 x 299 centre crop, pixels scaled to [-1, 1]
#: (mean = std = 0.5). Right for a model that takes them as they are
#: (``inception_v3(transform_input=False)``, Keras's InceptionV3, timm's ``tf_in1k`` weights).
INCEPTION_PREPROCESS = inception_preprocess()
#: The same crop, ImageNet mean/std: what a ResNet expects. Wrong for a model that takes
#: [-1, 1] as it is; note that the default ``inception_v3()`` (``transform_input=True``)
#: expects exactly this and re-maps it inside (see the module docstring), so for that model
#: the wrong one is :data:`INCEPTION_PREPROCESS`. :func:`wrong_preprocess` picks per model.
WRONG_PREPROCESS = dataclasses.replace(INCEPTION_PREPROCESS, mean=IMAGENET_MEAN, std=IMAGENET_STD)

#: Imagenette's folders (WordNet ids) -> the ImageNet class index and name.
IMAGENETTE_CLASSES = {
    "n01440764": (0, "tench"),
    "n02102040": (217, "English springer"),
    "n02979186": (482, "cassette player"),
    "n03000684": (491, "chain saw"),
    "n03028079": (497, "church"),
    "n03394916": (566, "French horn"),
    "n03417042": (569, "garbage truck"),
    "n03425413": (571, "gas pump"),
    "n03445777": (574, "golf ball"),
    "n03888605": (701, "parachute"),
}

#: The longest line the skip messages print (a notebook's output width).
MAX_LINE = 100


# ---------------------------------------------------------------------------
# class names and input scalings
# ---------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _class_names() -> tuple[str, ...]:
    from torchvision.models import Inception_V3_Weights

    return tuple(Inception_V3_Weights.IMAGENET1K_V1.meta["categories"])


def imagenet_class_names() -> list[str]:
    """The 1000 ImageNet-1k class names, index = the logit's position (offline).

    Read from torchvision's weights metadata (installed with torchvision, no download)
    and cached. Index 281 is ``"tabby"``, 282 ``"tiger cat"``.
    """
    return list(_class_names())


def _same(a, b) -> bool:
    return all(math.isclose(x, y, abs_tol=1e-6) for x, y in zip(a, b))


def scaling_name(preprocess: PreprocessConfig) -> str:
    """A short name for ``preprocess``'s pixel scaling: ``"[-1, 1]"``, ``"ImageNet mean/std"`` or the numbers."""
    if _same(preprocess.mean, INCEPTION_MEAN) and _same(preprocess.std, INCEPTION_STD):
        return "[-1, 1]"
    if _same(preprocess.mean, IMAGENET_MEAN) and _same(preprocess.std, IMAGENET_STD):
        return "ImageNet mean/std"
    return f"mean {tuple(preprocess.mean)}, std {tuple(preprocess.std)}"


def wrong_preprocess(model: nn.Module) -> PreprocessConfig:
    """The *other* scaling than ``model.preprocess``: the classic mistake for this model.

    For a model that expects [-1, 1] (``transform_input=False``), ImageNet's mean/std;
    for one that expects ImageNet's mean/std (the default ``inception_v3()``, which
    re-maps it to [-1, 1] itself) or any other scaling, [-1, 1]. Same size and crop as
    the right one.
    """
    right = _model_preprocess(model)
    if _same(right.mean, INCEPTION_MEAN) and _same(right.std, INCEPTION_STD):
        return dataclasses.replace(right, mean=IMAGENET_MEAN, std=IMAGENET_STD)
    return dataclasses.replace(right, mean=INCEPTION_MEAN, std=INCEPTION_STD)


def _model_preprocess(model: nn.Module) -> PreprocessConfig:
    if not isinstance(model, nn.Module):
        raise CourseTypeError(f"model must be a torch nn.Module (e.g. create_model('inception_v3')), got {describe(model)}.")
    preprocess = getattr(model, "preprocess", None)
    if not isinstance(preprocess, PreprocessConfig):
        raise CourseTypeError(
            f"{type(model).__name__} has no .preprocess (a PreprocessConfig) saying which input it expects: "
            "build it with course_utils.models.create_model."
        )
    return preprocess


# ---------------------------------------------------------------------------
# top-5
# ---------------------------------------------------------------------------
@torch.no_grad()
def _probabilities(model: nn.Module, images: Tensor) -> Tensor:
    """Softmax over ``model``'s logits, in eval mode (restored afterwards), on the model's device."""
    was_training = model.training
    model.eval()
    try:
        device = next(model.parameters()).device
        logits = model(images.to(device))
    finally:
        model.train(was_training)
    return logits.float().softmax(dim=1).cpu()


def top5(model: nn.Module, images: Tensor, k: int = 5, class_names: list[str] | None = None) -> list[list[tuple[str, float]]]:
    """The ``k`` most probable classes of each image: one list of ``(class name, probability)`` per image.

    ``images`` is a prepared batch (N x 3 x H x W, scaled as the model expects, e.g.
    ``photo_batch(names, preprocess=model.preprocess)``). The model runs in eval mode
    without gradients. Probabilities are a softmax over all the model's classes, so
    each list is in decreasing order and sums to at most 1. ``class_names`` defaults to
    the ImageNet names for a 1000-class model, else ``"class <i>"``.
    """
    if not isinstance(images, Tensor) or images.dim() != 4:
        raise CourseTypeError(
            f"images must be a batch tensor N x 3 x H x W (photo_batch(...) makes one), got {describe(images)}."
        )
    k = check_int(k, "k", minimum=1, hint="It is how many classes to list per image.")
    probs = _probabilities(model, images)
    k = min(k, probs.shape[1])
    if class_names is None:
        class_names = imagenet_class_names() if probs.shape[1] == 1000 else [f"class {i}" for i in range(probs.shape[1])]
    values, indices = probs.topk(k, dim=1)
    return [
        [(class_names[i], float(p)) for p, i in zip(row_p.tolist(), row_i.tolist())]
        for row_p, row_i in zip(values, indices)
    ]


def _percent(p: float) -> str:
    return f"{100 * p:.0f}%" if p >= 0.1 else f"{100 * p:.1f}%"


def _short(text: str, width: int) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


@dataclass(frozen=True)
class PhotoPredictions:
    """The top-k classes of each photograph, as :func:`classify_photos` returns them.

    Attributes:
        photos: the photo names, in order.
        predictions: per photo, ``(class name, probability)`` pairs, most probable first.
        scaling: the input scaling used (e.g. ``"[-1, 1]"``).
    """

    photos: tuple[str, ...]
    predictions: tuple[tuple[tuple[str, float], ...], ...]
    scaling: str

    def top1(self) -> dict[str, str]:
        """Photo name -> its most probable class."""
        return {photo: preds[0][0] for photo, preds in zip(self.photos, self.predictions)}

    def probability(self, photo: str, class_name: str) -> float:
        """The probability of ``class_name`` for ``photo`` if it is in the top k, else 0.0."""
        return dict(self.predictions[self.photos.index(photo)]).get(class_name, 0.0)

    def __str__(self) -> str:
        width = max(len("photo"), *(len(p) for p in self.photos))
        k = len(self.predictions[0]) if self.predictions else 0
        lines = [f"{'photo':<{width}}  top-{k} (probability), input scaled to {self.scaling}"]
        for photo, preds in zip(self.photos, self.predictions):
            cells = [f"{_short(name, 16)} {_percent(p)}" for name, p in preds]
            lines.append(f"{photo:<{width}}  " + ", ".join(cells))
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self) if not cycle else "PhotoPredictions(...)")


def _photo_names(names) -> list[str]:
    from .data.photos import photo_names

    if names is None:
        return photo_names()
    if isinstance(names, str):
        return [names]
    if not isinstance(names, (list, tuple)):
        raise CourseTypeError(f"names must be a list of photo names such as ['chelsea', 'coffee'], got {describe(names)}.")
    return list(names)


def classify_photos(model: nn.Module, names=None, preprocess: PreprocessConfig | None = None, k: int = 5,
                    class_names: list[str] | None = None) -> PhotoPredictions:
    """The top-``k`` ImageNet classes of the course's photographs (the Keras demo, in PyTorch).

    ``names``: photo names (default: all of ``course_utils.data.photo_names()``).
    ``preprocess``: how to prepare them, default ``model.preprocess`` (the right one;
    pass :func:`wrong_preprocess(model) <wrong_preprocess>` to see the mistake).
    ``class_names``: as in :func:`top5` (e.g. Imagenette's ten after fine-tuning:
    ``[name for _, name in IMAGENETTE_CLASSES.values()]``). Prints as a small table
    (one line per photo).
    """
    from .data.photos import photo_batch

    names = _photo_names(names)
    preprocess = _model_preprocess(model) if preprocess is None else preprocess
    batch = photo_batch(names, preprocess=preprocess)
    predictions = top5(model, batch, k=k, class_names=class_names)
    return PhotoPredictions(tuple(names), tuple(tuple(p) for p in predictions), scaling_name(preprocess))


# ---------------------------------------------------------------------------
# what the wrong scaling costs
# ---------------------------------------------------------------------------
@dataclass(frozen=True)
class PreprocessingRow:
    """One photograph under the right and the wrong scaling.

    ``p_right`` and ``p_wrong`` are the probabilities of the same class, ``right_top1``
    (the right scaling's answer), under each scaling.
    """

    photo: str
    right_top1: str
    wrong_top1: str
    p_right: float
    p_wrong: float

    @property
    def agree(self) -> bool:
        return self.right_top1 == self.wrong_top1


@dataclass(frozen=True)
class PreprocessingCost:
    """Per photo: top-1 under the right and the wrong scaling; a summary over the photos.

    Attributes:
        rows: one :class:`PreprocessingRow` per photo.
        right, wrong: the two scalings' names.
    """

    rows: tuple[PreprocessingRow, ...]
    right: str
    wrong: str

    @property
    def agreement(self) -> float:
        """Fraction of photos whose top-1 class is the same under both scalings."""
        return sum(r.agree for r in self.rows) / len(self.rows)

    @property
    def mean_confidence_drop(self) -> float:
        """Mean over photos of p_right - p_wrong: how much probability the right answer loses."""
        return sum(r.p_right - r.p_wrong for r in self.rows) / len(self.rows)

    def summary(self) -> dict[str, float]:
        return {"agreement": self.agreement, "mean_confidence_drop": self.mean_confidence_drop}

    def __str__(self) -> str:
        heads = ("photo", f"top-1, {self.right} (right)", f"top-1, {self.wrong} (wrong)", "P(right top-1): right -> wrong")
        cells = [(r.photo, _short(r.right_top1, 20), _short(r.wrong_top1, 20),
                  f"{_percent(r.p_right)} -> {_percent(r.p_wrong)}") for r in self.rows]
        widths = [max(len(heads[i]), *(len(c[i]) for c in cells)) for i in range(3)]
        lines = ["  ".join(f"{text:<{width}}" for text, width in zip(row, widths)) + "  " + row[3]
                 for row in (heads, *cells)]
        lines.append(
            f"same top-1 on {sum(r.agree for r in self.rows)}/{len(self.rows)} photos; the right top-1's "
            f"probability drops by {100 * self.mean_confidence_drop:.1f} points on average"
        )
        return "\n".join(lines)

    def _repr_pretty_(self, printer, cycle) -> None:
        printer.text(str(self) if not cycle else "PreprocessingCost(...)")


def preprocessing_cost(model: nn.Module, names=None, wrong: PreprocessConfig | None = None) -> PreprocessingCost:
    """Classify the photographs with the right scaling (``model.preprocess``) and the wrong one.

    ``wrong`` defaults to :func:`wrong_preprocess(model) <wrong_preprocess>`. Works with any
    model that has a ``preprocess`` (with random weights the numbers mean nothing, the
    code path is the same). Per photo: both top-1 classes and the probability of the right
    top-1 class under each scaling; :attr:`PreprocessingCost.agreement` and
    :attr:`~PreprocessingCost.mean_confidence_drop` summarise.
    """
    from .data.photos import photo_batch

    names = _photo_names(names)
    if not names:
        raise CourseTypeError("names is empty: give at least one photo name (see course_utils.data.photo_names()).")
    right = _model_preprocess(model)
    wrong = wrong_preprocess(model) if wrong is None else wrong
    p_right = _probabilities(model, photo_batch(names, preprocess=right))
    p_wrong = _probabilities(model, photo_batch(names, preprocess=wrong))
    class_names = imagenet_class_names() if p_right.shape[1] == 1000 else [f"class {i}" for i in range(p_right.shape[1])]
    rows = []
    for photo, pr, pw in zip(names, p_right, p_wrong):
        i, j = int(pr.argmax()), int(pw.argmax())
        rows.append(PreprocessingRow(photo, class_names[i], class_names[j], float(pr[i]), float(pw[i])))
    return PreprocessingCost(tuple(rows), scaling_name(right), scaling_name(wrong))


# ---------------------------------------------------------------------------
# the model and the data, or two lines saying why not
# ---------------------------------------------------------------------------
def _display_path(path: Path) -> str:
    """A path as short as it can be while staying usable: $TORCH_HOME/..., data/..., ~/..."""
    from .paths import REPO_ROOT

    path = Path(path)
    torch_home = os.environ.get("TORCH_HOME")
    if torch_home:
        try:
            return "$TORCH_HOME/" + path.relative_to(Path(torch_home).expanduser()).as_posix()
        except ValueError:
            pass
    for base, label in ((REPO_ROOT, ""), (Path.home(), "~/")):
        try:
            rest = path.relative_to(base).as_posix()
        except ValueError:
            continue
        return label + rest
    return path.as_posix()


def _fit(*candidates: str) -> str:
    """The first candidate line of at most MAX_LINE characters; the last one cut in the middle otherwise."""
    for line in candidates:
        if len(line) <= MAX_LINE:
            return line
    line = candidates[-1]
    half = (MAX_LINE - 1) // 2
    return line[:half] + "…" + line[-(MAX_LINE - 1 - half):]


def _skip(line1: str, line2: str) -> None:
    print(line1)
    print(line2)


def pretrained_or_skip(name: str = "inception_v3", **kwargs) -> nn.Module | None:
    """``create_model(name, pretrained=True, **kwargs)``, or None after two short lines saying why.

    For a lesson that must run offline: where the weights are neither cached nor
    downloadable (no internet), this prints what is missing and what to do (go online,
    e.g. on Colab, or put the weights file where the cache looks) and returns None,
    so the cell can write ``if model is not None: ...`` instead of failing. It never
    hangs: the network probe of ``models.pretrained`` gives up within seconds.

    The model comes in eval mode. Its ``preprocess`` says which input it expects
    (see the module docstring: the default ``inception_v3`` takes ImageNet-normalized input).
    """
    from .models import create_model
    from .models.pretrained import PretrainedWeightsError, locate_weights
    from .models.registry import weight_source

    source = weight_source(name)  # an unknown name is a mistake to raise, not a reason to skip
    try:
        model = create_model(name, pretrained=True, **kwargs)
    except PretrainedWeightsError as error:
        try:
            location = locate_weights(source)
        except PretrainedWeightsError:  # the library does not know these weights at all
            _skip(_fit(f"Skipped: this {source.library} version does not know the ImageNet weights for {name}."),
                  _fit(f"Upgrade it (pip install -U {source.library}); the rest of the lesson runs without them."))
            return None
        path = _display_path(location.cache_path)
        if location.cached_file is None:
            offline = "could not provide" not in str(error)  # else: the server answered, the download failed
            _skip(
                _fit(
                    f"Skipped: ImageNet weights for {name} are not on this machine and the internet is unreachable.",
                    f"Skipped: no ImageNet weights for {name} here, and no internet.",
                ) if offline else _fit(
                    f"Skipped: ImageNet weights for {name} are not on this machine and their download failed.",
                    f"Skipped: no ImageNet weights for {name} here, and the download failed.",
                ),
                _fit(
                    f"Run this notebook online (e.g. Colab) or put the weights file at {path}; "
                    "the rest of the lesson runs without it.",
                    f"Run online (e.g. Colab) or put the weights at {path}; the lesson goes on without them.",
                    f"Run online (e.g. Colab) or put the weights at {path}",
                    f"Go online (Colab) or put the file at {path}",
                    # a long path: name the folder by the call that gives it
                    f"Go online (Colab) or put {location.cache_path.name} in torch.hub.get_dir()/checkpoints",
                ),
            )
        else:
            _skip(
                _fit(f"Skipped: the cached ImageNet weights for {name} did not load (damaged download?).",
                     f"Skipped: the cached weights for {name} did not load."),
                _fit(f"Delete {path} and run online to download it again.", f"Delete {path}, then retry online."),
            )
        return None
    return model.eval()


def imagenette_or_skip(root: str | Path | None = None, size: int = 160, preprocess: PreprocessConfig | None = None,
                       download: bool = False):
    """Imagenette's ``(train, val)`` ImageFolder datasets, or None after two short lines saying why.

    Files already under ``root`` (default ``data/downloads/``, layout
    ``imagenette2-160/{train,val}/<wordnet id>/<image>``) are read without touching the
    network; missing files are only downloaded with ``download=True`` (about 100 MB).
    Images are resized to ``size`` and centre-cropped, then scaled with
    ``preprocess``'s mean/std (default: ImageNet's, what ``inception_v3()`` expects).
    Class ``i`` is the i-th WordNet id in sorted order; :data:`IMAGENETTE_CLASSES` names it.
    """
    from .data.downloads import IMAGENETTE_URL, DatasetUnavailableError, downloads_dir, imagenette

    size = check_int(size, "size", minimum=1, hint="It is the side of the square images in pixels (Imagenette: 160).")
    root = Path(root).expanduser() if root is not None else downloads_dir()
    try:
        train, val = (imagenette(split, root=root, download=download, size=size) for split in ("train", "val"))
    except DatasetUnavailableError:
        where = _display_path(root)
        folder = root / "imagenette2-160"
        if folder.is_dir() and all((folder / s).is_dir() for s in ("train", "val")):
            line1 = _fit(f"Skipped: Imagenette under {where} is incomplete or unreadable.",
                         "Skipped: the Imagenette files on this machine are incomplete or unreadable.")
        elif download:
            line1 = _fit("Skipped: Imagenette is not on this machine and could not be downloaded (no internet?).")
        else:
            line1 = _fit(f"Skipped: Imagenette is not on this machine (looked in {where}/imagenette2-160).",
                         "Skipped: Imagenette is not on this machine (looked in the downloads folder).")
        _skip(line1, _fit(f"Extract {IMAGENETTE_URL} in {where}, or pass download=True online.",
                          f"Extract {IMAGENETTE_URL} in {where}",
                          f"Extract {IMAGENETTE_URL.rsplit('/', 1)[-1]} (data.downloads.IMAGENETTE_URL) in {where}"))
        return None
    if preprocess is not None:
        from torchvision import transforms as T

        transform = T.Compose([T.Resize(size, antialias=True), T.CenterCrop(size), T.ToTensor(),
                               T.Normalize(preprocess.mean, preprocess.std)])
        train.transform = val.transform = transform
    return train, val


# ---------------------------------------------------------------------------
# fine-tuning on Imagenette
# ---------------------------------------------------------------------------
def _drop_aux_heads(model: nn.Module) -> None:
    """Remove a course model's auxiliary classifiers (what ``aux_logits=False`` would have built)."""
    names = [name for name in getattr(model, "aux_head_names", ()) if getattr(model, name, None) is not None]
    for name in names:
        setattr(model, name, None)
    config = getattr(model, "config", None)
    if names and config is not None and hasattr(config, "aux_logits"):
        model.config = config.replace(aux_logits=False)  # the config keeps describing the model


def fine_tune_imagenette(model: nn.Module | None = None, root: str | Path | None = None, steps: int = 300, *,
                         lr: float = 3e-3, batch_size: int = 32, size: int = 160, max_val_images: int | None = None,
                         num_workers: int = 0, seed: int = 0, **fine_tune_kwargs) -> dict | None:
    """Fine-tune the pretrained Inception v3 on Imagenette's 10 classes; None (after two lines) if either is missing.

    ``model`` defaults to ``pretrained_or_skip("inception_v3", aux_logits=False)``. Auxiliary
    heads are dropped (from a model you pass too): at Imagenette's 160 px Inception v3's
    cannot run (its 5x5/3 pooling needs 299 px inputs), and a 10-class transfer from
    ImageNet features does not need their extra gradient. The classifier is replaced by a fresh 10-way one (``reset_classifier(10)``),
    the images are scaled as ``model.preprocess`` says, and the training loop is
    :func:`course_utils.transfer.fine_tune` (``steps``, ``lr`` and ``fine_tune_kwargs``,
    e.g. ``backbone_lr_factor``, ``bn``, ``device``, ``progress``, go to it; ``lr`` is the new
    head's AdamW learning rate, the pretrained backbone's is ten times lower by default).
    Returns its result dict: ``test_acc`` is the accuracy on Imagenette's val split. ``max_val_images``
    evaluates on a fixed random subset of the 3,925 validation images (faster on a CPU).
    """
    from torch.utils.data import DataLoader, Subset

    steps = check_int(steps, "steps", minimum=1, hint="It is the number of optimizer steps.")
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if model is None:
        model = pretrained_or_skip("inception_v3", aux_logits=False)
        if model is None:
            return None
    preprocess = _model_preprocess(model)
    data = imagenette_or_skip(root, size=size, preprocess=preprocess)
    if data is None:
        return None
    train, val = data
    num_classes = len(train.classes)
    model.reset_classifier(num_classes)
    _drop_aux_heads(model)
    if max_val_images is not None and max_val_images < len(val):
        picks = torch.randperm(len(val), generator=torch.Generator().manual_seed(seed))[:max_val_images]
        val = Subset(val, sorted(picks.tolist()))
    train_loader = DataLoader(train, batch_size=batch_size, shuffle=True, num_workers=num_workers,
                              generator=torch.Generator().manual_seed(seed), drop_last=len(train) > batch_size)
    val_loader = DataLoader(val, batch_size=batch_size, num_workers=num_workers)

    from .transfer import fine_tune  # the course's one transfer-learning loop (lesson 08)

    return fine_tune(model, train_loader, val_loader, steps=steps, lr=lr, **fine_tune_kwargs)
