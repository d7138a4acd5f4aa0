"""Bad inputs, tried as a new learner would: every one is answered in the course's words (issue 16).

``RAISES`` is a table of calls that must fail. For each, the test asserts that

* the exception is one of course_utils' own (``checks.CourseException``; the
  ``CourseError``/``CourseTypeError`` ones are also ValueErrors),
* the message names the argument that was wrong (a whole word, e.g. ``lr``),
* the raise site is in course_utils: the exception is raised by course code that
  says what happened, not by a frame inside torch (where a learner would read
  ``conv.py`` and a dtype they never chose).

``EXPLAINS`` is the same for the exercise checks, which never raise: each odd
answer gets exactly one printed ``[not yet]`` verdict and the check returns None.
``ACCEPTS`` lists inputs that used to be refused or misread and must now work
(numpy integers, one photo named as a string, ...).

Counts per area: ``python tests/test_bad_inputs.py`` prints them.
"""
from __future__ import annotations

import functools
import math
import re
import warnings
from collections import Counter
from pathlib import Path

import numpy as np
import pytest
import torch
from torch import nn
from torch.utils.data import DataLoader, TensorDataset

import course_utils
from course_utils import checkpoints, costs, data, explorers, train, viz
from course_utils.checks import CourseException
from course_utils.exercises import core, lesson01, lesson07
from course_utils.exercises.core import exercise_check, verdict_of
from course_utils.models import create_model
from course_utils.runtime import pick_device, seed_everything

PACKAGE_DIR = Path(course_utils.__file__).resolve().parent


pytestmark = pytest.mark.usefixtures("one_thread")  # conftest.py: one torch thread


# ---------------------------------------------------------------------------- small, cached fixtures
@functools.lru_cache(maxsize=None)
def mini(name: str = "mini_googlenet", **kwargs) -> nn.Module:
    torch.manual_seed(0)
    return create_model(name, **kwargs).eval()


def image(dtype=torch.float32, shape=(1, 3, 48, 48)) -> torch.Tensor:
    return torch.rand(shape).to(dtype)


class Tiny(nn.Module):
    """conv-BN-pool-linear: trains in milliseconds."""

    def __init__(self, num_classes: int = 4) -> None:
        super().__init__()
        self.num_classes = num_classes
        self.body = nn.Sequential(nn.Conv2d(3, 4, 3, padding=1), nn.BatchNorm2d(4), nn.ReLU(),
                                  nn.AdaptiveAvgPool2d(1), nn.Flatten())
        self.fc = nn.Linear(4, num_classes)

    def forward(self, x):
        return self.fc(self.body(x))


def loader(n: int = 16, num_classes: int = 4, batch_size: int = 8, labels=None, images=None) -> DataLoader:
    g = torch.Generator().manual_seed(0)
    x = torch.randn(n, 3, 8, 8, generator=g) if images is None else images
    y = torch.arange(n) % num_classes if labels is None else labels
    return DataLoader(TensorDataset(x, y), batch_size=batch_size)


def fit(model=None, train_loader=None, **kwargs):
    kwargs.setdefault("progress", False)
    kwargs.setdefault("epochs", 1)
    return train.fit(Tiny() if model is None else model, loader() if train_loader is None else train_loader, **kwargs)


def with_nan_pixel() -> DataLoader:
    x = torch.randn(16, 3, 8, 8)
    x[3, 0, 1, 1] = float("nan")
    return loader(images=x)


def saved(tmp: Path) -> Path:
    return checkpoints.save_checkpoint(mini(), tmp / "m.pt", arch="mini_googlenet", accuracy=0.5)


def flipped_copy(tmp: Path) -> Path:
    """mini_googlenet's shipped checkpoint with bytes flipped inside its largest weight tensor."""
    import zipfile

    shipped = checkpoints.checkpoints_dir() / "mini_googlenet.pt"
    raw = bytearray(shipped.read_bytes())
    with zipfile.ZipFile(shipped) as archive:
        entry = max(archive.infolist(), key=lambda i: i.file_size)
    start = entry.header_offset + 30 + len(entry.filename.encode()) + len(entry.extra)
    for offset in range(start + 64, start + 96):
        raw[offset] ^= 0x5A
    path = tmp / "damaged.pt"
    path.write_bytes(bytes(raw))
    return path


def truncated_copy(tmp: Path) -> Path:
    raw = (checkpoints.checkpoints_dir() / "mini_googlenet.pt").read_bytes()
    path = tmp / "half.pt"
    path.write_bytes(raw[: len(raw) // 2])
    return path


def zero_cam() -> viz.GradCam:
    heat = torch.zeros(8, 8)
    return viz.GradCam(heatmap=heat, layer_map=heat, target=0, probability=0.5, predicted=0, layer="x",
                       branch=None, image=None)


CATALOG = {"m": {"stages": ["conv1", "inception3a"], "branches": ["inception3a"], "default": "inception3a"}}


# ---------------------------------------------------------------------------- the table
# (area, case id, call taking the tmp folder, the argument's name that the message must contain)
RAISES = [
    # -- models -------------------------------------------------------------------
    ("models", "typo in the model name", lambda t: create_model("mini_googlnet"), "name"),
    ("models", "model name is a number", lambda t: create_model(3), "name"),
    ("models", "num_classes negative", lambda t: create_model("mini_googlenet", num_classes=-1), "num_classes"),
    ("models", "num_classes a float", lambda t: create_model("mini_googlenet", num_classes=2.5), "num_classes"),
    ("models", "num_classes a string", lambda t: create_model("mini_googlenet", num_classes="10"), "num_classes"),
    ("models", "num_classes True", lambda t: create_model("mini_googlenet", num_classes=True), "num_classes"),
    ("models", "width_mult zero", lambda t: create_model("mini_googlenet", width_mult=0), "width_mult"),
    ("models", "width_mult a word", lambda t: create_model("mini_googlenet", width_mult="wide"), "width_mult"),
    ("models", "width_mult NaN", lambda t: create_model("mini_googlenet", width_mult=float("nan")), "width_mult"),
    ("models", "in_chans zero", lambda t: create_model("mini_googlenet", in_chans=0), "in_chans"),
    ("models", "aux_logits a string", lambda t: create_model("mini_googlenet", aux_logits="yes"), "aux_logits"),
    ("models", "drop_rate 1", lambda t: create_model("mini_googlenet", drop_rate=1.0), "drop_rate"),
    ("models", "pretrained a string", lambda t: create_model("mini_googlenet", pretrained="yes"), "pretrained"),
    ("models", "uint8 images from the dataset", lambda t: mini()(image(torch.uint8)), "x"),
    ("models", "float64 images", lambda t: mini()(image(torch.float64)), "x"),
    ("models", "bool images", lambda t: mini()(image(torch.bool)), "x"),
    ("models", "channels-last batch", lambda t: mini()(image(shape=(2, 48, 48, 3))), "x"),
    ("models", "one channels-last image", lambda t: mini()(image(shape=(48, 48, 3))), "x"),
    ("models", "no batch dimension", lambda t: mini()(image(shape=(3, 48, 48))), "x"),
    ("models", "grayscale image", lambda t: mini()(image(shape=(1, 1, 48, 48))), "x"),
    ("models", "a numpy array", lambda t: mini()(np.zeros((1, 3, 48, 48), np.float32)), "x"),
    ("models", "a list", lambda t: mini()([[0.0]]), "x"),
    ("models", "too small an image", lambda t: mini()(image(shape=(1, 3, 8, 8))), "x"),
    ("models", "aux heads trained on one image",
     lambda t: mini("mini_inception_v3", aux_logits=True).train()(image(shape=(1, 3, 48, 48))), "x"),
    ("models", "reset_classifier(-1)", lambda t: create_model("mini_googlenet").reset_classifier(-1), "num_classes"),
    # -- costs ----------------------------------------------------------------------
    ("costs", "kernel_size a float", lambda t: costs.conv_params(64, 128, 2.5), "kernel_size"),
    ("costs", "in_channels a string", lambda t: costs.conv_params("64", 128, 3), "in_channels"),
    ("costs", "groups do not divide", lambda t: costs.conv_params(64, 128, 3, groups=5), "groups"),
    ("costs", "bias a string", lambda t: costs.conv_params(64, 128, 3, bias="yes"), "bias"),
    ("costs", "input_size with a zero", lambda t: costs.conv_macs(3, 8, 3, (10, 0)), "input_size"),
    ("costs", "stride zero", lambda t: costs.conv_output_size(8, 3, stride=0), "stride"),
    ("costs", "padding negative", lambda t: costs.conv_output_size(8, 3, padding=-1), "padding"),
    ("costs", "kernel larger than the input", lambda t: costs.conv_output_size(4, 7), "kernel_size"),
    ("costs", "kernel_size a triple", lambda t: costs.conv_output_size(8, (3, 3, 3)), "kernel_size"),
    ("costs", "receptive_field of bare numbers", lambda t: costs.receptive_field([3, 3]), "layers"),
    ("costs", "receptive_field of (k, s) without a name", lambda t: costs.receptive_field([(3, 2)]), "layers"),
    ("costs", "receptive_field of a module", lambda t: costs.receptive_field(nn.Conv2d(3, 3, 3)), "layers"),
    ("costs", "receptive_field of a number", lambda t: costs.receptive_field(7), "layers"),
    ("costs", "receptive_field of nothing", lambda t: costs.receptive_field([]), "layers"),
    ("costs", "count_macs of a model name", lambda t: costs.count_macs("mini_googlenet", (1, 3, 48, 48)), "module"),
    ("costs", "count_macs with the wrong channels", lambda t: costs.count_macs(nn.Conv2d(3, 8, 3), (1, 4, 8, 8)), "inputs"),
    ("costs", "count_macs of a word", lambda t: costs.count_macs(nn.Conv2d(3, 3, 1), "image"), "inputs"),
    ("costs", "count_macs shape with a zero", lambda t: costs.count_macs(nn.Conv2d(3, 3, 1), (1, 3, 0, 4)), "inputs"),
    ("costs", "cost_breakdown depth 0", lambda t: costs.cost_breakdown(nn.Conv2d(3, 3, 1), (1, 3, 4, 4), depth=0), "depth"),
    ("costs", "cost_breakdown typo in expand",
     lambda t: costs.cost_breakdown(nn.Sequential(nn.Conv2d(3, 3, 1)), (1, 3, 4, 4), expand=["O"]), "expand"),
    ("costs", "measure_latency repeats 0", lambda t: costs.measure_latency(nn.Conv2d(3, 3, 1), (1, 3, 4, 4), repeats=0), "repeats"),
    ("costs", "measure_latency warmup -1", lambda t: costs.measure_latency(nn.Conv2d(3, 3, 1), (1, 3, 4, 4), warmup=-1), "warmup"),
    ("costs", "format_count of a word", lambda t: costs.format_count("many"), "n"),
    ("costs", "linear_params 0 features", lambda t: costs.linear_params(0, 3), "in_features"),
    ("costs", "receptive_field_layers of a name", lambda t: costs.receptive_field_layers("mini_googlenet"), "module"),
    ("costs", "count_params of a name", lambda t: costs.count_params("mini_googlenet"), "module"),
    ("costs", "fuse_for_inference of a name", lambda t: _fuse("mini_googlenet"), "model"),
    # -- data -------------------------------------------------------------------------
    ("data", "n zero", lambda t: data.generate_shapes(n=0), "n"),
    ("data", "n a float", lambda t: data.generate_shapes(n=2.5), "n"),
    ("data", "size too small", lambda t: data.generate_shapes(n=10, size=16), "size"),
    ("data", "seed negative", lambda t: data.generate_shapes(n=10, seed=-1), "seed"),
    ("data", "split misspelt", lambda t: data.generate_shapes(n=10, split="validation"), "split"),
    ("data", "batch_size zero", lambda t: data.embedded_loaders(batch_size=0), "batch_size"),
    ("data", "batch_size a string", lambda t: data.embedded_loaders(batch_size="64"), "batch_size"),
    ("data", "eval_batch_size zero", lambda t: data.embedded_loaders(eval_batch_size=0), "eval_batch_size"),
    ("data", "sizes with a typo", lambda t: data.embedded_loaders(sizes={"trian": 100}), "sizes"),
    ("data", "unknown photo", lambda t: data.load_photo("lena"), "name"),
    ("data", "photo size zero", lambda t: data.load_photo("chelsea", size=0), "size"),
    ("data", "photo_batch size negative", lambda t: data.photo_batch(["chelsea"], size=-1), "size"),
    ("data", "photo_batch given a model as preprocess", lambda t: data.photo_batch(["chelsea"], preprocess=mini()), "preprocess"),
    ("data", "photo_batch of a number", lambda t: data.photo_batch(5), "names"),
    ("data", "photo_batch with a typo", lambda t: data.photo_batch(["chelsae"]), "name"),
    ("data", "augment as text", lambda t: data.embedded_dataset("test", n=10, augment="yes"), "augment"),
    ("data", "denormalize a list", lambda t: data.denormalize([0.5, 0.5]), "x"),
    # -- checkpoints ------------------------------------------------------------------------
    ("checkpoints", "flipped bytes in the weights", lambda t: checkpoints.load_checkpoint(flipped_copy(t)), "damaged.pt"),
    ("checkpoints", "truncated file", lambda t: checkpoints.load_checkpoint(truncated_copy(t)), "half.pt"),
    ("checkpoints", "typo in the checkpoint name", lambda t: checkpoints.load_checkpoint("mini_googlnet"), "path_or_name"),
    ("checkpoints", "checkpoint name a number", lambda t: checkpoints.load_checkpoint(3), "path_or_name"),
    ("checkpoints", "another architecture requested",
     lambda t: checkpoints.load_checkpoint("mini_googlenet", arch="mini_xception"), "mini_xception"),
    ("checkpoints", "save with an unknown arch",
     lambda t: checkpoints.save_checkpoint(mini(), t / "x.pt", arch="mini_googlnet"), "arch"),
    ("checkpoints", "save with arch_kwargs that build another model",
     lambda t: checkpoints.save_checkpoint(mini(), t / "x.pt", arch="mini_googlenet", arch_kwargs={"num_classes": 5}),
     "arch_kwargs"),
    ("checkpoints", "save with the accuracy in percent",
     lambda t: checkpoints.save_checkpoint(mini(), t / "x.pt", arch="mini_googlenet", accuracy=95), "accuracy"),
    ("checkpoints", "save with the accuracy as text",
     lambda t: checkpoints.save_checkpoint(mini(), t / "x.pt", arch="mini_googlenet", accuracy="0.9"), "accuracy"),
    ("checkpoints", "save with a negative time",
     lambda t: checkpoints.save_checkpoint(mini(), t / "x.pt", arch="mini_googlenet", train_time_s=-1), "train_time_s"),
    ("checkpoints", "save with half='no'",
     lambda t: checkpoints.save_checkpoint(mini(), t / "x.pt", arch="mini_googlenet", half="no"), "half"),
    ("checkpoints", "save a model name", lambda t: checkpoints.save_checkpoint("mini_googlenet", t / "x.pt", arch="mini_googlenet"),
     "model"),
    ("checkpoints", "save to a folder", lambda t: checkpoints.save_checkpoint(mini(), t, arch="mini_googlenet"), "path"),
    ("checkpoints", "save a tensor in extra",
     lambda t: checkpoints.save_checkpoint(mini(), t / "x.pt", arch="mini_googlenet", extra={"acc": torch.tensor(0.5)}),
     "extra"),
    ("checkpoints", "extra overriding a standard field",
     lambda t: checkpoints.save_checkpoint(mini(), t / "x.pt", arch="mini_googlenet", extra={"accuracy": 1.0}), "extra"),
    ("checkpoints", "load onto a device that does not exist",
     lambda t: checkpoints.load_checkpoint("mini_googlenet", device="tpu"), "device"),
    ("checkpoints", "load_weights into another architecture",
     lambda t: checkpoints.load_weights(mini("mini_xception"), saved(t)), "mini_googlenet"),
    # -- training ------------------------------------------------------------------------------
    ("training", "fit given a Dataset", lambda t: fit(train_loader=loader().dataset), "train_loader"),
    ("training", "fit given a model name", lambda t: fit(model="mini_googlenet"), "model"),
    ("training", "fit given a tensor", lambda t: fit(train_loader=torch.zeros(4, 3, 8, 8)), "train_loader"),
    ("training", "fit with the arguments swapped", lambda t: train.fit(loader(), Tiny(), progress=False), "model"),
    ("training", "val_loader a Dataset", lambda t: fit(val_loader=loader().dataset), "val_loader"),
    ("training", "lr infinite", lambda t: fit(lr=float("inf")), "lr"),
    ("training", "lr as text", lambda t: fit(lr="0.1"), "lr"),
    ("training", "lr zero", lambda t: fit(lr=0), "lr"),
    ("training", "lr so high the loss blows up", lambda t: fit(lr=1e6, schedule=None, epochs=3), "lr"),
    ("training", "a NaN pixel", lambda t: fit(train_loader=with_nan_pixel()), "train_loader"),
    ("training", "labels beyond the classes", lambda t: fit(model=Tiny(num_classes=2)), "num_classes"),
    ("training", "one-hot labels", lambda t: fit(train_loader=loader(labels=torch.eye(4).repeat(4, 1))), "train_loader"),
    ("training", "epochs zero", lambda t: fit(epochs=0), "epochs"),
    ("training", "epochs a float", lambda t: fit(epochs=2.5), "epochs"),
    ("training", "label_smoothing as text", lambda t: fit(label_smoothing="0.1"), "label_smoothing"),
    ("training", "label_smoothing 1", lambda t: fit(label_smoothing=1.0), "label_smoothing"),
    ("training", "grad_clip zero", lambda t: fit(grad_clip=0), "grad_clip"),
    ("training", "optimizer misspelt", lambda t: fit(optimizer="adam"), "optimizer"),
    ("training", "schedule unknown", lambda t: fit(schedule="step"), "schedule"),
    ("training", "weight_decay negative", lambda t: fit(weight_decay=-1), "weight_decay"),
    ("training", "aux_weight negative", lambda t: fit(aux_weight=-0.3), "aux_weight"),
    ("training", "amp as text", lambda t: fit(amp="yes"), "amp"),
    ("training", "device unknown", lambda t: fit(device="tpu"), "device"),
    ("training", "aux heads and a last batch of one",
     lambda t: fit(model=create_model("mini_inception_v3", aux_logits=True),
                   train_loader=DataLoader(TensorDataset(torch.rand(65, 3, 48, 48), torch.arange(65) % 10), batch_size=64)),
     "train_loader"),
    ("training", "evaluate with too few num_classes", lambda t: train.evaluate(Tiny(), loader(), num_classes=2), "num_classes"),
    ("training", "evaluate with num_classes as text", lambda t: train.evaluate(Tiny(), loader(), num_classes="4"), "num_classes"),
    ("training", "evaluate given a Dataset", lambda t: train.evaluate(Tiny(), loader().dataset), "loader"),
    ("training", "make_optimizer misspelt", lambda t: train.make_optimizer(Tiny(), "adam"), "optimizer"),
    ("training", "make_schedule unknown", lambda t: train.make_schedule(torch.optim.SGD(Tiny().parameters(), 0.1), "step", 10),
     "schedule"),
    ("training", "recipe key misspelt", lambda t: train.recipe_for("mini_googlenet", epoch=1), "epoch"),
    ("training", "train_mini typo", lambda t: train.train_mini("mini_googlnet"), "name"),
    ("training", "seed negative", lambda t: seed_everything(-1), "seed"),
    ("training", "seed as text", lambda t: seed_everything("1"), "seed"),
    ("training", "pick_device unknown", lambda t: pick_device("gpu"), "device"),
    # -- viz -------------------------------------------------------------------------------------
    ("viz", "grad_cam given the layer module", lambda t: viz.grad_cam(mini(), image(), layer=mini().inception3b), "layer"),
    ("viz", "grad_cam layer misspelt", lambda t: viz.grad_cam(mini(), image(), layer="inception3x"), "layer"),
    ("viz", "grad_cam target out of range", lambda t: viz.grad_cam(mini(), image(), target=99), "target"),
    ("viz", "grad_cam on uint8 pixels", lambda t: viz.grad_cam(mini(), image(torch.uint8)), "x"),
    ("viz", "grad_cam on a photo name", lambda t: viz.grad_cam(mini(), "chelsea"), "x"),
    ("viz", "grad_cam on a batch of two", lambda t: viz.grad_cam(mini(), image(shape=(2, 3, 48, 48))), "x"),
    ("viz", "grad_cam_branches of a plain conv", lambda t: viz.grad_cam_branches(mini(), image(), layer="conv1"), "conv1"),
    ("viz", "capture_activations of no layer", lambda t: viz.capture_activations(mini(), image(), []), "layers"),
    ("viz", "feature maps with max_channels 0",
     lambda t: viz.plot_feature_maps({"a": torch.rand(1, 4, 5, 5)}, max_channels=0), "max_channels"),
    ("viz", "filters with max_filters 0", lambda t: viz.plot_first_layer_filters(mini(), max_filters=0), "max_filters"),
    ("viz", "box outside the map", lambda t: viz.cam_mass_in_box(torch.rand(8, 8), (0, 0, 100, 100)), "box"),
    ("viz", "box as a word", lambda t: viz.cam_mass_in_box(torch.rand(8, 8), "box"), "box"),
    ("viz", "pointing game with half a box", lambda t: viz.cam_peak_in_box(torch.rand(8, 8), (0, 0)), "box"),
    ("viz", "capture_activations given a module", lambda t: viz.capture_activations(mini(), image(), mini().conv1), "layer"),
    ("viz", "feature maps of a word", lambda t: viz.plot_feature_maps("maps"), "maps"),
    ("viz", "plot_grad_cam of a word", lambda t: viz.plot_grad_cam("cam"), "cam"),
    ("viz", "sanity check on the module", lambda t: viz.randomization_sanity_check(mini(), image(), layer=mini().conv1),
     "layer"),
    ("viz", "heatmap with a batch dimension", lambda t: viz.cam_mass_in_box(torch.rand(1, 8, 8), (0, 0, 4, 4)), "heatmap"),
    # -- widgets ------------------------------------------------------------------------------------
    ("widgets", "kernel size the menu lacks", lambda t: _cost_widget(kernel_size=4), "kernel_size"),
    ("widgets", "channels beyond the slider", lambda t: _cost_widget(in_channels=2000), "in_channels"),
    ("widgets", "misspelt keyword", lambda t: _cost_widget(in_chanels=64), "in_chanels"),
    ("widgets", "spatial as text", lambda t: _cost_widget(spatial="28"), "spatial"),
    ("widgets", "bottleneck with an even kernel", lambda t: explorers.bottleneck_comparison(kernel_size=4), "kernel_size"),
    ("widgets", "bottleneck with no reduction", lambda t: explorers.bottleneck_comparison(reduction=0), "reduction"),
    ("widgets", "menus with nothing to choose", lambda t: explorers.seeing_inside_choices([], {}), "images"),
    ("widgets", "menu view misspelt", lambda t: explorers.seeing_inside_choices(["cat"], CATALOG, view="saliency"), "view"),
    ("widgets", "menu image unknown", lambda t: explorers.seeing_inside_choices(["cat"], CATALOG, image="dog"), "image"),
    ("widgets", "picker widget with no models", lambda t: _seeing_widget({}, {}), "models"),
]


def _fuse(model):
    from course_utils.models import fuse_for_inference

    return fuse_for_inference(model)


def _cost_widget(**kwargs):
    from course_utils.widgets.bottleneck import cost_explorer_widget

    return cost_explorer_widget(**kwargs)


def _seeing_widget(models, inputs):
    from course_utils.widgets.seeing_inside import seeing_inside_widget

    return seeing_inside_widget(models, inputs)


def _raise_site(excinfo) -> Path:
    """The file of the frame that raised the exception (the innermost traceback entry)."""
    return Path(str(excinfo.traceback[-1].path)).resolve()


@pytest.mark.parametrize("area, case, call, name", RAISES, ids=[f"{r[0]}: {r[1]}" for r in RAISES])
def test_a_bad_input_is_answered_in_the_courses_words(area, case, call, name, tmp_path):
    torch.manual_seed(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # tqdm/captum chatter is not what this test is about
        with pytest.raises(CourseException) as info:
            call(tmp_path)
    message = str(info.value)
    assert re.search(rf"(?<![\w.]){re.escape(name)}(?!\w)", message), f"{name!r} not named in: {message}"
    site = _raise_site(info)
    assert PACKAGE_DIR in site.parents, f"raised from {site}, not from course_utils: {message}"
    assert "/torch/" not in str(site)
    assert len(message) < 1500, "a message a learner can read, not a wall of text"


# ---------------------------------------------------------------------------- exercise checks: explain, never raise
@exercise_check
def check_params(answer) -> None:
    """An exercise in the lessons' pattern (the answer 73,856 is lesson 01's conv parameter count)."""
    core.check_number(answer, 73_856, title="Parameters", confirm="right.", hint="count the weights and the biases.",
                      mistakes={73_728: "add the biases."})


EXPLAINS = [
    ("exercises", "a number in quotes", check_params, ("73856",)),
    ("exercises", "a word", check_params, ("lots",)),
    ("exercises", "NaN", check_params, (float("nan"),)),
    ("exercises", "infinity", lesson01.check_branch_macs, (float("inf"),)),
    ("exercises", "a huge integer", lesson01.check_branch_macs, (10**400,)),
    ("exercises", "a huge float", lesson01.check_receptive_field, (1e308,)),
    ("exercises", "a tensor of three values", lesson01.check_receptive_field, (torch.ones(3),)),
    ("exercises", "a list holding the number", check_params, ([73_856],)),
    ("exercises", "True", check_params, (True,)),
    ("exercises", "a complex number", check_params, (3 + 4j,)),
    ("exercises", "an object", lesson01.check_receptive_field, (object(),)),
    ("exercises", "a function that raises", lesson01.check_conv1x1_to_linear, (lambda conv: 1 / 0,)),
    ("exercises", "not a function", lesson01.check_conv1x1_to_linear, (42,)),
    ("exercises", "an all-zero Grad-CAM map", lesson07.check_cam_mass, (0.5, zero_cam(), (2, 2, 6, 6))),
    ("exercises", "a box of two numbers", lesson07.check_cam_mass, (0.5, zero_cam(), (2, 2))),
    ("exercises", "widths as a word", lesson07.check_branch_widths, ("many", mini())),
    ("exercises", "widths with NaN", lesson07.check_branch_widths, ([float("nan")] * 4, mini())),
    ("exercises", "a fraction as a word", lesson07.check_cam_mass, ("half", zero_cam(), (2, 2, 6, 6))),
]


@pytest.mark.parametrize("area, case, check, args", EXPLAINS, ids=[f"{r[0]}: {r[1]}" for r in EXPLAINS])
def test_an_exercise_check_explains_instead_of_raising(area, case, check, args, capsys):
    assert verdict_of(check, *args) is False  # printed once, returned None, and judged "not yet"
    out = capsys.readouterr().out
    assert out.startswith("[not yet]") and out.count("\n") == 1 and "Traceback" not in out


# ---------------------------------------------------------------------------- once refused or misread, now accepted
def test_numpy_integers_are_integers_everywhere(tmp_path):
    i = np.int64
    assert create_model("mini_googlenet", num_classes=i(7)).fc.out_features == 7
    assert costs.conv_params(i(64), np.int32(128), i(3)) == 73_856
    assert costs.receptive_field([("conv", i(3), i(2))])[-1].size == 3
    assert len(data.generate_shapes(n=i(10), seed=i(1)).labels) == 10
    assert data.load_photo("chelsea", size=i(32)).shape[-2:].numel() > 0
    assert train.fit(Tiny(), loader(), epochs=i(1), progress=False).epoch == [1]
    assert seed_everything(i(3)) == 3
    path = checkpoints.save_checkpoint(create_model("mini_googlenet", num_classes=i(10)), tmp_path / "n.pt",
                                       arch="mini_googlenet", arch_kwargs={"num_classes": i(10)}, accuracy=np.float32(0.5))
    assert checkpoints.load_checkpoint(path)[1]["arch_kwargs"] == {"num_classes": 10}
    assert _cost_widget(in_channels=i(64)) is not None
    assert verdict_of(lesson01.check_receptive_field, i(19)) is True


def test_one_photo_named_as_a_string_is_one_photo():
    assert data.photo_batch("chelsea", size=32).shape == (1, 3, 32, 32)


def test_the_silent_cases_now_speak(tmp_path):
    """The issue's silent failures: each one now raises (or warns) instead of going on."""
    with pytest.raises(checkpoints.CheckpointError, match="checksum"):
        checkpoints.load_checkpoint(flipped_copy(tmp_path))
    with pytest.raises(train.TrainingDivergedError, match="exploded from|no longer a finite number"):
        fit(lr=1e6, schedule=None, epochs=3)
    with pytest.raises(ValueError, match="NaN or infinite pixel"):
        fit(train_loader=with_nan_pixel())
    with pytest.raises(ValueError, match="not a percentage"):
        checkpoints.save_checkpoint(mini(), tmp_path / "x.pt", arch="mini_googlenet", accuracy=95)
    with pytest.raises(TypeError, match="no name"):
        costs.receptive_field([(3, 2)])
    broken = Tiny()
    with torch.no_grad():
        broken.fc.bias.fill_(float("nan"))
    with pytest.warns(UserWarning, match="NaN or infinite"):
        train.evaluate(broken, loader())


def counts() -> Counter:
    return Counter([r[0] for r in RAISES] + [r[0] for r in EXPLAINS])


if __name__ == "__main__":  # python tests/test_bad_inputs.py: the table's size per area
    table = counts()
    for area, n in sorted(table.items()):
        print(f"{area:12s} {n:3d}")
    print(f"{'total':12s} {sum(table.values()):3d}")
