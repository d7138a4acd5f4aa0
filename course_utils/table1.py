"""GoogLeNet's Table 1, as printed and as rebuilt from the model (lesson 02).

Szegedy et al., "Going deeper with convolutions" (https://arxiv.org/abs/1409.4842),
Table 1 lists every layer of GoogLeNet: type, patch size/stride, output size, depth,
the six width columns of the Inception rows, parameters and ops. :data:`PAPER_TABLE1`
is the table as printed; :func:`rebuild_table1` computes the same rows from a model
(``googlenet_paper``) with ``course_utils.costs`` and a forward pass, and
:func:`compare_with_paper` puts them side by side, flagging the printed figures the
row's own width columns do not reproduce (:data:`MISPRINTS`, each with its reason).

Units, as the paper's: "params" counts weights only (no biases) in K = 1024 (the
conv row: 64*64 + 64*9*192 = 114,688 = 112 x 1024; the linear row: 1024*1000 =
1000 x 1024); "ops" are multiply-adds (MACs) in M = 10^6.
(``tests/test_models_googlenet.py`` keeps its own transcription of the table.)
"""
from __future__ import annotations

from dataclasses import dataclass

import torch
from torch import nn

from . import costs

__all__ = ["K", "M", "MISPRINTS", "PAPER_TABLE1", "PaperRow", "Table1Row", "format_table1", "rebuild_table1"]

K, M = 1024, 1e6


@dataclass(frozen=True)
class PaperRow:
    """One row of Table 1 as printed. ``modules`` names our submodule(s) of ``googlenet_paper``."""

    type: str
    modules: tuple[str, ...]
    patch: str
    output: tuple[int, int, int]  # H, W, C
    depth: int
    widths: tuple  # #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj (None where blank)
    params_k: float | None
    ops_m: float | None


_ = None
PAPER_TABLE1: tuple[PaperRow, ...] = (
    PaperRow("convolution", ("conv1",), "7x7/2", (112, 112, 64), 1, (_, _, _, _, _, _), 2.7, 34),
    PaperRow("max pool", ("maxpool1",), "3x3/2", (56, 56, 64), 0, (_, _, _, _, _, _), _, _),
    PaperRow("convolution", ("conv2", "conv3"), "3x3/1", (56, 56, 192), 2, (_, 64, 192, _, _, _), 112, 360),
    PaperRow("max pool", ("maxpool2",), "3x3/2", (28, 28, 192), 0, (_, _, _, _, _, _), _, _),
    PaperRow("inception (3a)", ("inception3a",), "", (28, 28, 256), 2, (64, 96, 128, 16, 32, 32), 159, 128),
    PaperRow("inception (3b)", ("inception3b",), "", (28, 28, 480), 2, (128, 128, 192, 32, 96, 64), 380, 304),
    PaperRow("max pool", ("maxpool3",), "3x3/2", (14, 14, 480), 0, (_, _, _, _, _, _), _, _),
    PaperRow("inception (4a)", ("inception4a",), "", (14, 14, 512), 2, (192, 96, 208, 16, 48, 64), 364, 73),
    PaperRow("inception (4b)", ("inception4b",), "", (14, 14, 512), 2, (160, 112, 224, 24, 64, 64), 437, 88),
    PaperRow("inception (4c)", ("inception4c",), "", (14, 14, 512), 2, (128, 128, 256, 24, 64, 64), 463, 100),
    PaperRow("inception (4d)", ("inception4d",), "", (14, 14, 528), 2, (112, 144, 288, 32, 64, 64), 580, 119),
    PaperRow("inception (4e)", ("inception4e",), "", (14, 14, 832), 2, (256, 160, 320, 32, 128, 128), 840, 170),
    PaperRow("max pool", ("maxpool4",), "3x3/2", (7, 7, 832), 0, (_, _, _, _, _, _), _, _),
    PaperRow("inception (5a)", ("inception5a",), "", (7, 7, 832), 2, (256, 160, 320, 32, 128, 128), 1072, 54),
    PaperRow("inception (5b)", ("inception5b",), "", (7, 7, 1024), 2, (384, 192, 384, 48, 128, 128), 1388, 71),
    PaperRow("avg pool", ("global_pool",), "7x7/1", (1, 1, 1024), 0, (_, _, _, _, _, _), _, _),
    PaperRow("dropout (40%)", ("dropout",), "", (1, 1, 1024), 0, (_, _, _, _, _, _), _, _),
    PaperRow("linear", ("fc",), "", (1, 1, 1000), 1, (_, _, _, _, _, _), 1000, 1),
)
del _

#: (first module of the row, "params" or "ops") -> why the printed figure is not what the row's own columns give.
MISPRINTS: dict[tuple[str, str], str] = {
    ("conv1", "params"): "7*7*3*64 = 9,408 weights (9.2K), not 2.7K; the printed 34M ops are 2.7K x 112*112, "
    "so both figures come from the same unexplained count.",
    ("conv1", "ops"): "9,408 weights x 112*112 outputs = 118M MACs, not 34M (see params).",
    ("inception4a", "params"): "the columns give 366.8K; the printed ops (73M) agree with the columns.",
    ("inception4c", "params"): "the columns give 497.5K; the printed ops (100M) agree with the columns "
    "(497.5K x 14*14 = 99.9M), so the params figure is the misprint.",
    ("inception4d", "params"): "the columns give 590.5K; the printed ops (119M) agree with the columns.",
    ("inception4e", "params"): "the columns give 847.0K; the printed ops (170M) agree with the columns.",
    ("inception5a", "params"): "the columns give 1018K; the printed 54M ops are the printed 1072K x 7*7, so "
    "both figures describe some other configuration than the printed columns.",
    ("inception5a", "ops"): "the columns give 51.1M MACs; 54M is the printed 1072K x 7*7.",
    ("inception5b", "params"): "the columns give 1409K; the printed ops (71M) agree with the columns.",
}


@dataclass(frozen=True)
class Table1Row:
    """One Table 1 row rebuilt from a model, next to the printed figures.

    ``params_k``/``ops_m`` are ours (weights in K = 1024, MACs in M = 10^6);
    ``params_ok``/``ops_ok`` say whether the printed figure agrees within its last
    printed digit (None where the paper prints nothing).
    """

    paper: PaperRow
    output: tuple[int, int, int]
    depth: int
    widths: tuple
    params: int
    macs: int
    params_ok: bool | None
    ops_ok: bool | None

    @property
    def params_k(self) -> float:
        return self.params / K

    @property
    def ops_m(self) -> float:
        return self.macs / M


def _depth(modules: list[nn.Module]) -> int:
    """Conv/linear layers along the longest path of the row (Table 1's "depth")."""
    total = 0
    for module in modules:
        branches = [getattr(module, f"branch{i}") for i in range(1, 5)] if hasattr(module, "branch4") else [module]
        total += max(sum(isinstance(m, (nn.Conv2d, nn.Linear)) for m in b.modules()) for b in branches)
    return total


def _widths(module: nn.Module) -> tuple:
    if not hasattr(module, "branch4"):
        return (None,) * 6
    return (
        module.branch1.conv.out_channels,
        module.branch2[0].conv.out_channels,
        module.branch2[1].conv.out_channels,
        module.branch3[0].conv.out_channels,
        module.branch3[1].conv.out_channels,
        module.branch4[1].conv.out_channels,
    )


def _agrees(ours: float, printed: float) -> bool:
    # The paper prints whole K/M (2.7K once) and sometimes truncates (159.5K -> 159): within one unit.
    unit = 0.1 if printed < 10 else 1.0
    return abs(ours - printed) <= unit


def rebuild_table1(model: nn.Module | None = None, input_size: int = 224) -> list[Table1Row]:
    """Table 1 computed from ``model`` (default: ``googlenet_paper`` without aux heads), row by row.

    Output sizes from a forward pass (hooks), weights from the row's modules, MACs
    from ``costs.cost_breakdown``; the stem row "convolution 3x3/1" is conv2 + conv3,
    as in the paper.
    """
    if model is None:
        from .models import create_model

        with torch.device("meta"):  # shapes and counts only: no weights to allocate or initialize
            model = create_model("googlenet_paper", aux_logits=False)
    model.eval()
    x = torch.zeros(1, 3, input_size, input_size, device=next(model.parameters()).device)
    report = costs.cost_breakdown(model, x)
    shapes: dict[str, tuple] = {}
    names = [n for row in PAPER_TABLE1 for n in row.modules]
    hooks = [model.get_submodule(n).register_forward_hook(
        lambda mod, inp, out, n=n: shapes.__setitem__(n, tuple(out.shape[1:]))) for n in names]
    try:
        with torch.no_grad():
            model(x)
    finally:
        for h in hooks:
            h.remove()
    rows = []
    for paper in PAPER_TABLE1:
        mods = [model.get_submodule(n) for n in paper.modules]
        weights = sum(p.numel() for m in mods for n, p in m.named_parameters() if n.endswith("weight"))
        macs = sum(report.row(n).macs for n in paper.modules)
        shape = shapes[paper.modules[-1]]
        output = (shape[1], shape[2], shape[0]) if len(shape) == 3 else (1, 1, shape[0])
        rows.append(Table1Row(
            paper, output, _depth(mods), _widths(mods[-1]), weights, macs,
            None if paper.params_k is None else _agrees(weights / K, paper.params_k),
            None if paper.ops_m is None else _agrees(macs / M, paper.ops_m),
        ))
    return rows


def format_table1(rows: list[Table1Row] | None = None) -> str:
    """Our Table 1 next to the printed figures as a text table; ``*`` marks a printed figure that
    the row's own columns do not reproduce (see :data:`MISPRINTS`)."""
    rows = rows if rows is not None else rebuild_table1()
    header = ("type", "patch", "output", "depth", "#1x1", "#3x3r", "#3x3", "#5x5r", "#5x5", "pool",
              "params(K)", "paper", "ops(M)", "paper")
    body = []
    for r in rows:
        p = r.paper
        widths = r.widths if any(w is not None for w in r.widths) else p.widths
        flag = {True: "", False: "*", None: ""}
        body.append((
            p.type, p.patch, "x".join(map(str, r.output)), str(r.depth) if r.depth else "",
            *("" if w is None else str(w) for w in widths),
            "" if p.params_k is None else f"{r.params_k:.1f}",
            "" if p.params_k is None else f"{p.params_k:g}{flag[r.params_ok]}",
            "" if p.ops_m is None else f"{r.ops_m:.1f}",
            "" if p.ops_m is None else f"{p.ops_m:g}{flag[r.ops_ok]}",
        ))
    size = [max(len(line[i]) for line in [header, *body]) for i in range(len(header))]

    def fmt(line):
        return "  ".join(c.ljust(w) if i < 2 else c.rjust(w) for i, (c, w) in enumerate(zip(line, size)))

    lines = [fmt(header), "-" * len(fmt(header)), *(fmt(line) for line in body)]
    lines.append("params: weights only, K = 1024; ops: MACs, M = 10^6; * = printed figure not reproduced by the row's columns")
    return "\n".join(lines)
