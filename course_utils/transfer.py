"""Transfer learning: reuse a pretrained mini on a new task (lesson 08).

The shipped mini checkpoints (``data/checkpoints/mini_*.pt``) learnt their
features on the embedded shapes. Lesson 08 reuses them on real handwritten
digits (``course_utils.data.digits``) three ways, :data:`METHODS`:

* ``"linear probe"``: keep every pretrained weight frozen and train only a new
  classifier on the features. The features are computed once (the backbone is
  fixed, in eval mode), so the probe is cheap.
* ``"fine-tune"``: start from the pretrained weights and train everything, the
  new head at ``lr`` and the pretrained backbone at ``lr * backbone_lr_factor``
  (:func:`param_groups`): the head starts from random weights and must move
  far, the backbone should move little.
* ``"scratch"``: the same architecture, freshly initialized, trained the same way
  (every layer at ``lr``): the baseline that says what the pretrained weights were worth.

Yosinski et al. 2014, "How transferable are features in deep neural networks?"
(https://arxiv.org/abs/1411.1792) measured that features transfer less well the
more distant the target task is from the source task, and that fine-tuning the
transferred layers recovers (and can exceed) what freezing loses. Kornblith et
al. 2019, "Do Better ImageNet Models Transfer Better?"
(https://arxiv.org/abs/1805.08974) found fixed features (logistic regression on
them) transfer worse than fine-tuning, and that on small or distant datasets
pretraining helps most when labels are few and can stop mattering with
enough of them. Our source task (synthetic shapes) is small and far from
digits, so the lesson measures how much, if anything, transfers.

Two choices the lesson looks at, each a switch of :func:`fine_tune` /
:func:`transfer_model`:

* BatchNorm during fine-tuning (:func:`set_batchnorm`): ``"update"`` (the usual
  training behaviour: batch statistics, running averages move to the new data)
  or ``"frozen"`` (each BN layer stays in eval mode with the source data's
  running statistics; its scale and shift still train). Frozen BN is the usual
  advice for tiny batches (detection fine-tuning does it).
* The auxiliary classifier of Inception v3 (``aux``): the shipped mini was
  trained without it; ``"drop"`` fine-tunes without it, ``"reset"`` adds a
  freshly initialized one whose loss (weight ``model.aux_loss_weight``, 0.4 for
  v3) joins the main loss while fine-tuning.

:func:`train_transfer` is one run of ``benchmarks/exp_transfer.py``, whose
stored result :func:`plot_learning_curves` draws.
"""
from __future__ import annotations

import time
from collections.abc import Iterator, Mapping
from typing import Any, NamedTuple

import torch
from torch import Tensor, nn
from torch.utils.data import DataLoader, TensorDataset

from .checks import (
    CourseError,
    CourseTypeError,
    check_bool,
    check_choice,
    check_int,
    check_module,
    check_number,
    describe,
)
from .train import (
    _OPTIMIZERS,
    _SCHEDULES,
    DivergenceGuard,
    _check_batch,
    _num_outputs,
    _progress,
    check_loader,
    compute_loss,
    evaluate,
    main_logits,
    make_schedule,
)

METHODS: tuple[str, ...] = ("linear probe", "fine-tune", "scratch")
#: BatchNorm while fine-tuning: running statistics move to the new data, or stay the source's.
BN_MODES: tuple[str, ...] = ("update", "frozen")
#: What happens to an auxiliary classifier: left out, or added freshly initialized.
AUX_MODES: tuple[str, ...] = ("drop", "reset")


# -- building the model -------------------------------------------------------------------------------------


def _aux_head_names(arch: str, arch_kwargs: Mapping[str, Any]) -> tuple[str, ...]:
    """Attribute names of the architecture's auxiliary classifiers (empty when it has none)."""
    from .models import create_model

    return tuple(type(create_model(arch, **arch_kwargs)).aux_head_names)


def transfer_model(
    backbone: str = "mini_inception_v3",
    method: str = "fine-tune",
    num_classes: int = 10,
    aux: str | None = None,
    seed: int = 0,
) -> nn.Module:
    """A model ready to train on a new task of ``num_classes`` classes.

    Args:
        backbone: a shipped checkpoint (``course_utils.checkpoints.list_checkpoints()``).
        method: one of :data:`METHODS`. ``"linear probe"`` and ``"fine-tune"`` load the
            checkpoint's weights; ``"scratch"`` builds the same architecture with a fresh,
            seeded initialization. Every method then gets a new classifier
            (``reset_classifier(num_classes)``); the probe freezes everything else
            (``requires_grad=False``).
        aux: for models with auxiliary classifiers: ``"drop"`` (build without them),
            ``"reset"`` (build with them, freshly initialized; every shared layer still gets
            the checkpoint's weights) or None (as the checkpoint was trained). A linear
            probe trains only the final classifier, so it takes no auxiliary head.
        seed: seeds the new classifier (and, for ``"scratch"``, every weight).

    The model comes back in training mode, with ``preprocess`` saying the input
    normalization and size it was pretrained with.
    """
    from .checkpoints import _set_training_preprocess, list_checkpoints, read_checkpoint, state_dict_differences
    from .models import create_model
    from .runtime import seed_everything

    check_choice(backbone, "backbone", list_checkpoints(), what="checkpoint")
    check_choice(method, "method", METHODS)
    num_classes = check_int(num_classes, "num_classes", minimum=1, hint="It is the number of classes of the new task.")
    seed = check_int(seed, "seed", minimum=0)
    if aux is not None:
        check_choice(aux, "aux", AUX_MODES, hint="Or None to keep the checkpoint's own setting.")
    state_dict, metadata = read_checkpoint(backbone)
    arch, arch_kwargs = metadata["arch"], dict(metadata.get("arch_kwargs", {}))
    head_names = _aux_head_names(arch, arch_kwargs)
    if aux == "reset" and not head_names:
        raise CourseError(f"aux='reset': {backbone} has no auxiliary classifier; use aux=None.")
    if aux == "reset" and method == "linear probe":
        raise CourseError("A linear probe trains only the final classifier: it takes no auxiliary head "
                          "(use aux='drop' or None with method='linear probe').")
    if aux is not None and head_names:
        arch_kwargs["aux_logits"] = aux == "reset"
    seed_everything(seed)
    model = create_model(arch, **arch_kwargs)
    if method != "scratch":
        # Auxiliary heads chosen here ("drop" or "reset") take nothing from the checkpoint, even if it has them.
        skip = tuple(f"{name}." for name in head_names) if aux is not None else ()
        shared = {k: v for k, v in model.state_dict().items() if not k.startswith(skip)}
        loaded = {k: v for k, v in state_dict.items() if not k.startswith(skip)}
        differences = state_dict_differences(shared, loaded)
        if differences:
            raise CourseError(f"The weights of {backbone} do not fit the model built for transfer: "
                              + "; ".join(differences[:5]))
        missing, unexpected = model.load_state_dict(loaded, strict=False)
        assert not unexpected and all(k.startswith(skip) for k in missing)
    _set_training_preprocess(model, metadata)  # the input normalization stays the pretraining data's
    model.reset_classifier(num_classes)
    if method == "linear probe":
        for p in model.parameters():
            p.requires_grad_(False)
        for p in model.get_classifier().parameters():
            p.requires_grad_(True)
    return model.train()


def head_modules(model: nn.Module) -> list[nn.Module]:
    """The new parts of a transferred model: the classifier and any auxiliary classifiers."""
    if not hasattr(model, "get_classifier"):
        raise CourseTypeError(
            f"model must have get_classifier() (every course model does), got {describe(model)}."
        )
    heads = getattr(model, "aux_heads", list)()
    return [model.get_classifier(), *heads]


def param_groups(model: nn.Module, lr: float, backbone_lr_factor: float = 0.1,
                 weight_decay: float = 0.0) -> list[dict[str, Any]]:
    """Optimizer parameter groups: the head(s) at ``lr``, the backbone at ``lr * backbone_lr_factor``.

    Only trainable parameters (``requires_grad``) are included. Like
    ``course_utils.train.make_optimizer``, weight decay skips biases and BatchNorm
    parameters (1-D tensors). Each group has a ``"name"`` ("head", "backbone",
    "head, no decay", "backbone, no decay"); empty groups are left out.
    """
    check_module(model, "model")
    lr = check_number(lr, "lr", minimum=0, min_inclusive=False, hint="The head's learning rate, e.g. 3e-3 for AdamW.")
    backbone_lr_factor = check_number(backbone_lr_factor, "backbone_lr_factor", minimum=0,
                                      hint="0.1 moves the pretrained layers 10x slower than the new head.")
    weight_decay = check_number(weight_decay, "weight_decay", minimum=0)
    head_ids = {id(p) for m in head_modules(model) for p in m.parameters()}
    groups = []
    for name, in_head, group_lr in (("head", True, lr), ("backbone", False, lr * backbone_lr_factor)):
        params = [p for p in model.parameters() if p.requires_grad and (id(p) in head_ids) == in_head]
        for suffix, chosen, decay in (("", [p for p in params if p.ndim > 1], weight_decay),
                                      (", no decay", [p for p in params if p.ndim <= 1], 0.0)):
            if chosen:
                groups.append({"params": chosen, "lr": group_lr, "weight_decay": decay, "name": name + suffix})
    if not groups:
        raise CourseError("The model has no trainable parameters (requires_grad is False everywhere).")
    return groups


# -- BatchNorm: update or frozen -----------------------------------------------------------------------------


def _stay_in_eval(module: nn.Module, args) -> None:
    """Forward pre-hook of a frozen BatchNorm layer: whatever ``model.train()`` said, run in eval mode."""
    module.training = False


def set_batchnorm(model: nn.Module, mode: str = "update") -> nn.Module:
    """BatchNorm layers either ``"update"`` (the default behaviour) or stay ``"frozen"``.

    Frozen: each BN layer normalizes with its stored running statistics (eval
    mode) and never updates them; its scale and shift (``weight``, ``bias``) still
    train if they require gradients. Every training loop calls ``model.train()``,
    which would switch BN back, so a frozen layer gets a forward pre-hook that
    puts it in eval mode before each call: the setting survives ``model.train()``
    and any loop (``course_utils.train.fit`` included). ``"update"`` removes the
    hooks. Returns the model.
    """
    check_module(model, "model")
    check_choice(mode, "mode", BN_MODES, hint="'frozen' keeps the pretrained running statistics.")
    for module in model.modules():
        if not isinstance(module, nn.modules.batchnorm._BatchNorm):
            continue
        for key, hook in list(module._forward_pre_hooks.items()):
            if hook is _stay_in_eval:
                del module._forward_pre_hooks[key]
        if mode == "frozen":
            module.register_forward_pre_hook(_stay_in_eval)
            module.eval()
        else:
            module.train(model.training)
    return model


def batchnorm_mode(model: nn.Module) -> str:
    """``"frozen"`` when :func:`set_batchnorm` froze the model's BatchNorm layers, else ``"update"``."""
    frozen = [any(h is _stay_in_eval for h in m._forward_pre_hooks.values())
              for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    return "frozen" if frozen and all(frozen) else "update"


# -- the training loop -------------------------------------------------------------------------------------


def _batches_forever(loader) -> Iterator:
    """The loader's batches, pass after pass (a fixed number of steps, whatever the data set's size)."""
    while True:
        empty = True
        for batch in loader:
            empty = False
            yield batch
        if empty:
            raise CourseError("The training loader yielded no batches (an empty dataset, or fewer images than "
                              "batch_size with drop_last=True).")


def _only_classifier_trains(model: nn.Module) -> bool:
    if not all(hasattr(model, a) for a in ("get_classifier", "forward_features", "forward_head")):
        return False
    head = {id(p) for p in model.get_classifier().parameters()}
    trainable = [p for p in model.parameters() if p.requires_grad]
    return bool(trainable) and all(id(p) in head for p in trainable)


@torch.no_grad()
def _features(model: nn.Module, loader, device) -> tuple[Tensor, Tensor]:
    """Pooled features (the classifier's input) and labels of every batch, backbone in eval mode."""
    model.eval()
    feats, labels = [], []
    num_outputs = _num_outputs(model)
    for i, batch in enumerate(loader, start=1):
        images, targets = _check_batch(batch, num_outputs, f"batch {i} (features for the linear probe)")
        feats.append(model.forward_head(model.forward_features(images.to(device)), pre_logits=True).float())
        labels.append(targets.to(device))
    if not feats:
        raise CourseError("The training loader yielded no batches; is the dataset empty?")
    return torch.cat(feats), torch.cat(labels)


def fine_tune(
    model: nn.Module,
    train_loader: DataLoader,
    test_loader: DataLoader | None = None,
    *,
    steps: int,
    lr: float,
    backbone_lr_factor: float = 0.1,
    bn: str = "update",
    aux_weight: float | None = None,
    weight_decay: float = 0.05,
    optimizer: str = "adamw",
    schedule: str | None = "onecycle",
    device: str | torch.device = "auto",
    progress: bool = False,
    eval_every: int | None = None,
    log_every: int | None = None,
) -> dict[str, Any]:
    """Train ``model`` for ``steps`` optimization steps (not epochs); returns metrics and curves.

    A fixed number of steps makes runs with 50 and 1,250 training images
    comparable: the loader is looped over as often as needed.

    Args:
        model: typically from :func:`transfer_model`. Only parameters with
            ``requires_grad`` train. When only the classifier trains (a linear probe
            of a course model), the backbone's features are computed once and the
            classifier (the model's own, with its dropout) trains on them, many times
            faster than running the frozen backbone every step. The features are
            standardized while it trains (a better-conditioned problem for a fixed
            budget of steps; dropout then zeroes standardized features) and the
            standardization is folded into the classifier's weights at the end.
        train_loader, test_loader: DataLoaders of ``(images, labels)``; the test
            loader is optional (``test_acc`` is then None).
        steps: optimization steps; lr: the head's (peak) learning rate;
        backbone_lr_factor: the backbone's learning rate is ``lr * backbone_lr_factor``.
        bn: ``"update"`` or ``"frozen"`` (:func:`set_batchnorm`); the linear probe's
            backbone is always in eval mode.
        aux_weight: weight of each auxiliary loss; None uses ``model.aux_loss_weight``.
        weight_decay, optimizer (``"adamw"`` or ``"sgd"``), schedule (``"onecycle"``,
            ``"cosine"``, None): as in ``course_utils.train.fit``, stepped per step.
        eval_every: also test every this many steps (a test-accuracy curve); None: at the end only.
        log_every: average the training loss over this many steps per curve point
            (None: about 20 points).

    Returns a dict: ``test_acc``, ``test_loss``, ``steps``, ``train_time_s`` (training
    only, evaluation excluded), ``trainable_params``, ``total_params``, ``method``
    ("linear probe (features)" or "backprop"), the curves ``loss_steps``/``train_loss``/
    ``train_acc`` and ``eval_steps``/``test_acc_curve``.
    """
    from .runtime import pick_device

    check_module(model, "model")
    check_loader(train_loader, "train_loader")
    if test_loader is not None:
        check_loader(test_loader, "test_loader")
    steps = check_int(steps, "steps", minimum=1, hint="It is the number of optimization steps (batches).")
    lr = check_number(lr, "lr", minimum=0, min_inclusive=False, hint="The head's learning rate, e.g. 3e-3 for AdamW.")
    backbone_lr_factor = check_number(backbone_lr_factor, "backbone_lr_factor", minimum=0)
    check_choice(bn, "bn", BN_MODES, hint="'frozen' keeps the pretrained BatchNorm statistics.")
    if aux_weight is not None:
        aux_weight = check_number(aux_weight, "aux_weight", minimum=0, hint="GoogLeNet used 0.3, Inception v3 0.4.")
    weight_decay = check_number(weight_decay, "weight_decay", minimum=0)
    check_choice(optimizer, "optimizer", _OPTIMIZERS)
    check_choice(schedule, "schedule", _SCHEDULES + (None,))
    check_bool(progress, "progress")
    if eval_every is not None:
        eval_every = check_int(eval_every, "eval_every", minimum=1)
    log_every = max(1, steps // 20) if log_every is None else check_int(log_every, "log_every", minimum=1)
    device = pick_device(device)
    model.to(device)
    if aux_weight is None:
        aux_weight = float(getattr(model, "aux_loss_weight", 0.0))

    probe = _only_classifier_trains(model)
    groups = param_groups(model, lr, backbone_lr_factor, weight_decay)
    opt = (torch.optim.AdamW(groups) if optimizer == "adamw" else
           torch.optim.SGD(groups, lr=lr, momentum=0.9, nesterov=True))
    scheduler = make_schedule(opt, schedule, steps)
    criterion = nn.CrossEntropyLoss()
    guard = DivergenceGuard()
    num_outputs = _num_outputs(model)

    start = time.perf_counter()
    if probe:
        # The backbone is fixed: compute its features once, then train the classifier on them. The
        # features are standardized while it trains (their scales differ by orders of magnitude, which
        # stalls plain gradient steps) and the standardization is folded into the classifier's weights
        # at the end, so the model is again backbone -> its own classifier.
        set_batchnorm(model, "frozen")
        feats, labels = _features(model, train_loader, device)
        feat_mean, feat_std = feats.mean(0), feats.std(0) if len(feats) > 1 else torch.ones_like(feats[0])
        feat_std = torch.where(feat_std > 1e-6, feat_std, torch.ones_like(feat_std))  # dead features stay 0
        standardize = lambda x: (x - feat_mean) / feat_std  # noqa: E731
        batch_size = min(getattr(train_loader, "batch_size", None) or 64, len(labels))
        batches = _batches_forever(DataLoader(TensorDataset(standardize(feats), labels), batch_size=batch_size,
                                              shuffle=True, drop_last=True))
        classifier, dropout = model.get_classifier(), getattr(model, "dropout", nn.Identity())
        classifier.train()
        dropout.train()
        forward = lambda x: classifier(dropout(x))  # noqa: E731 - the head of forward_head, on stored features
        if test_loader is not None and eval_every:
            test_feats, test_labels = _features(model, test_loader, device)
            test_feats = standardize(test_feats)
    else:
        set_batchnorm(model, bn)
        batches = _batches_forever(train_loader)
        model.train()
        forward = model

    curves: dict[str, list] = {"loss_steps": [], "train_loss": [], "train_acc": [], "eval_steps": [],
                               "test_acc_curve": []}
    run_loss, run_correct, run_seen, eval_time = 0.0, 0, 0, 0.0
    for step in _progress(range(1, steps + 1), progress, desc="fine-tune", unit="step"):
        images, targets = _check_batch(next(batches), num_outputs, f"step {step}")
        images, targets = images.to(device), targets.to(device)
        outputs = forward(images)
        loss = compute_loss(outputs, targets, criterion, aux_weight)
        value = loss.item()
        guard.check(value, f"step {step}", opt, None)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        if scheduler is not None:
            scheduler.step()
        logits = main_logits(outputs)
        run_loss += value * len(targets)
        run_correct += int((logits.argmax(1) == targets).sum())
        run_seen += len(targets)
        if step % log_every == 0 or step == steps:
            curves["loss_steps"].append(step)
            curves["train_loss"].append(run_loss / run_seen)
            curves["train_acc"].append(run_correct / run_seen)
            run_loss, run_correct, run_seen = 0.0, 0, 0
        if test_loader is not None and eval_every and step % eval_every == 0 and step < steps:
            t0 = time.perf_counter()
            curves["eval_steps"].append(step)
            if probe:
                with torch.no_grad():
                    classifier.eval()
                    hits = (classifier(test_feats).argmax(1) == test_labels).float().mean().item()
                    classifier.train()
                curves["test_acc_curve"].append(hits)
            else:
                curves["test_acc_curve"].append(evaluate(model, test_loader, device).accuracy)
                model.train()  # evaluate() left it in eval mode (frozen BN layers stay frozen: set_batchnorm)
            eval_time += time.perf_counter() - t0
    if device.type == "cuda":
        torch.cuda.synchronize()
    if probe:  # fold the standardization in: W (x - m) / s + b = (W / s) x + (b - (W / s) m)
        with torch.no_grad():
            classifier.weight.div_(feat_std)
            classifier.bias.sub_(classifier.weight @ feat_mean)
    train_time = time.perf_counter() - start - eval_time
    test = evaluate(model, test_loader, device) if test_loader is not None else None
    if test is not None:
        curves["eval_steps"].append(steps)
        curves["test_acc_curve"].append(test.accuracy)
    model.eval()
    return {
        "test_acc": test.accuracy if test else None,
        "test_loss": test.loss if test else None,
        "steps": steps,
        "train_time_s": train_time,
        "trainable_params": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "total_params": sum(p.numel() for p in model.parameters()),
        "method": "linear probe (features)" if probe else "backprop",
        **curves,
    }


# -- one run of the stored experiment -----------------------------------------------------------------------

#: The recipe of ``benchmarks/exp_transfer.py`` (set by a pilot; see that script).
TRANSFER_RECIPE: dict[str, Any] = dict(steps=60, lr=3e-3, backbone_lr_factor=1.0, weight_decay=0.05,
                                       batch_size=32, eval_every=None, probe_steps=1000, probe_lr=1e-2)


def train_transfer(
    seed: int,
    method: str,
    labels_per_class: int | None,
    backbone: str = "mini_inception_v3",
    bn: str = "update",
    aux: str = "drop",
    steps: int = TRANSFER_RECIPE["steps"],
    lr: float = TRANSFER_RECIPE["lr"],
    backbone_lr_factor: float = TRANSFER_RECIPE["backbone_lr_factor"],
    weight_decay: float = TRANSFER_RECIPE["weight_decay"],
    batch_size: int = TRANSFER_RECIPE["batch_size"],
    eval_every: int | None = TRANSFER_RECIPE["eval_every"],
    probe_steps: int | None = TRANSFER_RECIPE["probe_steps"],
    probe_lr: float | None = TRANSFER_RECIPE["probe_lr"],
    train_images: int | None = None,
    test_images: int | None = None,
    device: str = "cpu",
    progress: bool = False,
) -> dict[str, Any]:
    """Transfer ``backbone`` to the handwritten digits with ``method`` and ``labels_per_class`` labels per class.

    ``seed`` picks the labelled images (:func:`~course_utils.data.digits.digits_subset`),
    the new head's (for ``"scratch"``: every layer's) initialization and the batch order;
    the test set is always the same 540 images. For dry runs, ``train_images`` and
    ``test_images`` keep the first n images of the training subset and of the test set. ``"scratch"`` trains every layer at ``lr`` (there is no pretrained
    backbone to protect). The linear probe trains for ``probe_steps`` at ``probe_lr``
    (None: ``steps``, ``lr``): its steps cost almost nothing (features computed once),
    and it is meant to converge, as in Kornblith et al.'s logistic regression. Returns the metrics of :func:`fine_tune` plus the data sizes.
    """
    from .data.digits import digits_splits, digits_subset
    from .runtime import seed_everything

    check_choice(method, "method", METHODS)
    check_choice(bn, "bn", BN_MODES)
    check_choice(aux, "aux", AUX_MODES)
    batch_size = check_int(batch_size, "batch_size", minimum=2, hint="At least 2: BatchNorm averages over the batch.")
    for name, value in (("train_images", train_images), ("test_images", test_images)):
        if value is not None:
            check_int(value, name, minimum=1, hint="It keeps the first n images (dry runs).")
    model = transfer_model(backbone, method, num_classes=10, aux=None if method == "linear probe" else aux, seed=seed)
    size = model.preprocess.input_size[-1]
    splits = digits_splits(size=size)
    train = digits_subset(splits.train, labels_per_class, seed)
    if train_images is not None:
        train = train.take(torch.arange(min(train_images, len(train))))
    test = splits.test if test_images is None else splits.test.take(torch.arange(min(test_images, len(splits.test))))
    seed_everything(seed)
    generator = torch.Generator().manual_seed(seed)
    train_loader = DataLoader(train, batch_size=min(batch_size, len(train)), shuffle=True, drop_last=True,
                              generator=generator)
    test_loader = DataLoader(test, batch_size=256)
    if method == "linear probe":
        steps = steps if probe_steps is None else probe_steps
        lr = lr if probe_lr is None else probe_lr
    metrics = fine_tune(model, train_loader, test_loader, steps=steps, lr=lr,
                        backbone_lr_factor=1.0 if method == "scratch" else backbone_lr_factor, bn=bn,
                        weight_decay=weight_decay, device=device, progress=progress, eval_every=eval_every)
    return {**metrics, "train_images": len(train), "test_images": len(test)}


# -- reading the stored experiment -------------------------------------------------------------------------

#: Colours of the methods in every figure of lesson 08.
METHOD_COLORS = {"linear probe": "C0", "fine-tune": "C1", "scratch": "C2"}


def arm_label(method: str, labels_per_class: int | None, variant: str = "") -> str:
    """The arm label of ``benchmarks/exp_transfer.py``: ``"fine-tune, 20/class"``, ``"scratch, all"``,
    ``"fine-tune, BN frozen, 5/class"``."""
    size = "all" if labels_per_class is None else f"{labels_per_class}/class"
    return ", ".join(part for part in (method, variant, size) if part)


class LearningCurve(NamedTuple):
    """One method's test accuracy by training-set size: x positions, tick labels, per-seed values."""

    sizes: list[float]
    labels: list[str]
    values: list[list[float]]


def learning_curve(result: Mapping[str, Any], method: str, variant: str = "", key: str = "test_acc") -> LearningCurve:
    """One method's arms by labelled images per class (``"all"`` at its real mean count per class),
    smallest first, with each size's per-seed values of ``key``."""
    from .experiments import metric

    rows = []
    for arm, kwargs in result["arm_kwargs"].items():
        k = kwargs.get("labels_per_class")
        if kwargs.get("method") != method or arm != arm_label(method, k, variant):
            continue
        n = k if k is not None else metric(result, arm, "train_images")[0] / 10
        rows.append((n, str(k) if k is not None else f"all\n({n:.0f})", metric(result, arm, key)))
    rows.sort(key=lambda row: row[0])
    return LearningCurve([r[0] for r in rows], [r[1] for r in rows], [r[2] for r in rows])


def plot_learning_curves(result: Mapping[str, Any], ax=None, methods=METHODS):
    """Test accuracy vs labelled images per class, one colour per method.

    The line is the mean over seeds, the band the min-max range, the dots the
    seeds themselves. The x axis is logarithmic; "all" sits at its real mean
    count per class. Returns the Axes.
    """
    import matplotlib.pyplot as plt
    import numpy as np

    own_figure = ax is None
    if own_figure:
        _, ax = plt.subplots(figsize=(5.8, 3.6))
    ticks: dict[float, str] = {}
    for method in methods:
        curve = learning_curve(result, method)
        if not curve.sizes:
            continue
        acc = 100 * np.asarray(curve.values, dtype=float)  # sizes x seeds
        color = METHOD_COLORS.get(method)
        ax.plot(curve.sizes, acc.mean(1), "-o", color=color, label=f"{method} (mean of {acc.shape[1]} seeds)",
                markersize=4)
        ax.fill_between(curve.sizes, acc.min(1), acc.max(1), color=color, alpha=0.18, linewidth=0)
        for x, row in zip(curve.sizes, acc):
            ax.plot([x] * len(row), row, ".", color=color, alpha=0.6, markersize=5)
        ticks.update(zip(curve.sizes, curve.labels))
    ax.set_xscale("log")
    ax.set_xticks(list(ticks), list(ticks.values()))
    ax.minorticks_off()
    ax.axhline(10, color="gray", linestyle=":", linewidth=1, label="chance (10%)")
    ax.set(xlabel="labelled training images per class", ylabel="test accuracy (%)",
           title=f"{result.get('recipe', {}).get('backbone', 'mini')} transferred to handwritten digits")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if own_figure:
        ax.figure.tight_layout()  # room for the two-line "all" tick and the axis label
    return ax


def comparison_lines(result: Mapping[str, Any]) -> list[str]:
    """The paired differences of the experiment's variants, one line each: BN frozen - update and
    aux reset - drop at each size where both arms ran (``experiments.paired_line``)."""
    from .experiments import paired_line

    lines = []
    for arm, kwargs in result["arm_kwargs"].items():
        base = arm_label(kwargs.get("method", ""), kwargs.get("labels_per_class"))
        if arm == base or base not in result["arms"] or len(result["arms"][arm]) < 2:
            continue
        lines.append(paired_line(result, arm, base))
    return lines
