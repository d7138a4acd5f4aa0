"""Inference-time fusion: fold every batch norm into the convolution before it (lessons 03, 08).

In eval mode a BatchNorm2d is a fixed per-channel affine map,
``y = gamma * (z - mean) / sqrt(var + eps) + beta``, applied to a convolution's output
``z = W * x + b``. Both are linear, so the pair is one convolution with
``W' = W * gamma / sqrt(var + eps)`` (per output channel) and
``b' = (b - mean) * gamma / sqrt(var + eps) + beta``. Folding removes a full pass over
every feature map without changing what the network computes (up to rounding).
PyTorch ships the arithmetic as ``torch.nn.utils.fusion.fuse_conv_bn_eval``; this module
only finds the pairs.

A pair is any module with attributes ``conv`` and ``bn`` whose forward applies ``bn``
directly to ``conv``'s output: :class:`~course_utils.models.blocks.BasicConv2d` and the
like in every course model. For Xception's ``SeparableConvBN`` the ``conv`` is a
depthwise-then-pointwise pair; the batch norm folds into the *pointwise* conv, the last
linear operation before it.

The fused copy is also converted to ``channels_last`` memory layout, which the CPU
convolution kernels (oneDNN) prefer.
"""
from __future__ import annotations

import copy

import torch
from torch import nn
from torch.nn.utils.fusion import fuse_conv_bn_eval

__all__ = ["fuse_for_inference", "count_batchnorms"]


def _fold_into(conv: nn.Module, bn: nn.BatchNorm2d) -> nn.Module | None:
    """Return ``conv`` with ``bn`` folded in, or None when ``conv`` is not a foldable conv."""
    if isinstance(conv, nn.Conv2d):
        return fuse_conv_bn_eval(conv, bn)
    pointwise = getattr(conv, "pointwise", None)
    if isinstance(pointwise, nn.Conv2d):  # depthwise separable: BN follows the pointwise conv
        conv.pointwise = fuse_conv_bn_eval(pointwise, bn)
        return conv
    return None


def fuse_for_inference(model: nn.Module, channels_last: bool = True) -> nn.Module:
    """An eval-mode copy of ``model`` with every conv -> BN pair folded into the conv.

    The original model is untouched. Each folded ``bn`` becomes ``nn.Identity``; the
    copy is converted to ``channels_last`` unless ``channels_last=False``. The copy is for
    inference only: training it would update the folded weights, with no batch norm left.

    Returns the fused copy; its outputs equal the original's in eval mode up to float
    rounding (tests check 1e-3 on every registered model).
    """
    from ..checks import check_module

    check_module(model, "model")
    fused = copy.deepcopy(model).eval()
    with torch.no_grad():
        for module in fused.modules():
            bn = getattr(module, "bn", None)
            conv = getattr(module, "conv", None)
            if not isinstance(bn, nn.BatchNorm2d) or conv is None or not bn.track_running_stats:
                continue
            folded = _fold_into(conv, bn)
            if folded is not None:
                module.conv = folded
                module.bn = nn.Identity()
    if channels_last:
        fused = fused.to(memory_format=torch.channels_last)
    return fused


def count_batchnorms(model: nn.Module) -> int:
    """How many BatchNorm2d modules ``model`` still has (0 after a complete fusion)."""
    return sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
