"""Lesson 02 (Inception v1): the module builder's logic against the counter, Table 1 rebuilt, ablation and
gradient probes, the exercise checks, the widget, and a short rerun of the stored aux-heads experiment."""

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from course_utils import costs, table1  # noqa: E402
from course_utils.ablation import SIZE_BINS, ablate_branch, accuracy_by_size, branch_names  # noqa: E402
from course_utils.exercises import lesson02  # noqa: E402
from course_utils.exercises.core import verdict_of  # noqa: E402
from course_utils.experiments import benchmark_script, load_result, same_shape  # noqa: E402
from course_utils.explorers.inception_module import (  # noqa: E402
    build_naive_module,
    build_reduced_module,
    inception_module_costs,
    naive_googlenet,
    naive_network,
    table1_presets,
)
from course_utils.gradients import loss_gradient_norms  # noqa: E402
from course_utils.models import create_model  # noqa: E402


# ---------------------------------------------------------------- the module builder's logic
@pytest.mark.parametrize("name", ["inception3a", "inception4c", "inception5b"])
@pytest.mark.parametrize("kernel_5x5", [5, 3])
def test_module_costs_match_the_counter(name, kernel_5x5):
    preset = table1_presets()[name]
    analytic = inception_module_costs(**preset, kernel_5x5=kernel_5x5)
    shape = (1, preset["in_channels"], preset["spatial"], preset["spatial"])
    with torch.device("meta"):
        reduced = build_reduced_module(**preset, kernel_5x5=kernel_5x5)
        naive = build_naive_module(**preset, kernel_5x5=kernel_5x5)
    assert costs.count_params(reduced) == analytic.reduced_params
    assert costs.count_macs(reduced, shape) == analytic.reduced_macs
    assert costs.count_params(naive) == analytic.naive_params
    assert costs.count_macs(naive, shape) == analytic.naive_macs
    assert reduced.out_channels == analytic.reduced_out_channels
    assert naive.out_channels == analytic.naive_out_channels == preset["in_channels"] + sum(
        preset[k] for k in ("ch1x1", "ch3x3", "ch5x5"))
    # per branch too: the reduced module's branches against cost_breakdown
    report = costs.cost_breakdown(reduced, shape)
    for attr, branch in zip(("branch1", "branch2", "branch3", "branch4"), analytic.reduced):
        assert report.row(attr).macs == branch.macs and report.row(attr).params == branch.params


def test_bias_flag_counts_biases_only():
    with_bias, without = inception_module_costs(bias=True), inception_module_costs(bias=False)
    widths = with_bias.widths  # six convs, one bias per output channel
    assert with_bias.reduced_params - without.reduced_params == sum(widths)
    assert with_bias.reduced_macs == without.reduced_macs


def test_presets_are_what_googlenet_paper_feeds_each_module():
    with torch.device("meta"):
        model = create_model("googlenet_paper", aux_logits=False)
    spatial = {}
    hooks = [model.get_submodule(n).register_forward_hook(
        lambda m, i, o, n=n: spatial.__setitem__(n, (i[0].shape[1], i[0].shape[-1]))) for n in table1_presets()]
    model.eval()(torch.zeros(1, 3, 224, 224, device="meta"))
    for h in hooks:
        h.remove()
    for name, preset in table1_presets().items():
        assert spatial[name] == (preset["in_channels"], preset["spatial"]), name


def test_naive_network_chains_widths_and_matches_the_counter():
    rows = naive_network()
    assert [r.name for r in rows] == list(table1_presets())
    for before, after in zip(rows, rows[1:]):
        assert after.naive_in == before.naive_out
        assert after.real_in == before.real_out
    assert rows[-1].real_out == 1024
    with torch.device("meta"):
        naive = naive_googlenet()
        real = create_model("googlenet_paper", aux_logits=False)
    shape = (1, 3, 224, 224)
    report_naive, report_real = costs.cost_breakdown(naive, shape), costs.cost_breakdown(real, shape)
    for r in rows:
        assert report_naive.row(r.name).macs == r.naive_macs
        assert report_real.row(r.name).macs == r.real_macs
    assert naive.fc.in_features == rows[-1].naive_out
    assert report_naive.total_macs > 5 * report_real.total_macs


def test_explorer_rejects_bad_widths():
    with pytest.raises(ValueError, match="#3x3 reduce"):
        inception_module_costs(ch3x3red=0)
    with pytest.raises(ValueError, match="kernel_5x5"):
        inception_module_costs(kernel_5x5=7)


# ---------------------------------------------------------------- Table 1
def test_table1_rebuilt_reproduces_all_but_the_listed_misprints():
    rows = table1.rebuild_table1()
    flagged = {(r.paper.modules[0], what) for r in rows
               for what, ok in (("params", r.params_ok), ("ops", r.ops_ok)) if ok is False}
    assert flagged == set(table1.MISPRINTS)
    reproduced = sum(ok is True for r in rows for ok in (r.params_ok, r.ops_ok))
    assert reproduced == 15
    for r in rows:
        assert r.output == r.paper.output, r.paper.type
        if r.paper.type.startswith("inception"):
            assert r.widths == r.paper.widths and r.depth == r.paper.depth == 2
    text = table1.format_table1(rows)
    assert text.count("*") == len(table1.MISPRINTS) + 1  # + the legend's


# ---------------------------------------------------------------- ablation and gradients
def test_ablate_branch_zeroes_one_branch_and_restores():
    torch.manual_seed(0)
    model = create_model("mini_googlenet").eval()
    x = torch.randn(2, 3, 48, 48)
    assert branch_names(model, "inception3a") == ["1x1", "3x3", "5x5", "pool proj"]
    block = model.inception3a
    with torch.no_grad():
        before = block(x[:, :0].new_zeros(2, block.in_channels, 12, 12) + 1)
        with ablate_branch(model, "inception3a", "3x3"):
            ablated = block(torch.ones(2, block.in_channels, 12, 12))
        after = block(torch.ones(2, block.in_channels, 12, 12))
    c1 = block.branch1.conv.out_channels
    c3 = block.branch2[1].conv.out_channels
    assert torch.all(ablated[:, c1:c1 + c3] == 0)
    assert torch.equal(ablated[:, :c1], before[:, :c1])
    assert torch.equal(after, before)
    with pytest.raises(ValueError, match="branches"):
        with ablate_branch(model, "inception3a", "7x7"):
            pass
    with pytest.raises(ValueError, match="multi-branch"):
        with ablate_branch(model, "conv1", "1x1"):
            pass


def test_accuracy_by_size_bins():
    preds = torch.tensor([0, 1, 1, 0])
    labels = torch.tensor([0, 1, 0, 0])
    radii = torch.tensor([0.12, 0.15, 0.30, 0.45]) * 48
    result = accuracy_by_size(preds, labels, radii, 48)
    assert result.count == (2, 0, 1, 1)
    assert result.accuracy[0] == 1.0 and np.isnan(result.accuracy[1]) and result.accuracy[2] == 0.0
    assert result.overall == 0.75 and len(result.labels) == len(SIZE_BINS) - 1


def test_loss_gradient_norms_stop_at_the_taps():
    torch.manual_seed(0)
    model = create_model("mini_googlenet", aux_logits=True)
    x, y = torch.randn(4, 3, 48, 48), torch.tensor([0, 1, 2, 3])
    norms = loss_gradient_norms(model, x, y, ["conv1", "inception4a", "inception4e"])
    assert set(norms) == {"main", "aux1", "aux2"}
    assert all(norms[k]["conv1"] > 0 for k in norms)
    assert norms["aux1"]["inception4e"] == 0.0 and norms["aux2"]["inception4e"] == 0.0
    assert norms["aux1"]["inception4a"] > 0
    assert all(p.grad is None for p in model.parameters())
    with pytest.raises(ValueError, match="aux_logits=True"):
        loss_gradient_norms(create_model("mini_googlenet"), x, y, ["conv1"])


# ---------------------------------------------------------------- exercises
def _expected_weights_4c():
    return inception_module_costs(**table1_presets()["inception4c"], bias=False).reduced_params


def test_exercise_1_output_channels(capsys):
    c = lesson02.check_output_channels_4e
    assert verdict_of(c, None) is None
    right = sum(table1_presets()["inception4e"][k] for k in ("ch1x1", "ch3x3", "ch5x5", "pool_proj"))
    for ok in (right, np.int64(right), torch.tensor(right), float(right)):
        assert verdict_of(c, ok) is True
    p = table1_presets()["inception4e"]
    for wrong in (sum(p[k] for k in ("ch1x1", "ch3x3red", "ch3x3", "ch5x5red", "ch5x5", "pool_proj")),
                  right - p["pool_proj"], right + 1, "832", [right]):
        capsys.readouterr()
        assert verdict_of(c, wrong) is False
        if not isinstance(wrong, str):  # a number typed as text is echoed back: fine
            assert str(right) not in capsys.readouterr().out


def test_exercise_2_weights_of_4c(capsys):
    c = lesson02.check_weights_4c
    right = _expected_weights_4c()
    assert verdict_of(c, right) is True and verdict_of(c, np.float32(right)) is True
    for wrong in (right + sum(inception_module_costs(**table1_presets()["inception4c"]).widths), 463 * 1024,
                  463_000, right / 1024, -1, float("nan")):
        capsys.readouterr()
        assert verdict_of(c, wrong) is False
        out = capsys.readouterr().out
        assert f"{right:,}" not in out and str(right) not in out


def test_exercise_3_aux_head_params(capsys):
    c = lesson02.check_aux_head_params
    with torch.device("meta"):
        model = create_model("googlenet_paper", aux_logits=True)
    right = costs.count_params(model.aux1)
    assert verdict_of(c, right) is True
    for wrong in (costs.count_params(model.aux2), right - sum(p.numel() for n, p in model.aux1.named_parameters()
                                                                if n.endswith("bias")), None):
        capsys.readouterr()
        expected = None if wrong is None else False
        assert verdict_of(c, wrong) is expected
        assert str(right) not in capsys.readouterr().out


def test_exercise_4_small_object_branch(monkeypatch, capsys):
    c = lesson02.check_small_object_branch
    monkeypatch.setattr(lesson02, "small_object_drops",
                        lambda: {"1x1": 0.02, "3x3": 0.20, "5x5": 0.05, "pool proj": 0.195})
    assert verdict_of(c, None) is None
    assert verdict_of(c, "3x3") is True and verdict_of(c, " 3X3 ") is True and verdict_of(c, "branch2") is True
    assert verdict_of(c, "pool proj") is True  # within a point: a tie
    for wrong in ("1x1", "5x5", "7x7", 3, ["3x3"]):
        assert verdict_of(c, wrong) is False


def test_small_object_drops_runs_on_the_checkpoint():
    drops = lesson02.small_object_drops(n=60)
    assert set(drops) == {"1x1", "3x3", "5x5", "pool proj"}
    assert all(-1 <= d <= 1 for d in drops.values())


# ---------------------------------------------------------------- the widget
def test_module_builder_widget_presets_and_sliders():
    from course_utils.widgets.inception_module import module_builder_widget

    box = module_builder_widget("inception3a")
    (controls, readout, _plot) = box.children
    picker = controls.children[0].children[0]
    sliders = {w.description: w for column in controls.children for w in column.children if hasattr(w, "min")}
    assert "256 output channels" in readout.value and "416 output channels" in readout.value
    picker.value = "inception4e"
    assert sliders["input channels"].value == 528 and sliders["spatial (H = W)"].value == 14
    assert "832 output channels" in readout.value
    sliders["#1x1"].value = 264
    assert picker.value == "custom" and "840 output channels" in readout.value
    with pytest.raises(ValueError, match="preset"):
        module_builder_widget("inception9z")


# ---------------------------------------------------------------- the stored experiment
def _experiment_script():
    return benchmark_script("exp_aux_heads")


def test_stored_aux_experiment_and_a_short_rerun_have_the_same_shape():
    stored = load_result("aux_heads")
    assert set(stored["arms"]) == {"with aux heads", "without aux heads"}
    assert len(stored["seeds"]) >= 3
    assert all(len(runs) == len(stored["seeds"]) for runs in stored["arms"].values())
    exp = _experiment_script()
    threads = torch.get_num_threads()
    try:
        torch.set_num_threads(2)
        rerun = exp.run(seeds=[0], save=False, progress=False, train_images=128, eval_images=128, epochs=1)
    finally:
        torch.set_num_threads(threads)
    assert same_shape(stored, rerun) == []
    assert rerun["recipe"]["epochs"] == 1 and stored["recipe"]["epochs"] == 3
    with_aux, without = rerun["arms"]["with aux heads"][0], rerun["arms"]["without aux heads"][0]
    assert with_aux["train_params"] > without["train_params"]
    assert len(with_aux["val_acc"]) == 1
