"""Pure widget logic (explorers) and the widgets driven without a browser."""
import matplotlib

matplotlib.use("Agg")

import pytest
import torch
from torch import nn

from course_utils import costs, explorers, widgets


def test_bottleneck_defaults_are_googlenet_3a_5x5_branch():
    r = explorers.bottleneck_comparison()
    assert (r.in_channels, r.reduction, r.out_channels, r.spatial) == (192, 16, 32, 28)
    assert r.direct_macs == 120_422_400 and r.reduced_macs == 12_443_648
    assert r.speedup == pytest.approx(9.677, abs=1e-3)
    assert "saving: 89.7% of MACs" in r.summary()


@pytest.mark.parametrize("cin,cout,k,size,red", [(64, 64, 3, 56, 32), (512, 128, 5, 14, 24), (32, 16, 7, 9, 8), (96, 48, 1, 10, 4)])
def test_bottleneck_matches_counted_modules(cin, cout, k, size, red):
    r = explorers.bottleneck_comparison(cin, cout, k, size, red)
    direct = nn.Conv2d(cin, cout, k, padding=k // 2, bias=False)
    reduced = nn.Sequential(nn.Conv2d(cin, red, 1, bias=False), nn.Conv2d(red, cout, k, padding=k // 2, bias=False))
    x = torch.zeros(1, cin, size, size)
    assert r.direct_macs == costs.count_macs(direct, x)
    assert r.reduced_macs == costs.count_macs(reduced, x)
    assert r.direct_params == costs.count_params(direct) and r.reduced_params == costs.count_params(reduced)


def test_a_wide_reduction_costs_more_than_it_saves():
    r = explorers.bottleneck_comparison(64, 64, 1, 14, 64)
    assert r.mac_saving < 0
    assert "no saving: the bottleneck costs 100.0% more MACs (2.00x as many)" in r.summary()
    assert "-" not in r.summary().splitlines()[-1]  # a cost increase, never a negative saving


@pytest.mark.parametrize("bad,match", [(dict(kernel_size=4), "positive odd"), (dict(reduction=0), "reduction must be a positive"),
                                       (dict(spatial=2, kernel_size=7), None)])
def test_bottleneck_bad_input(bad, match):
    if match is None:  # 'same' padding keeps even a 7x7 valid on a 2x2 map
        assert explorers.bottleneck_comparison(**bad).direct_macs > 0
        return
    with pytest.raises(ValueError, match=match):
        explorers.bottleneck_comparison(**bad)


def test_cost_explorer_widget_updates_readout():
    ui = widgets.cost_explorer_widget()
    sliders = {w.description: w for w in ui.children if hasattr(w, "description")}
    readout = next(w for w in ui.children if type(w).__name__ == "HTML")
    assert "89.7% of MACs" in readout.value
    sliders["1x1 reduction width"].value = 32
    expected = explorers.bottleneck_comparison(reduction=32).summary()
    assert expected in readout.value
    sliders["kernel size"].value = 3
    assert "3x3 conv 192->32" in readout.value


def test_plot_bottleneck_labels():
    fig = widgets.plot_bottleneck(explorers.bottleneck_comparison())
    titles = [ax.get_title() for ax in fig.axes]
    assert titles == ["multiply-accumulates", "parameters"]
    assert "saves 90% of the MACs" in fig._suptitle.get_text()
