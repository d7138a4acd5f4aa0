"""Shared argument checks: one place for the messages a learner reads (every lesson).

Every public function of ``course_utils`` checks what it is given with the
helpers below, so a bad input is answered the same way everywhere, in the
course's words: **what was wrong, what is allowed, what to do**. For example::

    >>> check_int(2.5, "batch_size", minimum=1)
    Traceback (most recent call last):
    CourseTypeError: batch_size must be a positive whole number, got 2.5 (float).

The exception types
-------------------
* :class:`CourseException` - the root of every exception course_utils raises on
  purpose (``except CourseException`` catches them all).
* :class:`CourseError` - a bad value; a ``ValueError``, so code that already
  catches ``ValueError`` keeps working.
* :class:`CourseTypeError` - the wrong kind of object (a string where a number
  belongs, a model name where a model belongs); both a ``TypeError`` and a
  :class:`CourseError` (hence also a ``ValueError``).
* :class:`CourseWarning` - something works but is probably not what you meant.

Other modules add their own subclasses (``CheckpointError``,
``TrainingDivergedError``, ``DatasetUnavailableError``...).

The checks
----------
Each check returns the value converted to the type the caller works with
(``check_int(np.int64(3), ...)`` returns the Python int ``3``), so a caller can
validate and assign in one line:

* :func:`check_int` - any integral number (Python, numpy; not bool), with bounds;
* :func:`check_number` - any real number (not bool), finite by default, with bounds;
* :func:`check_fraction` - a number in [0, 1] (or [0, 1) with ``allow_one=False``);
* :func:`check_bool` - True or False;
* :func:`check_str` - a non-empty string;
* :func:`check_choice` - one of a fixed set, with "did you mean ...?";
* :func:`check_int_pair` - an int or a pair of ints (kernel sizes, strides, image sizes);
* :func:`check_tensor` / :func:`check_image_tensor` - tensors and image layouts
  (catches uint8 images, channels-last images, a missing batch dimension);
* :func:`check_module` - an ``nn.Module`` (with advice when given a model name);
* :func:`check_kwargs` - no unknown keyword arguments, with "did you mean ...?";
* :func:`describe` - a short description of any value for a message (never the
  full printout of a model or a tensor).
"""
from __future__ import annotations

import difflib
import math
import numbers
from collections.abc import Iterable, Mapping
from typing import Any

__all__ = [
    "CourseException",
    "CourseError",
    "CourseTypeError",
    "CourseWarning",
    "describe",
    "did_you_mean",
    "check_int",
    "check_number",
    "check_fraction",
    "check_bool",
    "check_str",
    "check_choice",
    "check_int_pair",
    "check_tensor",
    "check_image_tensor",
    "check_module",
    "check_kwargs",
    "is_int",
    "is_number",
]


class CourseException(Exception):
    """Root of every exception course_utils raises on purpose."""


class CourseError(CourseException, ValueError):
    """A bad value given to a course_utils function (a ``ValueError``)."""


class CourseTypeError(CourseError, TypeError):
    """The wrong kind of object given to a course_utils function (a ``TypeError`` and a ``ValueError``)."""


class CourseWarning(UserWarning):
    """Something works, but is probably not what you meant."""


# -- describing values --------------------------------------------------------

_MAX_REPR = 60


def describe(value: Any) -> str:
    """A short description of ``value`` for an error message.

    Numbers and short strings appear as written (``2.5 (float)``, ``'relu'``);
    tensors by shape and dtype; modules, datasets and other objects by type, so
    a message never prints a whole network.
    """
    try:
        import torch
    except ImportError:  # pragma: no cover - torch is a dependency
        torch = None
    if value is None or isinstance(value, bool):
        return repr(value)
    if torch is not None and isinstance(value, torch.Tensor):
        if value.dim() == 0:
            return f"a 0-d tensor ({value.item()!r}, {_dtype_name(value.dtype)})"
        return f"a tensor of shape {tuple(value.shape)} and dtype {_dtype_name(value.dtype)}"
    if torch is not None and isinstance(value, torch.nn.Module):
        return f"a {type(value).__name__} module"
    if isinstance(value, numbers.Number):
        text = _short_repr(value)
        kind = type(value).__name__
        return text if kind in ("int", "str") else f"{text} ({kind})"
    if isinstance(value, str):
        return _short_repr(value)
    if isinstance(value, (list, tuple)) and len(value) <= 6 and all(
        v is None or isinstance(v, (numbers.Number, str)) for v in value
    ):
        return _short_repr(value)
    shape = getattr(value, "shape", None)
    if shape is not None and not callable(shape):
        return f"a {type(value).__name__} of shape {tuple(shape)}"
    return f"a {type(value).__name__}"


def _short_repr(value: Any) -> str:
    text = repr(value)
    if isinstance(value, numbers.Number) and not isinstance(value, (bool, int, float)):
        # np.int64(3) -> 3, np.float32(0.5) -> 0.5: the type is named separately
        try:
            text = repr(value.item())
        except Exception:
            pass
    return text if len(text) <= _MAX_REPR else text[: _MAX_REPR - 3] + "..."


def _dtype_name(dtype) -> str:
    return str(dtype)


def did_you_mean(value: Any, choices: Iterable[Any]) -> str:
    """`` Did you mean 'x'?`` for the closest choice to a string ``value`` ('' if none is close)."""
    if not isinstance(value, str):
        return ""
    names = [c for c in choices if isinstance(c, str)]
    lowered = {c.lower(): c for c in names}
    if value.lower() in lowered:
        return f" Did you mean {lowered[value.lower()]!r}?"
    close = difflib.get_close_matches(value.lower(), list(lowered), n=1, cutoff=0.6)
    return f" Did you mean {lowered[close[0]]!r}?" if close else ""


def _join(message: str, hint: str) -> str:
    return f"{message} {hint}".strip() if hint else message


# -- numbers --------------------------------------------------------------------


def is_int(value: Any) -> bool:
    """True for any integral number (Python int, numpy integer), False for bool."""
    return isinstance(value, numbers.Integral) and not _is_boolish(value)


def is_number(value: Any) -> bool:
    """True for any real number (int, float, numpy scalars), False for bool."""
    return isinstance(value, numbers.Real) and not _is_boolish(value)


def _is_boolish(value: Any) -> bool:
    return isinstance(value, bool) or (type(value).__module__ == "numpy" and type(value).__name__ in ("bool", "bool_"))


def _range_words(minimum, maximum, *, whole: bool, min_inclusive=True, max_inclusive=True) -> str:
    noun = "a whole number" if whole else "a number"
    if minimum is not None and maximum is not None:
        lo = "[" if min_inclusive else "("
        hi = "]" if max_inclusive else ")"
        if whole:
            return f"{noun} from {minimum} to {maximum}"
        return f"{noun} in {lo}{minimum}, {maximum}{hi}"
    if minimum is not None:
        if minimum == 0 and min_inclusive:
            return f"a non-negative {noun[2:]}"
        if (minimum == 0 and not min_inclusive) or (whole and minimum == 1 and min_inclusive):
            return f"a positive {noun[2:]}"
        return f"{noun} of at least {minimum}" if min_inclusive else f"{noun} greater than {minimum}"
    if maximum is not None:
        return f"{noun} of at most {maximum}" if max_inclusive else f"{noun} less than {maximum}"
    return noun


def _scalar_hint(value: Any) -> str:
    """Advice for a value of the wrong kind that looks like a number."""
    try:
        import torch
    except ImportError:  # pragma: no cover
        torch = None
    if torch is not None and isinstance(value, torch.Tensor):
        if value.numel() == 1:
            return "Take the number out of the tensor with .item()."
        return "Pass a single number, not a tensor."
    if isinstance(value, str):
        try:
            float(value)
        except ValueError:
            return ""
        return f"Write the number without quotes: {value.strip()} instead of {value!r}."
    if isinstance(value, (list, tuple)) and len(value) == 1:
        return "Pass the number itself, not a list holding it."
    return ""


def check_int(
    value: Any,
    name: str,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    hint: str = "",
) -> int:
    """``value`` as a Python int: any integral number (not bool) within ``[minimum, maximum]``.

    Raises :class:`CourseTypeError` for a non-integer (``2.5``, ``"3"``, ``True``,
    a tensor) and :class:`CourseError` for an integer out of range. ``hint`` is
    appended to the message (say what the argument means or a typical value).
    """
    allowed = _range_words(minimum, maximum, whole=True)
    if not is_int(value):
        extra = _scalar_hint(value)
        if isinstance(value, float) and math.isfinite(value) and value == int(value):
            extra = f"Write it as {int(value)} (without the decimal point)."
        raise CourseTypeError(_join(f"{name} must be {allowed}, got {describe(value)}.", _join(extra, hint)))
    value = int(value)
    if (minimum is not None and value < minimum) or (maximum is not None and value > maximum):
        raise CourseError(_join(f"{name} must be {allowed}, got {value}.", hint))
    return value


def check_number(
    value: Any,
    name: str,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    min_inclusive: bool = True,
    max_inclusive: bool = True,
    finite: bool = True,
    hint: str = "",
) -> float:
    """``value`` as a Python float: any real number (not bool), finite unless ``finite=False``.

    ``min_inclusive=False`` excludes the minimum itself (``lr`` must be > 0).
    NaN is always rejected; infinity only when ``finite`` is True.
    """
    allowed = _range_words(minimum, maximum, whole=False, min_inclusive=min_inclusive, max_inclusive=max_inclusive)
    if not is_number(value):
        raise CourseTypeError(
            _join(f"{name} must be {allowed}, got {describe(value)}.", _join(_scalar_hint(value), hint))
        )
    number = float(value)
    if math.isnan(number) or (finite and math.isinf(number)):
        raise CourseError(_join(f"{name} must be {allowed} and finite, got {number}.", hint))
    too_low = minimum is not None and (number < minimum or (not min_inclusive and number == minimum))
    too_high = maximum is not None and (number > maximum or (not max_inclusive and number == maximum))
    if too_low or too_high:
        raise CourseError(_join(f"{name} must be {allowed}, got {_short_repr(value)}.", hint))
    return number


def check_fraction(value: Any, name: str, *, allow_one: bool = True, hint: str = "") -> float:
    """A number in [0, 1] (``allow_one=False``: [0, 1)). Catches percentages such as 95."""
    try:
        return check_number(value, name, minimum=0, maximum=1, max_inclusive=allow_one, hint=hint)
    except CourseError as exc:
        if is_number(value) and 1 < float(value) <= 100:
            raise type(exc)(f"{exc} It is a fraction, not a percentage: write {float(value) / 100:g}.") from None
        raise


def check_bool(value: Any, name: str, *, hint: str = "") -> bool:
    """True or False (numpy's bool too); catches ``aux_logits="no"`` and friends."""
    if isinstance(value, bool):
        return value
    if _is_boolish(value):
        return bool(value)
    raise CourseTypeError(_join(f"{name} must be True or False, got {describe(value)}.", hint))


def check_str(value: Any, name: str, *, hint: str = "") -> str:
    """A non-empty string."""
    if not isinstance(value, str) or not value.strip():
        raise CourseTypeError(_join(f"{name} must be a non-empty string, got {describe(value)}.", hint))
    return value


def check_choice(value: Any, name: str, choices: Iterable[Any], *, hint: str = "", what: str | None = None) -> Any:
    """``value`` if it is one of ``choices``; else a message listing them, with "did you mean".

    ``what`` names the kind of thing chosen in the message (``"model name"``).
    Strings that differ only in case get the right spelling suggested.
    """
    options = list(choices.keys() if isinstance(choices, Mapping) else choices)
    for option in options:
        try:
            same = option == value and isinstance(option, bool) == _is_boolish(value)
        except Exception:  # a tensor or an odd object: not one of the choices
            same = False
        if same is True:
            return option
    shown = ", ".join(repr(o) for o in options)
    label = what or name
    message = f"{name} must be one of: {shown}; got {describe(value)}." if what is None else (
        f"Unknown {label} {describe(value)} ({name}). Valid {label}s: {shown}."
    )
    error = CourseError if isinstance(value, str) or value is None or is_number(value) else CourseTypeError
    raise error(_join(message + did_you_mean(value, options), hint))


def check_int_pair(value: Any, name: str, *, minimum: int = 1, hint: str = "") -> tuple[int, int]:
    """An int ``k`` -> ``(k, k)``; a pair ``(h, w)`` of ints -> itself (each at least ``minimum``)."""
    if is_int(value):
        v = check_int(value, name, minimum=minimum, hint=hint)
        return (v, v)
    if isinstance(value, (tuple, list)) or type(value).__name__ == "Size":
        if len(value) != 2:
            raise CourseError(
                _join(f"{name} must be one whole number or a pair (height, width), got {describe(value)}.", hint)
            )
        return tuple(check_int(v, f"{name}[{i}]", minimum=minimum, hint=hint) for i, v in enumerate(value))
    raise CourseTypeError(
        _join(f"{name} must be one whole number or a pair (height, width), got {describe(value)}.", hint)
    )


# -- tensors and images --------------------------------------------------------------


def check_tensor(value: Any, name: str, *, dims: int | Iterable[int] | None = None, hint: str = ""):
    """``value`` if it is a torch.Tensor (with ``dims`` dimensions, when given).

    numpy arrays get the advice ``torch.from_numpy``; other objects say what was given.
    """
    import torch

    if not isinstance(value, torch.Tensor):
        extra = ""
        if type(value).__module__ == "numpy" and hasattr(value, "shape"):
            extra = "Convert it with torch.from_numpy(array)."
        elif type(value).__module__.startswith("PIL"):
            extra = "Convert it with torchvision.transforms.functional.to_tensor(image)."
        raise CourseTypeError(_join(f"{name} must be a torch.Tensor, got {describe(value)}.", _join(extra, hint)))
    if dims is not None:
        allowed = (dims,) if isinstance(dims, int) else tuple(dims)
        if value.dim() not in allowed:
            words = " or ".join(f"{d}-D" for d in allowed)
            raise CourseError(
                _join(f"{name} must be a {words} tensor, got shape {tuple(value.shape)}.", hint)
            )
    return value


def check_image_tensor(
    x: Any,
    name: str = "x",
    *,
    batched: bool | None = True,
    channels: int | None = None,
    dtype=None,
    min_size: int | None = None,
    who: str | None = None,
    hint: str = "",
):
    """Check an image (C, H, W) or a batch of images (N, C, H, W) and return it unchanged.

    Args:
        x: the tensor to check.
        name: the argument's name, used in the message.
        batched: True: a 4-D batch is required (a 3-D image gets ``x.unsqueeze(0)``
            advice); False: one 3-D image is required; None: either.
        channels: the number of channels expected (channels-last images, with
            the channels at the end, get ``permute`` advice).
        dtype: the floating dtype expected (the model's parameter dtype); an
            integer image (uint8, as the dataset stores them) gets ``.float() / 255``
            advice, a bool mask ``.float()``, another float dtype ``.to(dtype)``.
        min_size: the smallest height and width accepted.
        who: who expects the input (``"MiniGoogLeNet"``), named in the message.
    """
    import torch

    who = who or "This function"
    check_tensor(x, name, hint=hint)
    shape = tuple(x.shape)
    want_dims = {True: (4,), False: (3,), None: (3, 4)}[batched]
    layout = {4: f"(N, {channels or 'C'}, H, W)", 3: f"({channels or 'C'}, H, W)"}
    # said alongside a shape problem, so that one message fixes both
    also_dtype = "" if x.is_floating_point() else (
        f" Its pixels are {_dtype_name(x.dtype)}: convert them too, with .float() / 255 for 0-255 images."
    )
    if x.dim() not in want_dims:
        words = " or ".join(f"a {d}-D tensor of shape {layout[d]}" for d in want_dims)
        extra = ""
        if batched and x.dim() == 3 and channels and x.shape[-1] == channels and x.shape[0] != channels:
            extra = (
                f" It looks like one channels-last image (height, width, channels, as PIL and matplotlib "
                f"store them): use {name}.permute(2, 0, 1).unsqueeze(0)."
            )
        elif batched and x.dim() == 3:
            extra = f" Add a batch dimension with {name}.unsqueeze(0)."
        elif batched is False and x.dim() == 4 and x.shape[0] == 1:
            extra = f" Take the one image out of the batch with {name}[0]."
        elif x.dim() == 2:
            extra = f" A grayscale image needs a channel dimension: {name}.unsqueeze(0) gives (1, H, W)."
        raise CourseError(_join(f"{who} expects {words}; got shape {shape}.{extra}{also_dtype}", hint))
    # channels: the dimension before H and W
    c_dim = x.dim() - 3
    if channels is not None and x.shape[c_dim] != channels:
        if x.shape[-1] == channels:
            order = "(0, 3, 1, 2)" if x.dim() == 4 else "(2, 0, 1)"
            extra = (
                f"It looks channels-last (height, width, channels, as PIL and matplotlib store images): "
                f"move the channels first with {name}.permute{order}."
            )
        elif channels == 3 and x.shape[c_dim] == 1:
            extra = (
                f"Repeat a grayscale image's channel with {name}.expand({'-1, ' if x.dim() == 4 else ''}3, -1, -1), "
                f"or build the model with in_chans=1."
            )
        else:
            extra = f"Build the model with in_chans={x.shape[c_dim]} if your images really have that many channels."
        raise CourseError(
            _join(
                f"{who} expects {channels} input channels, got {x.shape[c_dim]} ({name} has shape {shape}, read as "
                f"{layout[x.dim()]}). {extra}{also_dtype}",
                hint,
            )
        )
    if not x.is_floating_point():
        if x.dtype == torch.bool:
            extra = f"Convert a mask with {name}.float()."
        elif x.is_complex():
            extra = f"Use a real image, e.g. {name}.abs()."
        else:
            extra = (
                f"Convert integer pixels (0-255, as the dataset stores them) with {name}.float() / 255"
                " (or use the dataset's transform)."
            )
        raise CourseTypeError(
            _join(f"{who} expects floating-point pixels in {name}, got dtype {_dtype_name(x.dtype)}. {extra}", hint)
        )
    if dtype is not None and x.dtype != dtype:
        conv = f"{name}.float()" if dtype == torch.float32 else f"{name}.to({_dtype_name(dtype)})"
        raise CourseTypeError(
            _join(
                f"{who} has {_dtype_name(dtype)} weights but {name} has dtype {_dtype_name(x.dtype)}; "
                f"convert it with {conv}.",
                hint,
            )
        )
    if min_size is not None and min(shape[-2:]) < min_size:
        raise CourseError(
            _join(f"{who} needs {name} of at least {min_size}x{min_size} pixels, got {shape[-2]}x{shape[-1]}.", hint)
        )
    return x


# -- objects ---------------------------------------------------------------------


def check_module(value: Any, name: str = "model", *, hint: str = ""):
    """``value`` if it is an ``nn.Module``; a model name gets ``create_model`` advice."""
    from torch import nn

    if isinstance(value, nn.Module):
        return value
    extra = ""
    if isinstance(value, str):
        extra = f"Build the model first: {name} = create_model({value!r}) (or load_checkpoint({value!r}))."
    elif isinstance(value, type) and issubclass(value, nn.Module):
        extra = f"Pass an instance, e.g. {value.__name__}(), not the class itself."
    elif type(value).__name__ in ("DataLoader", "Tensor") or hasattr(value, "__getitem__") and hasattr(value, "__len__"):
        extra = "Did you swap the arguments? The model comes first, then the data."
    raise CourseTypeError(_join(f"{name} must be a torch.nn.Module (a model), got {describe(value)}.", _join(extra, hint)))


def check_kwargs(kwargs: Mapping[str, Any], where: str, allowed: Iterable[str]) -> None:
    """:class:`CourseTypeError` for keyword arguments ``where`` (a function name) does not take."""
    allowed = list(allowed)
    unknown = [k for k in kwargs if k not in allowed]
    if unknown:
        first = unknown[0]
        names = ", ".join(repr(k) for k in unknown)
        raise CourseTypeError(
            f"{where}() got unknown keyword argument{'s' if len(unknown) > 1 else ''} {names}."
            f"{did_you_mean(first, allowed)} It accepts: {', '.join(allowed)}."
        )
