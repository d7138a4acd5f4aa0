"""The shared machinery of every exercise check (all lessons).

A check prints one of three verdicts and returns it:

* ``None``  - the learner has not answered yet (the answer is still ``None``);
* ``False`` - wrong, with a hint aimed at the likely mistake that does not
  give the answer away;
* ``True``  - right, with a sentence saying why it is right.
"""
from __future__ import annotations

from collections.abc import Callable, Mapping
from numbers import Real

NOT_ATTEMPTED = "not attempted yet: replace None with your answer and run the cell again."


def not_attempted(title: str) -> None:
    print(f"[ ] {title}: {NOT_ATTEMPTED}")
    return None


def correct(title: str, message: str) -> bool:
    print(f"[correct] {title}: {message}")
    return True


def wrong(title: str, hint: str) -> bool:
    print(f"[not yet] {title}: {hint}")
    return False


def check_number(
    answer,
    expected: Real,
    *,
    title: str,
    confirm: str,
    hint: str,
    mistakes: Mapping[Real, str] | None = None,
    rel_tol: float = 0.0,
    integer: bool = True,
) -> bool | None:
    """Compare a numeric answer; known wrong values get their own hint.

    Args:
        answer: the learner's answer (None = not attempted).
        expected: the right value, computed by the caller (never typed in by hand).
        title: the exercise's name, printed with the verdict.
        confirm: printed when right (may explain why).
        hint: printed for a wrong answer that is not a known mistake.
        mistakes: value a typical mistake produces -> hint for that mistake.
        rel_tol: relative tolerance (0 = exact).
        integer: whether the answer must be a whole number.
    """
    if answer is None:
        return not_attempted(title)
    if isinstance(answer, bool) or not isinstance(answer, Real):
        return wrong(title, f"the answer should be a number, got {type(answer).__name__} {answer!r}.")
    if integer and float(answer) != int(answer):
        return wrong(title, f"the answer is a whole number, got {answer!r}.")

    def close(a, b) -> bool:
        return abs(a - b) <= rel_tol * abs(b) if rel_tol else a == b

    if close(answer, expected):
        return correct(title, confirm)
    for value, mistake_hint in (mistakes or {}).items():
        if value != expected and close(answer, value):
            return wrong(title, mistake_hint)
    return wrong(title, hint)


def check_callable(answer, title: str, trial: Callable[[Callable], str | None], confirm: str) -> bool | None:
    """Run ``trial(answer)``: it returns None when the function works, else a hint."""
    if answer is None:
        return not_attempted(title)
    if not callable(answer):
        return wrong(title, f"the answer should be a function, got {type(answer).__name__}.")
    try:
        problem = trial(answer)
    except Exception as exc:  # the learner's code failed: say how, briefly
        return wrong(title, f"your function raised {type(exc).__name__}: {exc}")
    return wrong(title, problem) if problem else correct(title, confirm)
