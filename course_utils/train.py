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
* a :class:`History` to plot (:func:`plot_history`).

``evaluate`` returns accuracy and the confusion matrix
(:func:`plot_confusion_matrix`). Seeding lives in ``course_utils.runtime``
(``seed_everything``): call it before building the model.
"""
from __future__ import annotations

import time
from dataclasses import asdict, dataclass, field
from typing import Iterable, NamedTuple

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader

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
    if name not in _OPTIMIZERS:
        raise ValueError(f"optimizer must be one of {', '.join(_OPTIMIZERS)} (or an Optimizer), got {name!r}.")
    if not (isinstance(lr, (int, float)) and lr > 0):
        raise ValueError(f"lr must be a positive number, got {lr!r}.")
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
    if name is None or name == "constant":
        return None
    if name not in _SCHEDULES:
        raise ValueError(f"schedule must be one of {', '.join(_SCHEDULES)} or None, got {name!r}.")
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
) -> tuple[float, float, int]:
    """One pass over ``loader``: returns (mean loss, accuracy of the main head, images seen)."""
    model.train()  # BatchNorm uses batch statistics, dropout and auxiliary heads are on
    use_amp = scaler is not None
    total_loss, correct, seen = 0.0, 0, 0
    bar = _progress(loader, progress, desc=desc, leave=False, unit="batch")
    for images, targets in bar:
        images, targets = images.to(device, non_blocking=True), targets.to(device, non_blocking=True)
        # Mixed precision: matrix products in float16 on the GPU, the loss in float32.
        with torch.autocast(device_type=device.type, dtype=torch.float16, enabled=use_amp):
            outputs = model(images)
            loss = compute_loss(outputs, targets, criterion, aux_weight)
        optimizer.zero_grad(set_to_none=True)
        if use_amp:
            scaler.scale(loss).backward()  # scale up so small float16 gradients do not flush to 0
            scaler.unscale_(optimizer)  # back to true gradients before clipping
        else:
            loss.backward()
        if grad_clip is not None:
            nn.utils.clip_grad_norm_(model.parameters(), grad_clip)
        if use_amp:
            scaler.step(optimizer)  # skips the step if the gradients overflowed
            scaler.update()
        else:
            optimizer.step()
        if scheduler is not None:
            scheduler.step()
        n = targets.shape[0]
        total_loss += loss.item() * n
        correct += (main_logits(outputs).argmax(1) == targets).sum().item()
        seen += n
        if progress:
            bar.set_postfix(loss=f"{total_loss / seen:.3f}", acc=f"{correct / seen:.3f}", refresh=False)
    if seen == 0:
        raise ValueError("The training loader yielded no batches; is the dataset empty?")
    return total_loss / seen, correct / seen, seen


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
    device = pick_device(device)
    model.to(device).eval()
    num_classes = num_classes or getattr(model, "num_classes", None)
    criterion = nn.CrossEntropyLoss(reduction="sum")
    total_loss, preds, trues = 0.0, [], []
    for images, targets in _progress(loader, progress, desc="eval", leave=False, unit="batch"):
        images, targets = images.to(device), targets.to(device)
        logits = main_logits(model(images)).float()
        total_loss += criterion(logits, targets).item()
        preds.append(logits.argmax(1).cpu())
        trues.append(targets.cpu())
    if not preds:
        raise ValueError("The evaluation loader yielded no batches; is the dataset empty?")
    pred, true = torch.cat(preds), torch.cat(trues)
    k = num_classes or int(max(pred.max(), true.max())) + 1
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
    if not isinstance(epochs, int) or isinstance(epochs, bool) or epochs < 1:
        raise ValueError(f"epochs must be a positive integer, got {epochs!r}.")
    if not 0.0 <= label_smoothing < 1.0:
        raise ValueError(f"label_smoothing must be in [0, 1), got {label_smoothing!r} (Inception v3 used 0.1).")
    if grad_clip is not None and not grad_clip > 0:
        raise ValueError(f"grad_clip must be a positive gradient norm or None, got {grad_clip!r}.")
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
    elapsed = 0.0
    epoch_bar = _progress(range(1, epochs + 1), progress, desc="epochs", unit="epoch")
    for epoch in epoch_bar:
        current_lr = optimizer.param_groups[0]["lr"]
        start = time.perf_counter()
        loss, acc, seen = train_one_epoch(
            model, train_loader, optimizer, criterion, device, scheduler, scaler, grad_clip, aux_weight,
            progress=progress, desc=f"epoch {epoch}",
        )
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


def plot_history(history: History | dict):
    """Loss and accuracy per epoch, training and validation side by side. Returns the Figure."""
    import matplotlib.pyplot as plt

    h = history.to_dict() if isinstance(history, History) else dict(history)
    if not h.get("epoch"):
        raise ValueError("The history is empty: train for at least one epoch first.")
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
        raise ValueError(f"confusion must be a square K x K matrix, got shape {tuple(cm.shape)}.")
    k = cm.shape[0]
    names = list(class_names) if class_names is not None else [str(i) for i in range(k)]
    if len(names) != k:
        raise ValueError(f"Got {len(names)} class names for a {k} x {k} confusion matrix.")
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
    recipe = {**EMBEDDED_RECIPE, **RECIPE_OVERRIDES.get(name, {}), **changes}
    unknown = set(recipe) - set(EMBEDDED_RECIPE)
    if unknown:
        raise ValueError(f"Unknown recipe keys {sorted(unknown)}; allowed: {', '.join(EMBEDDED_RECIPE)}.")
    return recipe


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

    recipe = recipe_for(name, **changes)
    seed_everything(seed)
    loaders = embedded_loaders(batch_size=recipe["batch_size"], seed=DATASET_SEED)
    model = create_model(name, num_classes=10, **(arch_kwargs or {}))
    fit_kwargs = {k: v for k, v in recipe.items() if k != "batch_size"}
    history = fit(model, loaders.train, loaders.val, device=device, progress=progress, **fit_kwargs)
    model.to(memory_format=torch.contiguous_format)
    test = evaluate(model, loaders.test, device)
    return TrainedModel(model.eval(), history, test, recipe)
