"""A registry of model builders: ``create_model(name)`` and ``list_models()``.

As in timm, each builder function registers itself under its own name, so a
lesson can write ``create_model("inception_v3")`` and a widget can offer
``list_models()`` as choices.
"""
from __future__ import annotations

import fnmatch
from typing import Callable

from torch import nn

_MODELS: dict[str, Callable[..., nn.Module]] = {}


def register_model(fn: Callable[..., nn.Module]) -> Callable[..., nn.Module]:
    """Decorator: register ``fn`` under its ``__name__``."""
    name = fn.__name__
    if name in _MODELS:
        raise ValueError(f"A model named {name!r} is already registered.")
    _MODELS[name] = fn
    return fn


def list_models(pattern: str = "*") -> list[str]:
    """Registered model names matching a shell-style ``pattern`` (e.g. ``"mini_*"``)."""
    return sorted(n for n in _MODELS if fnmatch.fnmatch(n, pattern))


def create_model(name: str, **kwargs) -> nn.Module:
    """Build a registered model by name; keyword arguments go to its builder."""
    if not isinstance(name, str) or name not in _MODELS:
        raise ValueError(
            f"Unknown model name {name!r}. Valid names: {', '.join(list_models())}."
        )
    return _MODELS[name](**kwargs)
