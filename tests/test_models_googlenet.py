"""GoogLeNet (lesson 02): torchvision equivalence, the paper's Table 1, the mini variant, errors."""

import pytest
import torch
import torchvision
from torch import nn

from course_utils.costs import count_macs, count_params, cost_breakdown
from course_utils.models import AuxOutputs, create_model
from course_utils.models.googlenet import (
    GOOGLENET_TABLE1,
    GoogLeNet,
    GoogLeNetAux,
    Inception,
    convert_torchvision_googlenet,
)
from course_utils.models.config import scale_channels
from course_utils.models.registry import weight_source
from zoo_helpers import randomize_


def tv_googlenet(**kwargs) -> nn.Module:
    kwargs.setdefault("init_weights", False)  # init_weights=None would warn; randomize_ sets everything
    return torchvision.models.googlenet(weights=None, **kwargs)


# ---------------------------------------------------------------- torchvision layout
def test_params_and_macs_equal_torchvision():
    # The figures themselves are models.records (tested against the counter in test_models_common).
    assert count_params(create_model("googlenet", aux_logits=True)) == count_params(tv_googlenet(aux_logits=True))
    assert count_params(create_model("googlenet")) == count_params(tv_googlenet(aux_logits=False))
    ours, reference = create_model("googlenet").eval(), tv_googlenet(aux_logits=False).eval()
    assert count_macs(ours, (1, 3, 224, 224)) == count_macs(reference, (1, 3, 224, 224))


def test_eval_logits_equal_torchvision_after_conversion():
    torch.manual_seed(0)
    # the layout of torchvision's published checkpoint (weight_source's reference_kwargs)
    ref = randomize_(tv_googlenet(**weight_source("googlenet").reference_kwargs)).eval()
    ours = create_model("googlenet").eval()  # transform_input=True, no auxiliary heads
    ours.load_state_dict(convert_torchvision_googlenet(ref.state_dict()))  # strict
    x = torch.randn(2, 3, 224, 224)
    with torch.no_grad():
        expected, got = ref(x), ours(x)
    diff = (expected - got).abs().max().item()
    print(f"max |logit difference| = {diff:.2e} (logit scale {expected.abs().max().item():.1f})")
    assert diff <= 1e-4
    # The same weights without transform_input see differently scaled pixels: the test can fail.
    ours_raw = create_model("googlenet", transform_input=False).eval()
    ours_raw.load_state_dict(ours.state_dict())
    with torch.no_grad():
        assert (ours_raw(x) - expected).abs().max().item() > 1e-2


def test_converter_keeps_aux_heads_on_request_and_rejects_foreign_keys():
    ref = randomize_(tv_googlenet(aux_logits=True, transform_input=False), seed=1).eval()
    ours = create_model("googlenet", aux_logits=True, transform_input=False).eval()
    ours.load_state_dict(convert_torchvision_googlenet(ref.state_dict(), keep_aux=True))  # strict
    tap = torch.randn(2, 528, 14, 14)
    with torch.no_grad():
        assert torch.allclose(ours.aux2(tap), ref.aux2(tap), atol=1e-5)
    # by default the (untrained) auxiliary heads are dropped
    assert not any(k.startswith("aux") for k in convert_torchvision_googlenet(ref.state_dict()))
    bad = dict(ref.state_dict(), **{"Mixed_5b.branch1x1.conv.weight": torch.zeros(1)})
    with pytest.raises(ValueError, match="Not a torchvision GoogLeNet state dict"):
        convert_torchvision_googlenet(bad)


def test_inception_module_keeps_torchvision_3x3_deviation_and_paper_5x5():
    assert create_model("googlenet").inception3a.branch3[1].conv.kernel_size == (3, 3)
    assert create_model("googlenet_paper").inception3a.branch3[1].conv.kernel_size == (5, 5)
    assert create_model("mini_googlenet").inception3a.branch3[1].conv.kernel_size == (5, 5)


def test_preprocess_says_what_the_weights_expect():
    assert create_model("googlenet").preprocess.mean == (0.485, 0.456, 0.406)
    assert create_model("googlenet", transform_input=False).preprocess.mean == (0.5, 0.5, 0.5)


# ---------------------------------------------------------------- the paper's Table 1
# Table 1 of Szegedy et al. 2014, transcribed. Columns: type, patch size/stride, output size,
# depth, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj, params, ops.
# "params" is printed in K with K = 1024 (the conv row: 64*64 + 64*9*192 = 114,688 = 112 x 1024,
# the linear row: 1024*1000 = 1000 x 1024) and counts weights only; "ops" in M = 10^6 MACs.
# `module` names our submodule(s) that implement the row.
TABLE1 = [
    # type, module(s), patch/stride, output (H, W, C), depth, #1x1, #3x3 reduce, #3x3, #5x5 reduce, #5x5, pool proj,
    # params (K), ops (M)
    ("convolution", ("conv1",), "7x7/2", (112, 112, 64), 1, None, None, None, None, None, None, 2.7, 34),
    ("max pool", ("maxpool1",), "3x3/2", (56, 56, 64), 0, None, None, None, None, None, None, None, None),
    ("convolution", ("conv2", "conv3"), "3x3/1", (56, 56, 192), 2, None, 64, 192, None, None, None, 112, 360),
    ("max pool", ("maxpool2",), "3x3/2", (28, 28, 192), 0, None, None, None, None, None, None, None, None),
    ("inception (3a)", ("inception3a",), "", (28, 28, 256), 2, 64, 96, 128, 16, 32, 32, 159, 128),
    ("inception (3b)", ("inception3b",), "", (28, 28, 480), 2, 128, 128, 192, 32, 96, 64, 380, 304),
    ("max pool", ("maxpool3",), "3x3/2", (14, 14, 480), 0, None, None, None, None, None, None, None, None),
    ("inception (4a)", ("inception4a",), "", (14, 14, 512), 2, 192, 96, 208, 16, 48, 64, 364, 73),
    ("inception (4b)", ("inception4b",), "", (14, 14, 512), 2, 160, 112, 224, 24, 64, 64, 437, 88),
    ("inception (4c)", ("inception4c",), "", (14, 14, 512), 2, 128, 128, 256, 24, 64, 64, 463, 100),
    ("inception (4d)", ("inception4d",), "", (14, 14, 528), 2, 112, 144, 288, 32, 64, 64, 580, 119),
    ("inception (4e)", ("inception4e",), "", (14, 14, 832), 2, 256, 160, 320, 32, 128, 128, 840, 170),
    ("max pool", ("maxpool4",), "3x3/2", (7, 7, 832), 0, None, None, None, None, None, None, None, None),
    ("inception (5a)", ("inception5a",), "", (7, 7, 832), 2, 256, 160, 320, 32, 128, 128, 1072, 54),
    ("inception (5b)", ("inception5b",), "", (7, 7, 1024), 2, 384, 192, 384, 48, 128, 128, 1388, 71),
    ("avg pool", ("global_pool",), "7x7/1", (1, 1, 1024), 0, None, None, None, None, None, None, None, None),
    ("dropout (40%)", ("dropout",), "", (1, 1, 1024), 0, None, None, None, None, None, None, None, None),
    ("linear", ("fc",), "", (1, 1, 1000), 1, None, None, None, None, None, None, 1000, 1),
]

# Rows (keyed by our module) whose printed figure is NOT reproduced by the row's own channel
# columns: (evidence, reason). The test asserts that each of these really disagrees (a model
# change that "fixes" one is noticed) and checks the evidence; every other printed figure must
# agree within its last digit. Evidence:
#   OPS_AGREE        - the row's printed ops agree with the columns: only the params figure is wrong;
#   PRINTED_PAIR     - the printed params times the output grid give the printed ops: both printed
#                      figures come from one count other than the columns.
OPS_AGREE, PRINTED_PAIR = "the printed ops agree with the columns", "the printed params x grid = printed ops"
PAPER_MISPRINTS = {
    ("conv1", "params"): (PRINTED_PAIR, "7*7*3*64 = 9,408 weights (9.2K), not 2.7K; 34M ops = 2.7K x 112*112."),
    ("conv1", "ops"): (PRINTED_PAIR, "9,408 weights x 112*112 outputs = 118M MACs; 34M is 2.7K x 112*112."),
    ("inception4a", "params"): (OPS_AGREE, "the columns give 375,552 weights = 366.8K."),
    ("inception4c", "params"): (OPS_AGREE, "the columns give 509,440 weights = 497.5K (x 14*14 = 99.9M ops)."),
    ("inception4d", "params"): (OPS_AGREE, "the columns give 604,672 weights = 590.5K."),
    ("inception4e", "params"): (OPS_AGREE, "the columns give 867,328 weights = 847.0K."),
    ("inception5a", "params"): (PRINTED_PAIR, "the columns give 1,042,432 weights = 1018K; 54M = 1072K x 7*7."),
    ("inception5a", "ops"): (PRINTED_PAIR, "the columns give 51.1M MACs; 54M is the printed 1072K x 7*7."),
    ("inception5b", "params"): (OPS_AGREE, "the columns give 1,442,816 weights = 1409K."),
}
K, M = 1024, 1e6


def _table1_rows(model):
    """Our figures for each Table 1 row: (weights in K, MACs in M, output shape)."""
    report = cost_breakdown(model, (1, 3, 224, 224))
    shapes = {}
    hooks = [
        model.get_submodule(name).register_forward_hook(
            lambda mod, inp, out, name=name: shapes.__setitem__(name, tuple(out.shape[1:]))
        )
        for row in TABLE1
        for name in row[1]
    ]
    with torch.no_grad():
        model(torch.zeros(1, 3, 224, 224))
    for h in hooks:
        h.remove()
    rows = []
    for row in TABLE1:
        names = row[1]
        mods = [model.get_submodule(n) for n in names]
        weights = sum(p.numel() for m in mods for n, p in m.named_parameters() if n.endswith("weight"))
        macs = sum(report.row(n).macs for n in names)
        rows.append((weights / K, macs / M, shapes[names[-1]]))
    return rows


def _agrees(ours: float, printed: float) -> bool:
    # The paper prints whole K/M (2.7K once) and sometimes truncates (159.5K -> 159): within one unit.
    unit = 0.1 if printed < 10 else 1.0
    return abs(ours - printed) <= unit


@pytest.fixture(scope="module")
def paper_model_rows():
    model = create_model("googlenet_paper", aux_logits=False).eval()
    return model, _table1_rows(model)


def test_paper_layout_reproduces_table1(paper_model_rows):
    model, ours = paper_model_rows
    print(f"\n{'row':16s} {'output':>14s} | {'params ours':>11s} {'paper':>6s} | {'ops ours':>8s} {'paper':>5s}")
    checked = 0
    for row, (k_ours, m_ours, shape) in zip(TABLE1, ours):
        kind, names, _, (h, w, c), _, *columns, k_paper, m_paper = row
        # the output size column, from a forward pass (C x H x W, or C after pooling)
        assert shape in {(c, h, w), (c,)}, (kind, shape)
        if kind.startswith("inception"):
            block = model.get_submodule(names[0])
            built = (
                block.branch1.conv.out_channels,
                block.branch2[0].conv.out_channels,
                block.branch2[1].conv.out_channels,
                block.branch3[0].conv.out_channels,
                block.branch3[1].conv.out_channels,
                block.branch4[1].conv.out_channels,
            )
            assert built == tuple(columns), (kind, built, columns)
        if k_paper is None:
            continue
        print(f"{kind:16s} {f'{h}x{w}x{c}':>14s} | {k_ours:10.1f}K {k_paper:5}K | {m_ours:7.1f}M {m_paper:4}M")
        for what, mine, printed in (("params", k_ours, k_paper), ("ops", m_ours, m_paper)):
            if (names[0], what) not in PAPER_MISPRINTS:
                assert _agrees(mine, printed), f"{kind} {what}: ours {mine:.1f}, paper {printed}"
                checked += 1
                continue
            evidence, reason = PAPER_MISPRINTS[(names[0], what)]
            assert not _agrees(mine, printed), f"{kind} {what} now agrees; drop it from PAPER_MISPRINTS"
            if evidence == OPS_AGREE:
                assert _agrees(m_ours, m_paper), reason
            else:  # PRINTED_PAIR: the printed params and ops are one (other) count
                assert k_paper * K * h * w / M == pytest.approx(m_paper, rel=0.05), reason
    assert checked == 15  # every printed figure is either reproduced or explained


def test_paper_layout_total_macs_is_table1_total_with_the_misprints_corrected(paper_model_rows):
    model, ours = paper_model_rows
    macs = count_macs(model, (1, 3, 224, 224))
    corrected = sum(
        m_ours if (row[1][0], "ops") in PAPER_MISPRINTS else row[-1]
        for row, (_, m_ours, _) in zip(TABLE1, ours)
        if row[-1] is not None
    )
    printed_total = sum(row[-1] for row in TABLE1 if row[-1] is not None)
    print(f"googlenet_paper MACs at 224: {macs:,}; Table 1 ops sum {printed_total}M, corrected {corrected:.0f}M")
    assert printed_total == 1502
    assert macs / M == pytest.approx(corrected, abs=6)  # 12 rows, each printed to +-0.5M
    assert 1.5e9 < macs < 1.6e9


def test_paper_layout_structure():
    model = create_model("googlenet_paper")
    assert not any(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert all(c.bias is not None for c in convs)
    lrn = [n for n, m in model.named_modules() if isinstance(m, nn.LocalResponseNorm)]
    assert lrn == ["norm1", "norm2"]
    assert model.dropout.p == 0.4 and model.aux1.dropout.p == 0.7 and model.aux_loss_weight == 0.3
    assert isinstance(model.aux1.pool, nn.AvgPool2d) and model.aux1.pool.kernel_size == 5
    assert model.aux1.pool.stride == 3 and model.aux1.conv.conv.out_channels == 128
    assert model.aux1.fc1.out_features == 1024 and model.maxpool4.kernel_size == 3
    assert len(model.aux_heads()) == 2  # its counts: models.records (test_models_common)


def test_paper_aux_heads_train_at_224_and_explain_other_sizes():
    torch.manual_seed(0)
    model = create_model("googlenet_paper", num_classes=5).train()
    out = model(torch.randn(2, 3, 224, 224))
    assert isinstance(out, AuxOutputs) and len(out.aux) == 2
    loss = nn.functional.cross_entropy(out.logits, torch.tensor([0, 1]))
    loss = loss + model.aux_loss_weight * sum(nn.functional.cross_entropy(a, torch.tensor([0, 1])) for a in out.aux)
    loss.backward()
    assert model.conv1.conv.weight.grad is not None and model.aux1.fc2.weight.grad is not None
    with pytest.raises(ValueError, match="191x191 to 238x238"):
        model(torch.randn(1, 3, 160, 160))
    assert model.eval()(torch.randn(1, 3, 160, 160)).shape == (1, 5)  # eval mode skips the aux heads


def test_paper_aux_input_range_in_the_message_is_exact():
    # Shape propagation on the meta device: no arithmetic is run, only shapes.
    model = create_model("googlenet_paper", num_classes=5).to("meta").train()
    for size, works in [(190, False), (191, True), (238, True), (239, False)]:
        x = torch.empty(2, 3, size, size, device="meta")
        if works:
            assert [a.shape for a in model(x).aux] == [(2, 5), (2, 5)]
        else:
            with pytest.raises(ValueError, match="191x191 to 238x238"):
                model(x)
    aux = GoogLeNetAux(512, 5, paper_pool=True).eval()
    for size in (12, 14):  # the taps' maps at 191 and 238 px (stride 16)
        assert aux(torch.randn(1, 512, size, size)).shape == (1, 5)
    for size in (11, 15):  # 5x5/3 pooling gives 3x3 and 5x5 here: fc1 could not take them
        assert aux.pool(torch.randn(1, 512, size, size)).shape[-1] != 4


# ---------------------------------------------------------------- shared behaviour
@pytest.mark.parametrize(
    "name, kwargs, size",
    [("googlenet", dict(aux_logits=True), 64), ("mini_googlenet", dict(aux_logits=True), 48),
     ("mini_googlenet", {}, 32)],
)
def test_forward_backward_train_mode(name, kwargs, size):
    torch.manual_seed(0)
    model = create_model(name, num_classes=7, **kwargs).train()
    out = model(torch.randn(3, 3, size, size))
    logits, aux = (out.logits, out.aux) if isinstance(out, AuxOutputs) else (out, ())
    assert logits.shape == (3, 7) and len(aux) == (2 if kwargs.get("aux_logits") else 0)
    assert all(a.shape == (3, 7) for a in aux)
    (logits.sum() + sum(a.sum() for a in aux)).backward()
    assert all(p.grad is not None for p in model.parameters())
    assert torch.is_tensor(model.eval()(torch.randn(1, 3, size, size)))  # eval: plain logits


def test_inception_branches_concatenate_in_table_order():
    block = Inception(32, 8, 8, 16, 4, 8, 8).eval()
    x = torch.randn(2, 32, 9, 9)
    branches = block.forward_branches(x)
    assert list(branches) == ["1x1", "3x3", "5x5", "pool proj"]
    assert [b.shape[1] for b in branches.values()] == [8, 16, 8, 8]
    assert torch.equal(block(x), torch.cat(list(branches.values()), 1))
    assert block.out_channels == 40


def test_reset_classifier_resets_aux_heads_too():
    model = create_model("googlenet", aux_logits=True)
    model.reset_classifier(12)
    assert model.fc.out_features == 12 and model.aux1.fc2.out_features == 12 and model.aux2.fc2.out_features == 12
    model.reset_classifier(0)
    out = model.eval()(torch.randn(1, 3, 64, 64))
    assert out.shape == (1, 1024)


def test_mini_googlenet_is_table1_scaled():
    model = create_model("mini_googlenet")
    assert isinstance(model, GoogLeNet) and model.num_classes == 10
    for name, row in GOOGLENET_TABLE1.items():
        block = model.get_submodule(name)
        assert block.branch2[1].conv.out_channels == scale_channels(row[2], 0.25, divisor=8)
    widths = [m.out_channels for m in model.modules() if isinstance(m, nn.Conv2d)]
    assert all(w % 8 == 0 for w in widths)
    assert model.conv1.conv.kernel_size == (3, 3) and model.conv1.conv.stride == (1, 1)
    print(f"mini_googlenet: {count_params(model):,} params, {count_macs(model.eval(), (1, 3, 48, 48)):,} MACs at 48")
    assert count_params(create_model("mini_googlenet", width_mult=0.5)) > count_params(model)


def test_scale_channels_rounding():
    assert scale_channels(64, 1.0, 8) == 64 and scale_channels(16, 0.25, 8) == 8
    assert scale_channels(192, 0.25, 8) == 48 and scale_channels(208, 0.25, 8) == 56
    assert all(scale_channels(c, w, 8) % 8 == 0 for c in (16, 24, 48, 96, 208, 384) for w in (0.25, 0.5, 0.75))
    # divisor 1: the nearest integer (the v4, Inception-ResNet and Xception minis)
    assert scale_channels(208, 0.25) == 52 and scale_channels(1, 0.25) == 1 and scale_channels(728, 0.25) == 182


# ---------------------------------------------------------------- errors a learner can act on
def test_bad_inputs_raise_value_errors():
    model = create_model("mini_googlenet").eval()
    with pytest.raises(ValueError, match="3 input channels, got 1"):
        model(torch.randn(1, 1, 48, 48))
    with pytest.raises(ValueError, match="unsqueeze"):
        model(torch.randn(3, 48, 48))
    assert create_model("mini_googlenet", in_chans=1).eval()(torch.randn(1, 1, 48, 48)).shape == (1, 10)
    with pytest.raises(ValueError, match="Unknown model name 'googlenet_v9'"):
        create_model("googlenet_v9")


@pytest.mark.parametrize(
    "name, kwargs, match",
    [
        ("googlenet", dict(num_classes=-1), "num_classes"),
        ("googlenet", dict(num_classes=2.5), "num_classes"),
        ("googlenet", dict(drop_rate=1.0), "drop_rate"),
        ("googlenet_paper", dict(aux_drop_rate=-0.1), "aux_drop_rate"),
        ("googlenet", dict(dropout=0.5), "drop_rate"),  # one name per concept: did you mean drop_rate?
        ("googlenet", dict(kernel_5x5=7), "kernel_5x5"),
        ("googlenet", dict(aux_logits="yes"), "aux_logits"),
        ("googlenet", dict(transform_input=True, in_chans=1), "in_chans=3"),
        ("mini_googlenet", dict(width_mult=0), "width_mult"),
        ("mini_googlenet", dict(width_mult="wide"), "width_mult"),
        ("mini_googlenet", dict(in_chans=0), "in_chans"),
    ],
)
def test_builders_validate_arguments(name, kwargs, match):
    with pytest.raises(ValueError, match=match):
        create_model(name, **kwargs)
