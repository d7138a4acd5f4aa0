"""Pretrained weights (course_utils.models.pretrained), all without a network.

Offline: every registered weight source fails fast with an actionable PretrainedWeightsError.
Happy path: a randomly initialised reference state dict is put where the library's cache
looks for it (torch.hub's checkpoints dir under $TORCH_HOME, or the Hugging Face cache),
and ``create_model(name, pretrained=True)`` goes through torchvision's / timm's real
loading code, with every socket blocked.
"""
import socket
import time
from pathlib import Path

import huggingface_hub.constants
import pytest
import timm
import torch
import torchvision
from safetensors.torch import save_file

from course_utils.models import WeightSource, create_model, list_models
from course_utils import network
from course_utils.models import pretrained
from course_utils.models.pretrained import PretrainedWeightsError, load_pretrained, locate_weights
from course_utils.models.registry import weight_source

WEIGHTED = list_models(pretrained=True)


def test_weighted_models_include_this_family():
    assert {"inception_v4", "inception_resnet_v2", "xception"} <= set(WEIGHTED)


@pytest.mark.parametrize("name", WEIGHTED)
def test_offline_fails_fast_with_actionable_message(name, no_network, empty_caches):
    source = weight_source(name)
    location = locate_weights(source)
    assert location.cached_file is None
    assert str(location.cache_path).startswith(str(empty_caches[0]))
    stand_in = create_model("mini_inception_v4")  # never touched: the check comes first
    with pytest.raises(PretrainedWeightsError) as info:
        load_pretrained(stand_in, source)
    message = str(info.value)
    for needed in (source.model_name, source.library, str(location.cache_path), "Colab", "pretrained=False"):
        assert needed in message
    # a course error, not a chain of library tracebacks
    assert info.value.__cause__ is None and info.value.__suppress_context__


def test_a_hanging_network_does_not_hang(monkeypatch, empty_caches):
    monkeypatch.setattr(socket, "create_connection", lambda *a, **k: time.sleep(30))
    monkeypatch.setattr(pretrained, "CONNECT_TIMEOUT_S", 0.2)
    start = time.monotonic()
    with pytest.raises(PretrainedWeightsError, match="cannot be reached"):
        load_pretrained(create_model("mini_xception"), weight_source("xception"))
    assert time.monotonic() - start < 10  # the probe gave up instead of waiting 30 s


def test_library_failures_become_course_errors(monkeypatch, empty_caches):
    monkeypatch.setattr(network, "reachable", lambda *a, **k: True)

    def broken_download(*args, **kwargs):
        raise ConnectionError("connection reset by peer")

    monkeypatch.setattr(timm, "create_model", broken_download)
    with pytest.raises(PretrainedWeightsError, match="ConnectionError: connection reset") as info:
        load_pretrained(create_model("mini_inception_v4"), weight_source("inception_v4"))
    assert info.value.__cause__ is None and info.value.__suppress_context__
    assert "inception_v4" in str(info.value)


def test_unknown_library_is_a_value_error():
    with pytest.raises(ValueError, match="torchvision, timm"):
        locate_weights(WeightSource("keras", "xception", None, convert=dict))


def _assert_loaded(model, expected_state):
    own = model.state_dict()
    assert set(own) == set(expected_state)
    for key, value in expected_state.items():
        assert torch.equal(own[key], value), key


def _random_timm_state(model_name: str) -> dict:
    torch.manual_seed(0)
    reference = timm.create_model(model_name)
    with torch.no_grad():
        for m in reference.modules():
            if isinstance(m, torch.nn.BatchNorm2d):
                m.running_mean.normal_(0, 0.2)
                m.running_var.uniform_(0.5, 1.5)
    return reference.state_dict()


def test_hugging_face_cache_hit_loads_through_timm(no_network, empty_caches):
    # inception_v4's weights live on the Hugging Face Hub (timm/inception_v4.tf_in1k):
    # lay out the cache exactly as huggingface_hub does after a download.
    _, hf_cache = empty_caches
    state = _random_timm_state("inception_v4")
    repo = hf_cache / "models--timm--inception_v4.tf_in1k"
    snapshot = repo / "snapshots" / "0123456789abcdef"
    snapshot.mkdir(parents=True)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text("0123456789abcdef")
    save_file(state, str(snapshot / "model.safetensors"))
    assert locate_weights(weight_source("inception_v4")).cached_file == snapshot / "model.safetensors"

    model = create_model("inception_v4", pretrained=True)
    _assert_loaded(model, weight_source("inception_v4").convert(state))


def test_torch_hub_cache_hit_loads_through_timm_and_keeps_a_new_classifier(no_network, empty_caches):
    # legacy_xception's weights are a URL download cached by torch.hub under $TORCH_HOME.
    source = weight_source("xception")
    location = locate_weights(source)
    state = _random_timm_state("legacy_xception")
    location.cache_path.parent.mkdir(parents=True)
    torch.save(state, location.cache_path)

    model = create_model("xception", pretrained=True, num_classes=7)  # transfer learning: new head
    expected = source.convert(state)
    own = model.state_dict()
    assert own["fc.weight"].shape == (7, 2048)
    for key, value in expected.items():
        if not key.startswith("fc."):
            assert torch.equal(own[key], value), key


def test_local_file_for_hub_weights_is_used(no_network, empty_caches):
    # The route the offline message suggests for Hub weights: one file under torch.hub's dir.
    # A tiny timm test model keeps this cheap; the loading code is the same.
    source = WeightSource("timm", "test_resnet", "r160_in1k", convert=lambda sd: dict(sd))
    location = locate_weights(source)
    assert location.cache_path.name == "test_resnet.r160_in1k.safetensors"
    assert location.cached_file is None
    state = _random_timm_state("test_resnet")
    location.cache_path.parent.mkdir(parents=True)
    save_file(state, str(location.cache_path))
    model = timm.create_model("test_resnet")
    load_pretrained(model, source)
    _assert_loaded(model, state)


def _cache_random_torchvision_weights(source) -> dict:
    """Put random weights where torchvision's cache looks; return what our default build loads."""
    location = locate_weights(source)
    torch.manual_seed(0)
    # With weights, torchvision's googlenet / inception_v3 builders load a checkpoint that
    # has the auxiliary heads (they drop them afterwards when not asked for).
    reference = torchvision.models.get_model(source.model_name, weights=None, aux_logits=True, init_weights=False)
    location.cache_path.parent.mkdir(parents=True)
    torch.save(reference.state_dict(), location.cache_path)
    assert Path(locate_weights(source).cached_file) == location.cache_path
    built = torchvision.models.get_model(source.model_name, weights=None, init_weights=False, **source.reference_kwargs)
    built.load_state_dict(
        {k: v for k, v in reference.state_dict().items() if k in built.state_dict()}, strict=True
    )
    return source.convert(built.state_dict())


@pytest.mark.parametrize("name", [n for n in WEIGHTED if weight_source(n).library == "torchvision"])
def test_torchvision_cache_hit_loads_through_torchvision(name, no_network, empty_caches):
    published = _cache_random_torchvision_weights(weight_source(name))
    _assert_loaded(create_model(name, pretrained=True), published)


@pytest.mark.parametrize("name", ["googlenet", "inception_v3"])
def test_auxiliary_heads_follow_the_model_not_the_checkpoint(name, no_network, empty_caches):
    """aux_logits flipped from the default: published aux heads dropped, or new ones kept fresh."""
    published = _cache_random_torchvision_weights(weight_source(name))

    default_aux = create_model(name).aux_logits
    torch.manual_seed(1)
    fresh = create_model(name, aux_logits=not default_aux).state_dict()
    torch.manual_seed(1)
    model = create_model(name, pretrained=True, aux_logits=not default_aux)
    aux_prefixes = tuple(f"{n}." for n in model.aux_head_names)
    own = model.state_dict()
    trunk = {k: v for k, v in published.items() if not k.startswith(aux_prefixes)}
    for key, value in trunk.items():
        assert torch.equal(own[key], value), key
    aux_keys = [k for k in own if k.startswith(aux_prefixes)]
    if default_aux:  # inception_v3: built without AuxLogits, the published head is left out
        assert aux_keys == [] and len(published) > len(trunk)
    else:  # googlenet: torchvision publishes no aux heads, ours stay as initialised
        assert aux_keys and all(torch.equal(own[k], fresh[k]) for k in aux_keys)
    model.eval()
    assert model(torch.randn(1, 3, *model.preprocess.input_size[1:])).shape == (1, 1000)


def test_the_connectivity_probe_survives_any_failure(monkeypatch):
    """A probe that fails with something other than OSError still answers "unreachable"."""

    def broken(*args, **kwargs):
        raise RuntimeError("not an OSError")

    monkeypatch.setattr(socket, "create_connection", broken)
    assert network.reachable("example.invalid", 443, timeout=0.5) is False
