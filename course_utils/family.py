"""The Inception family compared: one row per full-size model, from GoogLeNet to Xception (lesson 08).

Every figure here comes from one source and says which:

* **params, MACs, input size**: counted once, stored in :data:`course_utils.models.records.RECORDS`
  (``torch.utils.flop_counter``, MACs = FLOPs / 2, eval mode, one image, 1000 classes).
  Nothing is recounted here.
* **ImageNet top-1 / top-5**: *cited*, never measured (the course has no ImageNet):
  the papers' single-model, single-crop figures from
  :data:`~course_utils.models.records.PAPER_ACCURACY`, except torchvision's GoogLeNet
  layout (BatchNorm, 3x3 in the "5x5" branch), which no paper evaluates: its figures are
  the ones torchvision measured for its released weights, read from
  ``GoogLeNet_Weights.IMAGENET1K_V1.meta`` (``imagenet_origin == "release"``).
* **mini test accuracy**: the shipped mini of each model (``data/checkpoints/mini_*.pt``),
  trained on the embedded shapes (10 classes, 48 px): the checkpoint's metadata.
  Not comparable with the ImageNet figures, only among the minis.
* **latency**: measured by :func:`measure_family_latency` (``benchmarks/bench_family.py``
  stores it in ``data/results/family_latency.json``): each model eager and with its batch
  norms folded into the convolutions (:func:`course_utils.models.fuse.fuse_for_inference`),
  all timed in one interleaved run (:func:`course_utils.batchnorm.time_interleaved`), so that
  a busy moment of the machine slows every model alike.

:func:`family_table` builds the rows, :func:`markdown_table` and :func:`text_table` print
them, :func:`plot_family` draws accuracy against cost and the two latencies;
``course_utils.explorers.compare_models`` and its widget let a learner pick the axes.
"""
from __future__ import annotations

import contextlib
import statistics
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

import torch
from torch import nn

from .checks import CourseError, check_bool, check_choice, check_int
from .models.records import PAPER_ACCURACY, RECORDS, record

__all__ = [
    "FAMILY", "FamilyMember", "FamilyRow", "family_table", "measure_family_latency", "markdown_table",
    "text_table", "plot_family", "COLORS", "RESULT_NAME", "RELEASE_SOURCE",
]

#: The stored latency result (``data/results/family_latency.json``).
RESULT_NAME = "family_latency"
#: How a figure torchvision measured for its released weights is labelled (not a paper's).
RELEASE_SOURCE = "torchvision weights meta (measured by torchvision, not a paper)"


@dataclass(frozen=True)
class FamilyMember:
    """The fixed facts of one model of the family: who wrote it where, and which mini stands for it."""

    name: str
    label: str
    paper: str  # arXiv id
    mini: str | None
    mini_note: str = ""

    @property
    def year(self) -> int:
        """Year of the arXiv preprint (the id's first two digits): 1409.4842 -> 2014."""
        return 2000 + int(self.paper[:2])


#: The eight full-size models in the course's order.
FAMILY: tuple[FamilyMember, ...] = (
    FamilyMember("googlenet_paper", "GoogLeNet (paper)", "1409.4842", None,
                 "no mini of the paper layout (no BN); mini_googlenet keeps its 5x5 branches but adds BN"),
    FamilyMember("googlenet", "GoogLeNet (torchvision)", "1409.4842", "mini_googlenet",
                 "mini_googlenet is neither layout exactly: the paper's 5x5 branches, with BN, a small stem"),
    FamilyMember("bn_inception", "BN-Inception", "1502.03167", "mini_bn_inception"),
    FamilyMember("inception_v3", "Inception-v3", "1512.00567", "mini_inception_v3"),
    FamilyMember("inception_v4", "Inception-v4", "1602.07261", "mini_inception_v4"),
    FamilyMember("inception_resnet_v1", "Inception-ResNet-v1", "1602.07261", "mini_inception_resnet_v1"),
    FamilyMember("inception_resnet_v2", "Inception-ResNet-v2", "1602.07261", "mini_inception_resnet_v2"),
    FamilyMember("xception", "Xception", "1610.02357", "mini_xception"),
)
_MEMBERS = {m.name: m for m in FAMILY}

#: One colour per model, shared by every family figure (the compare-models widget too).
COLORS = {
    "googlenet_paper": "#7f7f7f", "googlenet": "#1f77b4", "bn_inception": "#17becf", "inception_v3": "#2ca02c",
    "inception_v4": "#ff7f0e", "inception_resnet_v1": "#e377c2", "inception_resnet_v2": "#d62728",
    "xception": "#9467bd",
}


@dataclass(frozen=True)
class FamilyRow:
    """One model of the family, every figure with where it comes from.

    Attributes:
        name, label: the registered name and the label for plots (``"Inception-v4"``).
        year, paper: year of the arXiv preprint and its id.
        input_size, params, macs: from ``RECORDS`` (params without aux heads; MACs for one image).
        latency_eager_ms, latency_folded_ms: median ms per image, eager and with BN folded
            (None when not measured); ``latency_*_range_ms`` the (min, max) of the same runs,
            ``latency_*_quartiles_ms`` their (first, third) quartiles.
        latency_note: how and where the latency was measured, or why it is missing.
        mini, mini_params, mini_macs, mini_accuracy: the shipped mini (None for none), its counts
            from ``RECORDS`` (48 px) and its test accuracy (a fraction) on the embedded shapes.
        mini_note: how the mini differs from the model it stands for, where it does.
        imagenet_top1, imagenet_top5: percent, single model, single crop (None: not reported).
        imagenet_source: the paper and table, or the release that measured them.
        imagenet_origin: ``"paper"`` (cited from a paper), ``"release"`` (measured by a library
            for its released weights) or None.
    """

    name: str
    label: str
    year: int
    paper: str
    input_size: int
    params: int
    macs: int
    latency_eager_ms: float | None
    latency_folded_ms: float | None
    mini: str | None
    mini_params: int | None
    mini_accuracy: float | None
    imagenet_top1: float | None
    imagenet_top5: float | None
    imagenet_source: str
    imagenet_origin: str | None = None
    latency_eager_range_ms: tuple[float, float] | None = None
    latency_folded_range_ms: tuple[float, float] | None = None
    latency_note: str = ""
    latency_eager_quartiles_ms: tuple[float, float] | None = None
    latency_folded_quartiles_ms: tuple[float, float] | None = None
    mini_macs: int | None = None
    mini_note: str = ""

    @property
    def gmacs(self) -> float:
        return self.macs / 1e9

    @property
    def folded_speedup(self) -> float | None:
        """Eager median / folded median (above 1: folding made it faster); None if not measured."""
        if self.latency_eager_ms is None or self.latency_folded_ms is None:
            return None
        return self.latency_eager_ms / self.latency_folded_ms

    @property
    def paper_url(self) -> str:
        return f"https://arxiv.org/abs/{self.paper}"


# --------------------------------------------------------------------------- ImageNet figures
def _release_accuracy(name: str) -> tuple[float | None, float | None, str, str | None]:
    """torchvision's measured figures for its released GoogLeNet weights (read offline from the package)."""
    try:
        from torchvision.models import GoogLeNet_Weights

        weights = GoogLeNet_Weights.IMAGENET1K_V1
        metrics = weights.meta["_metrics"]["ImageNet-1K"]
    except (ImportError, KeyError, AttributeError) as err:  # an old or missing torchvision
        return None, None, f"torchvision's weights meta is unavailable ({type(err).__name__})", None
    return (float(metrics["acc@1"]), float(metrics["acc@5"]),
            f"{RELEASE_SOURCE}: GoogLeNet_Weights.IMAGENET1K_V1, ImageNet-1K val, single crop", "release")


def _imagenet(name: str) -> tuple[float | None, float | None, str, str | None]:
    if name == "googlenet":  # torchvision's layout (BN, 3x3 "5x5" branch): no paper evaluates it
        return _release_accuracy(name)
    cited = PAPER_ACCURACY.get(name)
    if cited is None:
        return None, None, "no ImageNet figure", None
    return cited.top1, cited.top5, cited.source, "paper"


# --------------------------------------------------------------------------- latency
def _latency_of(result: Mapping[str, Any] | None, name: str) -> dict[str, Any]:
    """The latency fields of ``name``'s row from a stored result (all None when it is not there)."""
    fields: dict[str, Any] = {}
    for arm in ("eager", "folded"):
        t = None if result is None else result.get("arms", {}).get(arm, {}).get(name)
        fields[f"latency_{arm}_ms"] = None if t is None else float(t["median_ms"])
        fields[f"latency_{arm}_range_ms"] = None if t is None else (float(t["min_ms"]), float(t["max_ms"]))
        fields[f"latency_{arm}_quartiles_ms"] = None if t is None else (float(t["q1_ms"]), float(t["q3_ms"]))
    return fields


def _describe_run(result: Mapping[str, Any]) -> str:
    recipe, machine = result.get("recipe", {}), result.get("machine", {})
    where = recipe.get("device", "cpu")
    if where == "cpu":
        threads = recipe.get("threads", "?")
        where = f"CPU ({machine.get('cpu', '?')}, {threads} thread{'' if threads == 1 else 's'})"
    else:
        where = f"{machine.get('cuda') or where}{', float16 autocast' if recipe.get('amp') else ''}"
    return (f"latency: median of {recipe.get('rounds', '?')} interleaved passes, batch {recipe.get('batch_size', 1)}, "
            f"on {where}, load {machine.get('load_average_1min', '?')}, {str(result.get('created', '?'))[:10]}")


def family_table(latency: Mapping[str, Any] | None | bool = None) -> list[FamilyRow]:
    """The eight rows of the family, in the course's order.

    Args:
        latency: a result of :func:`measure_family_latency` (or the dict stored by
            ``benchmarks/bench_family.py``); None (default) reads the stored
            ``data/results/family_latency.json``; False leaves latency out. When the stored
            file is missing the table still builds, with latency None and ``latency_note``
            saying how to measure it.
    """
    from .checkpoints import read_checkpoint

    note = ""
    if latency is None:
        from .experiments import ExperimentError, load_result

        try:
            latency = load_result(RESULT_NAME)
        except ExperimentError:
            latency = None
            note = ("no stored latency (data/results/family_latency.json is missing): run "
                    "`python benchmarks/bench_family.py` to measure it, or measure_family_latency() here")
    elif latency is False:
        latency, note = None, "latency not requested"
    elif not isinstance(latency, Mapping) or not isinstance(latency.get("arms"), Mapping):
        raise CourseError("latency must be a result of measure_family_latency() (a dict with 'arms'), "
                          "None for the stored one, or False for none.")
    if latency is not None:
        note = _describe_run(latency)
    rows = []
    for member in FAMILY:
        rec = record(member.name)
        mini_rec = RECORDS.get(member.mini) if member.mini else None
        accuracy = None
        if member.mini is not None:
            accuracy = float(read_checkpoint(member.mini)[1]["accuracy"])
        top1, top5, source, origin = _imagenet(member.name)
        timing = _latency_of(latency, member.name)
        measured = timing["latency_eager_ms"] is not None
        row_note = note if latency is None or measured else f"not in the latency run ({note})"
        rows.append(FamilyRow(
            name=member.name, label=member.label, year=member.year, paper=member.paper,
            input_size=rec.input_size, params=rec.params, macs=rec.macs,
            **timing,
            mini=member.mini, mini_params=mini_rec.params if mini_rec else None, mini_accuracy=accuracy,
            imagenet_top1=top1, imagenet_top5=top5, imagenet_source=source, imagenet_origin=origin,
            latency_note=row_note,
            mini_macs=mini_rec.macs if mini_rec else None, mini_note=member.mini_note,
        ))
    return rows


class _OnePass(nn.Module):
    """One timed forward pass of ``model`` on its own prepared input, finished when it returns.

    :func:`~course_utils.batchnorm.time_interleaved` times ``model(x)`` with a wall clock; on a
    GPU that only queues the work, so this wrapper waits for it (``torch.cuda.synchronize``),
    runs under float16 autocast when asked, and feeds each variant its own input (the folded
    copy is channels_last and gets a channels_last input, as it would in deployment).
    """

    def __init__(self, model: nn.Module, x: torch.Tensor, amp: bool) -> None:
        super().__init__()
        self.model, self.x, self.amp = model, x, amp

    def forward(self, _ignored=None):
        if self.x.device.type == "cuda":
            with torch.autocast("cuda", dtype=torch.float16, enabled=self.amp):
                out = self.model(self.x)
            torch.cuda.synchronize(self.x.device)
            return out
        return self.model(self.x)


def _randomize_batchnorms_(model: nn.Module, generator: torch.Generator) -> nn.Module:
    """Running statistics and affines far from (0, 1), so that the folded-vs-eager check means something.

    A freshly built BN (mean 0, variance 1, gamma 1, beta 0) is nearly the identity, and a
    wrong fold would go unnoticed; the time does not depend on these values.
    """
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, nn.BatchNorm2d) and m.track_running_stats:
                n = m.num_features
                m.running_mean.copy_(torch.randn(n, generator=generator) * 0.2)
                m.running_var.copy_(torch.rand(n, generator=generator) + 0.5)
                if m.affine:
                    m.weight.copy_(torch.rand(n, generator=generator) + 0.5)
                    m.bias.copy_(torch.randn(n, generator=generator) * 0.2)
    return model


@contextlib.contextmanager
def _full_float32():
    """No TF32 on a GPU while the outputs are compared: its rounding (about 1e-3 per op) is not the fold's."""
    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def _spread(samples: Sequence[float]) -> dict[str, float]:
    ordered = sorted(samples)
    q = statistics.quantiles(ordered, n=4, method="inclusive") if len(ordered) > 1 else [ordered[0]] * 3
    return {"median_ms": statistics.median(ordered), "min_ms": ordered[0], "max_ms": ordered[-1],
            "q1_ms": q[0], "q3_ms": q[2]}


def measure_family_latency(
    names: Sequence[str] = tuple(m.name for m in FAMILY),
    threads: int | None = 2,
    rounds: int = 60,
    batch_size: int = 1,
    device: str = "cpu",
    amp: bool = False,
    warmup: int = 2,
    input_sizes: Mapping[str, int] | None = None,
    channels_last: bool = True,
    seed: int = 0,
    progress: bool = False,
) -> dict[str, Any]:
    """Time every model eager and BN-folded, all in one interleaved run; the result ``bench_family.py`` stores.

    Each model is built with random weights and random batch-norm statistics (latency does
    not depend on them; a fold that ignored them would fail the check), put in eval mode, and copied with its batch norms folded into the convolutions
    (:func:`~course_utils.models.fuse.fuse_for_inference`, which also makes the copy
    channels_last unless ``channels_last=False``). Before timing, the folded copy's output
    is checked against the eager one's once (float32, within 1e-3 of the largest output,
    relative; a mismatch raises). Then :func:`~course_utils.batchnorm.time_interleaved` runs
    ``rounds`` rounds in which every model and variant does one forward pass, in an order
    that shifts each round, after ``warmup`` untimed rounds.

    Args:
        names: registered models with a record (their ``input_size`` is used unless
            ``input_sizes`` gives another).
        threads: CPU threads for the run (None: torch's current setting).
        rounds: timed passes per model and variant.
        batch_size: images per pass (the reported ms are per pass).
        device: ``"cpu"`` or ``"cuda"`` (each pass waits for the GPU to finish).
        amp: float16 autocast (CUDA only).
        progress: print a line every tenth of the rounds (the benchmark script does).

    Returns:
        a dict shaped like the stored experiments: ``name``, ``recipe``, ``arms``
        (``{"eager": {model: {median_ms, min_ms, max_ms, q1_ms, q3_ms, samples_ms}}, "folded": ...}``),
        ``models`` (input size, params, MACs, the paired median of folded/eager per round,
        the output check), ``machine``, ``created``, ``wall_s``.
    """
    from .batchnorm import time_interleaved
    from .experiments import machine_facts
    from .models import create_model, fuse_for_inference

    if isinstance(names, str) or not isinstance(names, Sequence) or not names:
        raise CourseError(f"names must be a non-empty list of model names, got {names!r}.")
    names = [check_choice(n, "names", RECORDS, what="model name") for n in names]
    rounds = check_int(rounds, "rounds", minimum=1)
    warmup = check_int(warmup, "warmup", minimum=0)
    batch_size = check_int(batch_size, "batch_size", minimum=1)
    if threads is not None:
        threads = check_int(threads, "threads", minimum=1)
    device = check_choice(device, "device", ("cpu", "cuda"))
    amp = check_bool(amp, "amp")
    channels_last = check_bool(channels_last, "channels_last")
    if device == "cuda" and not torch.cuda.is_available():
        raise CourseError("device='cuda' but torch sees no CUDA GPU here; use device='cpu'.")
    if amp and device != "cuda":
        raise CourseError("amp=True is float16 autocast on a CUDA GPU; on the CPU leave it False.")
    sizes = {n: record(n).input_size for n in names}
    sizes.update({n: check_int(s, f"input_sizes[{n!r}]", minimum=1) for n, s in (input_sizes or {}).items()})

    start = time.perf_counter()
    passes: dict[str, _OnePass] = {}
    models_info: dict[str, dict[str, Any]] = {}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        generator = torch.Generator().manual_seed(seed)
        for name in names:
            eager = _randomize_batchnorms_(create_model(name), generator).eval().to(device)
            folded = fuse_for_inference(eager, channels_last=channels_last).to(device)
            s = sizes[name]
            x = torch.randn(batch_size, 3, s, s, device=device)
            with torch.inference_mode(), _full_float32():
                expected, got = eager(x), folded(x.contiguous(memory_format=torch.channels_last)
                                                  if channels_last else x)
            scale = expected.abs().max().item()
            diff = (expected - got).abs().max().item()
            if not diff <= 1e-3 * scale + 1e-6:
                raise CourseError(f"{name}: the BN-folded copy's outputs differ from the eager model's by {diff:.3g} "
                                  f"(largest output {scale:.3g}); fuse_for_inference is broken for this model.")
            rec = record(name)
            models_info[name] = {"input_size": s, "params": rec.params, "macs": rec.macs,
                                 "max_abs_diff": diff, "max_abs_output": scale, "outputs_match": True}
            passes[f"{name}|eager"] = _OnePass(eager, x, amp)
            x_folded = x.contiguous(memory_format=torch.channels_last) if channels_last else x
            passes[f"{name}|folded"] = _OnePass(folded, x_folded, amp)
    build_s = time.perf_counter() - start
    machine = machine_facts()
    samples: dict[str, list[float]] = {key: [] for key in passes}
    keys = list(passes)
    for r in range(rounds):  # one round per call, the order shifting each round as in time_interleaved
        order = keys[r % len(keys):] + keys[: r % len(keys)]
        got = time_interleaved({k: passes[k] for k in order}, torch.empty(0), rounds=1,
                               warmup=warmup if r == 0 else 0, threads=threads)
        for key, times in got.items():
            samples[key] += times
        if progress and (r + 1) % max(1, rounds // 10) == 0:
            print(f"  round {r + 1}/{rounds}, {time.perf_counter() - start:.0f} s", flush=True)
    if threads is not None:
        machine["torch_threads"] = threads
    arms: dict[str, dict[str, Any]] = {"eager": {}, "folded": {}}
    for key, times in samples.items():
        name, variant = key.split("|")
        arms[variant][name] = {**_spread(times), "samples_ms": [round(t, 4) for t in times]}
    for name in names:
        ratios = [f / e for e, f in zip(samples[f"{name}|eager"], samples[f"{name}|folded"])]
        models_info[name]["folded_over_eager"] = statistics.median(ratios)
    return {
        "name": RESULT_NAME,
        "description": ("Latency of the full-size Inception family, eager and with BN folded into the convs "
                        "(fuse_for_inference: also channels_last), random weights, one interleaved run."),
        "recipe": {"names": list(names), "threads": threads, "rounds": rounds, "warmup": warmup,
                   "batch_size": batch_size, "device": device, "amp": amp, "channels_last": channels_last,
                   "seed": seed},
        "arms": arms,
        "models": models_info,
        "machine": machine,
        "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "build_s": round(build_s, 2),
        "wall_s": round(time.perf_counter() - start, 2),
        "machine_after": {"load_average_1min": machine_facts()["load_average_1min"]},
    }


# --------------------------------------------------------------------------- tables
def _fmt(value, spec: str, missing: str = "-") -> str:
    return missing if value is None else format(value, spec)


def markdown_table(rows: Sequence[FamilyRow]) -> str:
    """The family as a markdown table (figures with their sources below it)."""
    lines = ["| model | year | input | params | GMACs | eager ms | folded ms | mini | mini test acc "
             "| ImageNet top-1 | top-5 | ImageNet source |",
             "|---|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|---|"]
    for r in rows:
        acc = _fmt(None if r.mini_accuracy is None else 100 * r.mini_accuracy, ".2f")
        star = "\\*" if r.imagenet_origin == "release" else ""  # escaped: a bare * would start emphasis
        lines.append(
            f"| [{r.label}]({r.paper_url}) | {r.year} | {r.input_size} | {r.params / 1e6:.1f} M | {r.gmacs:.2f} "
            f"| {_fmt(r.latency_eager_ms, '.1f')} | {_fmt(r.latency_folded_ms, '.1f')} | {r.mini or '-'} "
            f"| {acc}{'%' if r.mini_accuracy is not None else ''} | {_fmt(r.imagenet_top1, '.1f')}{star} "
            f"| {_fmt(r.imagenet_top5, '.1f')}{star} | {r.imagenet_source} |")
    notes = _notes(rows)
    notes = ["\\" + n if n.startswith("*") else n for n in notes]  # markdown: a literal star, not a list or emphasis
    return "\n".join(lines + ([""] + [f"- {n}" for n in notes] if notes else []))


def _notes(rows: Sequence[FamilyRow]) -> list[str]:
    notes = []
    timed = [r for r in rows if r.latency_eager_ms is not None]
    untimed = [r for r in rows if r.latency_eager_ms is None]
    if timed:
        notes.append(timed[0].latency_note[0].upper() + timed[0].latency_note[1:] + ".")
        if untimed:
            notes.append(f"Not in the latency run: {', '.join(r.label for r in untimed)}.")
    elif untimed and untimed[0].latency_note:
        notes.append(untimed[0].latency_note[0].upper() + untimed[0].latency_note[1:] + ".")
    notes.append("Params and MACs: counted (course_utils.models.records), 1000 classes, one image; "
                 "mini accuracy: 10-class embedded shapes at 48 px, not comparable with ImageNet.")
    if any(r.imagenet_origin == "release" for r in rows):
        notes.append("* ImageNet figure measured by torchvision for its released weights, not cited from a paper.")
    return notes


def text_table(rows: Sequence[FamilyRow]) -> str:
    """A compact plain-text table for a notebook cell (no sources column: see :func:`markdown_table`)."""
    head = (f"{'model':<24}{'year':>5}{'params':>9}{'GMACs':>7}{'eager ms':>10}{'folded ms':>10}{'mini acc':>9}"
            f"{'top-1':>7}{'top-5':>7}")
    lines = [head, "-" * len(head)]
    for r in rows:
        mark = "*" if r.imagenet_origin == "release" else " "
        acc = _fmt(None if r.mini_accuracy is None else 100 * r.mini_accuracy, ".1f")
        lines.append(f"{r.label:<24}{r.year:>5}{r.params / 1e6:>8.1f}M{r.gmacs:>7.2f}"
                     f"{_fmt(r.latency_eager_ms, '.1f'):>10}{_fmt(r.latency_folded_ms, '.1f'):>10}{acc:>9}"
                     f"{_fmt(r.imagenet_top1, '.1f'):>7}{_fmt(r.imagenet_top5, '.1f'):>6}{mark}")
    return "\n".join(lines + _notes(rows))


# --------------------------------------------------------------------------- the figure
def plot_family(rows: Sequence[FamilyRow], accuracy: str = "top1", figsize: tuple[float, float] = (11, 4.2)):
    """Two panels: ImageNet accuracy against GMACs (log scale), and latency eager vs BN-folded.

    Left: one point per model (hollow: a release's measured figure, not a paper's); models
    without the chosen accuracy are listed under the panel. Right: median ms per image, eager
    and folded, with the quartiles of the runs as whiskers, or a note when not measured.
    """
    import matplotlib.pyplot as plt

    accuracy = check_choice(accuracy, "accuracy", ("top1", "top5"))
    fig, (ax, bx) = plt.subplots(1, 2, figsize=figsize, gridspec_kw={"width_ratios": [1.1, 1]})
    missing = []
    for r in rows:
        value = r.imagenet_top1 if accuracy == "top1" else r.imagenet_top5
        if value is None:
            missing.append(r.label)
            continue
        color = COLORS.get(r.name, "k")
        hollow = r.imagenet_origin == "release"
        ax.plot(r.gmacs, value, "o", markersize=8, color=color, markerfacecolor="white" if hollow else color)
        dx, dy, ha = _LABEL_OFFSETS.get(r.name, (7, -3, "left"))
        ax.annotate(r.label + (" *" if hollow else ""), (r.gmacs, value), textcoords="offset points",
                    xytext=(dx, dy), ha=ha, fontsize=8)
    ax.set_xscale("log")
    _plain_log_ticks(ax)
    ax.margins(y=0.1)
    ax.set_xlabel("GMACs per image (log scale)")
    ax.set_ylabel(f"ImageNet {'top-1' if accuracy == 'top1' else 'top-5'} accuracy (%)")
    ax.set_title("accuracy vs cost (cited; * measured by torchvision)", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.set_xlim(right=ax.get_xlim()[1] * 1.8)  # room for the labels
    if missing:
        ax.text(0.98, 0.03, "not reported: " + ", ".join(missing), transform=ax.transAxes, fontsize=7.5,
                color="0.35", ha="right")

    timed = [r for r in rows if r.latency_eager_ms is not None and r.latency_folded_ms is not None]
    if timed:
        y = range(len(timed))
        for offset, (variant, shade) in zip((-0.2, 0.2), (("eager", 0.45), ("folded", 1.0))):
            med = [getattr(r, f"latency_{variant}_ms") for r in timed]
            rng = [getattr(r, f"latency_{variant}_quartiles_ms") or (m, m) for r, m in zip(timed, med)]
            err = [[m - lo for m, (lo, _) in zip(med, rng)], [hi - m for m, (_, hi) in zip(med, rng)]]
            bx.barh([i + offset for i in y], med, height=0.38, xerr=err, capsize=2,
                    color=[COLORS.get(r.name, "k") for r in timed], alpha=shade,
                    label=f"{variant}{' (BN folded)' if variant == 'folded' else ''}",
                    error_kw={"elinewidth": 0.8, "ecolor": "0.3"})
        bx.set_yticks(list(y), [r.label for r in timed], fontsize=8)
        bx.invert_yaxis()
        bx.set_xlabel("ms per pass (median; whiskers: quartiles)")
        bx.legend(fontsize=8, loc="lower right")
        bx.grid(alpha=0.3, axis="x")
        bx.set_title("latency per pass: eager vs BN folded", fontsize=10)
        bx.text(0.0, -0.2, _wrap(timed[0].latency_note, 80), transform=bx.transAxes, fontsize=7, color="0.35",
                va="top")
    else:
        bx.axis("off")
        note = rows[0].latency_note if rows else "no rows"
        bx.text(0.5, 0.5, "latency not measured:\n" + _wrap(note, 50), ha="center", va="center", fontsize=9,
                transform=bx.transAxes)
    fig.tight_layout()
    return fig


#: Where the accuracy panel puts a model's label (points, alignment): v3 and Inception-ResNet-v1, v4 and
#: Inception-ResNet-v2 sit almost on top of each other.
_LABEL_OFFSETS = {"inception_v3": (-7, 5, "right"), "inception_resnet_v1": (7, -10, "left"),
                  "inception_v4": (-7, -11, "right"), "inception_resnet_v2": (7, 3, "left")}


def _plain_log_ticks(ax, axis: str = "x") -> None:
    """1, 2, 5, 10, 20 ... on a log axis instead of 2 x 10^0 (the figures are small numbers)."""
    from matplotlib.ticker import FuncFormatter, LogLocator, NullFormatter

    target = ax.xaxis if axis == "x" else ax.yaxis
    target.set_major_locator(LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    target.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
    target.set_minor_formatter(NullFormatter())


def _wrap(text: str, width: int) -> str:
    import textwrap

    return "\n".join(textwrap.wrap(text, width))
