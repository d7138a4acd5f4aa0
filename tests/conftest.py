"""Shared test set-up: figures are drawn off screen and closed after every test."""
import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402


@pytest.fixture(autouse=True)
def _close_figures():
    """Tests that draw leave no figure open (more than 20 open figures make matplotlib warn)."""
    yield
    plt.close("all")
