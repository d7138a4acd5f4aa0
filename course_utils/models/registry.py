"""A registry of model builders: ``create_model(name)`` and ``list_models()``.

As in timm, each builder function registers itself under its own name, so a
lesson can write ``create_model("inception_v3")`` and a widget can offer
``list_models()`` as choices. Models that can load published ImageNet weights
also register a :class:`WeightSource`: where the weights come from (torchvision
or timm) and how their state dict converts into ours.
"""
from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from typing import Any, Callable

from torch import nn

_MODELS: dict[str, Callable[..., nn.Module]] = {}
_WEIGHTS: dict[str, "WeightSource"] = {}


@dataclass(frozen=True)
class WeightSource:
    """Where a model's pretrained weights live and how to convert them.

    Attributes:
        library: ``"torchvision"`` or ``"timm"``.
        model_name: the builder's name in that library (``"googlenet"``, ``"inception_v4"``...).
        weights: torchvision weights enum member name (``"IMAGENET1K_V1"``) or timm
            pretrained tag (``"tf_in1k"``); None for the library default.
        convert: reference state dict -> our state dict.
        reference_kwargs: keyword arguments that build the reference with the
            same layout as ours (e.g. ``aux_logits=True, init_weights=False``).
    """

    library: str
    model_name: str
    weights: str | None
    convert: Callable[[dict], dict]
    reference_kwargs: dict[str, Any] = field(default_factory=dict)


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Decorator: register ``fn`` under its ``__name__``."""
    name = fn.__name__
    if name in _MODELS:
        raise ValueError(f"A model named {name!r} is already registered.")
    _MODELS[name] = fn
    return fn


def register_weights(name: str, source: WeightSource) -> None:
    """Declare that model ``name`` can load ``source``'s pretrained weights."""
    _WEIGHTS[name] = source


def weight_source(name: str) -> WeightSource:
    """The registered weight source of ``name``; ValueError lists the models that have one."""
    if name not in _WEIGHTS:
        raise ValueError(
            f"No pretrained weights are registered for {name!r}. Models with pretrained "
            f"weights: {', '.join(sorted(_WEIGHTS))}."
        )
    return _WEIGHTS[name]


def list_models(pattern: str = "*", pretrained: bool = False) -> list[str]:
    """Registered model names matching a shell-style ``pattern`` (e.g. ``"mini_*"``).

    With ``pretrained=True`` only models that can load published weights.
    """
    names = _WEIGHTS if pretrained else _MODELS
    return sorted(n for n in names if fnmatch.fnmatch(n, pattern))


def model_builder(name: str) -> Callable[..., nn.Module]:
    """The registered builder function of ``name`` (to inspect its arguments and docstring)."""
    if not isinstance(name, str) or name not in _MODELS:
        from ..checks import CourseError, CourseTypeError, describe, did_you_mean

        error = CourseError if isinstance(name, str) else CourseTypeError
        raise error(
            f"Unknown model name {describe(name)} (argument name).{did_you_mean(name, _MODELS)} "
            f"Valid names: {', '.join(list_models())}."
        )
    return _MODELS[name]


def create_model(name: str, pretrained: bool = False, **kwargs) -> nn.Module:
    """Build a registered model by name; keyword arguments go to its builder.

    ``pretrained=True`` (opt-in, needs internet) fetches the reference weights
    through torchvision/timm and converts them (see ``models.pretrained``).
    """
    builder = model_builder(name)
    if not isinstance(pretrained, bool):
        from ..checks import check_bool

        pretrained = check_bool(pretrained, "pretrained", hint="True downloads published ImageNet weights.")
    model = builder(**kwargs)
    if pretrained:
        from .pretrained import load_pretrained  # imported lazily: touches torchvision/timm

        load_pretrained(model, weight_source(name))
    return model
