"""Training and evaluation, small enough to read in one sitting (lessons 02-08).

``fit`` is the whole training loop: for each epoch, one pass over the training
data (``train_one_epoch``) and one over the validation data (``evaluate``). What
it adds to the textbook loop, each for a reason a lesson discusses:

* auxiliary classifiers: a model that returns ``AuxOutputs`` in training mode
  gets ``loss = loss(main) + w * sum(loss(aux))`` with the paper's weight
  ``model.aux_loss_weight`` (GoogLeNet 0.3, Section 5; Inception v3 0.4, as in
  torchvision's reference training);
* label smoothing (Inception v3 paper, Section 7: epsilon 0.1);
* optional gradient clipping and a learning-rate schedule (one-cycle or cosine);
* mixed precision (float16 autocast + gradient scaling) when training on CUDA;
* tqdm progress bars that render in notebooks (``progress=False`` turns them off);
* a :class:`History` to plot (:func:`plot_history`);
* nothing silently wrong: the arguments are checked up front, every batch is
  checked before it can change a weight (NaN or infinite pixels, labels outside
  the model's classes), and training stops with :class:`TrainingDivergedError`,
  naming the likely causes, as soon as the loss is no longer a finite number.

``evaluate`` returns accuracy and the confusion matrix
(:func:`plot_confusion_matrix`). Seeding lives in ``course_utils.runtime``
(``seed_everything``): call it before building the model.
"""
from __future__ import annotations

import math
import time
import warnings
from dataclasses import asdict, dataclass, field
from typing import Iterable, NamedTuple

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

from .checks import (
    CourseError,
    CourseException,
    CourseTypeError,
    CourseWarning,
    check_bool,
    check_choice,
    check_fraction,
    check_int,
    check_kwargs,
    check_module,
    check_number,
    describe,
    is_int,
)
from .models.base import AuxOutputs
from .runtime import pick_device

_SCHEDULES = ("onecycle", "cosine", "constant")
_OPTIMIZERS = ("sgd", "adamw")


@dataclass
class History:
    """What happened during :func:`fit`, one entry per epoch.

    ``train_time_s`` is the cumulative time spent training (evaluation
    excluded) at the end of each epoch, so ``(train_time_s, val_acc)`` is the
    time-to-accuracy curve. ``lr`` is the learning rate at the start of each
    epoch. Accuracies are fractions in [0, 1]; ``val_*`` stay empty without a
    validation loader.
    """

    epoch: list[int] = field(default_factory=list)
    train_loss: list[float] = field(default_factory=list)
    train_acc: list[float] = field(default_factory=list)
    val_loss: list[float] = field(default_factory=list)
    val_acc: list[float] = field(default_factory=list)
    lr: list[float] = field(default_factory=list)
    train_time_s: list[float] = field(default_factory=list)
    images_per_s: list[float] = field(default_factory=list)

    @property
    def total_train_time_s(self) -> float:
        return self.train_time_s[-1] if self.train_time_s else 0.0

    @property
    def best_val_acc(self) -> float | None:
        return max(self.val_acc) if self.val_acc else None

    def to_dict(self) -> dict[str, list]:
        """Plain lists (JSON-ready, and storable in a checkpoint's metadata)."""
        return asdict(self)


class EvalResult(NamedTuple):
    """Accuracy (fraction), mean loss and the confusion matrix (rows: true class, columns: predicted)."""

    accuracy: float
    loss: float
    confusion: Tensor

    @property
    def per_class_accuracy(self) -> Tensor:
        """Recall of each class: the diagonal over the row sums."""
        return self.confusion.diag().float() / self.confusion.sum(1).clamp(min=1).float()


class TrainingDivergedError(CourseException, RuntimeError):
    """The training loss stopped being a finite number; ``history`` holds the epochs completed before."""

    def __init__(self, message: str, history: "History | None" = None) -> None:
        super().__init__(message)
        self.history = history


def check_loader(loader, name: str = "train_loader") -> None:
    """CourseTypeError unless ``loader`` yields batches (a DataLoader or another iterable of
    ``(images, labels)`` pairs); a Dataset, a tensor or a model name get advice."""
    from torch.utils.data import Dataset

    if isinstance(loader, DataLoader):
        return
    fix = f"wrap it: {name} = DataLoader(dataset, batch_size=64{', shuffle=True' if name == 'train_loader' else ''})"
    if isinstance(loader, Dataset) or (hasattr(loader, "__getitem__") and hasattr(loader, "classes")):
        raise CourseTypeError(
            f"{name} must be a DataLoader (it hands out batches), got a {type(loader).__name__}, a Dataset "
            f"(it hands out one image at a time): {fix} (from torch.utils.data import DataLoader)."
        )
    if isinstance(loader, Tensor):
        raise CourseTypeError(
            f"{name} must be a DataLoader of (images, labels) batches, got {describe(loader)}: for tensors x, y use "
            f"DataLoader(TensorDataset(x, y), batch_size=64, shuffle=True)."
        )
    if isinstance(loader, (str, bytes, nn.Module)) or loader is None or not hasattr(loader, "__iter__"):
        hint = " (did you pass the model as the loader? The order is fit(model, train_loader, val_loader))" if isinstance(
            loader, nn.Module) else ""
        raise CourseTypeError(f"{name} must be a DataLoader of (images, labels) batches, got {describe(loader)}{hint}.")


def _check_batch(batch, num_outputs: int | None, where: str) -> tuple[Tensor, Tensor]:
    """``(images, labels)`` of one batch, checked before it reaches the model or the loss."""
    if not (isinstance(batch, (tuple, list)) and len(batch) == 2):
        raise CourseError(
            f"{where}: the loader must yield (images, labels) pairs, got {describe(batch)}"
            + (f" with {len(batch)} items" if isinstance(batch, (tuple, list)) else "") + "."
        )
    images, targets = batch
    if not isinstance(images, Tensor) or not isinstance(targets, Tensor):
        raise CourseTypeError(
            f"{where}: images and labels must be tensors, got {describe(images)} and {describe(targets)}; "
            "a Dataset's transform (e.g. the course's dataset) makes them tensors."
        )
    if targets.is_floating_point() or targets.dtype == torch.bool or targets.dim() != 1:
        raise CourseTypeError(
            f"{where}: labels must be a 1-D tensor of class indices (integers), got {describe(targets)}. "
            "Convert with labels.long(); one-hot labels become indices with labels.argmax(1)."
        )
    n_images = images.shape[0] if images.dim() else 0
    if targets.numel() != n_images:
        raise CourseError(f"{where}: {n_images} images but {targets.numel()} labels in one batch.")
    if targets.numel():
        low, high = int(targets.min()), int(targets.max())
        if low < 0 or (num_outputs is not None and high >= num_outputs):
            raise CourseError(
                f"{where}: labels run from {low} to {high}, but the model has {num_outputs} outputs (classes "
                f"0 to {num_outputs - 1 if num_outputs else '?'}). Build it with num_classes={high + 1} or "
                "call model.reset_classifier(num_classes) for this dataset."
            )
    if images.is_floating_point() and not bool(torch.isfinite(images).all()):
        bad = int((~torch.isfinite(images)).sum())
        raise CourseError(
            f"{where}: the images contain {bad} NaN or infinite pixel value(s); one such pixel turns every "
            "weight into NaN. The model was not changed. Find them with (~torch.isfinite(images)).nonzero() "
            "and fix the data (or its transform: a division by a zero std?)."
        )
    return images, targets


def _num_outputs(model: nn.Module) -> int | None:
    n = getattr(model, "num_classes", None)
    return int(n) if is_int(n) and n > 0 else None


def _progress(iterable: Iterable, enabled: bool, **kwargs):
    if not enabled:
        return iterable
    from tqdm.auto import tqdm  # renders as a widget in Jupyter, as text elsewhere

    return tqdm(iterable, **kwargs)


def main_logits(outputs: Tensor | AuxOutputs) -> Tensor:
    """The main classifier's logits, whether or not the model returned auxiliary outputs."""
    return outputs.logits if isinstance(outputs, AuxOutputs) else outputs


def compute_loss(
    outputs: Tensor | AuxOutputs, targets: Tensor, criterion: nn.Module, aux_weight: float = 0.0
) -> Tensor:
    """The training loss, auxiliary classifiers included.

    GoogLeNet, Section 5: "During training, their loss gets added to the total
    loss of the network with a discount weight (the losses of the auxiliary
    classifiers were weighted by 0.3)". Each auxiliary head gets the weight;
    at inference they are not used at all.
    """
    if not isinstance(outputs, AuxOutputs):
        return criterion(outputs, targets)
    loss = criterion(outputs.logits, targets)
    for aux_logits in outputs.aux:
        loss = loss + aux_weight * criterion(aux_logits, targets)
    return loss


def make_optimizer(
    model: nn.Module, name: str = "sgd", lr: float = 0.05, weight_decay: float = 5e-4, momentum: float = 0.9
) -> torch.optim.Optimizer:
    """SGD with Nesterov momentum (the Inception papers used momentum SGD / RMSProp) or AdamW.

    Weight decay is not applied to BatchNorm parameters and biases (1-D tensors):
    decaying a BN scale towards zero only fights the normalization.
    """
    check_module(model, "model")
    check_choice(name, "optimizer", _OPTIMIZERS, hint="Or pass a torch.optim.Optimizer you built.")
    lr = check_number(lr, "lr", minimum=0, min_inclusive=False, hint="It is the learning rate, e.g. 0.05 for SGD or 3e-3 for AdamW.")
    weight_decay = check_number(weight_decay, "weight_decay", minimum=0)
    momentum = check_number(momentum, "momentum", minimum=0, maximum=1, max_inclusive=False)
    decay = [p for p in model.parameters() if p.requires_grad and p.ndim > 1]
    no_decay = [p for p in model.parameters() if p.requires_grad and p.ndim <= 1]
    groups = [{"params": decay, "weight_decay": weight_decay}, {"params": no_decay, "weight_decay": 0.0}]
    if name == "sgd":
        return torch.optim.SGD(groups, lr=lr, momentum=momentum, nesterov=momentum > 0)
    return torch.optim.AdamW(groups, lr=lr)


def make_schedule(optimizer: torch.optim.Optimizer, name: str | None, total_steps: int):
    """A learning-rate schedule stepped once per batch, or None for a constant rate.

    ``"onecycle"``: warm up for the first 25% of the steps, then anneal (Smith &
    Topin, 2017) -- the fastest way to a good accuracy in a fixed small budget
    (runs of fewer than 4 steps keep a constant rate).
    ``"cosine"``: cosine decay from the initial rate to zero.
    """
    check_choice(name, "schedule", _SCHEDULES + (None,))
    total_steps = check_int(total_steps, "total_steps", minimum=1)
    if name is None or name == "constant":
        return None
    if name == "onecycle":
        max_lr = [g["lr"] for g in optimizer.param_groups]
        # At least one warm-up step and two annealing steps (tiny runs in tests and exercises).
        pct_start = max(0.25, 1.5 / total_steps) if total_steps >= 4 else None
        if pct_start is None:
            return None  # fewer than 4 steps: nothing to schedule, keep the rate constant
        return torch.optim.lr_scheduler.OneCycleLR(optimizer, max_lr=max_lr, total_steps=total_steps, pct_start=pct_start)
    return torch.optim.lr_scheduler.CosineAnnealingLR(optimizer, T_max=total_steps)


def train_one_epoch(
    model: nn.Module,
    loader: DataLoader,
    optimizer: torch.optim.Optimizer,
    criterion: nn.Module,
    device: torch.device,
    scheduler=None,
    scaler: torch.amp.GradScaler | None = None,
    grad_clip: float | None = None,
    aux_weight: float = 0.0,
    progress: bool = True,
    desc: str = "train",
    guard: "DivergenceGuard | None" = None,
) -> tuple[float, float, int]:
    """One pass over ``loader``: returns (mean loss, accuracy of the main head, images seen).

    ``guard`` (one per training run, :func:`fit` passes its own) stops the run with
    :class:`TrainingDivergedError` when the loss is not finite or explodes.
    """
    guard = guard if guard is not None else DivergenceGuard()
    model.train()  # BatchNorm uses batch statistics, dropout and auxiliary heads are on
    use_amp = scaler is not None
    total_loss, correct, seen = 0.0, 0, 0
    num_outputs = _num_outputs(model)
    bar = _progress(loader, progress, desc=desc, leave=False, unit="batch")
    for step, batch in enumerate(bar, start=1):
        images, targets = _check_batch(batch, num_outputs, f"{desc}, batch {step} of train_loader")
        images, targets = images.to(device, non_blocking=True), targets.to(device, non_blocking=True)
        # Mixed precision: matrix products in float16 on the GPU, the loss in float32.
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
            outputs = model(images)
            loss = compute_loss(outputs, targets, criterion, aux_weight)
        value = loss.item()
        guard.check(value, f"{desc}, batch {step}", optimizer, grad_clip)
        optimizer.zero_grad(set_to_none=True)
        if use_amp:
            scaler.scale(loss).backward()  # scale up so small float16 gradients do not flush to 0
            scaler.unscale_(optimizer)  # back to true gradients before clipping
        else:
            loss.backward()
        if grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        stepped = True
        if use_amp:
            scale = scaler.get_scale()
            scaler.step(optimizer)  # skips the step if the gradients overflowed
            scaler.update()
            stepped = scaler.get_scale() >= scale  # the scale drops exactly when the step was skipped
        else:
            optimizer.step()
        if scheduler is not None and stepped:  # a skipped step does not advance the schedule (nor warn about it)
            scheduler.step()
        n = targets.shape[0]
        total_loss += value * n
        correct += (main_logits(outputs).argmax(1) == targets).sum().item()
        seen += n
        if progress:
            bar.set_postfix(loss=f"{total_loss / seen:.3f}", acc=f"{correct / seen:.3f}", refresh=False)
    if seen == 0:
        raise CourseError("The training loader yielded no batches; is the dataset empty?")
    return total_loss / seen, correct / seen, seen


class DivergenceGuard:
    """Watches the training loss of one run: NaN, infinity, or an explosion stops it.

    A cross-entropy loss starts near ln(K) (2.3 for 10 classes). A loss above
    ``max(1000, 100 x the first batch's loss)`` means the true class gets a
    probability below e^-1000: the weights have blown up, usually from too high a
    learning rate, and will be NaN a few steps later. Stopping there says so
    while the cause is still clear.
    """

    def __init__(self) -> None:
        self.first: float | None = None

    def check(self, value: float, where: str, optimizer: torch.optim.Optimizer, grad_clip) -> None:
        if not math.isfinite(value):
            raise TrainingDivergedError(_diverged_message(value, where, optimizer, grad_clip))
        if self.first is None:
            self.first = value
        elif value > max(1000.0, 100 * self.first):
            raise TrainingDivergedError(
                _diverged_message(value, where, optimizer, grad_clip, exploded_from=self.first)
            )


def _diverged_message(value: float, where: str, optimizer: torch.optim.Optimizer, grad_clip,
                      exploded_from: float | None = None) -> str:
    lr = optimizer.param_groups[0].get("lr")
    what = (
        f"the loss exploded from {exploded_from:.3g} to {value:.3g}, so the weights have blown up and will "
        "soon be NaN" if exploded_from is not None else
        f"the loss is {value}, no longer a finite number, so every later step would fill the weights with NaN"
    )
    return (
        f"Training stopped at {where}: {what} (this step was not applied). Likely causes: "
        f"the learning rate is too high (lr is {lr:.3g} now; try 10x smaller, e.g. 0.05 for SGD or 3e-3 for "
        "AdamW); no gradient clipping (try grad_clip=1.0" + (", it is on already" if grad_clip else "") + "); "
        "the weights were already NaN from an earlier run (rebuild the model). The images themselves were "
        "checked and are finite."
    )


@torch.no_grad()
def evaluate(
    model: nn.Module,
    loader: DataLoader,
    device: str | torch.device = "auto",
    num_classes: int | None = None,
    progress: bool = False,
) -> EvalResult:
    """Accuracy, mean cross-entropy loss and confusion matrix of ``model`` on ``loader`` (eval mode).

    Eval mode matters: BatchNorm then uses its running statistics and the
    auxiliary heads are switched off, as at inference.
    """
    check_module(model, "model")
    check_loader(loader, "loader")
    if num_classes is not None:
        num_classes = check_int(num_classes, "num_classes", minimum=1, hint="It is the number of classes the labels can take.")
    check_bool(progress, "progress")
    device = pick_device(device)
    model.to(device).eval()
    num_outputs = _num_outputs(model)
    num_classes = num_classes or num_outputs
    if num_classes is not None and num_outputs is not None and num_classes < num_outputs:
        raise CourseError(
            f"num_classes={num_classes} is smaller than the model's {num_outputs} outputs: its predictions "
            f"can be any of {num_outputs} classes. Leave num_classes out (it defaults to the model's) or pass "
            f"num_classes={num_outputs}."
        )
    criterion = nn.CrossEntropyLoss(reduction="sum")
    total_loss, preds, trues = 0.0, [], []
    warned = False
    for step, batch in enumerate(_progress(loader, progress, desc="eval", leave=False, unit="batch"), start=1):
        images, targets = _check_batch(batch, num_outputs or num_classes, f"evaluate, batch {step} of loader")
        images, targets = images.to(device), targets.to(device)
        logits = main_logits(model(images)).float()
        if not warned and not bool(torch.isfinite(logits).all()):
            warned = True
            warnings.warn(
                "The model's outputs contain NaN or infinite values, so its accuracy means nothing: its weights "
                "are probably broken (a training run that diverged?). Rebuild or reload the model.",
                CourseWarning, stacklevel=2,
            )
        total_loss += criterion(logits, targets).item()
        preds.append(logits.argmax(1).cpu())
        trues.append(targets.cpu())
    if not preds:
        raise CourseError("The evaluation loader yielded no batches; is the dataset empty?")
    pred, true = torch.cat(preds), torch.cat(trues)
    k = num_classes or int(max(pred.max(), true.max())) + 1
    if int(max(pred.max(), true.max())) >= k:
        raise CourseError(
            f"num_classes={k}, but the labels or predictions go up to class {int(max(pred.max(), true.max()))}: "
            f"pass num_classes={int(max(pred.max(), true.max())) + 1} or leave it out."
        )
    confusion = torch.bincount(true * k + pred, minlength=k * k).view(k, k)  # rows: true class
    return EvalResult(accuracy=(pred == true).float().mean().item(), loss=total_loss / len(true), confusion=confusion)


def fit(
    model: nn.Module,
    train_loader: DataLoader,
    val_loader: DataLoader | None = None,
    epochs: int = 5,
    lr: float = 0.05,
    optimizer: str | torch.optim.Optimizer = "sgd",
    weight_decay: float = 5e-4,
    label_smoothing: float = 0.0,
    grad_clip: float | None = None,
    schedule: str | None = "onecycle",
    aux_weight: float | None = None,
    device: str | torch.device = "auto",
    amp: bool = True,
    channels_last: bool = False,
    progress: bool = True,
) -> History:
    """Train ``model`` for ``epochs`` epochs; returns the :class:`History`.

    Args:
        model: any classifier; models with auxiliary heads return ``AuxOutputs`` in training mode.
        train_loader, val_loader: DataLoaders of ``(images, labels)``; validation is optional.
        epochs: passes over the training data.
        lr: (peak) learning rate; optimizer: ``"sgd"`` (Nesterov momentum 0.9), ``"adamw"``, or your own.
        weight_decay: L2 penalty on weights (not on BatchNorm parameters and biases).
        label_smoothing: epsilon of label smoothing (Inception v3 used 0.1).
        grad_clip: clip the gradient norm to this value (None: no clipping).
        schedule: ``"onecycle"``, ``"cosine"`` or None/``"constant"``, stepped per batch.
        aux_weight: weight of each auxiliary loss; None uses ``model.aux_loss_weight``
            (the paper's value: GoogLeNet 0.3, Inception v3 0.4).
        device: ``"auto"`` picks CUDA, then Apple MPS, then the CPU.
        amp: mixed precision (float16 autocast + GradScaler), used only on CUDA.
        channels_last: NHWC memory layout, often faster for convolutions on CPUs and GPUs.
        progress: tqdm progress bars (turn off in tests and for quiet notebook output).
    """
    check_module(model, "model")
    check_loader(train_loader, "train_loader")
    if val_loader is not None:
        check_loader(val_loader, "val_loader")
    epochs = check_int(epochs, "epochs", minimum=1, hint="It is the number of passes over the training data.")
    lr = check_number(lr, "lr", minimum=0, min_inclusive=False, hint="It is the learning rate, e.g. 0.05 for SGD or 3e-3 for AdamW.")
    weight_decay = check_number(weight_decay, "weight_decay", minimum=0)
    label_smoothing = check_fraction(label_smoothing, "label_smoothing", allow_one=False,
                                     hint="Inception v3 used 0.1.")
    if grad_clip is not None:
        grad_clip = check_number(grad_clip, "grad_clip", minimum=0, min_inclusive=False,
                                 hint="Use a gradient norm such as 1.0, or None for no clipping.")
    if schedule is not None:
        check_choice(schedule, "schedule", _SCHEDULES + (None,))
    if aux_weight is not None:
        aux_weight = check_number(aux_weight, "aux_weight", minimum=0, hint="GoogLeNet used 0.3.")
    if not isinstance(optimizer, torch.optim.Optimizer):
        check_choice(optimizer, "optimizer", _OPTIMIZERS, hint="Or pass a torch.optim.Optimizer you built.")
    for flag, value in (("amp", amp), ("channels_last", channels_last), ("progress", progress)):
        check_bool(value, flag)
    if not hasattr(train_loader, "__len__"):
        raise CourseTypeError(
            "train_loader must have a length (len(train_loader)), as a DataLoader does: the learning-rate "
            "schedule is planned over epochs * len(train_loader) steps."
        )
    _check_last_batch(model, train_loader)
    device = pick_device(device)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model.to(device=device, memory_format=memory_format)
    if isinstance(optimizer, str):
        optimizer = make_optimizer(model, optimizer, lr, weight_decay)
    scheduler = make_schedule(optimizer, schedule, epochs * len(train_loader))
    scaler = torch.amp.GradScaler("cuda") if (amp and device.type == "cuda") else None
    criterion = nn.CrossEntropyLoss(label_smoothing=label_smoothing)
    if aux_weight is None:
        aux_weight = float(getattr(model, "aux_loss_weight", 0.0))

    history = History()
    guard = DivergenceGuard()
    elapsed = 0.0
    epoch_bar = _progress(range(1, epochs + 1), progress, desc="epochs", unit="epoch")
    for epoch in epoch_bar:
        current_lr = optimizer.param_groups[0]["lr"]
        start = time.perf_counter()
        try:
            loss, acc, seen = train_one_epoch(
                model, train_loader, optimizer, criterion, device, scheduler, scaler, grad_clip, aux_weight,
                progress=progress, desc=f"epoch {epoch}", guard=guard,
            )
        except TrainingDivergedError as err:
            err.history = history  # the epochs completed before the loss blew up
            raise
        if device.type == "cuda":
            torch.cuda.synchronize()  # GPU work is asynchronous: wait before reading the clock
        seconds = time.perf_counter() - start
        elapsed += seconds
        history.epoch.append(epoch)
        history.train_loss.append(loss)
        history.train_acc.append(acc)
        history.lr.append(current_lr)
        history.train_time_s.append(elapsed)
        history.images_per_s.append(seen / seconds)
        summary = {"loss": f"{loss:.3f}", "acc": f"{acc:.3f}"}
        if val_loader is not None:
            result = evaluate(model, val_loader, device)
            history.val_loss.append(result.loss)
            history.val_acc.append(result.accuracy)
            summary["val_acc"] = f"{result.accuracy:.3f}"
        if progress:
            epoch_bar.set_postfix(summary)
    return history


def _check_last_batch(model: nn.Module, loader) -> None:
    """Models whose auxiliary head normalizes a 1x1 map (Inception v3) cannot train on one image:
    say so before training, not at the end of the first epoch."""
    batch_size = getattr(loader, "batch_size", None)
    dataset = getattr(loader, "dataset", None)
    heads = getattr(model, "aux_heads", None)
    if not (batch_size and dataset is not None and callable(heads) and heads()) or getattr(loader, "drop_last", True):
        return
    try:
        size = len(dataset)
    except TypeError:
        return
    if size % batch_size == 1 or batch_size == 1:
        raise CourseError(
            f"train_loader ends with a batch of 1 image ({size} images, batch_size={batch_size}), and training "
            f"{type(model).__name__} with its auxiliary classifier needs at least 2 images per batch (its "
            "BatchNorm layers average over the batch). Use DataLoader(..., drop_last=True) or another batch_size."
        )


def plot_history(history: History | dict):
    """Loss and accuracy per epoch, training and validation side by side. Returns the Figure."""
    import matplotlib.pyplot as plt

    h = history.to_dict() if isinstance(history, History) else dict(history)
    if not h.get("epoch"):
        raise CourseError("The history is empty: train for at least one epoch first.")
    fig, (ax_loss, ax_acc) = plt.subplots(1, 2, figsize=(9, 3.2))
    ax_loss.plot(h["epoch"], h["train_loss"], "o-", label="train")
    ax_acc.plot(h["epoch"], [100 * a for a in h["train_acc"]], "o-", label="train")
    if h.get("val_loss"):
        ax_loss.plot(h["epoch"], h["val_loss"], "s-", label="validation")
        ax_acc.plot(h["epoch"], [100 * a for a in h["val_acc"]], "s-", label="validation")
    ax_loss.set(xlabel="epoch", ylabel="loss", title="loss")
    ax_acc.set(xlabel="epoch", ylabel="accuracy (%)", title="accuracy")
    for ax in (ax_loss, ax_acc):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    return fig


def plot_confusion_matrix(confusion: Tensor, class_names: Iterable[str] | None = None, normalize: bool = True):
    """The confusion matrix as an image: rows are true classes, columns predictions.

    With ``normalize=True`` each row is divided by its total, so the diagonal is
    each class's recall. Returns the Figure.
    """
    import matplotlib.pyplot as plt

    cm = torch.as_tensor(confusion).float()
    if cm.ndim != 2 or cm.shape[0] != cm.shape[1]:
        raise CourseError(f"confusion must be a square K x K matrix, got shape {tuple(cm.shape)}.")
    k = cm.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    if len(names) != k:
        raise CourseError(f"Got {len(names)} class names for a {k} x {k} confusion matrix.")
    values = cm / cm.sum(1, keepdim=True).clamp(min=1) if normalize else cm
    fig, ax = plt.subplots(figsize=(0.45 * k + 2.5, 0.45 * k + 2))
    image = ax.imshow(values.numpy(), cmap="Blues", vmin=0, vmax=1 if normalize else None)
    ax.set_xticks(range(k), names, rotation=45, ha="right")
    ax.set_yticks(range(k), names)
    ax.set(xlabel="predicted", ylabel="true", title="confusion matrix" + (" (row-normalized)" if normalize else ""))
    for i in range(k):
        for j in range(k):
            v = values[i, j].item()
            if v > 0:
                text = f"{v:.2f}" if normalize else f"{int(v)}"
                ax.text(j, i, text, ha="center", va="center", fontsize=7, color="white" if v > 0.6 * values.max() else "black")
    fig.colorbar(image, ax=ax, fraction=0.046)
    fig.tight_layout()
    return fig


def training_throughput(
    model: nn.Module,
    input_size: tuple[int, int, int] = (3, 48, 48),
    batch_size: int = 64,
    steps: int = 5,
    warmup: int = 2,
    device: str | torch.device = "auto",
    channels_last: bool = False,
) -> float:
    """Training images per second (forward, backward, SGD step) on random data.

    Used by benchmarks/bench_train.py; the model's weights change, so pass a copy
    if you need them.
    """
    check_module(model, "model")
    batch_size = check_int(batch_size, "batch_size", minimum=2 if getattr(model, "aux_heads", list)() else 1)
    steps = check_int(steps, "steps", minimum=1)
    warmup = check_int(warmup, "warmup", minimum=0)
    device = pick_device(device)
    memory_format = torch.channels_last if channels_last else torch.contiguous_format
    model.to(device=device, memory_format=memory_format).train()
    num_classes = getattr(model, "num_classes", 10)
    x = torch.randn(batch_size, *input_size, device=device).contiguous(memory_format=memory_format)
    y = torch.randint(0, num_classes, (batch_size,), device=device)
    optimizer = torch.optim.SGD(model.parameters(), lr=1e-3, momentum=0.9)
    criterion = nn.CrossEntropyLoss()
    aux_weight = float(getattr(model, "aux_loss_weight", 0.0))
    for i in range(warmup + steps):
        if i == warmup:
            if device.type == "cuda":
                torch.cuda.synchronize()
            start = time.perf_counter()
        loss = compute_loss(model(x), y, criterion, aux_weight)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
    if device.type == "cuda":
        torch.cuda.synchronize()
    return batch_size * steps / (time.perf_counter() - start)


# ---------------------------------------------------------------------------
# The recipe for the mini models on the embedded dataset
# ---------------------------------------------------------------------------

#: How the shipped checkpoints were trained (data/make_checkpoints.py) and what
#: benchmarks/bench_train.py times. A notebook's ``RETRAIN = True`` uses it too.
EMBEDDED_RECIPE: dict = dict(
    epochs=3, batch_size=64, optimizer="adamw", lr=6e-3, weight_decay=5e-2, label_smoothing=0.0,
    schedule="onecycle", grad_clip=None, channels_last=True,
)
#: Per-model changes to :data:`EMBEDDED_RECIPE`. Three epochs are what mini_googlenet
#: needs for 90% within the 2-minute budget; these three networks start learning
#: later (after 3 epochs: Inception v3 43%, Inception-ResNet-v1 83%, Xception 84%
#: test accuracy) and get 6.
RECIPE_OVERRIDES: dict[str, dict] = {
    "mini_inception_v3": {"epochs": 6},
    "mini_inception_resnet_v1": {"epochs": 6},
    "mini_xception": {"epochs": 6},
}
#: The dataset seed of the recipe: the training seed varies, the data does not.
DATASET_SEED = 0


class TrainedModel(NamedTuple):
    """What :func:`train_mini` returns."""

    model: nn.Module
    history: History
    test: EvalResult
    recipe: dict


def recipe_for(name: str, **changes) -> dict:
    """The embedded-data recipe for model ``name``, with ``changes`` applied."""
    check_kwargs(changes, "recipe_for", EMBEDDED_RECIPE)
    return {**EMBEDDED_RECIPE, **RECIPE_OVERRIDES.get(name, {}), **changes}


def train_mini(
    name: str,
    seed: int = 0,
    arch_kwargs: dict | None = None,
    device: str | torch.device = "auto",
    progress: bool = True,
    **changes,
) -> TrainedModel:
    """Train a registered model (``"mini_googlenet"``...) on the embedded dataset with the recipe.

    ``seed`` seeds the initialization and the batch order (the dataset itself
    always uses :data:`DATASET_SEED`); ``changes`` override recipe entries, e.g.
    ``epochs=1``. Returns the model (eval mode), its history, the test-set
    evaluation and the recipe used.
    """
    from .data import embedded_loaders
    from .models import create_model
    from .runtime import seed_everything

    from .models import list_models

    check_choice(name, "name", list_models(), what="model name")
    recipe = recipe_for(name, **changes)
    seed_everything(seed)
    loaders = embedded_loaders(batch_size=recipe["batch_size"], seed=DATASET_SEED)
    model = create_model(name, num_classes=10, **(arch_kwargs or {}))
    fit_kwargs = {k: v for k, v in recipe.items() if k != "batch_size"}
    history = fit(model, loaders.train, loaders.val, device=device, progress=progress, **fit_kwargs)
    model.to(memory_format=torch.contiguous_format)
    test = evaluate(model, loaders.test, device)
    return TrainedModel(model.eval(), history, test, recipe)
