"""The compare-models explorer of lesson 08 (pure logic): any two figures of the family against each other.

Each row of :func:`course_utils.family.family_table` carries counted costs (params, MACs),
measured latency (eager and BN-folded), the shipped mini's test accuracy and the cited
ImageNet accuracy. :data:`AXES` names each of them once, with its unit and how to read it
from a row; :func:`compare_points` pairs two of them for a scatter plot and says which
models had to be left out and why (GoogLeNet's paper gives no top-1; latency may not be
measured); :func:`best_ratio` ranks the models by one figure per another (top-1 per GMAC).

``course_utils.widgets.compare_models.compare_models_widget`` is the front end.
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

from ..checks import CourseError, check_bool, check_choice

__all__ = ["Axis", "AXES", "ComparePoint", "ComparePoints", "Ranking", "compare_points", "suggest_log",
           "best_ratio", "check_axis"]


@dataclass(frozen=True)
class Axis:
    """One figure of a family row: its label (with unit), how to read it, and why it can be missing."""

    label: str
    read: Callable  # FamilyRow -> float | None, in the label's unit
    log: bool  # spans more than a factor of a few: a log axis reads better
    missing: Callable  # FamilyRow -> why read() gave None


def _latency_missing(row) -> str:
    return row.latency_note or "latency not measured"


def _imagenet_missing(which: str) -> Callable:
    return lambda row: f"no ImageNet {which} figure ({row.imagenet_source})"


#: axis key -> :class:`Axis` (``label``, ``read``). Values are in the label's unit.
AXES: dict[str, Axis] = {
    "params": Axis("parameters (millions)", lambda r: r.params / 1e6, True, lambda r: "no parameter count"),
    "macs": Axis("GMACs per image", lambda r: r.macs / 1e9, True, lambda r: "no MAC count"),
    "latency_eager": Axis("latency, eager (ms per pass, median)", lambda r: r.latency_eager_ms, True,
                          _latency_missing),
    "latency_folded": Axis("latency, BN folded (ms per pass, median)", lambda r: r.latency_folded_ms, True,
                           _latency_missing),
    "mini_accuracy": Axis("mini's test accuracy on the embedded shapes (%)",
                          lambda r: None if r.mini_accuracy is None else 100 * r.mini_accuracy, False,
                          lambda r: f"no shipped mini ({r.mini_note})" if r.mini_note else "no shipped mini"),
    "mini_params": Axis("mini's parameters (millions)", lambda r: None if r.mini_params is None else r.mini_params / 1e6,
                        True, lambda r: "no shipped mini"),
    "mini_macs": Axis("mini's MMACs per 48 px image", lambda r: None if r.mini_macs is None else r.mini_macs / 1e6,
                      True, lambda r: "no shipped mini"),
    "imagenet_top1": Axis("ImageNet top-1 accuracy (%, cited)", lambda r: r.imagenet_top1, False,
                          _imagenet_missing("top-1")),
    "imagenet_top5": Axis("ImageNet top-5 accuracy (%, cited)", lambda r: r.imagenet_top5, False,
                          _imagenet_missing("top-5")),
    "year": Axis("year (arXiv preprint)", lambda r: r.year, False, lambda r: "no year"),
}


def check_axis(key, name: str = "axis") -> str:
    """``key`` if it names an axis of :data:`AXES`, else a :class:`CourseError` listing them (with did-you-mean)."""
    return check_choice(key, name, AXES, what="axis name")


def suggest_log(key: str) -> bool:
    """Whether axis ``key`` reads better on a log scale (costs and times: yes; accuracies: no)."""
    return AXES[check_axis(key)].log


@dataclass(frozen=True)
class ComparePoint:
    name: str
    label: str
    x: float
    y: float


@dataclass(frozen=True)
class ComparePoints:
    """The models that have both figures, and the ones left out with the reason."""

    x: str
    y: str
    x_label: str
    y_label: str
    points: tuple[ComparePoint, ...]
    left_out: tuple[tuple[str, str], ...]  # (model label, why)

    def left_out_by_reason(self) -> list[tuple[str, str]]:
        """``(models, why)`` with the models that share a reason joined: ``("GoogLeNet (paper), Xception", why)``."""
        grouped: dict[str, list[str]] = {}
        for label, why in self.left_out:
            grouped.setdefault(why, []).append(label)
        return [(", ".join(labels), why) for why, labels in grouped.items()]

    def summary(self) -> str:
        lines = [f"{self.y_label} vs {self.x_label}: {len(self.points)} models"]
        lines += [f"  {p.label:<24} x = {p.x:>8.4g}   y = {p.y:>8.4g}" for p in self.points]
        lines += [f"  left out: {labels}: {why}" for labels, why in self.left_out_by_reason()]
        return "\n".join(lines)


def _checked_rows(rows) -> list:
    from ..family import FamilyRow

    if isinstance(rows, (str, bytes)) or not isinstance(rows, Sequence) or not rows:
        raise CourseError("rows must be a non-empty list of family rows: course_utils.family.family_table().")
    bad = [type(r).__name__ for r in rows if not isinstance(r, FamilyRow)]
    if bad:
        raise CourseError(f"rows must hold FamilyRow objects (from family_table()), found {bad[0]}.")
    return list(rows)


def compare_points(rows, x: str = "macs", y: str = "imagenet_top1") -> ComparePoints:
    """The points ``(x, y)`` of every model that has both figures, in the rows' order."""
    rows = _checked_rows(rows)
    x, y = check_axis(x, "x"), check_axis(y, "y")
    points, left_out = [], []
    for row in rows:
        values = {}
        for key in (x, y):
            value = AXES[key].read(row)
            if value is None:
                left_out.append((row.label, AXES[key].missing(row)))
                break
            values[key] = float(value)
        else:
            points.append(ComparePoint(row.name, row.label, values[x], values[y]))
    return ComparePoints(x, y, AXES[x].label, AXES[y].label, tuple(points), tuple(left_out))


@dataclass(frozen=True)
class Ranking:
    """Models ranked by ``numerator / denominator`` (in the axes' units), best first."""

    numerator: str
    denominator: str
    label: str
    entries: tuple[tuple[str, float], ...]  # (model label, ratio)
    left_out: tuple[tuple[str, str], ...]

    @property
    def best(self) -> str:
        return self.entries[0][0]

    def summary(self) -> str:
        lines = [self.label + ":"] + [f"  {i}. {label:<24} {value:.4g}" for i, (label, value) in
                                      enumerate(self.entries, 1)]
        return "\n".join(lines + [f"  left out: {label}: {why}" for label, why in self.left_out])


def best_ratio(rows, numerator: str = "imagenet_top1", denominator: str = "macs",
               highest_first: bool = True) -> Ranking:
    """Rank the models by ``numerator / denominator``, e.g. top-1 accuracy per GMAC (highest first).

    Values are in the axes' units (GMACs, millions of parameters, ms, percent). Models
    missing either figure are left out, with the reason. ``highest_first=False`` ranks
    the smallest ratio first (for a cost per unit of accuracy, ms per GMAC).
    """
    if check_axis(numerator, "numerator") == check_axis(denominator, "denominator"):
        raise CourseError(f"numerator and denominator are both {numerator!r}: every ratio would be 1.")
    highest_first = check_bool(highest_first, "highest_first")
    pairs = compare_points(rows, x=denominator, y=numerator)
    entries = [(p.label, p.y / p.x) for p in pairs.points if p.x != 0]
    entries.sort(key=lambda e: e[1], reverse=highest_first)
    label = f"{AXES[numerator].label} per {AXES[denominator].label}"
    return Ranking(numerator, denominator, label, tuple(entries), pairs.left_out)
