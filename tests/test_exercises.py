"""Each exercise check: None -> not attempted, right -> correct, typical mistakes -> a hint without the answer.

A check prints one verdict and returns None; ``core.verdict_of`` runs it, asserts exactly that and
returns the verdict (True right, False wrong, None not attempted)."""
import re

import pytest
from torch import nn

from course_utils import costs
from course_utils.exercises import core, lesson01
from course_utils.exercises.core import verdict_of


def _spellings(n: int) -> list[str]:
    return [str(n), f"{n:,}", costs.format_count(n)]


NUMERIC = [
    # check, right answer, typical wrong answers
    (lesson01.check_conv1_macs, 118_013_952, [34_000_000, 472_055_808, 111_776_448, 39_337_984, 9_408, 9_472]),
    (lesson01.check_branch_macs, 101_154_816, [86_704_128, 14_450_688, 202_309_632, 173_408_256, 1]),
    (lesson01.check_receptive_field, 19, [11, 63, 13, 9]),
]


@pytest.mark.parametrize("check,right,wrongs", NUMERIC, ids=lambda v: getattr(v, "__name__", ""))
def test_numeric_checks(check, right, wrongs, capsys):
    assert verdict_of(check, None) is None
    assert "not attempted yet" in capsys.readouterr().out
    assert verdict_of(check, right) is True
    assert "[correct]" in capsys.readouterr().out
    hints = set()
    for answer in wrongs:
        assert verdict_of(check, answer) is False, answer
        out = capsys.readouterr().out
        assert "[not yet]" in out
        hints.add(out)
        for spelling in _spellings(right):
            assert not re.search(rf"(?<![\d.,]){re.escape(spelling)}(?![\d.,])", out), f"hint gives away {spelling}: {out}"
    assert len(hints) >= 2, "typical mistakes should get specific hints"
    assert verdict_of(check, "lots") is False and verdict_of(check, 1.5) is False


def test_right_answers_follow_from_the_cost_formulas():
    assert verdict_of(lesson01.check_conv1_macs, costs.conv_macs(3, 64, 7, 224, stride=2, padding=3)) is True
    assert verdict_of(lesson01.check_conv1_macs, 118e6) is True  # about 118 million is right too
    assert 101_154_816 == costs.conv_macs(192, 96, 1, 28) + costs.conv_macs(96, 128, 3, 28, padding=1)


def _good(conv: nn.Conv2d) -> nn.Linear:
    linear = nn.Linear(conv.in_channels, conv.out_channels, bias=conv.bias is not None)
    linear.weight.data = conv.weight.data.flatten(1).clone()
    if conv.bias is not None:
        linear.bias.data = conv.bias.data.clone()
    return linear


def _no_bias_copy(conv):
    linear = _good(conv)
    if linear.bias is not None:
        linear.bias.data.zero_()
    return linear


def _transposed(conv):
    linear = nn.Linear(conv.in_channels, conv.out_channels, bias=conv.bias is not None)
    linear.weight.data = conv.weight.data.flatten(1).t().reshape(conv.out_channels, conv.in_channels).clone()
    return linear


@pytest.mark.parametrize(
    "fn,verdict,needle",
    [
        (None, None, "not attempted"),
        (_good, True, "[correct]"),
        (_no_bias_copy, False, "numbers differ"),
        (_transposed, False, "numbers differ"),
        (lambda conv: nn.Linear(conv.out_channels, conv.in_channels), False, "maps 4 -> 6"),
        (lambda conv: conv, False, "return an nn.Linear"),
        (lambda conv: nn.Linear(conv.in_channels, conv.out_channels, bias=True), False, "bias"),
        (lambda conv: 1 / 0, False, "ZeroDivisionError"),
        (42, False, "should be a function"),
    ],
)
def test_conv1x1_to_linear_check(fn, verdict, needle, capsys):
    assert verdict_of(lesson01.check_conv1x1_to_linear, fn) is verdict
    assert needle in capsys.readouterr().out


def test_check_number_tolerance_and_types(capsys):
    assert verdict_of(core.check_number, 0.281, 0.28, title="t", confirm="ok", hint="h", rel_tol=0.01, integer=False) is True
    assert verdict_of(core.check_number, 0.3, 0.28, title="t", confirm="ok", hint="h", rel_tol=0.01, integer=False) is False
    assert verdict_of(core.check_number, True, 1, title="t", confirm="ok", hint="h") is False
    assert "should be a number" in capsys.readouterr().out.splitlines()[-1]


# ---------------------------------------------------------------- lesson 07
def test_lesson07_branch_widths(capsys):
    from course_utils.exercises import lesson07
    from course_utils.models import create_model
    from course_utils.viz import capture_branches
    import torch

    model = create_model("mini_googlenet").eval()
    widths = [t.shape[1] for t in capture_branches(model, torch.zeros(1, 3, 48, 48), "inception3a").values()]
    assert verdict_of(lesson07.check_branch_widths, None, model) is None
    assert verdict_of(lesson07.check_branch_widths, widths, model) is True
    capsys.readouterr()
    for bad, needle in [(list(reversed(widths)), "wrong order"), (widths[:2], "branches"),
                        ([sum(widths)] + [0] * (len(widths) - 1), "total is right"), ([1] * len(widths), "capture"),
                        ("many", "list of whole numbers")]:
        if bad == widths:
            continue
        assert verdict_of(lesson07.check_branch_widths, bad, model) is False
        out = capsys.readouterr().out
        assert needle in out and str(sum(widths)) not in out


def test_lesson07_cam_mass(capsys):
    import torch
    from course_utils import viz
    from course_utils.exercises import lesson07

    heat = torch.zeros(10, 12)
    heat[2:5, 6:9] = 1.0  # the object
    heat[8, 0] = 2.0      # something elsewhere
    cam = viz.GradCam(heatmap=heat, layer_map=heat, target=0, probability=0.9, predicted=0, layer="x",
                      branch=None, image=None)
    box = (6, 2, 9, 5)  # x0, y0, x1, y1
    right = 9 / 11
    assert verdict_of(lesson07.check_cam_mass, None, cam, box) is None
    assert verdict_of(lesson07.check_cam_mass, right, cam, box) is True
    assert verdict_of(lesson07.check_cam_mass, 9.0, cam, box) is False and "divide" in capsys.readouterr().out
    assert verdict_of(lesson07.check_cam_mass, float(heat[6:9, 2:5].sum()) / 11, cam, box) is False
    assert "rows come first" in capsys.readouterr().out
    assert verdict_of(lesson07.check_cam_mass, 9 / 120, cam, box) is False and "AREA" in capsys.readouterr().out


def test_lesson07_rank_correlation(capsys):
    from course_utils import checkpoints, data, viz
    from course_utils.exercises import lesson07

    model = checkpoints.load_checkpoint("mini_googlenet")[0].eval()
    x, y = data.embedded_dataset("test")[10]
    right = viz.randomization_sanity_check(model, x, target=y, layer="inception3b").rank_correlation
    default = viz.randomization_sanity_check(model, x, target=y).rank_correlation
    assert verdict_of(lesson07.check_rank_correlation, None, model, x, y) is None
    assert verdict_of(lesson07.check_rank_correlation, right, model, x, y) is True
    capsys.readouterr()
    for bad, needle in [(default, "default layer"), (1.0, "same ordering"), (3.0, "between -1 and 1"), ("a", "number")]:
        assert verdict_of(lesson07.check_rank_correlation, bad, model, x, y) is False
        out = capsys.readouterr().out
        assert needle in out and f"{right:.2f}" not in out


# ---------------------------------------------------------------- any answer, one line, no return value
@core.exercise_check
def _check_params(answer) -> None:
    """A check in the lessons' pattern, independent of any lesson's wording (73,856: a 3x3 conv 64 -> 128)."""
    core.check_number(answer, 73_856, title="Parameters", confirm="right.", hint="count weights and biases.",
                      mistakes={73_728: "add the biases."})


def test_checks_accept_every_spelling_of_a_number(capsys):
    import numpy as np
    import torch

    for answer in (73_856, 73_856.0, np.int64(73_856), np.float32(73_856), torch.tensor(73_856),
                   torch.tensor([73_856.0]), np.array([73_856])):
        assert verdict_of(_check_params, answer) is True, repr(answer)
    assert capsys.readouterr().out.count("[correct]") == 7


ODD_ANSWERS = ["73856", "lots", b"x", [73_856], (1, 2), {"a": 1}, float("nan"), float("inf"), -float("inf"),
               10**400, 1e308, -1, 0, True, object(), 3 + 4j, nn.Linear(2, 2), print]


@pytest.mark.parametrize("answer", ODD_ANSWERS, ids=repr)
def test_checks_never_raise_and_print_once(answer, capsys):
    import torch

    numeric = [_check_params, lesson01.check_conv1_macs, lesson01.check_branch_macs, lesson01.check_receptive_field]
    for check in numeric:
        assert verdict_of(check, answer) is False
    assert verdict_of(_check_params, torch.ones(3)) is False
    assert "3 values" in capsys.readouterr().out.splitlines()[-1]
    assert verdict_of(lesson01.check_conv1x1_to_linear, answer) in (False,)
    out = capsys.readouterr().out
    assert "Traceback" not in out and "True" not in out.replace("True/False", "")


def test_string_and_tensor_answers_get_advice(capsys):
    import torch

    assert verdict_of(_check_params, "73856") is False
    assert "without quotes" in capsys.readouterr().out
    assert verdict_of(_check_params, torch.zeros(2, 2)) is False
    assert "one number" in capsys.readouterr().out
    assert verdict_of(_check_params, float("inf")) is False
    assert "finite" in capsys.readouterr().out


def test_cam_mass_with_an_all_zero_map_explains(capsys):
    import torch
    from course_utils import viz
    from course_utils.exercises import lesson07

    heat = torch.zeros(10, 12)
    cam = viz.GradCam(heatmap=heat, layer_map=heat, target=0, probability=0.9, predicted=0, layer="x",
                      branch=None, image=None)
    assert verdict_of(lesson07.check_cam_mass, 0.5, cam, (6, 2, 9, 5)) is False
    assert "zero everywhere" in capsys.readouterr().out
    # a bad box or a missing cam: explained, not raised
    assert verdict_of(lesson07.check_cam_mass, 0.5, cam, (6, 2)) is False
    assert verdict_of(lesson07.check_cam_mass, 0.5, None, (6, 2, 9, 5)) is False
    assert "could not be checked" in capsys.readouterr().out


def test_branch_widths_accept_numpy_and_tensors(capsys):
    import numpy as np
    import torch
    from course_utils.exercises import lesson07
    from course_utils.models import create_model
    from course_utils.viz import capture_branches

    model = create_model("mini_googlenet").eval()
    widths = [t.shape[1] for t in capture_branches(model, torch.zeros(1, 3, 48, 48), "inception3a").values()]
    assert verdict_of(lesson07.check_branch_widths, [np.int64(w) for w in widths], model) is True
    assert verdict_of(lesson07.check_branch_widths, torch.tensor(widths), model) is True
    assert verdict_of(lesson07.check_branch_widths, [float("nan")] * len(widths), model) is False
