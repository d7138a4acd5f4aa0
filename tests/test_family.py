"""Lesson 08, the family compared: the table, the interleaved latency, the compare-models explorer and widget."""
import math
from pathlib import Path

import pytest

from course_utils.experiments import benchmark_script
from course_utils import family
from course_utils.checkpoints import read_checkpoint
from course_utils.checks import CourseError
from course_utils.explorers.compare_models import AXES, best_ratio, compare_points, suggest_log
from course_utils.models.records import PAPER_ACCURACY, RECORDS

ROOT = Path(__file__).resolve().parents[1]
ORDER = ["googlenet_paper", "googlenet", "bn_inception", "inception_v3", "inception_v4", "inception_resnet_v1",
         "inception_resnet_v2", "xception"]


@pytest.fixture(scope="module")
def rows():
    return family.family_table(latency=False)


@pytest.fixture(scope="module")
def small_run():
    """Two minis, eager and folded, one interleaved round: the pipeline, not the timings."""
    return family.measure_family_latency(["mini_googlenet", "mini_xception"], threads=1, rounds=2, warmup=1)


def test_eight_rows_in_order_with_the_records_counts(rows):
    assert [r.name for r in rows] == ORDER
    assert [r.year for r in rows] == [2014, 2014, 2015, 2015, 2016, 2016, 2016, 2016]
    for r in rows:
        rec = RECORDS[r.name]
        assert (r.params, r.macs, r.input_size) == (rec.params, rec.macs, rec.input_size)
        assert r.paper_url.startswith("https://arxiv.org/abs/")
        assert r.latency_eager_ms is None and r.latency_note == "latency not requested"


def test_minis_and_their_checkpoint_accuracy(rows):
    by_name = {r.name: r for r in rows}
    assert by_name["googlenet_paper"].mini is None and by_name["googlenet_paper"].mini_accuracy is None
    assert by_name["googlenet"].mini == "mini_googlenet" and "5x5" in by_name["googlenet"].mini_note
    for r in rows:
        if r.mini is None:
            continue
        assert r.mini == f"mini_{r.name}"
        assert r.mini_accuracy == read_checkpoint(r.mini)[1]["accuracy"]
        assert (r.mini_params, r.mini_macs) == (RECORDS[r.mini].params, RECORDS[r.mini].macs)


def test_imagenet_figures_cited_or_measured_and_labelled(rows):
    by_name = {r.name: r for r in rows}
    paper = by_name["googlenet_paper"]
    assert paper.imagenet_top1 is None and paper.imagenet_top5 == pytest.approx(89.93)
    assert "top-1 not reported" in paper.imagenet_source and paper.imagenet_origin == "paper"
    tv = by_name["googlenet"]
    assert tv.imagenet_origin == "release" and tv.imagenet_source.startswith(family.RELEASE_SOURCE)
    assert (tv.imagenet_top1, tv.imagenet_top5) == (69.778, 89.53)
    x = by_name["xception"]
    assert (x.imagenet_top1, x.imagenet_top5) == (79.0, 94.5)
    assert "1610.02357, Table 1" in x.imagenet_source and "78.2 / 94.1" in x.imagenet_source
    for name in ("bn_inception", "inception_v3", "inception_v4", "inception_resnet_v1", "inception_resnet_v2"):
        r = by_name[name]
        assert r.imagenet_origin == "paper" and r.imagenet_source == PAPER_ACCURACY[name].source
        assert r.imagenet_top1 == PAPER_ACCURACY[name].top1 and "not a paper" not in r.imagenet_source
    text = family.text_table(rows)
    assert "89.5*" in text and "measured by torchvision" in text


def test_table_builds_without_the_stored_latency(tmp_path, monkeypatch):
    (tmp_path / "checkpoints").symlink_to(ROOT / "data" / "checkpoints")  # the minis, but no results/
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    rows = family.family_table()
    assert len(rows) == 8 and all(r.latency_eager_ms is None and r.latency_folded_ms is None for r in rows)
    assert "bench_family.py" in rows[0].latency_note
    assert "bench_family.py" in family.markdown_table(rows)
    left = compare_points(rows, "latency_eager", "imagenet_top1")
    assert left.points == () and len(left.left_out) == 8 and len(left.left_out_by_reason()) == 1


def test_measured_latency_positive_and_outputs_match(small_run):
    assert small_run["name"] == family.RESULT_NAME and small_run["recipe"]["rounds"] == 2
    for arm in ("eager", "folded"):
        for name in ("mini_googlenet", "mini_xception"):
            t = small_run["arms"][arm][name]
            assert 0 < t["min_ms"] <= t["median_ms"] <= t["max_ms"] and len(t["samples_ms"]) == 2
    for name, info in small_run["models"].items():
        assert info["outputs_match"] and info["max_abs_diff"] <= 1e-3 * info["max_abs_output"] + 1e-6
        assert info["max_abs_output"] > 0.01 and info["folded_over_eager"] > 0
        assert info["macs"] == RECORDS[name].macs
    assert small_run["machine"]["torch_threads"] == 1 and "load_average_1min" in small_run["machine"]


def test_table_takes_a_measured_run(small_run):
    run = {**small_run, "arms": {arm: {"googlenet" if n == "mini_googlenet" else n: v for n, v in a.items()}
                                 for arm, a in small_run["arms"].items()}}
    rows = family.family_table(run)
    g = next(r for r in rows if r.name == "googlenet")
    assert g.latency_eager_ms == run["arms"]["eager"]["googlenet"]["median_ms"] and g.folded_speedup > 0
    lo, hi = g.latency_folded_range_ms
    assert lo <= g.latency_folded_ms <= hi and "1 thread)" in g.latency_note
    assert "not in the latency run" in rows[0].latency_note
    fig = family.plot_family(rows)
    assert len(fig.axes) == 2 and "eager" in fig.axes[1].get_title()
    with pytest.raises(CourseError):
        family.family_table({"no": "arms"})


def test_measure_refuses_bad_arguments():
    with pytest.raises(CourseError, match="Did you mean 'xception'"):
        family.measure_family_latency(["xceptoin"], rounds=1)
    with pytest.raises(CourseError, match="amp"):
        family.measure_family_latency(["mini_googlenet"], rounds=1, amp=True)
    with pytest.raises(CourseError):
        family.measure_family_latency(["mini_googlenet"], rounds=0)


def test_compare_points_and_missing_values(rows):
    result = compare_points(rows, "macs", "imagenet_top1")
    assert [p.name for p in result.points] == ORDER[1:]  # GoogLeNet's paper gives no top-1
    assert result.left_out[0][0] == "GoogLeNet (paper)" and "top-1 not reported" in result.left_out[0][1]
    xc = next(p for p in result.points if p.name == "xception")
    assert xc.x == pytest.approx(8.357403496) and xc.y == 79.0
    minis = compare_points(rows, "params", "mini_accuracy")
    assert len(minis.points) == 7 and "no shipped mini" in minis.left_out[0][1]
    assert minis.points[0].y == pytest.approx(100 * rows[1].mini_accuracy)
    small = compare_points(rows, "mini_params", "mini_accuracy")
    assert [p.x for p in small.points] == [RECORDS[f"mini_{p.name}"].params / 1e6 for p in small.points]
    assert "left out" in result.summary() and result.x_label == AXES["macs"].label
    assert suggest_log("macs") and suggest_log("latency_folded") and not suggest_log("imagenet_top1")


@pytest.mark.parametrize("call, suggestion", [
    (lambda rows: compare_points(rows, "mac", "imagenet_top1"), "'macs'"),
    (lambda rows: compare_points(rows, "macs", "imagnet_top1"), "'imagenet_top1'"),
    (lambda rows: best_ratio(rows, "imagenet_top1", "param"), "'params'"),
    (lambda rows: suggest_log("Latency_eager"), "'latency_eager'"),
])
def test_bad_axis_names_get_a_suggestion(rows, call, suggestion):
    with pytest.raises(CourseError, match=f"Did you mean {suggestion}"):
        call(rows)


def test_bad_rows_are_refused():
    for bad in ([], "rows", [object()]):
        with pytest.raises(CourseError):
            compare_points(bad)


def test_best_ratio_ranks_top1_per_gmac(rows):
    ranking = best_ratio(rows, "imagenet_top1", "macs")
    values = [v for _, v in ranking.entries]
    assert values == sorted(values, reverse=True) and len(values) == 7
    assert ranking.best == "GoogLeNet (torchvision)" and ranking.entries[-1][0] == "Inception-ResNet-v2"
    assert math.isclose(ranking.entries[0][1], 69.778 / 1.498376192)
    assert ranking.left_out[0][0] == "GoogLeNet (paper)"
    fewest = best_ratio(rows, "params", "macs", highest_first=False)
    assert fewest.best == "Xception"  # the fewest parameters per MAC
    with pytest.raises(CourseError, match="both"):
        best_ratio(rows, "macs", "macs")


def test_widget_builds_redraws_and_refuses_bad_start_values(rows, monkeypatch):
    from course_utils.widgets import compare_models as module

    drawn = []
    real = module.plot_compare
    monkeypatch.setattr(module, "plot_compare", lambda result, **kw: drawn.append((result, kw)) or real(result, **kw))
    w = module.compare_models_widget(rows)
    x_axis, y_axis, boxes, readout, _plot = w.children
    log_x, log_y, labels = boxes.children
    assert (x_axis.value, y_axis.value, log_x.value, log_y.value, labels.value) == \
        ("macs", "imagenet_top1", True, False, True)
    assert len(drawn) == 1 and "7 models" in readout.value and "GoogLeNet (paper)" in readout.value
    y_axis.value = "mini_accuracy"
    assert len(drawn) == 2 and drawn[-1][0].y == "mini_accuracy" and "mini" in readout.value
    x_axis.value = "imagenet_top5"  # an accuracy axis: its log box switches off, one redraw
    assert len(drawn) == 3 and log_x.value is False and drawn[-1][1]["log_x"] is False
    labels.value = False
    assert len(drawn) == 4 and drawn[-1][1]["labels"] is False
    start = module.compare_models_widget(rows, x="params", y="latency_eager", log_y=True, labels=False)
    assert start.children[0].value == "params" and start.children[2].children[1].value is True
    with pytest.raises(CourseError, match="Did you mean 'params'"):
        module.compare_models_widget(rows, x="parms")
    with pytest.raises(CourseError):
        module.compare_models_widget(rows, log_x="yes")


def test_bench_dry_run_exits_0(capsys):
    bench = benchmark_script("bench_family")
    assert bench.main(["--dry-run", "--threads", "1"]) == 0
    out = capsys.readouterr().out
    assert "mini_googlenet" in out and "folded/eager" in out and "nothing written" in out


def test_readme_family_table_is_the_stored_one():
    """The README's family table is rendered from family_table() (stored latency): rerunning the benchmark means
    pasting markdown_table(family_table()) between the markers again."""
    from course_utils.family import family_table, markdown_table
    from course_utils.paths import REPO_ROOT

    readme = (REPO_ROOT / "README.md").read_text(encoding="utf-8")
    begin = readme.index("<!-- family table: begin")
    block = readme[readme.index("-->", begin) + 3:readme.index("<!-- family table: end -->")].strip()
    assert block == markdown_table(family_table()).strip(), (
        "README.md's family table differs from course_utils.family.markdown_table(family_table()): paste the new one")
