"""Checks for lesson 08, "Transfer learning and the whole family compared".

Every expected value is computed here from what the lesson computed (the stored transfer
experiment, the family table) or with the course's own models and counter, so the checks
and the lesson share one arithmetic.
"""
from __future__ import annotations

from .. import costs
from .core import check_name, check_number, exercise_check


@exercise_check
def check_head_params(answer) -> None:
    """Exercise 3: the new parameters ``reset_classifier(37)`` creates in Inception v3 built with its auxiliary head."""
    import torch

    from ..models import create_model

    with torch.device("meta"):  # shapes only: counting needs no weights
        model = create_model("inception_v3", aux_logits=True)
    model.reset_classifier(37)
    heads = [model.get_classifier()] + [aux.fc for aux in model.aux_heads()]
    expected = sum(costs.count_params(h) for h in heads)
    main, aux = (costs.count_params(h) for h in heads)
    return check_number(
        answer, expected,
        title="Exercise 3 (a new head for 37 classes)",
        confirm=(f"{main:,} in the main classifier (2048 features x 37 + 37 biases) and {aux:,} in the auxiliary "
                 f"head's last Linear (768 x 37 + 37). Everything else, {costs.count_params(model) - expected:,} "
                 "parameters, is reused from the backbone: that is why a few examples per class can be enough."),
        hint=("reset_classifier replaces every classifier the model has: list them (model.get_classifier() and "
              "model.aux_heads()) and count each Linear's weights and biases."),
        mistakes={
            main: "that is the main classifier alone; the model was built with aux_logits=True, and "
                  "reset_classifier replaces the auxiliary head's classifier too.",
            aux: "that is the auxiliary head's classifier alone; the main one is replaced too.",
            2048 * 37 + 768 * 37: "close: each Linear has a bias per class as well.",
            2048 * 37: "that is the main classifier's weights only; add its biases and the auxiliary head.",
            2048 * 1000 + 1000 + 768 * 1000 + 1000: "that is the ImageNet heads (1000 classes); the new task has 37.",
        },
    )


@exercise_check
def check_best_top1_per_gmac(answer, rows) -> None:
    """Exercise 2: the model of the family table with the most ImageNet top-1 points per GMAC."""
    from ..explorers.compare_models import best_ratio

    names = [r.name for r in rows]
    name_of = {r.label.lower(): r.name for r in rows}  # the chart's labels are accepted as well as the names
    if isinstance(answer, str) and answer.strip().strip("'\"").strip().lower() in name_of:
        answer = name_of[answer.strip().strip("'\"").strip().lower()]
    ranking = best_ratio(rows, "imagenet_top1", "macs")
    (first, first_ratio), (second, second_ratio) = ranking.entries[:2]
    expected = name_of[first.lower()]
    by_top1 = max((r for r in rows if r.imagenet_top1 is not None), key=lambda r: r.imagenet_top1).name
    mistakes = {by_top1: "that model has the best top-1 of all, not the most top-1 per GMAC: divide each "
                         "model's top-1 by its GMACs."}
    for r in rows:
        if r.imagenet_top1 is None:
            mistakes[r.name] = ("that model has no top-1 figure in the table (its paper reports only top-5), so it "
                                "cannot be ranked.")
    return check_name(
        answer, expected, choices=names,
        title="Exercise 2 (most top-1 per GMAC)",
        confirm=(f"{first_ratio:.1f} top-1 points per GMAC, then {second} ({second_ratio:.1f}). Accuracy grows far "
                 "more slowly than cost: the last points of top-1 are the most expensive."),
        hint="compute imagenet_top1 / (macs / 1e9) for every row that has a top-1 figure, and take the largest.",
        mistakes=mistakes,
    )


@exercise_check
def check_paired_interval(answer, result) -> None:
    """Exercise 1: the lower end (points) of the paired 95% CI of fine-tune - scratch at 20 labels per class."""
    from ..experiments import metric, paired_difference, summarize

    tuned = metric(result, "fine-tune, 20/class", "test_acc")
    scratch = metric(result, "scratch, 20/class", "test_acc")
    d = paired_difference(tuned, scratch)
    expected = 100 * d.low
    # Unpaired: the two arms' own intervals ignore that a seed's two runs saw the same images.
    unpaired = 100 * (summarize(tuned).mean - summarize(scratch).mean
                      - (summarize(tuned).ci95 ** 2 + summarize(scratch).ci95 ** 2) ** 0.5)
    verdict = "includes zero: at 20 labels per class the gain is not measurable with three seeds" if d.low < 0 < d.high \
        else "excludes zero: the gain is measurable"
    return check_number(
        answer, expected, rel_tol=0.03, integer=False,
        title="Exercise 1 (a paired interval)",
        confirm=(f"the interval runs from {100 * d.low:+.1f} to {100 * d.high:+.1f} points around a mean of "
                 f"{100 * d.mean:+.1f}; it {verdict}."),
        hint=("pair the two arms' test accuracies by seed with paired_difference(a, b) (a = fine-tune, b = scratch), "
              "take its low end and express it in percentage points."),
        mistakes={
            d.low: "that is a fraction; the exercise asks for percentage points (x 100).",
            100 * d.high: "that is the upper end of the interval; the exercise asks for the lower end.",
            100 * d.mean: "that is the mean difference; the exercise asks for the lower end of its 95% interval.",
            -100 * d.high: "that is scratch - fine-tune; subtract scratch from fine-tune.",
            unpaired: "that interval ignores the pairing: use paired_difference, which differences each seed's two runs.",
        },
    )
