"""course_utils.experiments: stored experiments are written, read and summarized faithfully."""
import json
import math

import pytest

from course_utils import experiments


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_DATA_DIR", str(tmp_path))
    return tmp_path


def fake_run(seed, epochs, bonus=0.0):
    return {"test_acc": 0.5 + 0.01 * seed + bonus, "val_acc": [0.1 * (e + 1) + bonus for e in range(epochs)]}


def test_run_experiment_stores_every_arm_seed_and_machine_facts(data_dir):
    result = experiments.run_experiment(
        "toy", fake_run, {"a": {"bonus": 0.1}, "b": {}}, seeds=[0, 1, 2], recipe={"epochs": 3}, progress=False)
    stored = json.loads((data_dir / "results" / "toy.json").read_text())
    assert stored["arms"].keys() == {"a", "b"}
    assert [r["seed"] for r in stored["arms"]["a"]] == [0, 1, 2]
    assert stored["recipe"] == {"epochs": 3}
    assert {"torch", "torch_threads", "load_average_1min"} <= stored["machine"].keys()
    assert experiments.load_result("toy") == stored == json.loads(json.dumps(result))
    diff = experiments.paired_difference(experiments.metric(stored, "a", "test_acc"),
                                         experiments.metric(stored, "b", "test_acc"))
    assert diff.mean == pytest.approx(0.1) and diff.std == pytest.approx(0, abs=1e-12)
    assert experiments.same_shape(stored, experiments.run_experiment(
        "toy", fake_run, {"a": {}, "b": {}}, seeds=[5], recipe={"epochs": 1}, save=False, progress=False)) == []


def test_same_shape_reports_a_missing_metric():
    stored = {"arms": {"a": [{"seed": 0, "x": 1, "c": [1]}]}}
    assert experiments.same_shape(stored, {"arms": {"a": [{"seed": 0, "x": 1}]}})
    assert experiments.same_shape(stored, {"arms": {"b": [{"seed": 0, "x": 1, "c": [1]}]}})


def test_summary_and_interval_match_students_t():
    s = experiments.summarize([1.0, 2.0, 3.0])
    assert (s.mean, s.std, s.n) == (2.0, 1.0, 3)
    assert s.ci95 == pytest.approx(4.303 / math.sqrt(3))
    d = experiments.paired_difference([3, 4, 5, 9], [1, 1, 1, 1])
    assert d.low < d.mean < d.high and d.excludes_zero
    with pytest.raises(ValueError, match="at least 2"):
        experiments.paired_difference([1], [2])


def test_missing_or_damaged_result_says_what_to_do(data_dir):
    with pytest.raises(experiments.ExperimentError, match="benchmarks/"):
        experiments.load_result("nothing_here")
    (data_dir / "results").mkdir(exist_ok=True)
    (data_dir / "results" / "broken.json").write_text("{not json")
    with pytest.raises(experiments.ExperimentError, match="restore it with git"):
        experiments.load_result("broken")
    with pytest.raises(ValueError, match="experiment name"):
        experiments.result_path("../escape")


def test_nonfinite_values_are_stored_as_json(data_dir):
    result = experiments.run_experiment(
        "div", lambda seed, epochs: {"loss": [1.0, float("nan"), float("inf")]}, {"x": {}}, [0], {"epochs": 1},
        progress=False)
    stored = experiments.load_result("div")
    assert stored["arms"]["x"][0]["loss"] == [1.0, None, 1e308]
    assert result["name"] == "div"


def test_plot_curves_draws_each_arm(data_dir):
    import matplotlib
    matplotlib.use("Agg")
    result = experiments.run_experiment(
        "p", fake_run, {"a": {"bonus": 0.1}, "b": {}}, seeds=[0, 1], recipe={"epochs": 3}, save=False, progress=False)
    ax = experiments.plot_curves(result, "val_acc")
    assert len(ax.get_legend().get_texts()) == 2


def test_plot_curves_is_silent_when_every_seed_diverged(recwarn):
    import matplotlib
    matplotlib.use("Agg")
    result = {"name": "d", "arms": {"a": [{"seed": s, "loss": [1.0, None]} for s in range(3)]}}
    experiments.plot_curves(result, "loss")
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_benchmark_script_loads_the_script_that_wrote_a_result_or_says_what_exists():
    module = experiments.benchmark_script("exp_transfer")
    assert module.NAME == "transfer_learning" and callable(module.run)
    with pytest.raises(experiments.ExperimentError, match="exp_transfer"):
        experiments.benchmark_script("exp_transfr")
    with pytest.raises(ValueError, match="script name"):
        experiments.benchmark_script("../etc/passwd")


def test_experiment_runner_is_a_scripts_run_with_recipe_changes(data_dir):
    run = experiments.experiment_runner("toy", fake_run, {"a": {"bonus": 0.1}, "b": {}}, seeds=[0, 1],
                                        recipe={"epochs": 3}, description="two arms")
    short = run(seeds=[2], save=False, progress=False, epochs=1)
    assert short["seeds"] == [2] and short["recipe"] == {"epochs": 1} and short["description"] == "two arms"
    assert not (data_dir / "results" / "toy.json").exists()
    stored = run(progress=False)
    assert stored["seeds"] == [0, 1] and (data_dir / "results" / "toy.json").exists()
    assert "toy.json" in run.__doc__
