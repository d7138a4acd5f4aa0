"""Helpers shared by the model-zoo tests (test_models_*.py, test_fuse.py, test_pretrained.py)."""
from __future__ import annotations

import math

import torch
from torch import nn


def randomize_(model: nn.Module, seed: int = 0) -> nn.Module:
    """Random weights AND batch-norm statistics/affines, so that a wrong mapping cannot pass.

    He-scaled conv/linear weights keep activations O(1) through deep stacks; batch-norm
    running statistics far from (0, 1) make folding and conversion errors visible.
    """
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.Conv2d, nn.Linear)):
                fan_in = m.weight[0].numel()
                m.weight.copy_(torch.randn(m.weight.shape, generator=g) * math.sqrt(2.0 / fan_in))
                if m.bias is not None:
                    m.bias.copy_(torch.randn(m.bias.shape, generator=g) * 0.1)
            elif isinstance(m, nn.BatchNorm2d):
                m.running_mean.copy_(torch.randn(m.num_features, generator=g) * 0.2)
                m.running_var.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.weight.copy_(torch.rand(m.num_features, generator=g) + 0.5)
                m.bias.copy_(torch.randn(m.num_features, generator=g) * 0.2)
    return model


def test_size(model: nn.Module, name: str) -> int:
    """The cheapest input size a test may use: 48 px for minis, the model's minimum otherwise."""
    return 48 if name.startswith("mini_") else model.preprocess.min_input_size


test_size.__test__ = False  # not a test, despite its name


def conv_table(seq) -> list[tuple[tuple[int, int], int, int]]:
    """(kernel size, stride, out channels) of each conv in a branch, in order."""
    return [
        (tuple(m.kernel_size), m.stride[0], m.out_channels) for m in seq.modules() if isinstance(m, nn.Conv2d)
    ]


def compare_with_reference(ours: nn.Module, reference: nn.Module, convert, size: int, batch: int = 2):
    """Load ``convert(reference.state_dict())`` into ``ours`` strictly; return both logits."""
    ours.load_state_dict(convert(reference.state_dict()), strict=True)
    ours.eval()
    reference.eval()
    x = torch.randn(batch, 3, size, size, generator=torch.Generator().manual_seed(1))
    with torch.no_grad():
        return ours(x), reference(x)
