"""Pretrained ImageNet weights for course models, through torchvision or timm (lesson 08).

``create_model(name, pretrained=True)`` calls :func:`load_pretrained`: it builds the
reference implementation (torchvision or timm) *with* its published weights, converts
that state dict into our layout with the model's registered converter and loads it
strictly, so every tensor is accounted for.

The weights are downloaded once and cached by the library:

* torchvision, and timm weights hosted at a URL: ``$TORCH_HOME/hub/checkpoints/<file>``
  (``~/.cache/torch/hub/checkpoints`` by default);
* timm weights hosted on the Hugging Face Hub: the Hugging Face cache
  (``$HF_HUB_CACHE``, ``~/.cache/huggingface/hub``), or a file you put at
  ``$TORCH_HOME/hub/checkpoints/<timm name>.<tag>.safetensors`` (or ``.pth``/``.bin``).

Offline (no network, e.g. the course's CI) and without a cached file, loading fails
within a few seconds with :class:`PretrainedWeightsError`, which says which weights were
needed, where to put the file and what else to do; it never hangs on a download.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlparse

import torch
from torch import nn

from .. import network
from ..checks import CourseException
from .registry import WeightSource

__all__ = ["PretrainedWeightsError", "WeightsLocation", "locate_weights", "load_pretrained"]

#: Seconds to wait for the download host before declaring the machine offline.
CONNECT_TIMEOUT_S = 3.0
_LIBRARIES = ("torchvision", "timm")
_HF_FILES = ("model.safetensors", "pytorch_model.bin")  # what timm looks for on the Hub, in order
_LOCAL_SUFFIXES = (".safetensors", ".pth", ".bin")


class PretrainedWeightsError(CourseException, RuntimeError):
    """Pretrained weights could not be loaded; the message says why and what to do."""


@dataclass(frozen=True)
class WeightsLocation:
    """Where a weight source comes from and where it is (or would be) cached.

    Attributes:
        description: e.g. ``"timm 'inception_v4.tf_in1k'"``.
        url: the download address (a Hugging Face repository URL for Hub weights).
        host: the host (and port) a download would contact.
        port: that port.
        cache_path: where to place a weights file by hand so it loads offline.
        cached_file: the cached file that will be loaded, or None if there is none yet.
    """

    description: str
    url: str
    host: str
    port: int
    cache_path: Path
    cached_file: Path | None


def _hub_checkpoints() -> Path:
    # torch.hub reads $TORCH_HOME at every call, so tests can point it at a tmp dir.
    return Path(torch.hub.get_dir()) / "checkpoints"


def _torchvision_location(source: WeightSource) -> WeightsLocation:
    from torchvision.models import get_model_weights

    weights_enum = get_model_weights(source.model_name)
    weights = weights_enum[source.weights] if source.weights else weights_enum.DEFAULT
    cache_path = _hub_checkpoints() / os.path.basename(urlparse(weights.url).path)
    host, port = network.host_port(weights.url)
    return WeightsLocation(
        description=f"torchvision '{source.model_name}' weights {weights}",
        url=weights.url,
        host=host,
        port=port,
        cache_path=cache_path,
        cached_file=cache_path if cache_path.is_file() else None,
    )


def _timm_location(source: WeightSource) -> WeightsLocation:
    from timm.models import get_pretrained_cfg

    name = f"{source.model_name}.{source.weights}" if source.weights else source.model_name
    cfg = get_pretrained_cfg(name)
    if cfg is None:
        raise PretrainedWeightsError(
            f"timm has no pretrained weights named '{name}' (timm version mismatch?). "
            "Upgrade timm (pip install -U timm) or build the model with pretrained=False."
        ) from None
    full_name = f"{cfg.architecture}.{cfg.tag}" if cfg.tag else cfg.architecture
    description = f"timm '{full_name}'"
    if cfg.hf_hub_id:
        from huggingface_hub import constants, try_to_load_from_cache

        repo_id, _, revision = cfg.hf_hub_id.partition("@")
        url = f"{constants.ENDPOINT}/{repo_id}"
        cached = None
        for filename in (cfg.hf_hub_filename,) if cfg.hf_hub_filename else _HF_FILES:
            found = try_to_load_from_cache(repo_id, filename, revision=revision or None)
            if isinstance(found, str):
                cached = Path(found)
                break
        local_stem = _hub_checkpoints() / full_name
        cache_path = local_stem.with_name(full_name + ".safetensors")
        if cached is None:
            for suffix in _LOCAL_SUFFIXES:
                candidate = local_stem.with_name(full_name + suffix)
                if candidate.is_file():
                    cached = candidate
                    break
        host, port = network.host_port(url)
        return WeightsLocation(description, url, host, port, cache_path, cached)
    if cfg.url:
        cache_path = _hub_checkpoints() / os.path.basename(urlparse(cfg.url).path)
        host, port = network.host_port(cfg.url)
        return WeightsLocation(
            description, cfg.url, host, port, cache_path, cache_path if cache_path.is_file() else None
        )
    raise PretrainedWeightsError(f"timm's {description} has no download location (no URL, no Hugging Face id).")


def locate_weights(source: WeightSource) -> WeightsLocation:
    """Where ``source``'s weights download from and whether a cached copy exists (no network)."""
    if source.library not in _LIBRARIES:
        raise ValueError(f"Unknown weight library {source.library!r}; supported: {', '.join(_LIBRARIES)}.")
    try:
        if source.library == "torchvision":
            return _torchvision_location(source)
        return _timm_location(source)
    except PretrainedWeightsError:
        raise
    except (KeyError, ValueError) as error:
        raise PretrainedWeightsError(
            f"{source.library} does not know the weights {source.model_name!r} / {source.weights!r} "
            f"({type(error).__name__}: {error}). Check the installed {source.library} version."
        ) from None


def _proxy_for(url: str) -> str | None:
    scheme = urlparse(url).scheme
    names = ("HTTPS_PROXY", "https_proxy") if scheme == "https" else ("HTTP_PROXY", "http_proxy")
    for name in names + ("ALL_PROXY", "all_proxy"):
        if os.environ.get(name):
            return os.environ[name]
    return None


def _offline_help(model_label: str, location: WeightsLocation, reason: str) -> str:
    return (
        f"Cannot load pretrained weights for {model_label}: they come from {location.description} "
        f"({location.url}), which is not in the local cache, and {reason}.\n"
        "What to do: run this where there is internet (e.g. on Colab) so the weights download once, "
        f"or copy the weights file to {location.cache_path} on this machine, "
        "or build the model with pretrained=False (random weights)."
    )


def _build_reference(source: WeightSource, location: WeightsLocation) -> nn.Module:
    if source.library == "torchvision":
        from torchvision.models import get_model

        return get_model(source.model_name, weights=source.weights or "DEFAULT", **source.reference_kwargs)
    import timm

    name = f"{source.model_name}.{source.weights}" if source.weights else source.model_name
    kwargs = dict(source.reference_kwargs)
    if location.cached_file is not None and location.url.startswith(_hf_endpoint()):
        # Hub weights already on disk: hand timm the file (its documented local-file route)
        # instead of letting the Hub client ask the network for a newer revision first.
        kwargs["pretrained_cfg_overlay"] = dict(file=str(location.cached_file))
    return timm.create_model(name, pretrained=True, **kwargs)


def _hf_endpoint() -> str:
    from huggingface_hub import constants

    return constants.ENDPOINT


def _classifier_keys(model: nn.Module) -> set[str]:
    """State-dict keys of the Linear layers that output ``model.num_classes`` logits."""
    num_classes = getattr(model, "num_classes", None)
    keys = set()
    for name, module in model.named_modules():
        if isinstance(module, nn.Linear) and module.out_features == num_classes:
            keys.update(f"{name}.{p}" for p, _ in module.named_parameters(recurse=False))
    return keys


def load_pretrained(model: nn.Module, source: WeightSource) -> nn.Module:
    """Load ``source``'s published weights into ``model`` (in place) and return it.

    Builds the reference through torchvision/timm with pretrained weights (downloading them
    once if needed), converts its state dict with ``source.convert`` and loads it strictly, with two
    exceptions that only concern heads:

    - a model built with a different ``num_classes`` gets every weight except its freshly
      initialised classifiers (transfer learning, lesson 08);
    - auxiliary classifiers follow the model: built without them (``aux_logits=False``),
      the published ones are left out; built with them where the published weights have
      none, they stay freshly initialised (they only train the network, never predict).

    Raises:
        PretrainedWeightsError: the weights are not cached and cannot be downloaded (no
            network), or the library failed to provide them; the message says what to do.
    """
    model_label = f"{type(model).__name__} ({source.library} '{source.model_name}')"
    location = locate_weights(source)
    if location.cached_file is None:
        if source.library == "timm" and location.url.startswith(_hf_endpoint()):
            from huggingface_hub import constants

            if constants.HF_HUB_OFFLINE:
                raise PretrainedWeightsError(
                    _offline_help(model_label, location, "HF_HUB_OFFLINE is set (downloads disabled)")
                ) from None
        proxy = _proxy_for(location.url)
        host, port = network.host_port(proxy) if proxy else (location.host, location.port)
        if not network.reachable(host, port, timeout=CONNECT_TIMEOUT_S):
            where = f"the proxy {host}:{port}" if proxy else f"{host}:{port}"
            raise PretrainedWeightsError(
                _offline_help(model_label, location, f"{where} cannot be reached (no internet?)")
            ) from None
    try:
        reference = _build_reference(source, location)
    except Exception as error:  # the libraries raise many types (HTTP, OS, hub, hash errors)
        raise PretrainedWeightsError(
            f"{source.library} could not provide {location.description} for {model_label}: "
            f"{type(error).__name__}: {error}\n"
            f"If the download was cut off, delete the partial file and retry; offline, copy the weights "
            f"file to {location.cache_path}."
        ) from None

    state = source.convert(reference.state_dict())
    own = model.state_dict()
    aux_prefixes = tuple(f"{name}." for name in getattr(model, "aux_head_names", ()))
    # Auxiliary heads the model was built without: not weights it lacks, just unused ones.
    state = {k: v for k, v in state.items() if not (k.startswith(aux_prefixes) and k not in own)}
    mismatched = {k for k in state if k in own and state[k].shape != own[k].shape}
    # A different num_classes only changes the classifier: keep the model's new one.
    skip = mismatched & _classifier_keys(model)
    may_be_missing = skip | {k for k in own if k.startswith(aux_prefixes)}
    missing, unexpected = [], []
    if not mismatched - skip:
        missing, unexpected = model.load_state_dict({k: v for k, v in state.items() if k not in skip}, strict=False)
    if mismatched - skip or set(missing) - may_be_missing or unexpected:
        raise PretrainedWeightsError(
            f"The converted {location.description} state dict does not fit {model_label}: "
            f"shape mismatches {sorted(mismatched - skip)[:5]}, missing {sorted(set(missing) - may_be_missing)[:5]}, "
            f"unexpected {sorted(unexpected)[:5]}. Build the model with its default architecture "
            "arguments (only num_classes and aux_logits may differ from the pretrained model's)."
        )
    return model
