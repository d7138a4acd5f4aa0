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
