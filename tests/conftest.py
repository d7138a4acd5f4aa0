"""Shared test set-up: figures are drawn off screen and closed after every test; fixtures that several
test files use (one torch thread, no network, empty weight caches)."""
import matplotlib

matplotlib.use("Agg")

import socket  # noqa: E402
from typing import NamedTuple  # noqa: E402

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    """Tests that draw leave no figure open (more than 20 open figures make matplotlib warn)."""
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def one_thread():
    """One intra-op thread for a test module (``pytestmark = pytest.mark.usefixtures("one_thread")``): small
    tensors run as fast on one, and on a shared 2-core machine two spinning threads per process can make a
    0.5 s test take 10 s or more."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture
def no_network(monkeypatch):
    """Every socket connection fails at once, as on a machine without internet."""

    def refuse(*args, **kwargs):
        raise OSError("network disabled by the test")

    monkeypatch.setattr(socket, "create_connection", refuse)
    monkeypatch.setattr(socket.socket, "connect", refuse)


class Caches(NamedTuple):
    torch_home: object
    hf_cache: object


@pytest.fixture
def empty_caches(monkeypatch, tmp_path):
    """torch.hub and Hugging Face caches in a tmp dir (empty until a test fills them)."""
    import huggingface_hub.constants

    caches = Caches(tmp_path / "torch", tmp_path / "hf")
    monkeypatch.setenv("TORCH_HOME", str(caches.torch_home))
    monkeypatch.setenv("HF_HUB_CACHE", str(caches.hf_cache))
    monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_CACHE", str(caches.hf_cache))
    return caches
