"""The shared machinery of every exercise check (all lessons).

A check prints exactly one line, one of three verdicts, and returns nothing
(``None``), so a notebook cell shows the message and no stray ``True``/``False``:

* ``[ ] ...: not attempted yet`` - the answer is still ``None``;
* ``[not yet] ...`` - wrong, with a hint aimed at the likely mistake that does
  not give the answer away;
* ``[correct] ...`` - right, with a sentence saying why it is right.

A check never raises on an answer, whatever it is: odd input (a string, a
list, NaN, a huge number, a tensor with many elements) gets a hint saying what
kind of answer is expected. Numbers may be given as Python ints or floats,
numpy scalars, or one-element tensors/arrays.

Lesson modules build their checks from :func:`check_number`,
:func:`check_callable` and the three verdict functions, and wrap each public
check in :func:`exercise_check`, the safety net that turns any unexpected
failure into a printed message and guarantees the ``None`` return.

Tests read the verdict without parsing the text: :func:`verdict_of` runs a
check and returns ``True``/``False``/``None`` (right/wrong/not attempted),
asserting that the check printed once and returned nothing.
"""
from __future__ import annotations

import functools
import math
import numbers
from collections.abc import Callable, Mapping, Sequence
from numbers import Real

NOT_ATTEMPTED = "not attempted yet: replace None with your answer and run the cell again."

# The verdict of the last check printed, and how many verdicts have been printed
# (read by verdict_of; learners never need it).
_record: dict = {"verdict": None, "count": 0}


def _report(verdict: bool | None, line: str) -> None:
    print(line)
    _record["verdict"] = verdict
    _record["count"] += 1
    return None


def not_attempted(title: str) -> None:
    """Print the "not attempted yet" verdict."""
    return _report(None, f"[ ] {title}: {NOT_ATTEMPTED}")


def correct(title: str, message: str) -> None:
    """Print the "correct" verdict with ``message`` (why it is right)."""
    return _report(True, f"[correct] {title}: {message}")


def wrong(title: str, hint: str) -> None:
    """Print the "not yet" verdict with ``hint`` (which must not give the answer away)."""
    return _report(False, f"[not yet] {title}: {hint}")


def verdict_of(check: Callable, *args, **kwargs) -> bool | None:
    """Run ``check(*args, **kwargs)`` and return its verdict: True (right), False (wrong) or
    None (not attempted). For tests: asserts that the check printed exactly one verdict and
    returned None."""
    before = _record["count"]
    returned = check(*args, **kwargs)
    printed = _record["count"] - before
    assert returned is None, f"{getattr(check, '__name__', check)} returned {returned!r}; a check returns None"
    assert printed == 1, f"{getattr(check, '__name__', check)} printed {printed} verdicts; a check prints one"
    return _record["verdict"]


def exercise_check(fn: Callable) -> Callable:
    """Decorator for a lesson's public check: it returns None, and any exception raised while
    checking (a bug, or an input nobody foresaw) becomes a printed message instead of a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs) -> None:
        before = _record["count"]
        try:
            fn(*args, **kwargs)
        except Exception as exc:  # never a traceback under an exercise
            if _record["count"] == before:
                title = (fn.__doc__ or fn.__name__).strip().splitlines()[0].split(":")[0]
                wrong(
                    title,
                    f"this answer could not be checked ({type(exc).__name__}: {_short(exc)}). "
                    "Check that the cells above ran and that the answer is the kind of value the exercise asks for.",
                )
        return None

    return wrapper


def _short(value, limit: int = 120) -> str:
    text = str(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def as_number(answer) -> tuple[int | float | None, str | None]:
    """``(number, None)`` for anything that is one number, else ``(None, hint)``.

    Accepts ints, floats, numpy scalars and one-element tensors/arrays (as a Python
    int or float); a bool, a string, a list or a many-element tensor gets a hint.
    """
    kind = type(answer).__name__
    if isinstance(answer, bool) or (type(answer).__module__ == "numpy" and kind in ("bool", "bool_")):
        return None, f"the answer should be a number, got {answer!r} (True/False)."
    if isinstance(answer, (str, bytes)):
        text = answer.decode(errors="replace") if isinstance(answer, bytes) else answer
        try:
            float(text.replace(",", "").replace("_", ""))
        except ValueError:
            return None, f"the answer should be a number, got the text {_short(repr(text), 40)}."
        return None, f"write the number without quotes: {text.strip()} rather than {_short(repr(text), 40)}."
    numel = getattr(answer, "numel", None) or getattr(answer, "size", None)
    if hasattr(answer, "shape") and not isinstance(answer, numbers.Number):
        try:
            count = numel() if callable(numel) else int(numel)
        except Exception:
            count = None
        if count != 1:
            return None, (
                f"the answer should be one number, got {kind} with shape {tuple(answer.shape)} "
                f"({count} values)."
            )
        try:
            answer = answer.item()
        except Exception as exc:
            return None, f"the answer should be one number; .item() on it failed ({exc})."
        return as_number(answer)
    if isinstance(answer, numbers.Integral):
        return int(answer), None
    if isinstance(answer, Real):
        return float(answer), None
    if isinstance(answer, numbers.Complex):
        return None, f"the answer should be a real number, got {answer!r}."
    if isinstance(answer, (list, tuple)) and len(answer) == 1:
        return None, "the answer should be one number, not a list holding it: drop the brackets."
    return None, f"the answer should be a number, got {kind} {_short(repr(answer), 40)}."


def _close(a, b, rel_tol: float) -> bool:
    try:
        if rel_tol:
            return abs(a - b) <= rel_tol * abs(b)
        return a == b
    except (OverflowError, ValueError, TypeError):
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
) -> None:
    """Compare a numeric answer and print one verdict; known wrong values get their own hint.

    Args:
        answer: the learner's answer (None = not attempted): an int, float, numpy
            scalar or one-element tensor.
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
    number, problem = as_number(answer)
    if problem:
        return wrong(title, problem)
    if isinstance(number, float) and not math.isfinite(number):
        return wrong(title, f"the answer should be a finite number, got {number}; check the computation that produced it.")
    if integer and isinstance(number, float):
        if number != int(number):
            return wrong(title, f"the answer is a whole number, got {number!r}.")
        number = int(number)
    if _close(number, expected, rel_tol):
        return correct(title, confirm)
    for value, mistake_hint in (mistakes or {}).items():
        if value != expected and _close(number, value, rel_tol):
            return wrong(title, mistake_hint)
    return wrong(title, hint)


def check_callable(answer, title: str, trial: Callable[[Callable], str | None], confirm: str) -> None:
    """Run ``trial(answer)`` and print one verdict: ``trial`` returns None when the function
    works, else a hint. An exception from the learner's function is reported, not raised."""
    if answer is None:
        return not_attempted(title)
    if not callable(answer):
        return wrong(title, f"the answer should be a function, got {type(answer).__name__}.")
    try:
        problem = trial(answer)
    except Exception as exc:  # the learner's code failed: say how, briefly
        return wrong(title, f"your function raised {type(exc).__name__}: {_short(exc)}")
    return wrong(title, problem) if problem else correct(title, confirm)


def check_name(
    answer,
    expected: str,
    *,
    choices: Sequence[str],
    title: str,
    confirm: str,
    hint: str,
    mistakes: Mapping[str, str] | None = None,
) -> None:
    """Compare an answer that names one of ``choices`` (a model, a method) and print one verdict.

    Case, surrounding spaces and quotes are forgiven; a name that is not among ``choices`` gets the
    list of allowed names (they are not the answer, the hint never says which one is).
    """
    if answer is None:
        return not_attempted(title)
    if not isinstance(answer, str):
        return wrong(title, f"the answer should be a name in quotes, one of: {', '.join(choices)}; "
                            f"got {type(answer).__name__} {_short(repr(answer), 40)}.")
    given = answer.strip().strip("'\"").strip().lower()
    allowed = {c.lower(): c for c in choices}
    if given not in allowed:
        return wrong(title, f"{_short(repr(answer), 40)} is not one of the names to choose from: {', '.join(choices)}.")
    name = allowed[given]
    if name == expected:
        return correct(title, confirm)
    return wrong(title, (mistakes or {}).get(name, hint))
