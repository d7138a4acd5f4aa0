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
# With grouped convolutions (lesson 06) each filter sees only `C_in / groups` channels; the formula divides
# `C_in` by `groups`.

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
# residual additions. In an Inception network they are well under 1% of the arithmetic, but they are not
# free in *time*, which is one reason why counted work is not latency (section 5).
#
# The counter works on any module and can break the total down per submodule:

# %%
bottleneck = nn.Sequential()
bottleneck.add_module("reduce_1x1", nn.Conv2d(192, 16, kernel_size=1, bias=False))
bottleneck.add_module("relu", nn.ReLU())
bottleneck.add_module("conv_5x5", nn.Conv2d(16, 32, kernel_size=5, padding=2, bias=False))
print(costs.cost_breakdown(bottleneck, (1, 192, 28, 28)))

# %% [markdown]
# **Exercise 1.** How many parameters does `nn.Conv2d(64, 128, kernel_size=3)` have? Work it out on paper,
# then check.

# %%
answer_1 = None  # your answer, e.g. 12345
lesson01.check_conv_params(answer_1)

# %% [markdown]
# <details><summary>Solution</summary>
#
# Each of the 128 filters holds 3 x 3 x 64 = 576 weights, plus one bias per output channel:
# 576 x 128 + 128 = **73,856**. Check: `sum(p.numel() for p in nn.Conv2d(64, 128, 3).parameters())`.
# </details>

# %% [markdown]
# ## 2. A 1x1 convolution is a fully connected layer at every pixel
#
# With a 1x1 kernel the window is a single pixel, so each output pixel is
# `W @ (the C_in values of that pixel) + b`: exactly what `nn.Linear(C_in, C_out)` does to a vector.
# The same weights are used at every position. Network In Network called this an "mlpconv" layer.
# In Inception it has two jobs: **mixing channels** cheaply and **reducing their number** in front of
# expensive convolutions.
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
# **Exercise 4 (code).** Write the conversion as a function: given any 1x1 `nn.Conv2d`, return the
# equivalent `nn.Linear` (with a bias exactly when the conv has one). The check tries it on convs it makes.

# %%
def conv1x1_to_linear(conv):
    return None  # replace with your code


answer_4 = None  # set to conv1x1_to_linear when you have written it
lesson01.check_conv1x1_to_linear(answer_4)

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
# the same factor. The price: the 5x5 now sees a 16-channel summary of its input. The paper's bet is that
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
# the reduction is wider than the output? (The widget needs a live kernel; on a static page you see only
# its last state.)

# %%
# NBVAL_IGNORE_OUTPUT
widgets.cost_explorer_widget()

# %% [markdown]
# **Exercise 2.** Inception (3a)'s 3x3 branch has "#3x3 reduce" = 96 and "#3x3" = 128 (Table 1), on the same
# 28x28x192 input. How many MACs does the whole branch cost, its 1x1 reduction included? (The 3x3 is padded
# so the output stays 28x28.)

# %%
answer_2 = None  # your answer in MACs
lesson01.check_branch_macs(answer_2)

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
# depth*. Later papers replace a 5x5 by two stacked 3x3 (lesson 04) precisely because they see the same
# 5x5 patch.
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
# **Exercise 3.** GoogLeNet begins with a 7x7 convolution of stride 2, a 3x3 max pool of stride 2 and then
# (after the 1x1) a 3x3 convolution of stride 1. Leaving out the 1x1 (it adds nothing), how many input pixels
# wide is the receptive field after the 3x3 convolution?

# %%
answer_3 = None  # receptive field size in pixels
lesson01.check_receptive_field(answer_3)

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
# parallel work there is. Let us time some layers of similar or smaller MAC counts with
# `costs.measure_latency` (warm-up runs first, then the median of repeated runs, and the thread count that
# was used).
#
# The depthwise convolution (one filter per channel, lesson 06) does a small fraction of the dense 3x3's
# arithmetic but has to read and write the same large feature maps.

# %%
# NBVAL_IGNORE_OUTPUT
# (timings differ from run to run; the assert at the end of the next cell checks what must hold)
layers = {
    "3x3 conv 64->64 @56": (nn.Conv2d(64, 64, 3, padding=1, bias=False), (1, 64, 56, 56)),
    "1x1 conv 576->64 @56": (nn.Conv2d(576, 64, 1, bias=False), (1, 576, 56, 56)),
    "5x5 conv 192->32 @28": (nn.Conv2d(192, 32, 5, padding=2, bias=False), (1, 192, 28, 28)),
    "1x1+5x5 bottleneck @28": (bottleneck, (1, 192, 28, 28)),
    "depthwise 3x3, 512 ch @56": (nn.Conv2d(512, 512, 3, padding=1, groups=512, bias=False), (1, 512, 56, 56)),
    "Linear 4096->4096": (nn.Linear(4096, 4096, bias=False), (1, 4096)),
}
measured = {}
for name, (layer, shape) in layers.items():
    macs = costs.count_macs(layer, shape)
    latency = costs.measure_latency(layer, shape, repeats=15, warmup=3)
    measured[name] = (macs, latency.median_ms)
    print(f"{name:<27} {macs / 1e6:8.1f} M MACs   {latency.median_ms:7.3f} ms   "
          f"{macs / latency.median_ms / 1e6:6.1f} GMAC/s")
print(f"(median of 15 runs, {latency.threads} CPU threads)")

# %%
fig, ax = plt.subplots(figsize=(8, 4))
for name, (macs, ms) in measured.items():
    ax.scatter(macs / 1e6, ms, s=60, label=name)
ax.set_xscale("log")
ax.set_yscale("log")
ax.set_xlabel("counted work (million MACs, log scale)")
ax.set_ylabel("measured time (ms, median, log scale)")
ax.set_title("MACs do not predict latency")
ax.legend(fontsize=8, loc="center left", bbox_to_anchor=(1.02, 0.5))
ax.grid(True, which="both", alpha=0.3)
for axis in (ax.xaxis, ax.yaxis):
    axis.set_major_formatter(matplotlib.ticker.FormatStrFormatter("%g"))
    axis.set_minor_formatter(matplotlib.ticker.NullFormatter())
fig.tight_layout()
plt.show()

throughput = {name: macs / ms for name, (macs, ms) in measured.items()}
spread = max(throughput.values()) / min(throughput.values())
# Timings vary from run to run and machine to machine; the spread between layer types does not.
assert spread > 2, f"expected layers to differ in MACs per second by more than 2x, got {spread:.1f}x"

# %% [markdown]
# The points do not lie on one line: the throughput (MACs per second) differs between layer types by a large
# factor on any machine. The depthwise convolution and the fully connected layer are **memory-bound**: they do
# few MACs per byte they load. Dense convolutions reuse every loaded value many times and keep the arithmetic
# units busy. Keep this in mind for Xception (lesson 06): separable convolutions win on MACs more clearly
# than on the clock.
#
# ## Summary
#
# * A conv layer has `k_h k_w (C_in/groups) C_out (+ C_out)` parameters and does
#   `C_out H_out W_out k_h k_w C_in/groups` MACs; `course_utils.costs` computes both and FlopCounterMode
#   confirms them.
# * One MAC = one multiply + one add; FLOPs = 2 x MACs. This course reports MACs.
# * A 1x1 convolution is a Linear layer shared across pixels: cheap channel mixing and channel reduction.
# * GoogLeNet's 1x1 bottleneck cuts inception (3a)'s 5x5 branch from 120 M to 12.4 M MACs (9.7x).
# * Receptive fields grow by `(k - 1) x jump` per layer; two 3x3 see as far as one 5x5.
# * Counted work is not time: memory traffic and kernel efficiency matter too.
#
# **Next:** lesson 02 builds the whole Inception module and GoogLeNet from these pieces.
#
# **Read more:** [Network In Network](https://arxiv.org/abs/1312.4400) ·
# [Going deeper with convolutions](https://arxiv.org/abs/1409.4842) ·
# [PyTorch FlopCounterMode](https://pytorch.org/docs/stable/generated/torch.utils.flop_counter.FlopCounterMode.html)
