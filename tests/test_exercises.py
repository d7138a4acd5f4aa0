"""Each exercise check: None -> not attempted, right -> True, typical mistakes -> a hint without the answer."""
import re

import pytest
from torch import nn

from course_utils import costs
from course_utils.exercises import core, lesson01


def _spellings(n: int) -> list[str]:
    return [str(n), f"{n:,}", costs.format_count(n)]


NUMERIC = [
    # check, right answer, typical wrong answers
    (lesson01.check_conv_params, 73_856, [73_728, 1_280, 147_456, 704, 12]),
    (lesson01.check_branch_macs, 101_154_816, [86_704_128, 14_450_688, 202_309_632, 173_408_256, 1]),
    (lesson01.check_receptive_field, 19, [11, 63, 13, 9]),
]


@pytest.mark.parametrize("check,right,wrongs", NUMERIC, ids=lambda v: getattr(v, "__name__", ""))
def test_numeric_checks(check, right, wrongs, capsys):
    assert check(None) is None
    assert "not attempted yet" in capsys.readouterr().out
    assert check(right) is True
    assert "[correct]" in capsys.readouterr().out
    hints = set()
    for answer in wrongs:
        assert check(answer) is False, answer
        out = capsys.readouterr().out
        assert "[not yet]" in out
        hints.add(out)
        for spelling in _spellings(right):
            assert not re.search(rf"(?<![\d.,]){re.escape(spelling)}(?![\d.,])", out), f"hint gives away {spelling}: {out}"
    assert len(hints) >= 2, "typical mistakes should get specific hints"
    assert check("lots") is False and check(1.5) is False


def test_right_answers_follow_from_the_cost_formulas():
    assert lesson01.check_conv_params(costs.conv_params(64, 128, 3)) is True
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
    assert lesson01.check_conv1x1_to_linear(fn) is verdict
    assert needle in capsys.readouterr().out


def test_check_number_tolerance_and_types(capsys):
    assert core.check_number(0.281, 0.28, title="t", confirm="ok", hint="h", rel_tol=0.01, integer=False) is True
    assert core.check_number(0.3, 0.28, title="t", confirm="ok", hint="h", rel_tol=0.01, integer=False) is False
    assert core.check_number(True, 1, title="t", confirm="ok", hint="h") is False
    assert "should be a number" in capsys.readouterr().out.splitlines()[-1]


# ---------------------------------------------------------------- lesson 07
def test_lesson07_branch_widths(capsys):
    from course_utils.exercises import lesson07
    from course_utils.models import create_model
    from course_utils.viz import capture_branches
    import torch

    model = create_model("mini_googlenet").eval()
    widths = [t.shape[1] for t in capture_branches(model, torch.zeros(1, 3, 48, 48), "inception3a").values()]
    assert lesson07.check_branch_widths(None, model) is None
    assert lesson07.check_branch_widths(widths, model) is True
    capsys.readouterr()
    for bad, needle in [(list(reversed(widths)), "wrong order"), (widths[:2], "branches"),
                        ([sum(widths)] + [0] * (len(widths) - 1), "total is right"), ([1] * len(widths), "capture"),
                        ("many", "list of whole numbers")]:
        if bad == widths:
            continue
        assert lesson07.check_branch_widths(bad, model) is False
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
    assert lesson07.check_cam_mass(None, cam, box) is None
    assert lesson07.check_cam_mass(right, cam, box) is True
    assert lesson07.check_cam_mass(9.0, cam, box) is False and "divide" in capsys.readouterr().out
    assert lesson07.check_cam_mass(float(heat[6:9, 2:5].sum()) / 11, cam, box) is False
    assert "rows come first" in capsys.readouterr().out
    assert lesson07.check_cam_mass(9 / 120, cam, box) is False and "AREA" in capsys.readouterr().out


def test_lesson07_sanity_verdict(capsys):
    from course_utils.exercises import lesson07

    assert lesson07.check_sanity_verdict(None) is None
    assert lesson07.check_sanity_verdict("b") is True
    assert lesson07.check_sanity_verdict("A") is False and "destroyed" in capsys.readouterr().out
    assert lesson07.check_sanity_verdict("C") is False
    assert lesson07.check_sanity_verdict("Z") is False and "one letter" in capsys.readouterr().out
