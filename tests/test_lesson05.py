"""Lesson 05 (Inception-v4, Inception-ResNet, residual scaling): the explorer's logic, the widget, the
exercises and a short rerun of the stored experiment."""

import matplotlib
import numpy as np
import pytest
import torch

matplotlib.use("Agg")

from course_utils import costs  # noqa: E402
from course_utils.checks import CourseError  # noqa: E402
from course_utils.exercises import lesson05  # noqa: E402
from course_utils.exercises.core import verdict_of  # noqa: E402
from course_utils.experiments import benchmark_script, load_result, same_shape  # noqa: E402
from course_utils.explorers.residual_scaling import (  # noqa: E402
    ResidualInceptionStack,
    compare_scales,
    scaling_profile,
)
from course_utils.models.inception_resnet import V2_BLOCK35, Block35  # noqa: E402

pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py: one torch thread


# -- the explorer -------------------------------------------------------------------------------------------------


def test_stack_is_blocks_of_the_course_with_the_scale():
    stack = ResidualInceptionStack(depth=5, scale=0.3, channels=16)
    assert len(stack.blocks) == 5 and all(isinstance(b, Block35) and b.scale == 0.3 for b in stack.blocks)
    assert stack(torch.randn(2, 3, 48, 48)).shape == (2, 10)
    assert stack.forward_stem(torch.randn(2, 3, 48, 48)).shape == (2, 16, 12, 12)


def test_profile_is_deterministic_and_leaves_the_global_rng_and_threads_alone():
    threads = torch.get_num_threads()
    torch.manual_seed(123)
    expected_next = torch.rand(1)
    torch.manual_seed(123)
    a = scaling_profile(0.2, 6)
    assert torch.equal(torch.rand(1), expected_next)
    assert torch.get_num_threads() == threads
    b = scaling_profile(0.2, 6)
    assert a == b and len(a.block_std) == 6 and a.depth == 6


def test_scaling_slows_the_growth_and_shrinks_the_stem_gradient():
    profiles = compare_scales((1.0, 0.3, 0.1), depth=24)
    one, three, tenth = profiles[1.0], profiles[0.3], profiles[0.1]
    assert one.stem_std == three.stem_std == tenth.stem_std  # same weights up to the blocks
    assert one.growth > three.growth > tenth.growth >= 0.95
    assert one.growth > 1.5 and tenth.growth < 1.1
    assert one.stem_grad_norm > three.stem_grad_norm > tenth.stem_grad_norm > 0
    # unscaled, the std keeps growing with depth
    assert all(b >= a * 0.98 for a, b in zip(one.block_std, one.block_std[1:]))
    assert one.block_std[-1] > one.block_std[len(one.block_std) // 2]


def test_a_block_adds_about_scale_squared_times_its_residual_variance():
    """One block: var(x + s r) = var(x) + s^2 var(r) + 2 s cov; the growth in variance shrinks ~ s^2 for small s."""
    small = [scaling_profile(s, 1) for s in (0.1, 0.2)]
    added = [(p.block_std[0] ** 2 - 0) for p in small]
    assert added[1] > added[0]


def test_bad_arguments_are_refused_with_a_course_error():
    for kwargs in (dict(scale=0, depth=3), dict(scale=-1, depth=3), dict(scale=0.2, depth=0),
                   dict(scale=0.2, depth=1000), dict(scale="big", depth=3), dict(scale=0.2, depth=3, batch_size=1)):
        with pytest.raises(CourseError):
            scaling_profile(**kwargs)


def test_widget_builds_and_answers_its_sliders():
    from course_utils.widgets.residual_scaling import residual_scaling_widget

    w = residual_scaling_widget(depth=8)
    scale, depth, readout, _plot = w.children
    assert "scale 0.2" in readout.value and "8 blocks" in readout.value
    depth.value = 5
    assert "5 blocks" in readout.value
    scale.value = 1.0
    assert "scale 1," in readout.value and "unscaled" not in readout.value
    with pytest.raises(CourseError):
        residual_scaling_widget(depth=500)


# -- exercises ----------------------------------------------------------------------------------------------------


def test_exercise_1_block35_params(capsys):
    block = Block35(320, **V2_BLOCK35)
    right = costs.count_params(block)
    weights = sum(m.weight.numel() for m in block.modules() if isinstance(m, torch.nn.Conv2d))
    assert verdict_of(lesson05.check_block35_params, None) is None
    assert verdict_of(lesson05.check_block35_params, right) is True
    assert verdict_of(lesson05.check_block35_params, np.int64(right)) is True
    assert verdict_of(lesson05.check_block35_params, torch.tensor(float(right))) is True
    up = block.up.weight.numel() + block.up.bias.numel()
    for wrong in (weights, right - up, right - 320, right + 1, "123", [right], float("nan")):
        assert verdict_of(lesson05.check_block35_params, wrong) is False
    out = capsys.readouterr().out
    assert f"{right:,}" not in out.split("[correct]")[0] and str(right) not in out.split("[correct]")[0]


def test_exercise_2_std_after_20_blocks(capsys):
    profile = scaling_profile(0.2, 20)
    right = profile.block_std[-1]
    assert verdict_of(lesson05.check_std_after_20_blocks, right) is True
    assert verdict_of(lesson05.check_std_after_20_blocks, np.float32(right)) is True
    assert verdict_of(lesson05.check_std_after_20_blocks, round(right, 3)) is True
    unscaled = scaling_profile(1.0, 20).block_std[-1]
    for wrong in (unscaled, profile.stem_std, profile.growth, 2 * right, None):
        assert verdict_of(lesson05.check_std_after_20_blocks, wrong) is (None if wrong is None else False)
    out = capsys.readouterr().out.split("[correct]")[0]
    assert f"{right:.3f}" not in out and f"{right:.2f}" not in out


def test_exercise_3_most_macs(capsys):
    assert verdict_of(lesson05.check_most_macs, "inception_b") is True
    assert verdict_of(lesson05.check_most_macs, " Inception-B ") is True
    for wrong in ("stem", "inception_a", "reduction_a", "inception_c", "b", 3, ["inception_b"]):
        assert verdict_of(lesson05.check_most_macs, wrong) is False
    assert verdict_of(lesson05.check_most_macs, None) is None
    assert "inception_b" not in capsys.readouterr().out.split("[correct]")[0].split("one of")[0]


# -- the stored experiment: a short rerun has the stored file's shape ------------------------------------------


def test_stored_experiment_and_a_short_rerun_have_the_same_shape():
    result = load_result("residual_scaling")
    assert len(result["seeds"]) >= 3 and list(result["arms"]) == ["scale 1", "scale 0.2"]
    assert all(len(runs) == len(result["seeds"]) for runs in result["arms"].values())
    rerun = benchmark_script("exp_residual_scaling").run(seeds=[0], save=False, progress=False, epochs=1, depth=4,
                                                train_images=128, val_images=64, test_images=64)
    assert same_shape(result, rerun) == []
    run = rerun["arms"]["scale 1"][0]
    assert run["diverged"] in (0, 1) and 0 <= run["dead_channel_fraction"] <= 1 and len(run["init_block_std"]) == 4


def test_a_diverging_run_is_recorded_not_raised():
    script = benchmark_script("exp_residual_scaling")
    run = script.train_residual_stack(seed=0, scale=1.0, depth=2, lr=1e6, epochs=1, train_images=256,
                                      val_images=64, test_images=64)
    assert run["diverged"] == 1 and 1 <= run["diverged_step"] <= run["steps"]
