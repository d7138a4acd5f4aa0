"""What every widget here does when a control changes: redraw its figure in its output area."""
from __future__ import annotations

from collections.abc import Callable, Iterable

import matplotlib.pyplot as plt


def redraw(output, draw: Callable, *args, **kwargs) -> None:
    """Show the figure ``draw(*args, **kwargs)`` makes in ``output``, replacing the previous one.

    ``wait=True`` keeps the old figure until the new one is ready, so the page does not jump.
    """
    output.clear_output(wait=True)
    with output:
        draw(*args, **kwargs)
        plt.show()


def on_change(controls: Iterable, callback: Callable) -> None:
    """Call ``callback`` whenever the value of any of ``controls`` changes."""
    for control in controls:
        control.observe(callback, names="value")
