"""One record per model: its counted cost, input sizes and where its numbers come from.

The one source of every parameter count and MAC figure the course quotes (torchvision
keeps the same facts in each weight's ``meta``). ``tests/test_models_common.py``
checks each record against the counter (``course_utils.costs``), the family tests
check the counts against the reference implementations where one exists, and the
README's model-zoo table is rendered from here (:func:`markdown_table`;
``python -m course_utils.models.records --write-readme`` rewrites it).

Counts are for eval mode, one image at ``input_size``, the preset's classes;
MACs are ``torch.utils.flop_counter`` FLOPs / 2 (lesson 01).
"""
from __future__ import annotations

import argparse
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

__all__ = ["ModelRecord", "RECORDS", "markdown_table", "record", "PaperAccuracy", "PAPER_ACCURACY"]


@dataclass(frozen=True)
class ModelRecord:
    """The facts of one model (a registered name, or a preset with ``changes``).

    Attributes:
        name: the registered model name.
        params: parameters without auxiliary classifiers.
        params_with_aux: parameters with them (``aux_logits=True``), or None (no aux heads).
        macs: multiply-accumulates for one image at ``input_size``.
        input_size: the side of the image the model is built for.
        min_input_size: the smallest side every layer accepts (one pixel less fails).
        reference: the implementation the model is weight-compatible with, or how its
            figures were derived when there is none.
        paper_table: where the architecture is in the paper.
        changes: preset fields changed from the registered builder's (a variant).
    """

    name: str
    params: int
    params_with_aux: int | None
    macs: int
    input_size: int
    min_input_size: int
    reference: str
    paper_table: str
    changes: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> str:
        """``name``, or ``name(field=value, ...)`` for a variant."""
        if not self.changes:
            return self.name
        return f"{self.name}({', '.join(f'{k}={v!r}' for k, v in self.changes.items())})"

    @property
    def gmacs(self) -> float:
        return self.macs / 1e9


_RECORDS = (
    # GoogLeNet, Szegedy et al. 2014
    ModelRecord("googlenet", 6_624_904, 13_004_888, 1_498_376_192, 224, 15,
                "torchvision googlenet", "Table 1 (torchvision's layout)"),
    ModelRecord("googlenet_paper", 6_998_552, 13_378_280, 1_582_671_872, 224, 31,
                "derived (no reference implementation)", "Table 1, Figure 3"),
    ModelRecord("mini_googlenet", 396_986, 673_614, 18_444_928, 48, 16, "course mini", "Table 1, widths x 0.25"),
    # BN-Inception, Ioffe & Szegedy 2015
    ModelRecord("bn_inception", 11_278_528, None, 1_948_605_440, 224, 7,
                "derived (no reference implementation)", "Figure 5 (channel columns)"),
    ModelRecord("bn_inception", 11_188_288, None, 1_934_857_216, 224, 7,
                "derived (no reference implementation)", "Figure 5 (output-size column)",
                changes={"match_output_sizes": True}),
    ModelRecord("mini_bn_inception", 647_434, None, 22_964_800, 48, 4, "course mini", "Figure 5, widths x 0.25"),
    # Inception v3, Szegedy et al. 2016
    ModelRecord("inception_v3", 23_834_568, 27_161_264, 5_713_216_096, 299, 75,
                "torchvision / timm inception_v3", "Table 1, Figures 5-7 (as released)"),
    ModelRecord("mini_inception_v3", 1_380_706, 1_542_828, 36_065_600, 48, 25, "course mini",
                "as released, widths x 0.25"),
    # Inception-v4 and Inception-ResNet, Szegedy et al. 2016
    ModelRecord("inception_v4", 42_679_816, None, 12_253_974_624, 299, 75, "timm inception_v4", "Figures 3-9"),
    ModelRecord("mini_inception_v4", 811_346, None, 17_785_984, 48, 32, "course mini", "Figures 4-8, widths x 0.25"),
    ModelRecord("inception_resnet_v1", 22_756_328, None, 6_206_361_696, 299, 75,
                "derived (no reference implementation)", "Figures 7, 10-15"),
    ModelRecord("mini_inception_resnet_v1", 524_978, None, 12_505_408, 48, 32, "course mini",
                "Figures 10-13, widths x 0.25"),
    ModelRecord("inception_resnet_v2", 55_843_464, None, 13_155_794_016, 299, 75,
                "timm inception_resnet_v2", "Figures 15-19 (as released)"),
    ModelRecord("mini_inception_resnet_v2", 908_410, None, 19_422_624, 48, 32, "course mini",
                "Figures 16-19, widths x 0.25"),
    # Xception, Chollet 2017
    ModelRecord("xception", 22_855_952, None, 8_357_403_496, 299, 71,
                "timm legacy_xception (paper Table 3: same params)", "Figure 5"),
    ModelRecord("mini_xception", 722_576, None, 8_892_724, 48, 32, "course mini", "Figure 5, widths x 0.25"),
)

#: Every record, by :attr:`ModelRecord.key` (``"googlenet"``, ``"bn_inception(match_output_sizes=True)"``).
RECORDS: dict[str, ModelRecord] = {r.key: r for r in _RECORDS}


def record(name: str) -> ModelRecord:
    """The record of a registered model (its preset, no changes)."""
    if name not in RECORDS:
        raise ValueError(f"No record for {name!r}. Records: {', '.join(RECORDS)}.")
    return RECORDS[name]


@dataclass(frozen=True)
class PaperAccuracy:
    """ImageNet (ILSVRC 2012 validation) error of one model as its paper reports it, single model, single crop.

    Attributes:
        top1_error, top5_error: percent; None where the paper does not report it.
        source: the paper (arXiv id) and the table the figures come from.
    """

    top1_error: float | None
    top5_error: float | None
    source: str

    @property
    def top1(self) -> float | None:
        """Top-1 accuracy in percent (100 - error)."""
        return None if self.top1_error is None else round(100 - self.top1_error, 2)

    @property
    def top5(self) -> float | None:
        return None if self.top5_error is None else round(100 - self.top5_error, 2)


#: The papers' ImageNet figures, by registered model name (cited, not measured: the course has no ImageNet).
#: The Inception-v4 paper's Table 2 evaluates five of them alike (single crop, single model, on the
#: "non-blacklisted subset" of the validation set); GoogLeNet's paper reports only a top-5 error;
#: Xception's paper (Table 1) uses its own evaluation, so its figure compares directly only with its own table.
PAPER_ACCURACY: dict[str, PaperAccuracy] = {
    "googlenet_paper": PaperAccuracy(None, 10.07, "arXiv 1409.4842, Table 3 (1 model, 1 crop; top-1 not reported)"),
    "bn_inception": PaperAccuracy(25.2, 7.8, "arXiv 1602.07261, Table 2 (BN-Inception)"),
    "inception_v3": PaperAccuracy(21.2, 5.6, "arXiv 1602.07261, Table 2 (as arXiv 1512.00567, Table 3)"),
    "inception_resnet_v1": PaperAccuracy(21.3, 5.5, "arXiv 1602.07261, Table 2"),
    "inception_v4": PaperAccuracy(20.0, 5.0, "arXiv 1602.07261, Table 2"),
    "inception_resnet_v2": PaperAccuracy(19.9, 4.9, "arXiv 1602.07261, Table 2"),
    # Chollet evaluates Xception and his own Inception V3 alike; his Inception V3 row (78.2 / 94.1) is not
    # the 1602.07261 row above (78.8 / 94.4): compare Xception with v3 within one table.
    "xception": PaperAccuracy(21.0, 5.5, "arXiv 1610.02357, Table 1 (single crop, single model; the same "
                                         "table gives Inception V3 78.2 / 94.1 under Chollet's evaluation)"),
}


def markdown_table() -> str:
    """The README's model-zoo table."""
    rows = [
        "| model | input (min) | params | with aux | GMACs | reference | paper |",
        "|---|---|---:|---:|---:|---|---|",
    ]
    for r in RECORDS.values():
        aux = f"{r.params_with_aux:,}" if r.params_with_aux is not None else ""
        rows.append(f"| `{r.key}` | {r.input_size} ({r.min_input_size}) | {r.params:,} | {aux} | {r.gmacs:.3f} "
                    f"| {r.reference} | {r.paper_table} |")
    return "\n".join(rows)


BEGIN, END = "<!-- model-zoo table: begin (python -m course_utils.models.records --write-readme) -->", \
    "<!-- model-zoo table: end -->"


def readme_table(readme: str) -> str:
    """The table between the README's markers (ValueError if they are missing)."""
    match = _MARKED.search(readme)
    if match is None:
        raise ValueError(f"The README has no model-zoo markers ({BEGIN!r} ... {END!r}).")
    return match.group(1).strip("\n")


_MARKED = re.compile(re.escape(BEGIN) + r"(.*?)" + re.escape(END), re.S)


def _main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m course_utils.models.records", description=__doc__.split("\n")[0])
    parser.add_argument("--write-readme", type=Path, nargs="?", const=Path(__file__).resolve().parents[2] / "README.md",
                        help="rewrite the model-zoo table of this README (default: the repository's)")
    args = parser.parse_args(argv)
    table = markdown_table()
    if args.write_readme is None:
        print(table)
        return 0
    text = args.write_readme.read_text()
    readme_table(text)  # the markers must be there
    args.write_readme.write_text(_MARKED.sub(lambda _: f"{BEGIN}\n{table}\n{END}", text))
    print(f"wrote the model-zoo table of {args.write_readme}")
    return 0


if __name__ == "__main__":
    raise SystemExit(_main())
