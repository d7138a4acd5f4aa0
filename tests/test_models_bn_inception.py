"""BN-Inception (lesson 03): the BN paper's Figure 5 table, derived costs, mini variant, errors."""
import pytest
import torch
from torch import nn

from course_utils.costs import count_macs, count_params
from course_utils.models import create_model
from course_utils.models.blocks import SeparableConvBN
from course_utils.models.records import RECORDS
from course_utils.models.bn_inception import BN_INCEPTION_FIGURE5, BNInception, InceptionBN

# Figure 5 of Ioffe & Szegedy 2015 (arXiv 1502.03167v3, Appendix), transcribed.
# Columns: type, patch size/stride, output size, depth, #1x1, #3x3 reduce, #3x3,
# double #3x3 reduce, double #3x3, Pool +proj. `module` is ours.
FIGURE5 = [
    # type, module(s), patch/stride, output (H, W, C), depth, #1x1, #3x3 reduce, #3x3, double #3x3 reduce,
    # double #3x3, Pool +proj
    ("convolution*", ("conv1",), "7x7/2", (112, 112, 64), 1, None, None, None, None, None, None),
    ("max pool", ("maxpool1",), "3x3/2", (56, 56, 64), 0, None, None, None, None, None, None),
    ("convolution", ("conv2", "conv3"), "3x3/1", (56, 56, 192), 1, None, 64, 192, None, None, None),
    ("max pool", ("maxpool2",), "3x3/2", (28, 28, 192), 0, None, None, None, None, None, None),
    ("inception (3a)", ("inception3a",), "", (28, 28, 256), 3, 64, 64, 64, 64, 96, "avg + 32"),
    ("inception (3b)", ("inception3b",), "", (28, 28, 320), 3, 64, 64, 96, 64, 96, "avg + 64"),
    ("inception (3c)", ("inception3c",), "stride 2", (28, 28, 576), 3, 0, 128, 160, 64, 96, "max + pass through"),
    ("inception (4a)", ("inception4a",), "", (14, 14, 576), 3, 224, 64, 96, 96, 128, "avg + 128"),
    ("inception (4b)", ("inception4b",), "", (14, 14, 576), 3, 192, 96, 128, 96, 128, "avg + 128"),
    ("inception (4c)", ("inception4c",), "", (14, 14, 576), 3, 160, 128, 160, 128, 160, "avg + 128"),
    ("inception (4d)", ("inception4d",), "", (14, 14, 576), 3, 96, 128, 192, 160, 192, "avg + 128"),
    ("inception (4e)", ("inception4e",), "stride 2", (14, 14, 1024), 3, 0, 128, 192, 192, 256, "max + pass through"),
    ("inception (5a)", ("inception5a",), "", (7, 7, 1024), 3, 352, 192, 320, 160, 224, "avg + 128"),
    ("inception (5b)", ("inception5b",), "", (7, 7, 1024), 3, 352, 192, 320, 192, 224, "max + 128"),
    ("avg pool", ("global_pool",), "7x7/1", (1, 1, 1024), 0, None, None, None, None, None, None),
]

# Where the printed output size is not what the row's own columns produce, and why.
# Keys: (our module, reading) with reading "columns" (the default model) or "output sizes"
# (match_output_sizes=True). The test asserts each entry really disagrees and nothing else does.
OUTPUT_SIZE_MISPRINTS = {
    ("inception3c", "columns"): "stride 2 halves the grid: 14x14 (the table prints the input's 28x28; 4a's row "
    "prints 14x14)",
    ("inception3c", "output sizes"): "stride 2 halves the grid: 14x14 (the table prints the input's 28x28)",
    ("inception4e", "columns"): "stride 2 gives 7x7 (the table prints the input's 14x14), and the columns give "
    "192 + 256 + 608 passed through = 1056 channels, because 4c and 4d output 608",
    ("inception4e", "output sizes"): "stride 2 gives 7x7 (the table prints the input's 14x14)",
    ("inception4c", "columns"): "160 + 160 + 160 + 128 = 608 channels, not 576",
    ("inception4d", "columns"): "96 + 192 + 192 + 128 = 608 channels, not 576",
}
# With match_output_sizes=True these two "Pool +proj" entries are 96 (TF-slim), not the printed 128.
COLUMN_CHANGES_FOR_OUTPUT_SIZES = {"inception4c": "avg + 96", "inception4d": "avg + 96"}


def _built_columns(block: InceptionBN) -> tuple:
    pool = block.branch_pool
    pool_layer, proj = (pool[0], pool[1].conv.out_channels) if isinstance(pool, nn.Sequential) else (pool, None)
    kind = "avg" if isinstance(pool_layer, nn.AvgPool2d) else "max"
    return (
        block.branch1x1.conv.out_channels if block.branch1x1 is not None else 0,
        block.branch3x3[0].conv.out_channels,
        block.branch3x3[1].conv.out_channels,
        block.branch3x3dbl[0].conv.out_channels,
        block.branch3x3dbl[1].conv.out_channels,
        f"{kind} + {proj}" if proj is not None else f"{kind} + pass through",
    )


def _output_shapes(model, size=224):
    shapes = {}
    for row in FIGURE5:
        name = row[1][-1]
        model.get_submodule(name).register_forward_hook(
            lambda m, i, out, name=name: shapes.__setitem__(name, tuple(out.shape[1:]))
        )
    with torch.no_grad():
        model.forward_features(torch.zeros(1, 3, size, size))
        shapes["global_pool"] = (model.num_features,)
    return shapes


@pytest.mark.parametrize("reading", ["columns", "output sizes"])
def test_model_reproduces_figure5(reading):
    model = create_model("bn_inception", match_output_sizes=reading == "output sizes").eval()
    shapes = _output_shapes(model)
    print(f"\nreading: {reading}\n{'row':16s} {'printed':>12s} {'ours':>12s}  columns")
    for kind, names, patch, (h, w, c), _, *columns in FIGURE5:
        name = names[-1]
        ours = shapes[name]
        if kind.startswith("inception"):
            block = model.get_submodule(name)
            expected = list(columns)
            if reading == "output sizes" and name in COLUMN_CHANGES_FOR_OUTPUT_SIZES:
                expected[-1] = COLUMN_CHANGES_FOR_OUTPUT_SIZES[name]
            assert _built_columns(block) == tuple(expected), name
            assert block.stride == (2 if patch == "stride 2" else 1)
            # the double 3x3's second conv has the same width as its first ("double #3x3")
            assert block.branch3x3dbl[2].conv.out_channels == columns[4]
        elif kind.startswith("convolution") and columns[1] is not None:  # the 3x3 row: reduce + conv
            assert (model.conv2.conv.out_channels, model.conv3.conv.out_channels) == tuple(columns[1:3])
        printed = (c, h, w) if len(ours) == 3 else (c,)
        reason = OUTPUT_SIZE_MISPRINTS.get((name, reading))
        print(f"{kind:16s} {'x'.join(map(str, printed)):>12s} {'x'.join(map(str, ours)):>12s}  {reason or ''}")
        if reason is None:
            assert ours == printed, (name, ours, printed)
        else:
            assert ours != printed, f"{name} now matches the printed size: drop it from OUTPUT_SIZE_MISPRINTS"
    assert model.num_features == 1024


def _analytic_cost(table=BN_INCEPTION_FIGURE5, pool_proj_override=None, num_classes=1000):
    """Parameters and MACs at 224 x 224 from the table alone (conv weights + 2 BN params per channel)."""
    params = macs = 0

    def conv(cin, cout, k, hw, depthwise=False):
        nonlocal params, macs
        w = cout * k * k * (1 if depthwise else cin)
        params += w
        macs += w * hw * hw
        if not depthwise:
            params += 2 * cout  # BN gamma, beta

    conv(3, 24, 7, 112, depthwise=True)  # separable conv1 (depth multiplier 8)
    conv(24, 64, 1, 112)
    conv(64, 64, 1, 56)
    conv(64, 192, 3, 56)
    cin, hw = 192, 28
    for name, (stride, c1, r3, c3, rd, d, _, proj) in table.items():
        proj = (pool_proj_override or {}).get(name, proj)
        out_hw = hw // stride
        if c1:
            conv(cin, c1, 1, hw)
        conv(cin, r3, 1, hw)
        conv(r3, c3, 3, out_hw)
        conv(cin, rd, 1, hw)
        conv(rd, d, 3, hw)
        conv(d, d, 3, out_hw)
        if proj is not None:
            conv(cin, proj, 1, hw)
        cin, hw = c1 + c3 + d + (cin if proj is None else proj), out_hw
    params += cin * num_classes + num_classes
    macs += cin * num_classes
    return params, macs


@pytest.mark.parametrize("key", ["bn_inception", "bn_inception(match_output_sizes=True)"])
def test_params_and_macs_derived_from_the_table(key):
    # No reference implementation exists: the table alone, counted by hand, must give the record.
    rec = RECORDS[key]
    override = {"inception4c": 96, "inception4d": 96} if rec.changes else None
    assert _analytic_cost(pool_proj_override=override) == (rec.params, rec.macs)


def test_growth_over_googlenet():
    # The Appendix: replacing 5x5 by two 3x3 "increases the number of parameters by 25% and the
    # computational cost by about 30%". The whole network also changed (a third 28x28 module,
    # wider modules from 4a on, no LRN), so the totals grow by more than that on parameters.
    ours = create_model("bn_inception").eval()
    googlenet = create_model("googlenet_paper", aux_logits=False).eval()  # Figure 5 has no aux heads
    p, g_p = count_params(ours), count_params(googlenet)
    m, g_m = (count_macs(x, (1, 3, 224, 224)) for x in (ours, googlenet))
    print(f"bn_inception vs googlenet_paper: params {p:,} / {g_p:,} = x{p / g_p:.2f}, MACs x{m / g_m:.2f}")
    assert 1.25 < p / g_p < 2 and 1.1 < m / g_m < 1.5


def test_stem_and_batchnorm_everywhere():
    model = create_model("bn_inception")
    assert isinstance(model.conv1, SeparableConvBN) and isinstance(model.conv1.relu, nn.ReLU)
    dw = model.conv1.conv.depthwise
    assert (dw.in_channels, dw.out_channels, dw.groups, dw.kernel_size, dw.stride) == (3, 24, 3, (7, 7), (2, 2))
    assert model.conv1.conv.pointwise.in_channels == 24 and model.conv1.conv.pointwise.out_channels == 64
    convs = [m for m in model.modules() if isinstance(m, nn.Conv2d)]
    bns = [m for m in model.modules() if isinstance(m, nn.BatchNorm2d)]
    assert len(bns) == len(convs) - 1  # every conv but the depthwise half of conv1 (linear, as in TF-slim)
    assert all(c.bias is None for c in convs)
    assert not any(isinstance(m, nn.LocalResponseNorm) for m in model.modules())
    assert model.dropout.p == 0.0 and model.aux_loss_weight == 0.0 and model.aux_heads() == []
    plain = create_model("bn_inception", separable_conv1=False)
    assert plain.conv1.conv.kernel_size == (7, 7) and plain.conv1.conv.in_channels == 3


def test_inception_bn_module_branches():
    block = InceptionBN(32, 8, 8, 16, 8, 16, "avg", 8).eval()
    x = torch.randn(2, 32, 10, 10)
    branches = block.forward_branches(x)
    assert list(branches) == ["1x1", "3x3", "double 3x3", "pool proj"]
    assert torch.equal(block(x), torch.cat(list(branches.values()), 1)) and block.out_channels == 48
    reduce = InceptionBN(32, 0, 8, 16, 8, 16, "max", None, stride=2).eval()
    out = reduce.forward_branches(torch.randn(2, 32, 9, 9))
    assert list(out) == ["3x3", "double 3x3", "max pool"]
    assert [t.shape[1:] for t in out.values()] == [(16, 5, 5), (16, 5, 5), (32, 5, 5)]
    with pytest.raises(ValueError, match="pass"):
        InceptionBN(32, 8, 8, 16, 8, 16, "max", None, stride=2)
    with pytest.raises(ValueError, match="'avg' or 'max'"):
        InceptionBN(32, 8, 8, 16, 8, 16, "sum", 8)


@pytest.mark.parametrize("name, size", [("bn_inception", 64), ("mini_bn_inception", 48), ("mini_bn_inception", 32)])
def test_forward_backward_train_mode(name, size):
    torch.manual_seed(0)
    model = create_model(name, num_classes=6).train()
    logits = model(torch.randn(2, 3, size, size))
    assert torch.is_tensor(logits) and logits.shape == (2, 6)
    logits.logsumexp(1).sum().backward()
    assert all(p.grad is not None for p in model.parameters())


def test_mini_bn_inception_is_the_table_scaled():
    model = create_model("mini_bn_inception")
    assert isinstance(model, BNInception) and model.num_classes == 10
    assert all(m.out_channels % 8 == 0 for m in model.modules() if isinstance(m, nn.Conv2d))
    assert model.inception3c.stride == 2 and model.inception4e.stride == 2
    print(f"mini_bn_inception: {count_params(model):,} params, {count_macs(model.eval(), (1, 3, 48, 48)):,} MACs")


def test_bad_inputs_and_arguments():
    model = create_model("mini_bn_inception").eval()
    with pytest.raises(ValueError, match="3 input channels, got 4"):
        model(torch.randn(1, 4, 48, 48))
    with pytest.raises(ValueError, match="Unknown model name 'bn_inceptoin'"):
        create_model("bn_inceptoin")
    for kwargs, match in [
        (dict(num_classes=-3), "num_classes"),
        (dict(drop_rate=2), "drop_rate"),
        (dict(separable_conv1=1), "separable_conv1"),
        (dict(match_output_sizes="yes"), "match_output_sizes"),
        (dict(in_chans=0), "in_chans"),
    ]:
        with pytest.raises(ValueError, match=match):
            create_model("bn_inception", **kwargs)
    with pytest.raises(ValueError, match="width_mult"):
        create_model("mini_bn_inception", width_mult=-1)
