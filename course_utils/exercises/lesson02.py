"""Checks for lesson 02, "Inception v1 (GoogLeNet)".

Expected values are computed from the course's own code (Table 1 in
``models.googlenet``, ``costs``, the paper-layout model, the shipped checkpoint),
never typed in.
"""
from __future__ import annotations

from .. import costs
from .core import check_number, correct, exercise_check, not_attempted, wrong

# Exercise 1: inception (4e)'s output channels from Table 1's columns.
EX1_MODULE = "inception4e"


def _columns(name: str) -> tuple[int, ...]:
    from ..explorers.inception_module import table1_presets

    p = table1_presets()[name]
    return p["ch1x1"], p["ch3x3red"], p["ch3x3"], p["ch5x5red"], p["ch5x5"], p["pool_proj"]


@exercise_check
def check_output_channels_4e(answer) -> None:
    """Exercise 1: output channels of inception (4e), from Table 1's six columns."""
    c1, c3r, c3, c5r, c5, cp = _columns(EX1_MODULE)
    check_number(
        answer, c1 + c3 + c5 + cp,
        title="Exercise 1 (output channels of 4e)",
        confirm="the four branch outputs are concatenated: #1x1 + #3x3 + #5x5 + pool proj. The reduce columns "
        "are internal widths, they never reach the output.",
        hint="the output is the concatenation of the four branches. Which columns are a branch's LAST layer?",
        mistakes={
            c1 + c3r + c3 + c5r + c5 + cp: "that adds all six columns: the two 'reduce' columns are 1x1 layers INSIDE "
            "the 3x3 and 5x5 branches, not outputs of the module.",
            c1 + c3 + c5: "the pool branch is missing: its 1x1 projection ('pool proj') is concatenated too.",
            c1 + c3r + c5r + cp: "those are the widths of the FIRST layer of each branch; the output is their last layer.",
        },
    )


# Exercise 2: a Table 1 misprint: the weights of inception (4c), from its columns.
EX2_MODULE = "inception4c"
EX2_PRINTED_K = 463  # the figure Table 1 prints in its params column for inception (4c)


def _module_weights(name: str, kernel_5x5: int = 5, bias: bool = False) -> int:
    from ..explorers.inception_module import inception_module_costs, table1_presets

    return inception_module_costs(**table1_presets()[name], kernel_5x5=kernel_5x5, bias=bias).reduced_params


@exercise_check
def check_weights_4c(answer) -> None:
    """Exercise 2: weights of inception (4c) computed from its Table 1 columns (no biases), as an exact count."""
    expected = _module_weights(EX2_MODULE)
    with_bias = _module_weights(EX2_MODULE, bias=True)
    check_number(
        answer, expected,
        title="Exercise 2 (a Table 1 misprint)",
        confirm=f"that is {expected / 1024:.1f}K with K = 1024, not the printed {EX2_PRINTED_K}K. The printed ops "
        f"(100M) are {expected / 1024:.1f}K x 14 x 14 = {expected * 14 * 14 / 1e6:.1f}M, so the columns are right "
        "and the params figure is the misprint.",
        hint="add up the weights of the six convolutions: four 1x1 on the input (#1x1, #3x3 reduce, #5x5 reduce, "
        "pool proj), then a 3x3 and a 5x5 on the reduced widths. Input: 512 channels.",
        mistakes={
            with_bias: "that includes the biases; Table 1 counts weights only (the exercise too).",
            EX2_PRINTED_K * 1024: "that is the printed figure (463K x 1024): the point is to check it against the columns.",
            EX2_PRINTED_K * 1000: "that is the printed figure: the point is to check it against the columns.",
            _module_weights(EX2_MODULE, kernel_5x5=3): "that uses a 3x3 kernel in the 5x5 branch (torchvision's "
            "layout); the paper's branch is a real 5x5.",
        },
    )


# Exercise 3: the parameters of one auxiliary classifier of the paper's GoogLeNet.
def _aux_params(head: str = "aux1", num_classes: int = 1000, bias: bool = True) -> int:
    import torch

    from ..models import create_model

    with torch.device("meta"):  # counting only: no weights to allocate
        model = create_model("googlenet_paper", num_classes=num_classes, aux_logits=True)
    module = getattr(model, head)
    if bias:
        return costs.count_params(module)
    return sum(p.numel() for n, p in module.named_parameters() if n.endswith("weight"))


@exercise_check
def check_aux_head_params(answer) -> None:
    """Exercise 3: parameters (biases included) of aux1, googlenet_paper's classifier on inception (4a), 1000 classes."""
    expected = _aux_params("aux1")
    check_number(
        answer, expected,
        title="Exercise 3 (auxiliary classifier parameters)",
        confirm="the two fully connected layers hold almost all of it: 2048 -> 1024 and 1024 -> 1000. "
        "Two such heads add about 6.4 M parameters to a 7 M network, for training only.",
        hint="avg pool 5x5/3 leaves 4x4; 1x1 conv to 128 channels (512 in); flatten to 128 x 4 x 4; FC to 1024; "
        "FC to 1000. Count weights and biases of the three layers.",
        mistakes={
            _aux_params("aux2"): "that is aux2, on inception (4d) with 528 input channels; aux1 sits on (4a), 512.",
            _aux_params("aux1", bias=False): "close: nn.Conv2d and nn.Linear have biases here (the paper layout has no BN).",
            _aux_params("aux1", num_classes=10): "that is a 10-class head; the paper's has 1000 classes.",
        },
    )


# Exercise 4 (code): which branch of a trained module matters most for the smallest objects?
EX4_MODULE = "inception4a"
EX4_IMAGES = 1000  # the first 1000 test images, as in the lesson's ablation
_EX4_TIE = 0.01  # branches within one point of the largest drop are all accepted


def small_object_drops(layer: str = EX4_MODULE, n: int = EX4_IMAGES) -> dict[str, float]:
    """Accuracy drop (fraction) on the smallest-object bin when each branch of ``layer`` is zeroed
    (the shipped mini_googlenet, the first ``n`` test images)."""
    from ..ablation import branch_ablation
    from ..checkpoints import load_checkpoint
    from ..data import embedded_dataset

    model, _ = load_checkpoint("mini_googlenet")
    result = branch_ablation(model, embedded_dataset("test"), layer, indices=range(n))
    base = result.pop("none").accuracy[0]
    return {branch: base - r.accuracy[0] for branch, r in result.items()}


_ALIASES = {
    "1x1": "1x1", "1": "1x1", "branch1": "1x1",
    "3x3": "3x3", "3": "3x3", "branch2": "3x3",
    "5x5": "5x5", "5": "5x5", "branch3": "5x5",
    "pool proj": "pool proj", "pool": "pool proj", "poolproj": "pool proj", "pool_proj": "pool proj",
    "branch4": "pool proj", "max pool": "pool proj", "maxpool": "pool proj",
}


@exercise_check
def check_small_object_branch(answer) -> None:
    """Exercise 4: the branch of inception (4a) whose removal hurts the smallest objects most ("1x1", "3x3", "5x5" or "pool proj")."""
    title = "Exercise 4 (which branch sees small objects?)"
    if answer is None:
        return not_attempted(title)
    if not isinstance(answer, str):
        return wrong(title, f'answer with the branch\'s name as text, one of "1x1", "3x3", "5x5", "pool proj"; '
                            f"got {type(answer).__name__}.")
    branch = _ALIASES.get(answer.strip().lower().replace("  ", " "))
    if branch is None:
        return wrong(title, f'unknown branch {answer!r}: answer "1x1", "3x3", "5x5" or "pool proj".')
    drops = small_object_drops()
    best = max(drops.values())
    if drops[branch] >= best - _EX4_TIE:
        tied = [b for b, d in drops.items() if d >= best - _EX4_TIE and b != branch]
        extra = f" ({', '.join(tied)} comes within a point of it: a tie at this sample size)" if tied else ""
        return correct(title, f"zeroing the {branch} branch costs {100 * drops[branch]:.1f} points on the smallest "
                              f"objects{extra}. Compare with the large-object bin in the lesson's plot.")
    return wrong(title, f"zeroing the {branch} branch costs {100 * drops[branch]:.1f} points on the smallest objects; "
                        "another branch costs more. Run the ablation on inception4a (the lesson's code) and compare.")
