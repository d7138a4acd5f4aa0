# ---
# jupyter:
#   course:
#     description: count a convolution's parameters and MACs and check them with PyTorch's counter; see why a 1x1 conv is a per-pixel Linear layer and what GoogLeNet's bottleneck saves; compute receptive fields; measure that fewer MACs is not less time
# ---

# %% [markdown]
# # Lesson 01 — 1x1 convolutions and FLOPs
#
# Every Inception network is an argument about **cost**: how to get more accuracy out of a fixed budget of
# parameters and arithmetic. Before we can follow that argument we need to count the way the papers count.
#
# **Learning goals.** By the end of this lesson you can
#
# 1. derive the parameter count and the multiply-accumulates (MACs) of any convolution from its
#    hyper-parameters, and check them against PyTorch's own counter;
# 2. tell MACs from FLOPs, and say what a FLOP counter does *not* count;
# 3. explain why a 1x1 convolution is a fully connected layer applied at every pixel;
# 4. redo the arithmetic behind GoogLeNet's 1x1 "bottleneck" (inception 3a, 5x5 branch);
# 5. compute a receptive field by hand;
# 6. show with a measurement that fewer FLOPs do not always mean less time.
#
# **Papers.** Lin et al., [Network In Network](https://arxiv.org/abs/1312.4400) (2013), where the 1x1
# convolution comes from; Szegedy et al., [Going deeper with convolutions](https://arxiv.org/abs/1409.4842)
# (2014), the GoogLeNet paper, Section 4 and Table 1.
#
# Run the cells from top to bottom. The first code cell only matters on Colab.

# %%
import matplotlib.pyplot as plt
import matplotlib.ticker
import torch
from torch import nn

from course_utils import costs, explorers, widgets
from course_utils.exercises import lesson01
from course_utils.runtime import seed_everything

seed_everything(0)
torch.set_printoptions(precision=4)

# %% [markdown]
# ## 1. What a convolution costs
#
# Take the layer at the heart of this lesson: a 5x5 convolution from 192 to 32 channels on a 28x28 map
# (the "5x5" branch of GoogLeNet's inception 3a, as if it had no 1x1 in front).
#
# **Parameters.** Each of the `C_out` output channels has its own filter. A filter covers a `k_h x k_w`
# window *in every one of the `C_in` input channels*, so it holds `k_h * k_w * C_in` weights, plus one bias:
#
# $$\text{params} = k_h \, k_w \, C_{in} \, C_{out} + C_{out}$$
#
# With grouped convolutions (Xception, lesson 06 of the course plan) each filter sees only `C_in / groups`
# channels; the formula divides `C_in` by `groups`.

# %%
conv5 = nn.Conv2d(192, 32, kernel_size=5, padding=2)

by_hand = 5 * 5 * 192 * 32 + 32
by_formula = costs.conv_params(192, 32, kernel_size=5)
by_pytorch = sum(p.numel() for p in conv5.parameters())
print(f"by hand: {by_hand:,}   costs.conv_params: {by_formula:,}   PyTorch: {by_pytorch:,}")
assert by_hand == by_formula == by_pytorch

# %% [markdown]
# **Multiply-accumulates.** Every output value is a dot product between one filter and the window under it:
# `k_h * k_w * C_in / groups` multiplications, each added to a running sum. One multiply plus one add is
# one **MAC**. There are `C_out x H_out x W_out` output values, so
#
# $$\text{MACs} = C_{out} \, H_{out} \, W_{out} \cdot k_h \, k_w \, \frac{C_{in}}{\text{groups}}$$
#
# The output size comes from the usual formula
# `H_out = floor((H + 2*padding - dilation*(k - 1) - 1) / stride) + 1`; with padding 2 a 5x5 keeps 28x28.
#
# Now let PyTorch count instead of us. `costs.count_macs` runs the layer once under
# `torch.utils.flop_counter.FlopCounterMode`, which intercepts every convolution and matrix product.

# %%
x = torch.randn(1, 192, 28, 28)
print("output size:", costs.conv_output_size(28, kernel_size=5, padding=2), "->", tuple(conv5(x).shape))

macs_by_hand = 32 * 28 * 28 * (5 * 5 * 192)
macs_analytic = costs.conv_macs(192, 32, kernel_size=5, input_size=28, padding=2)
macs_counted = costs.count_macs(conv5, x)
print(f"MACs by hand: {macs_by_hand:,}   analytic: {macs_analytic:,}   counted: {macs_counted:,}")
print(f"FLOPs counted: {costs.count_flops(conv5, x):,}  (= 2 x MACs)")
assert macs_by_hand == macs_analytic == macs_counted

# %% [markdown]
# ### MACs or FLOPs?
#
# Papers and tools disagree on the unit, which is the most common source of "factor of two" confusion:
#
# * a **MAC** is one multiply *and* one add; **FLOPs = 2 x MACs** counts them separately;
# * GoogLeNet's Table 1 column "ops" and most "FLOPs" figures in CNN papers are in fact multiply-adds;
# * PyTorch's `FlopCounterMode` reports FLOPs; this course reports **MACs** (`FLOPs / 2`) everywhere.
#
# What the counter leaves out: bias additions, batch normalization, ReLU, pooling, concatenation and
# residual additions. How much is that? The next cell counts it for a whole GoogLeNet with forward hooks,
# one operation per compare, add or multiply-add (a pooling window of k x k costs k x k per output value;
# batch normalization in eval mode is one multiply-add per value; a ReLU one compare; concatenation
# only copies).

# %%
from course_utils.models import create_model


def uncounted_ops(model, shape):
    """Operations FlopCounterMode does not count, per kind of layer, for one forward pass."""
    ops = {}

    def hook(module, inputs, output):
        if isinstance(module, (nn.MaxPool2d, nn.AvgPool2d)):
            k = module.kernel_size if isinstance(module.kernel_size, int) else module.kernel_size[0]
            kind, n = "pooling", output.numel() * k * k
        elif isinstance(module, nn.AdaptiveAvgPool2d):
            kind, n = "pooling", inputs[0].numel()
        elif isinstance(module, nn.BatchNorm2d):
            kind, n = "batch norm", output.numel()
        elif isinstance(module, nn.ReLU):
            kind, n = "ReLU", output.numel()
        elif isinstance(module, nn.LocalResponseNorm):  # a sum of squares over `size` channels, then a scale
            kind, n = "local response norm", output.numel() * (module.size + 2)
        elif isinstance(module, (nn.Conv2d, nn.Linear)) and module.bias is not None:
            kind, n = "bias", output.numel()
        else:
            return
        ops[kind] = ops.get(kind, 0) + n

    handles = [m.register_forward_hook(hook) for m in model.modules() if not list(m.children())]
    try:
        with torch.no_grad():
            model.eval()(torch.zeros(shape))
    finally:
        for handle in handles:
            handle.remove()
    return ops


shares = {}
for name in ("googlenet", "googlenet_paper"):
    model = create_model(name)
    counted = costs.count_macs(model, (1, 3, 224, 224))
    ops = uncounted_ops(model, (1, 3, 224, 224))
    shares[name] = sum(ops.values()) / counted
    parts = ", ".join(f"{kind} {n / 1e6:.1f} M" for kind, n in sorted(ops.items(), key=lambda kv: -kv[1]))
    print(f"{name:<16} counted {counted / 1e9:.3f} G MACs; not counted {sum(ops.values()) / 1e6:.1f} M ops "
          f"= {100 * shares[name]:.1f}% ({parts})")
    assert ops["pooling"] > 0.4 * sum(ops.values())  # pooling is the largest part
assert 0.01 < shares["googlenet"] < shares["googlenet_paper"] < 0.02

# %% [markdown]
# So the counter misses about **1.3% (torchvision's layout, with BatchNorm) to 1.6% (the paper's layout,
# with bias and LRN)** of GoogLeNet's arithmetic, half or more of it in the max-pooling layers. Small, but
# not nothing, and these operations are not free in *time*: they read and write whole feature maps for
# very little arithmetic, one reason why counted work is not latency (section 5).
#
# The counter works on any module and can break the total down per submodule:

# %%
bottleneck = nn.Sequential()
bottleneck.add_module("reduce_1x1", nn.Conv2d(192, 16, kernel_size=1, bias=False))
bottleneck.add_module("relu", nn.ReLU())
bottleneck.add_module("conv_5x5", nn.Conv2d(16, 32, kernel_size=5, padding=2, bias=False))
print(costs.cost_breakdown(bottleneck, (1, 192, 28, 28)))

# %% [markdown]
# **Exercise 1 (a misprint in Table 1).** GoogLeNet's first layer is a `7x7/2` convolution from the 224x224
# RGB image to 64 channels (padding 3). Table 1 of the paper prints it with **2.7K parameters and 34M ops**.
# How many MACs does this layer really do, for one image? Compute it from the layer's hyper-parameters
# (with `costs` or by building the layer and counting it), then compare with the table.

# %%
answer_1 = None  # your answer in MACs
lesson01.check_conv1_macs(answer_1)

# %% [markdown]
# <details><summary>Solution</summary>
#
# The output is 112x112 (`costs.conv_output_size(224, 7, stride=2, padding=3)`), each of its 64 x 112 x 112
# values a dot product over 7 x 7 x 3 = 147 inputs: 112 x 112 x 64 x 147 = **118,013,952** MACs, about 118M,
# not 34M. The parameters disagree too: 7 x 7 x 3 x 64 = 9,408 weights, not 2.7K. Check:
# `costs.count_macs(nn.Conv2d(3, 64, 7, stride=2, padding=3), (1, 3, 224, 224))`. The row's own columns
# (7x7/2, 64 channels, 112x112 output) give 118M, so the printed figures are a misprint. The course's tests
# rebuild all of Table 1 from its channel columns: 15 of its 24 printed params/ops figures come out, nine
# (this row among them) do not ([tests/test_models_googlenet.py](../tests/test_models_googlenet.py)).
# </details>

# %% [markdown]
# ## 2. A 1x1 convolution is a fully connected layer at every pixel
#
# With a 1x1 kernel the window is a single pixel, so each output pixel is
# `W @ (the C_in values of that pixel) + b`: exactly what `nn.Linear(C_in, C_out)` does to a vector.
# The same weights are used at every position. Network In Network called this an "mlpconv" layer.
# In Inception it has two jobs: **mixing channels** cheaply and **reducing their number** in front of
# expensive convolutions. And every 1x1 convolution in GoogLeNet is followed by a ReLU, so a reduction is
# also one more nonlinearity: the paper calls the 1x1 layers "dual-purpose" (Section 4).
#
# Let us check the equivalence numerically: copy a 1x1 conv's weights into a Linear layer, apply the Linear
# to every pixel by moving channels last, and compare.

# %%
conv1x1 = nn.Conv2d(192, 16, kernel_size=1)
linear = nn.Linear(192, 16)
with torch.no_grad():
    linear.weight.copy_(conv1x1.weight.view(16, 192))  # (C_out, C_in, 1, 1) -> (C_out, C_in)
    linear.bias.copy_(conv1x1.bias)

x = torch.randn(2, 192, 28, 28)
y_conv = conv1x1(x)                                     # N x 16 x 28 x 28
y_linear = linear(x.permute(0, 2, 3, 1))                # N x 28 x 28 x 16: Linear acts on the last dim
y_linear = y_linear.permute(0, 3, 1, 2)                 # back to N x 16 x 28 x 28
print("shapes:", tuple(y_conv.shape), tuple(y_linear.shape))
print("equal up to float rounding:", torch.allclose(y_conv, y_linear, atol=1e-5))
assert torch.allclose(y_conv, y_linear, atol=1e-5)

# %% [markdown]
# **Exercise 2 (code).** Write the conversion as a function: given any 1x1 `nn.Conv2d`, return the
# equivalent `nn.Linear` (with a bias exactly when the conv has one). The check tries it on convs it makes.

# %%
def conv1x1_to_linear(conv):
    return None  # replace with your code


answer_2 = None  # set to conv1x1_to_linear when you have written it
lesson01.check_conv1x1_to_linear(answer_2)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# def conv1x1_to_linear(conv):
#     linear = nn.Linear(conv.in_channels, conv.out_channels, bias=conv.bias is not None)
#     with torch.no_grad():
#         linear.weight.copy_(conv.weight.flatten(1))   # (C_out, C_in, 1, 1) -> (C_out, C_in)
#         if conv.bias is not None:
#             linear.bias.copy_(conv.bias)
#     return linear
# ```
# </details>

# %% [markdown]
# ## 3. The bottleneck: GoogLeNet inception (3a), 5x5 branch
#
# The Inception module runs 1x1, 3x3 and 5x5 convolutions side by side. Done naively, the 5x5 convolutions
# over all input channels would dominate the cost, and stacking modules would blow up. GoogLeNet's answer
# (Section 4, Figure 2b) is to shrink the channels with a 1x1 convolution first.
#
# Table 1 gives the numbers for inception (3a): the input is **28x28x192**, the 5x5 branch has
# **"#5x5 reduce" = 16** and **"#5x5" = 32**. Compare the two ways of computing 32 channels of 5x5 output:
#
# * direct: `5x5, 192 -> 32` costs `28*28*32 * 5*5*192` MACs;
# * reduced: `1x1, 192 -> 16` costs `28*28*16 * 192`, then `5x5, 16 -> 32` costs `28*28*32 * 5*5*16`.

# %%
direct = costs.conv_macs(192, 32, 5, 28, padding=2)
reduce = costs.conv_macs(192, 16, 1, 28)
after = costs.conv_macs(16, 32, 5, 28, padding=2)
print(f"direct 5x5            : {direct:>12,} MACs")
print(f"1x1 reduction (to 16) : {reduce:>12,} MACs")
print(f"5x5 on 16 channels    : {after:>12,} MACs")
print(f"reduced total         : {reduce + after:>12,} MACs  ->  {direct / (reduce + after):.2f}x fewer")
assert direct == 28 * 28 * 32 * 5 * 5 * 192 == 120_422_400
assert reduce + after == 28 * 28 * 16 * 192 + 28 * 28 * 32 * 5 * 5 * 16 == 12_443_648

# %% [markdown]
# About **120 million MACs shrink to 12.4 million**, almost ten times fewer, and the parameters shrink by
# the same factor. (In GoogLeNet the 1x1 reduction is followed by a ReLU, which costs no MACs; we leave it
# out of the counts.) The price: the 5x5 now sees a 16-channel summary of its input. The paper's bet is that
# the relevant information is low-dimensional enough to survive that compression ("even low dimensional
# embeddings might contain a lot of information about a relatively large image patch").
#
# The same comparison as a picture, computed by `explorers.bottleneck_comparison`, the function behind the
# widget below:

# %%
comparison = explorers.bottleneck_comparison(in_channels=192, out_channels=32, kernel_size=5, spatial=28, reduction=16)
print(comparison.summary())
widgets.plot_bottleneck(comparison)
plt.show()

# %% [markdown]
# ### Explore it yourself
#
# Move the sliders: how narrow must the reduction be before it pays off for a 3x3 kernel? What happens when
# the reduction is wider than the output? One slider never changes the saving: the spatial size. Both ways
# compute every output pixel the same way, so both costs are proportional to H x W and their ratio is not
# (the parameters do not depend on the spatial size at all). (The widget responds once the notebook runs;
# before that, and on a static page, it shows its saved state.)

# %%
# NBVAL_IGNORE_OUTPUT
widgets.cost_explorer_widget()

# %% [markdown]
# **Exercise 3.** Inception (3a)'s 3x3 branch has "#3x3 reduce" = 96 and "#3x3" = 128 (Table 1), on the same
# 28x28x192 input. How many MACs does the whole branch cost, its 1x1 reduction included? (The 3x3 is padded
# so the output stays 28x28.)

# %%
answer_3 = None  # your answer in MACs
lesson01.check_branch_macs(answer_3)

# %% [markdown]
# <details><summary>Solution</summary>
#
# 1x1, 192 -> 96: 28 x 28 x 96 x 192 = 14,450,688. 3x3, 96 -> 128: 28 x 28 x 128 x 9 x 96 = 86,704,128.
# Total **101,154,816** MACs. Without the reduction the 3x3 alone would cost 28 x 28 x 128 x 9 x 192 =
# 173,408,256. Check: `costs.conv_macs(192, 96, 1, 28) + costs.conv_macs(96, 128, 3, 28, padding=1)`.
# </details>

# %% [markdown]
# ## 4. Receptive fields
#
# The receptive field of an output pixel is the patch of the input it can see. Inception's multi-branch idea
# is about receptive fields: a 1x1, a 3x3 and a 5x5 branch see different amounts of context *at the same
# depth*. BN-Inception (Inception v2, lesson 03) replaces each 5x5 by two stacked 3x3, and Inception v3 makes
# it a design rule, precisely because the two see the same 5x5 patch for fewer MACs.
#
# For a chain of layers, track two numbers: the receptive field size `r` and the **jump** `j`, the distance in
# input pixels between neighbouring positions of the current layer. Starting from `r = j = 1`:
#
# $$r_{out} = r_{in} + (k_{eff} - 1)\, j_{in}, \qquad j_{out} = j_{in} \cdot s, \qquad k_{eff} = d\,(k - 1) + 1$$
#
# Strides make every later kernel step over more input pixels, so receptive fields grow fast after each
# downsampling.

# %%
for name, layers in {
    "one 5x5": [("5x5", 5)],
    "two 3x3": [("3x3", 3), ("3x3", 3)],
    "3x3 dilated by 2": [("3x3, dilation 2", 3, 1, 2)],
}.items():
    print(f"{name:<17} sees {costs.receptive_field(layers)[-1].size}x{costs.receptive_field(layers)[-1].size} input pixels")

stem = nn.Sequential(  # the start of GoogLeNet (Table 1), LRN left out: it does not change what a pixel sees
    nn.Conv2d(3, 64, 7, stride=2, padding=3), nn.ReLU(), nn.MaxPool2d(3, stride=2, ceil_mode=True),
    nn.Conv2d(64, 64, 1), nn.ReLU(), nn.Conv2d(64, 192, 3, padding=1), nn.ReLU(), nn.MaxPool2d(3, stride=2, ceil_mode=True),
)
stem_layers = costs.receptive_field_layers(stem)  # the convs and pools, in order
rows = costs.receptive_field(stem_layers)
for row in rows:
    print(f"after layer {row.layer:>2}: receptive field {row.size:>2} px, jump {row.jump}")

# %%
labels = [f"{'pool' if isinstance(stem[int(layer.name)], nn.MaxPool2d) else 'conv'} "
          f"{layer.kernel_size}x{layer.kernel_size}/{layer.stride}" for layer in stem_layers]
fig, ax = plt.subplots(figsize=(7, 3.2))
bars = ax.bar(range(len(rows)), [r.size for r in rows], color="#4f81bd", label="receptive field")
ax.plot(range(len(rows)), [r.jump for r in rows], "o-", color="#c0504d", label="jump")
ax.bar_label(bars, [f"{r.size} px" for r in rows], fontsize=8)
ax.set_xticks(range(len(rows)), [f"{i + 1}. {label}" for i, label in enumerate(labels)], fontsize=8)
ax.set_ylabel("input pixels")
ax.set_title("GoogLeNet stem: how much of the input one pixel sees, layer by layer")
ax.legend(loc="upper left")
fig.tight_layout()
plt.show()

# %% [markdown]
# **Exercise 4.** GoogLeNet begins with a 7x7 convolution of stride 2, a 3x3 max pool of stride 2 and then
# (after the 1x1) a 3x3 convolution of stride 1. Leaving out the 1x1 (it adds nothing), how many input pixels
# wide is the receptive field after the 3x3 convolution?

# %%
answer_4 = None  # receptive field size in pixels
lesson01.check_receptive_field(answer_4)

# %% [markdown]
# <details><summary>Solution</summary>
#
# 7x7/2: r = 1 + 6 x 1 = 7, j = 2. Pool 3x3/2: r = 7 + 2 x 2 = 11, j = 4. 3x3/1: r = 11 + 2 x 4 = **19**.
# Check: `costs.receptive_field([("c", 7, 2), ("p", 3, 2), ("c", 3, 1)])[-1].size`.
# </details>

# %% [markdown]
# ## 5. FLOPs are not latency
#
# Counting MACs is exact and machine-independent, which is why papers report it. But the time a layer takes
# also depends on how many bytes it moves, how well the library's kernels suit its shape, and how much
# parallel work there is. Let us time layers of similar MAC counts with `costs.measure_latency`.
#
# Timing on a shared machine needs care: another program can steal the CPU in the middle of any run. So the
# layers take turns, in 3 rounds; in each round a layer runs twice untimed (the first calls allocate memory
# and pick kernels), then 7 times timed, on **one thread** (small layers gain little from more threads, and
# one thread is less exposed to other programs). A slow moment of the machine then hits all layers alike. We
# report the **minimum**, the run least disturbed, and the median of each round's median with the range
# across the rounds to show the spread.
#
# Next to each layer's MACs we put its **arithmetic intensity**: MACs per byte it must at least move (read
# its input and weights once, write its output once, 4 bytes per float). The depthwise convolution (one
# filter per channel; Xception, lesson 06 of the course plan) does a few MACs per byte; a dense convolution
# reuses every value it loads for dozens of MACs.

# %%
# NBVAL_IGNORE_OUTPUT
# (timings differ from run to run; the next cell asserts only what holds on a busy 2-core machine)
import os


def bytes_moved(layer, shape):
    """The least memory traffic of one pass: input and weights read once, output written once (float32)."""
    x = torch.zeros(shape)
    with torch.no_grad():
        y = layer(x)
    return 4 * (x.numel() + sum(p.numel() for p in layer.parameters()) + y.numel())


layers = {
    "3x3 conv 64->64 @56": (nn.Conv2d(64, 64, 3, padding=1, bias=False), (1, 64, 56, 56)),
    "1x1 conv 576->64 @56": (nn.Conv2d(576, 64, 1, bias=False), (1, 576, 56, 56)),
    "5x5 conv 192->32 @28": (nn.Conv2d(192, 32, 5, padding=2, bias=False), (1, 192, 28, 28)),
    "1x1+5x5 bottleneck @28": (bottleneck, (1, 192, 28, 28)),
    "depthwise 3x3, 512 ch @56": (nn.Conv2d(512, 512, 3, padding=1, groups=512, bias=False), (1, 512, 56, 56)),
    "Linear 4096->4096": (nn.Linear(4096, 4096, bias=False), (1, 4096)),
}
rounds = {name: [] for name in layers}
for _ in range(3):  # the layers take turns
    for name, (layer, shape) in layers.items():
        rounds[name].append(costs.measure_latency(layer, shape, repeats=7, warmup=2, threads=1))
measured = {}
print(f"{'layer':<26} {'M MACs':>7} {'MACs/byte':>9} {'min ms':>7} {'median ms (range)':>21} {'GMAC/s':>7}")
for name, (layer, shape) in layers.items():
    macs = costs.count_macs(layer, shape)
    medians = sorted(t.median_ms for t in rounds[name])
    measured[name] = dict(macs=macs, intensity=macs / bytes_moved(layer, shape),
                          min_ms=min(t.min_ms for t in rounds[name]), median_ms=medians[1], range_ms=(medians[0], medians[-1]))
    m = measured[name]
    print(f"{name:<26} {macs / 1e6:7.1f} {m['intensity']:9.1f} {m['min_ms']:7.2f} "
          f"{m['median_ms']:8.2f} ({medians[0]:5.2f}-{medians[-1]:5.2f}) {macs / m['min_ms'] / 1e6:7.1f}")
print(f"1 thread; 3 rounds of 7 timed runs; GMAC/s at the fastest run. This machine: {os.cpu_count()} cores, "
      f"load average {os.getloadavg()[0]:.1f} (above the core count, other programs were busy too)")

# %%
names = list(measured)
macs = [measured[n]["macs"] / 1e6 for n in names]
fastest = [measured[n]["min_ms"] for n in names]
median = [measured[n]["median_ms"] for n in names]
speed = [measured[n]["macs"] / measured[n]["min_ms"] / 1e6 for n in names]  # GMAC/s at the fastest run
intensity = [measured[n]["intensity"] for n in names]

fig, (ax_time, ax_speed) = plt.subplots(1, 2, figsize=(11, 4.2))
for i, name in enumerate(names):
    color = f"C{i}"
    ax_time.plot([macs[i], macs[i]], [fastest[i], median[i]], color=color, lw=1)  # from the fastest run to the median
    ax_time.scatter(macs[i], fastest[i], s=60, color=color, label=name, zorder=3)
    ax_speed.scatter(intensity[i], speed[i], s=60, color=color, zorder=3)
ax_time.set_xlabel("counted work (million MACs)")
ax_time.set_ylabel("time (ms): dot = fastest run, line up to the median")
ax_time.set_title("similar MACs, very different times")
ax_speed.set_xlabel("arithmetic intensity (MACs per byte moved)")
ax_speed.set_ylabel("speed (GMAC/s, fastest run)")
ax_speed.set_title("the fewer MACs per byte, the slower each MAC")
for ax in (ax_time, ax_speed):
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.grid(True, which="major", alpha=0.3)
    for axis in (ax.xaxis, ax.yaxis):  # ticks at 1, 2, 5, 10, 20, 50, ... written as plain numbers
        axis.set_major_locator(matplotlib.ticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
        axis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:g}"))
        axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
fig.legend(*ax_time.get_legend_handles_labels(), loc="lower center", ncol=3, fontsize=8, frameon=False)
fig.tight_layout(rect=(0, 0.1, 1, 1))
plt.show()

# What held in every run we made, on a quiet and on a busy 2-core machine: the dense convolutions, which
# reuse each loaded value many times, run at least twice as many MACs per second as the memory-bound
# depthwise conv and Linear layer, and the depthwise conv takes longer than the bottleneck although both do
# 12-15 million MACs. (The factors vary from machine to machine and run to run; see the table.)
gmacs = dict(zip(names, speed))
dense = ["3x3 conv 64->64 @56", "1x1 conv 576->64 @56", "5x5 conv 192->32 @28"]
for memory_bound in ("depthwise 3x3, 512 ch @56", "Linear 4096->4096"):
    assert min(gmacs[d] for d in dense) > 2 * gmacs[memory_bound], (memory_bound, gmacs)
assert measured["depthwise 3x3, 512 ch @56"]["min_ms"] > 1.5 * measured["1x1+5x5 bottleneck @28"]["min_ms"], measured
assert measured["Linear 4096->4096"]["min_ms"] > 0.5 * max(measured[d]["min_ms"] for d in dense), measured

# %% [markdown]
# The points do not lie on one line. The depthwise convolution and the GoogLeNet bottleneck do about the
# same work (12-15 million MACs), yet the depthwise conv takes longer, in most runs many times longer; the
# Linear layer, with a seventh of a dense convolution's MACs, takes about as long as one, or longer. The right panel says why: the
# depthwise conv and the fully connected layer (at batch size 1 every weight is used once) do about one MAC
# per byte or less; they are **memory-bound**, waiting for data, not for arithmetic. Dense convolutions
# reuse every loaded value dozens of times and keep the arithmetic units busy. The exact numbers depend on
# the machine and on what else it is doing (see the ranges); the gap between the two kinds of layers does
# not. Keep this in mind for Xception: separable convolutions win on MACs more clearly than on the clock.
#
# ## Summary
#
# * A conv layer has `k_h k_w (C_in/groups) C_out (+ C_out)` parameters and does
#   `C_out H_out W_out k_h k_w C_in/groups` MACs; `course_utils.costs` computes both and FlopCounterMode
#   confirms them.
# * One MAC = one multiply + one add; FLOPs = 2 x MACs. This course reports MACs.
# * A 1x1 convolution is a Linear layer shared across pixels: cheap channel mixing and channel reduction.
# * What the counter skips (pooling, batch norm, ReLU, bias) is 1.3-1.6% of GoogLeNet's arithmetic.
# * GoogLeNet's 1x1 bottleneck (1x1 + ReLU) cuts inception (3a)'s 5x5 branch from 120 M to 12.4 M MACs
#   (9.7x), whatever the spatial size; a reduction wider than the output costs more than it saves.
# * Receptive fields grow by `(k - 1) x jump` per layer; two 3x3 see as far as one 5x5.
# * Counted work is not time: layers with few MACs per byte are memory-bound, and timings on a shared
#   machine need repeats, a minimum and a spread.
#
# **Next:** [lesson 02, Inception v1 (GoogLeNet)](02_inception_v1_googlenet.ipynb) builds the whole Inception
# module and GoogLeNet from these pieces; the [course index](00_index.ipynb) lists the lessons that are ready.
#
# **Read more:** [Network In Network](https://arxiv.org/abs/1312.4400) ·
# [Going deeper with convolutions](https://arxiv.org/abs/1409.4842) ·
# [PyTorch FlopCounterMode](https://pytorch.org/docs/stable/generated/torch.utils.flop_counter.FlopCounterMode.html)
