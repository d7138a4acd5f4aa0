# ---
# jupyter:
#   course:
#     description: Inception-v4's stem and A/B/C/reduction blocks counted from the model; Inception-ResNet blocks (linear 1x1 expansion, BN off the sums), v1 vs v2; residual scaling measured at initialization (widget) and in a stored high-learning-rate experiment; the released Inception-ResNet-v2 against the paper; the family's params, MACs, latency and cited accuracy
# ---

# %% [markdown]
# # Lesson 05 — Inception-v4 and Inception-ResNet
#
# In 2016 the Inception team asked two questions at once. Does the Inception design still gain from a cleaner,
# more uniform network (Inception-v4)? And what happens when its blocks get the **residual connections** that had
# just won ImageNet for ResNet (Inception-ResNet-v1 and -v2)? Along the way they found that very wide residual
# Inception networks "died" early in training unless every residual was **scaled down** before the addition. This
# lesson takes the three networks apart with the course's code, counts them, and measures residual scaling at our
# size, including what does not reproduce.
#
# **Learning goals.** By the end of this lesson you can
#
# 1. name Inception-v4's stem, Inception-A/B/C and reduction blocks, and read each one's output shape, parameters and
#    MACs from the model (and say which stage holds most of the arithmetic);
# 2. explain an Inception-ResNet block: the residual sum, the linear 1x1 "filter expansion" that matches the depth,
#    batch normalization only on the traditional layers; compare Inception-ResNet-v1 and -v2;
# 3. measure why residuals are scaled by 0.1-0.3: activation growth and the gradient reaching the stem in a deep
#    stack, with the **scaling widget**, and read a stored experiment with its spread across seeds;
# 4. say what the shipped training histories permit about "residual networks train faster";
# 5. list where the released Inception-ResNet-v2 differs from the paper's figures, counted from the models;
# 6. place GoogLeNet, BN-Inception, v3, v4 and both Inception-ResNets on one accuracy-versus-cost chart.
#
# **Paper.** Szegedy, Ioffe, Vanhoucke & Alemi,
# [Inception-v4, Inception-ResNet and the Impact of Residual Connections on Learning](https://arxiv.org/abs/1602.07261)
# (2016; AAAI 2017): Section 3 (architectures, Figures 3-19, Table 1), Section 3.3 (scaling of the residuals),
# Section 5 (results, Table 2). Residual connections: He et al.,
# [Deep Residual Learning for Image Recognition](https://arxiv.org/abs/1512.03385) (2015).
#
# Run the cells from top to bottom (about a minute on a 2-core laptop). The first code cell only matters on Colab.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn
from torchinfo import summary

from course_utils import costs, explorers, widgets
from course_utils.checkpoints import read_checkpoint
from course_utils.exercises import lesson05
from course_utils.experiments import load_result, metric, paired_difference, plot_curves, summarize
from course_utils.models import create_model
from course_utils.models.inception_resnet import (
    V1_BLOCK8, V1_BLOCK17, V1_BLOCK35, V2_BLOCK8, V2_BLOCK17, V2_BLOCK35, V2_REDUCTION_A, V2_REDUCTION_B,
    Block8, Block17, Block35, InceptionResNetReductionB,
)
from course_utils.models.inception_v4 import InceptionV4Stem, ReductionA
from course_utils.models.records import PAPER_ACCURACY, record
from course_utils.runtime import seed_everything

seed_everything(0)
# Every computation here is small convolutions or counting; one thread is as fast, and on a busy machine two
# threads that wait for each other can be many times slower. The latencies in section 6 are one-thread figures.
torch.set_num_threads(1)

# %% [markdown]
# ## 1. Inception-v4's anatomy
#
# Inception-v4 (Figure 9 of the paper) is Inception-v3 made uniform: one stem, then three stages of identical
# blocks, with a reduction block between stages.
#
# | stage | figure | grid | blocks |
# |---|---|---|---|
# | stem | 3 | 299 -> 35 | a chain of convolutions with three splits (pool beside stride-2 conv) |
# | Inception-A | 4 | 35 x 35 | 4 |
# | Reduction-A | 7 | 35 -> 17 | 1 |
# | Inception-B | 5 | 17 x 17 | 7 (1x7 and 7x1 factorized convolutions, lesson 04) |
# | Reduction-B | 8 | 17 -> 8 | 1 |
# | Inception-C | 6 | 8 x 8 | 3 (1x3 and 3x1 side by side: the widened last stage) |
#
# Why so uniform? The authors had moved to TensorFlow, which no longer forced them to keep the model small enough
# to be partitioned across machines; the older networks had been shaped by that constraint as much as by design.
# Shapes and counts need no arithmetic on real numbers, so the full 299 x 299 model is built on PyTorch's `meta`
# device (lesson 04): a forward pass there costs nothing. The table shows **one block of each kind**:

# %%
with torch.device("meta"):
    v4 = create_model("inception_v4")
v4_costs = costs.cost_breakdown(v4, (1, 3, 299, 299), depth=2)
one_of_each = ["stem", "inception_a.0", "reduction_a", "inception_b.0", "reduction_b", "inception_c.0"]
shapes = {}
hooks = [v4.get_submodule(n).register_forward_hook(
    lambda m, i, out, n=n: shapes.__setitem__(n, tuple(out.shape[1:]))) for n in one_of_each]
with torch.no_grad():
    v4(torch.zeros(1, 3, 299, 299, device="meta"))
for hook in hooks:
    hook.remove()
print(f"{'block':<15}{'type':<17}{'output C x H x W':>18}{'params':>12}{'MACs':>11}")
for name in one_of_each:
    row = v4_costs.row(name)
    print(f"{name:<15}{row.module_type:<17}{' x '.join(map(str, shapes[name])):>18}{row.params:>12,}"
          f"{costs.format_count(row.macs):>11}")
print(f"whole network: {v4_costs.total_params:,} parameters, {costs.format_count(v4_costs.total_macs)} MACs; "
      f"blocks per stage: {len(v4.inception_a)} A, {len(v4.inception_b)} B, {len(v4.inception_c)} C")
assert v4_costs.total_params == record("inception_v4").params and v4_costs.total_macs == record("inception_v4").macs
assert [shapes[n] for n in one_of_each] == [(384, 35, 35), (384, 35, 35), (1024, 17, 17), (1024, 17, 17),
                                            (1536, 8, 8), (1536, 8, 8)]
assert (len(v4.inception_a), len(v4.inception_b), len(v4.inception_c)) == (4, 7, 3)
passed_through = {n: shapes[p][0] for n, p in (("reduction_a", "inception_a.0"), ("reduction_b", "inception_b.0"))}
print(f"channels a reduction's max pool passes through: {passed_through}")
assert passed_through == {"reduction_a": 384, "reduction_b": 1024}
assert max(one_of_each, key=lambda n: v4_costs.row(n).macs) == "stem"

# %% [markdown]
# Three things to read off the table. Each reduction block **widens** as it halves the grid (384 -> 1024 -> 1536
# channels), so the representation shrinks gently (lesson 04's principle 1). Part of each reduction's output costs
# nothing: its max pool branch passes every input channel through (384 of Reduction-A's 1024 channels, 1024 of
# Reduction-B's 1536). And the most expensive single module is not an Inception block at all: the stem, which runs
# on the 147 x 147 and 73 x 73 grids.
#
# The same network as [torchinfo](https://github.com/TylerYep/torchinfo) summarizes it at depth 2 (every block of
# every stage, still on the meta device):

# %%
print(summary(v4, input_size=(1, 3, 299, 299), depth=2, device="meta", verbose=0,
              col_names=("output_size", "num_params", "mult_adds"), row_settings=("var_names",)))

# %% [markdown]
# torchinfo's total, 12.25 G "mult-adds", is the course's MAC count: both count a multiply-accumulate once.
#
# **Exercise 3** (answered with the counter). Which **stage** of Inception-v4 (all its blocks together) holds the
# most MACs? Answer with one of the names in `lesson05.V4_STAGES`.

# %%
answer_3 = None  # a stage name, e.g. "reduction_b"
lesson05.check_most_macs(answer_3)

# %% [markdown]
# <details><summary>Solution</summary>
#
# Count the stages: `costs.cost_breakdown(v4, (1, 3, 299, 299))` (depth 1) lists each stage's MACs. The seven
# Inception-B blocks, 847 M MACs each, hold **5.93 G of 12.25 G (48%)**: `"inception_b"`. The stem (2.29 G, 19%) is the
# largest single module, but a stage repeats its block.
# </details>
#
# ## 2. Inception-ResNet blocks
#
# An Inception-ResNet block keeps the Inception branches and adds their result to the block's input, as ResNet
# does. Three details make the sum work (Section 3.2, Figures 10 and 16):
#
# * **the residual sum**: `out = ReLU(x + scale * r(x))`, where `r` is the Inception part;
# * **the "filter expansion"**: the branches are narrow (128 channels in v2's Inception-ResNet-A), the input is
#   wide (320). A 1x1 convolution *without activation* ("1x1 Conv (... Linear)" in the figures) maps the
#   concatenated branches back to the input's depth, so that the two can be added;
# * **batch normalization only on the traditional layers**: every conv inside the branches is conv-BN-ReLU, but
#   neither the linear 1x1 nor the sum is normalized. The paper did this to save GPU memory and fit more blocks.
#
# The course's `Block35` (v2's Inception-ResNet-A, 35 x 35 grid) shows all three. Its forward pass, recomputed by hand
# from its parts:

# %%
block = Block35(320, **V2_BLOCK35).eval()  # scale 0.17, the released code's value for the A blocks
x = torch.randn(2, 320, 35, 35)
with torch.no_grad():
    branches = block.forward_branches(x)
    mixed = torch.cat(list(branches.values()), 1)
    by_hand = torch.relu(x + block.scale * block.up(mixed))
    same = torch.allclose(block(x), by_hand, atol=1e-5)
print("branches:", {name: tuple(t.shape[1:]) for name, t in branches.items()})
print(f"concatenated: {mixed.shape[1]} channels -> up: {block.up} -> {block.up.out_channels} channels")
print(f"scale {block.scale}; block(x) == ReLU(x + scale * up(concat(branches))): {same}")
norms = [name for name, m in block.named_modules() if isinstance(m, nn.BatchNorm2d)]
print(f"BatchNorm layers: {len(norms)}, all inside the branches: {all(n.startswith('branch') for n in norms)}; "
      f"after `up`: none (up has a bias instead: {block.up.bias is not None})")
assert same and mixed.shape[1] == 128 and block.up.out_channels == 320 and block.up.bias is not None
assert len(norms) == 6 and all(n.startswith("branch") for n in norms)

# %% [markdown]
# **Inception-ResNet-v1 against -v2.** The two share the schema (Figure 15: stem, 5 x A, Reduction-A, 10 x B,
# Reduction-B, 5 x C in the paper) and differ in width: v1 is sized to cost about as much as Inception-v3, v2 as much
# as Inception-v4 (Section 3.2: "roughly the computational cost of Inception-v3" and "matches the raw cost of the
# newly introduced Inception-v4"). One block of each kind, at the width the network feeds it (v2 as released,
# see section 5):

# %%
ir_blocks = {
    "A (35x35)": (35, Block35(256, **V1_BLOCK35), Block35(320, **V2_BLOCK35)),
    "B (17x17)": (17, Block17(896, **V1_BLOCK17), Block17(1088, **V2_BLOCK17)),
    "C (8x8)": (8, Block8(1792, **V1_BLOCK8), Block8(2080, **V2_BLOCK8)),
}
print(f"{'block':<11}{'v1: in -> branches':>22}{'params':>11}{'MACs':>10}   {'v2: in -> branches':>20}{'params':>11}{'MACs':>10}")
for name, (grid, b1, b2) in ir_blocks.items():
    cells = []
    for b in (b1, b2):
        cells.append((f"{b.up.out_channels} -> {b.up.in_channels}", costs.count_params(b),
                      costs.count_macs(b, (1, b.up.out_channels, grid, grid))))
    print(f"{name:<11}" + "   ".join(f"{w:>20}{p:>11,}{costs.format_count(m):>10}" for w, p, m in cells))
with torch.device("meta"):
    families = {n: create_model(n, **({"aux_logits": False} if n == "inception_v3" else {}))  # no auxiliary head
                for n in ("inception_v3", "inception_resnet_v1", "inception_v4", "inception_resnet_v2")}
family_macs = {n: costs.count_macs(m, (1, 3, 299, 299)) for n, m in families.items()}
family_params = {n: costs.count_params(m) for n, m in families.items()}
for small, big in (("inception_resnet_v1", "inception_v3"), ("inception_resnet_v2", "inception_v4")):
    ratio = family_macs[small] / family_macs[big]
    print(f"{small}: {costs.format_count(family_macs[small])} MACs, {family_params[small]:,} params = "
          f"{ratio:.2f}x the MACs of {big} ({costs.format_count(family_macs[big])})")
    assert 1.0 < ratio < 1.1 and family_macs[small] == record(small).macs
assert family_params["inception_resnet_v1"] < family_params["inception_v3"]

# %% [markdown]
# The paper's "roughly the same cost" holds within 10%: counted, each Inception-ResNet does 7-9% more
# multiply-adds than its plain partner. Note where the width goes: v2's blocks have wider branches (e.g. 192 and 256
# instead of 192 and 192 in the C block), and the 1x1 expansions, which grow with the *input* width, are a large
# part of every block (exercise 1).
#
# **Exercise 1.** How many parameters does one `Block35` of the released Inception-ResNet-v2 have (320 input
# channels, Figure 16's branch widths: 1x1 32 | 1x1 32 -> 3x3 32 | 1x1 32 -> 3x3 48 -> 3x3 64, then the linear 1x1
# back to 320)? Count BatchNorm's parameters and biases too, as `costs.count_params` does. Work it out from the
# widths first, then check with the code.

# %%
answer_1 = None  # a whole number
lesson05.check_block35_params(answer_1)

# %% [markdown]
# <details><summary>Solution</summary>
#
# Branch convolutions (no bias, each followed by BN with 2 parameters per channel):
# 1x1: 320 x 32 = 10,240; 1x1 -> 3x3: 10,240 + 9 x 32 x 32 = 9,216; 1x1 -> 3x3 -> 3x3: 10,240 + 9 x 32 x 48 = 13,824
# + 9 x 48 x 64 = 27,648. BN: 2 x (32 + 32 + 32 + 32 + 48 + 64) = 480. The linear 1x1: 128 x 320 = 40,960 weights +
# 320 biases. Total 122,368 weights + 480 + 320 = **123,168**: `costs.count_params(Block35(320, **V2_BLOCK35))`.
# </details>
#
# ## 3. Residual scaling
#
# Section 3.3 of the paper: "if the number of filters exceeded 1000, the residual variants started to exhibit
# instabilities and the network has just 'died' early in the training, meaning that the last layer before the
# average pooling started to produce only zeros after a few tens of thousands of iterations." A lower learning rate
# or extra BN did not help; multiplying each residual by a factor between 0.1 and 0.3 before the addition did.
#
# **Why would it matter?** Nothing normalizes the sum. If `x` and `r(x)` are roughly independent, the variance
# after a block is `var(x) + scale^2 var(r(x))`: every block *adds* its residual's variance, and the ReLU after the sum
# keeps the output non-negative, so the mean grows too. Over many blocks the activations grow, and so does the
# gradient flowing back through the residual branches. With `scale = 0.2` each block adds only 4% as much.
#
# `explorers.scaling_profile` measures this at initialization, in a stack of the course's real `Block35` (at a
# quarter of Figure 16's widths, 32 channels; `explorers.ResidualInceptionStack`) with PyTorch's default
# initialization: the standard deviation after every block, and the norm of the gradient that reaches the stem's
# output (cross-entropy against random labels, one batch of 16 random images). The same seed gives the same weights
# for every scale. Forty blocks, the number in the released Inception-ResNet-v2:

# %%
scales = (1.0, 0.3, 0.2, 0.1)
profiles = explorers.compare_scales(scales, depth=40)
print(f"{'scale':>6}{'std: stem':>11}{'block 1':>9}{'block 10':>10}{'block 20':>10}{'block 40':>10}{'growth':>8}"
      f"{'grad at stem':>14}")
for s, p in profiles.items():
    print(f"{s:>6g}{p.stem_std:>11.3f}{p.block_std[0]:>9.3f}{p.block_std[9]:>10.3f}{p.block_std[19]:>10.3f}"
          f"{p.block_std[39]:>10.3f}{p.growth:>7.2f}x{p.stem_grad_norm:>14.4f}")
one, paper = profiles[1.0], [profiles[s] for s in (0.3, 0.2, 0.1)]
print(f"gradient at the stem, scale 1 / scale 0.2: {one.stem_grad_norm / profiles[0.2].stem_grad_norm:.0f}x")
assert one.growth > 2.5 and all(p.growth < 1.35 for p in paper)
assert one.growth > profiles[0.3].growth > profiles[0.2].growth > profiles[0.1].growth
assert one.stem_grad_norm > 10 * profiles[0.2].stem_grad_norm

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.6), gridspec_kw={"width_ratios": [1.6, 1]})
colors = {1.0: "#c0504d", 0.3: "#9bbb59", 0.2: "#4f81bd", 0.1: "#8064a2"}
for s, p in profiles.items():
    axes[0].plot(range(41), [1.0] + [v / p.stem_std for v in p.block_std], color=colors[s], label=f"scale {s:g}")
axes[0].set(xlabel="block", ylabel="std / std after the stem", title="activation growth at initialization")
axes[0].legend(fontsize=8)
axes[1].bar([f"{s:g}" for s in scales], [profiles[s].stem_grad_norm for s in scales], color=[colors[s] for s in scales])
axes[1].set_yscale("log")
axes[1].set(xlabel="residual scale", ylabel="norm of d loss / d stem output", title="gradient reaching the stem")
for ax in axes:
    ax.grid(alpha=0.3)
fig.tight_layout()
plt.show()

# %% [markdown]
# Unscaled, the standard deviation grows about 2.7x over 40 blocks, roughly like the square root of the depth
# (each block adds a similar amount of variance), and the gradient at the stem is about twenty times larger
# than with scale 0.2: early layers receive big, depth-dependent updates. With 0.1-0.3 the stack stays within
# 35% of where it started. Growth by 2.7x is not an explosion: with BN inside every branch our small stack is far
# from the paper's failure. The widget lets you look for yourself: drag the scale and the depth (each change builds
# the stack and runs one batch forward and backward, well under a second).

# %%
# NBVAL_IGNORE_OUTPUT
widgets.residual_scaling_widget()

# %% [markdown]
# **Exercise 2** (measure it). With the explorer's default arguments, what is the activation standard deviation
# after **block 20** of a stack scaled by **0.2** (`explorers.scaling_profile(scale=0.2, depth=20)`)?

# %%
answer_2 = None  # a number, e.g. read from the profile
lesson05.check_std_after_20_blocks(answer_2)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `explorers.scaling_profile(0.2, 20).block_std[-1]`: about **0.72** (the stem leaves about 0.67, so it grew
# about 7%). The same stack unscaled ends near 1.4, 2.1 times its start.
# </details>
#
# ### What does not reproduce at our size
#
# The paper's instability appeared **with more than 1000 filters** and after "a few tens of thousands of
# iterations". Our networks have 32 channels and train for a few hundred steps on a CPU, so the growth above is the
# mechanism, not the failure. To ask whether scaling changes *training* at our size, the stored experiment
# `benchmarks/exp_residual_scaling.py` trains the 16-block stack on the embedded shapes with plain SGD at a
# deliberately **high constant learning rate** (0.5 with Nesterov momentum 0.9; the course's SGD default is 0.05),
# once with unscaled residuals and once with scale 0.2, three seeds each, same seeds (same initial weights and
# batches) for both arms. Besides accuracy it records whether the loss diverged and the paper's symptom: the share of
# **dead channels** after the last block (zero for every test image).

# %%
RETRAIN = False  # True: rerun the stored experiment here (six short trainings, about 5 minutes on 2 CPU cores)

if RETRAIN:
    from course_utils.experiments import benchmark_script

    scaling_result = benchmark_script("exp_residual_scaling").run()  # every arm x seed, writes data/results/residual_scaling.json
else:
    scaling_result = load_result("residual_scaling")
recipe = scaling_result["recipe"]
print(f"recipe: {recipe['depth']} blocks, {recipe['channels']} channels, {recipe['optimizer']} lr {recipe['lr']} "
      f"(constant), {recipe['epochs']} epochs on {recipe['train_images']:,} images; seeds {scaling_result['seeds']}; "
      f"load average {scaling_result['machine']['load_average_1min']} when it started")
print(f"{'arm':<11}{'test accuracy':>20}{'diverged':>10}{'dead channels, per seed':>28}")
for arm in scaling_result["arms"]:
    acc = summarize(metric(scaling_result, arm, "test_acc"))
    dead = metric(scaling_result, arm, "dead_channel_fraction")
    diverged = sum(metric(scaling_result, arm, "diverged"))
    print(f"{arm:<11}{f'{100 * acc.mean:.1f}% +- {100 * acc.std:.1f}':>20}"
          f"{f'{diverged}/{acc.n}':>10}{', '.join(f'{100 * d:.0f}%' for d in dead):>28}")
acc_diff = paired_difference(metric(scaling_result, "scale 0.2", "test_acc"), metric(scaling_result, "scale 1", "test_acc"))
dead_diff = paired_difference(metric(scaling_result, "scale 0.2", "dead_channel_fraction"),
                              metric(scaling_result, "scale 1", "dead_channel_fraction"))
print(f"scale 0.2 - scale 1, paired by seed: accuracy {100 * acc_diff.mean:+.1f} points "
      f"[{100 * acc_diff.low:+.1f}, {100 * acc_diff.high:+.1f}]; dead channels {100 * dead_diff.mean:+.0f} points "
      f"[{100 * dead_diff.low:+.0f}, {100 * dead_diff.high:+.0f}]")
assert len(scaling_result["seeds"]) >= 3 and list(scaling_result["arms"]) == ["scale 1", "scale 0.2"]
dead_1, dead_02 = (metric(scaling_result, arm, "dead_channel_fraction") for arm in ("scale 1", "scale 0.2"))
assert all(d > 0.9 for d in dead_1) and all(d < 0.3 for d in dead_02) and dead_diff.high < 0  # the paper's symptom
assert all(a < 0.2 for arm in scaling_result["arms"] for a in metric(scaling_result, arm, "test_acc"))  # neither learns
assert acc_diff.low < 0 < acc_diff.high

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
arm_colors = {"scale 1": "#c0504d", "scale 0.2": "#4f81bd"}
plot_curves(scaling_result, "train_loss", ax=axes[0], colors=arm_colors, ylabel="training loss")
plot_curves(scaling_result, "val_acc", ax=axes[1], colors=arm_colors, ylabel="validation accuracy")
axes[0].set_title("training loss per epoch (mean, min-max band, every seed)", fontsize=10)
axes[1].set_title("validation accuracy per epoch", fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# **What we found: half of the paper's story.** At this learning rate **neither arm learns**: both stay at chance
# (10% for ten classes) after two epochs, and the scaled stack's 1.3 points more are well inside the noise (the
# interval spans zero). The runs did not diverge either: the loss settled near ln 10 = 2.30, the loss of a network
# that predicts the same for every image. But the two arms fail differently, and the difference is the paper's
# symptom. In every unscaled run **97-100% of the channels after the last block are dead**, zero for every test
# image: the last layer "started to produce only zeros". With scale 0.2, 9-16% are; the paired difference is large
# and its interval is far from zero. So at 32 channels we reproduce the *dying* of unscaled residual stacks at a high
# learning rate, not the claim that scaling makes such a run *train*. Whether it does at a learning rate where
# training is possible at all was not measured here (each run takes minutes on a busy CPU;
# `python benchmarks/exp_residual_scaling.py --lr 0.1 --dry-run` asks it). The paper's more-than-1000-filter regime
# is beyond a CPU.
#
# ## 4. Does the residual version train faster?
#
# The paper's Figures 21-26 show Inception-ResNet-v2 reaching Inception-v4's accuracy in fewer epochs, and the
# abstract says residual connections "accelerate the training of Inception networks significantly". The course's
# shipped checkpoints were trained with the same recipe (AdamW, one-cycle, 3 epochs on the embedded shapes), and each
# stored its per-epoch history. Here are the validation curves of `mini_inception_v4` and
# `mini_inception_resnet_v2`:

# %%
histories = {name: read_checkpoint(name)[1] for name in ("mini_inception_v4", "mini_inception_resnet_v2")}
fig, ax = plt.subplots(figsize=(6, 3.4))
for (name, meta), color in zip(histories.items(), ("#9bbb59", "#4f81bd")):
    h = meta["history"]
    ax.plot(h["epoch"], [100 * a for a in h["val_acc"]], "-o", color=color, label=f"{name} (seed {meta['seed']})")
    print(f"{name:<26} val accuracy per epoch: {', '.join(f'{100 * a:.1f}%' for a in h['val_acc'])}; "
          f"test {100 * meta['accuracy']:.2f}%; {meta['train_time_s']:.0f} s of training")
ax.set(xlabel="epoch", ylabel="validation accuracy (%)", title="the shipped minis' training histories (one seed each)")
ax.set_xticks([1, 2, 3])
ax.grid(alpha=0.3)
ax.legend(fontsize=8)
fig.tight_layout()
plt.show()
v4_hist, ir_hist = (histories[n]["history"]["val_acc"] for n in histories)
assert all(histories[n]["seed"] == 0 and len(histories[n]["history"]["epoch"]) == 3 for n in histories)
assert all(r > v for r, v in zip(ir_hist, v4_hist))

# %% [markdown]
# The residual mini is ahead after every epoch (49% against 25% after the first), as the paper says of the
# full-size networks. But this is **one seed per network**, and the two networks differ in more than the residual
# connections (different blocks, widths, 908 K against 811 K parameters). One run each can show that the claim is not
# contradicted at our size; it cannot estimate how large the effect is or whether it would survive another seed
# (lesson 02's and 04's experiments show seed-to-seed spreads of a few points at epoch 3 and far more after one
# epoch). A counter-example in the same checkpoints: `mini_inception_resnet_v1` needed 6 epochs instead of 3 to
# train at all (README, "Data and shipped checkpoints"); residual connections did not make it an early learner.
#
# ## 5. The paper's Inception-ResNet-v2 and the released one
#
# The Inception-ResNet-v2 that Google released (TF-slim), that timm and Keras ship and that
# `create_model("inception_resnet_v2")` builds, is not the network of the paper's figures. Counting both is the way
# to see how much. The paper's version is assembled here from the same course blocks: Figure 3's stem (shared with
# Inception-v4), then 5 / 10 / 5 blocks of Figures 16, 17 and 19 with the reductions of Figure 7 (Table 1's k, l, m,
# n = 256, 256, 384, 384) and Figure 18.

# %%
def paper_inception_resnet_v2(num_classes: int = 1000) -> nn.Sequential:
    """Inception-ResNet-v2 as Figures 3, 7, 15-19 draw it (5 / 10 / 5 blocks, the v4 stem); widths follow the sums."""
    stem = InceptionV4Stem()  # 384 x 35 x 35
    reduction_a = ReductionA(stem.out_channels, **V2_REDUCTION_A)  # 35 -> 17
    reduction_b = InceptionResNetReductionB(reduction_a.out_channels, **V2_REDUCTION_B)  # 17 -> 8
    return nn.Sequential(
        stem,
        *[Block35(stem.out_channels, **V2_BLOCK35) for _ in range(5)],
        reduction_a,
        *[Block17(reduction_a.out_channels, **V2_BLOCK17) for _ in range(10)],
        reduction_b,
        *[Block8(reduction_b.out_channels, **V2_BLOCK8) for _ in range(5)],
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(reduction_b.out_channels, num_classes),
    )


with torch.device("meta"):
    paper_v2 = paper_inception_resnet_v2()
released = families["inception_resnet_v2"]
paper_widths = (paper_v2[0].out_channels, paper_v2[6].out_channels, paper_v2[17].out_channels)
released_widths = (released.stem.out_channels, released.mixed_6a.out_channels, released.mixed_7a.out_channels)
paper_repeats = tuple(sum(isinstance(m, t) for m in paper_v2) for t in (Block35, Block17, Block8))
released_repeats = (len(released.block35), len(released.block17), len(released.block8))
paper_cost = (costs.count_params(paper_v2), costs.count_macs(paper_v2, (1, 3, 299, 299)))
released_cost = (family_params["inception_resnet_v2"], family_macs["inception_resnet_v2"])
print(f"{'':<32}{'paper (Figures 3, 15-19)':>26}{'released (TF-slim, timm)':>26}")
for label, a, b in (("stem", "Figure 3 (v4's)", "Figure 14 + mixed_5b"),
                    ("channels on 35 / 17 / 8", " / ".join(map(str, paper_widths)), " / ".join(map(str, released_widths))),
                    ("blocks A / B / C", " / ".join(map(str, paper_repeats)), " / ".join(map(str, released_repeats))),
                    ("1x1 conv before pooling", "none", f"{released.conv2d_7b.conv.out_channels} channels"),
                    ("parameters", f"{paper_cost[0]:,}", f"{released_cost[0]:,}"),
                    ("MACs", costs.format_count(paper_cost[1]), costs.format_count(released_cost[1]))):
    print(f"{label:<32}{a:>26}{b:>26}")
with torch.device("meta"):
    import timm

    timm_v2 = timm.create_model("inception_resnet_v2")
print(f"timm's inception_resnet_v2: {costs.count_params(timm_v2):,} parameters, "
      f"{len(timm_v2.repeat)} / {len(timm_v2.repeat_1)} / {len(timm_v2.repeat_2) + 1} blocks")
assert paper_widths == (384, 1152, 2144) and released_widths == (320, 1088, 2080)
assert paper_repeats == (5, 10, 5) and released_repeats == (10, 20, 10)
assert round(released_cost[0] / paper_cost[0], 2) == 1.72 and round(released_cost[1] / paper_cost[1], 2) == 1.42
assert costs.count_params(timm_v2) == released_cost[0] == record("inception_resnet_v2").params
assert (len(timm_v2.repeat), len(timm_v2.repeat_1), len(timm_v2.repeat_2) + 1) == released_repeats

# %% [markdown]
# What the count shows:
#
# * **Blocks 10 / 20 / 10**, twice the paper's 5 / 10 / 5 (timm agrees: its `repeat`, `repeat_1` and `repeat_2`
#   plus the separate last `block8`).
# * **Another stem**: the released network uses the first layers of Figure 14 (Inception-ResNet-v1's stem) and an
#   Inception-A-like block `mixed_5b`, giving **320** channels at 35 x 35, not Figure 3's 384.
# * **1088, not 1154**, on the 17 x 17 grid. Figure 17 says "1x1 Conv (1154 Linear)", but a residual block must
#   output its input's width, and Reduction-A's output on the paper's own widths is 384 + 384 + 384 = **1152**, not
#   1154: the figure does not even agree with the paper's other figures. On the 8 x 8 grid Figure 19's 2048 is
#   likewise not what Reduction-B gives (2144 here, 2080 released). The released code is internally consistent;
#   the figures are not.
# * A linear last block (no scaling, no ReLU) and a 1x1 conv to 1536 channels before pooling (`conv2d_7b`).
#
# Fewer channels per block, but twice the blocks: the released network has **72% more parameters and 42% more MACs**
# than the figures' version. The figures' network (9.26 G MACs) would not even match the paper's own statement that
# Inception-ResNet-v2 "matches the raw cost" of Inception-v4 (12.25 G); the released one (13.16 G) does. Which suggests
# the figures simplify and the released code is closer to what was trained; either way, published ImageNet numbers
# and downloadable weights belong to a network you should count, not read off Figure 15.
#
# > **Misconception: "the Inception-ResNet-v2 you download is the paper's Figure 15".** Tutorials often describe
# > the paper's 5 / 10 / 5 blocks and its Figure 3 stem next to code that loads Keras' `InceptionResNetV2` or timm's
# > `inception_resnet_v2`. Those are TF-slim's layout: 10 / 20 / 10 blocks, another stem, 320 / 1088 / 2080 channels.
# > Count the model you load; the figure is a different network.
#
# ## 6. The family so far
#
# Six networks, counted by the course on the meta device at their own input sizes (224 for GoogLeNet and
# BN-Inception, 299 for the rest, eval mode, no auxiliary heads), with ImageNet error rates **cited** from the
# papers: the course has no ImageNet, so these are the authors' numbers, not ours. They live in one place,
# `course_utils.models.records.PAPER_ACCURACY`, with the table each comes from. Five come from one table (Table 2 of
# the Inception-v4 paper: single model, single crop, on the validation set's "non-blacklisted subset"); GoogLeNet's
# paper reports only a top-5 error.

# %%
names = ["googlenet_paper", "bn_inception", "inception_v3", "inception_resnet_v1", "inception_v4", "inception_resnet_v2"]
sizes = {n: record(n).input_size for n in names}
with torch.device("meta"):
    for n in ("googlenet_paper", "bn_inception"):
        families[n] = create_model(n, **({"aux_logits": False} if n == "googlenet_paper" else {}))
        family_params[n] = costs.count_params(families[n])
        family_macs[n] = costs.count_macs(families[n], (1, 3, sizes[n], sizes[n]))
print(f"{'model':<21}{'input':>6}{'params':>13}{'GMACs':>8}{'top-1 err':>11}{'top-5 err':>11}  source")
for n in names:
    acc = PAPER_ACCURACY[n]
    top1 = "-" if acc.top1_error is None else f"{acc.top1_error:.1f}%"
    print(f"{n:<21}{sizes[n]:>6}{family_params[n]:>13,}{family_macs[n] / 1e9:>8.2f}{top1:>11}{acc.top5_error:>10.2f}%  "
          f"{acc.source.split(',')[0]}, {acc.source.split(', ')[1].split(' (')[0]}")
    assert family_params[n] == record(n).params and family_macs[n] == record(n).macs

# %% [markdown]
# Latency, measured here: one image, one thread, eval mode, the median of three runs after one warm-up run (randomly
# initialized weights: the arithmetic is the same as with trained ones). Your machine's numbers will differ; the
# cell asserts only what holds on a busy machine too.

# %%
# NBVAL_IGNORE_OUTPUT
latency = {}
for n in names:
    seed_everything(0)
    model = create_model(n, **({"aux_logits": False} if n in ("googlenet_paper", "inception_v3") else {})).eval()
    latency[n] = costs.measure_latency(model, (1, 3, sizes[n], sizes[n]), repeats=3, warmup=1, threads=1)
    print(f"{n:<21}{latency[n].median_ms:>9.0f} ms median (min {latency[n].min_ms:.0f} ms)  "
          f"{family_macs[n] / 1e6 / latency[n].min_ms:>6.1f} M MACs per ms")
    del model
print(f"machine: {torch.get_num_threads()} thread, {torch.__version__}")
assert latency["inception_resnet_v2"].min_ms > latency["googlenet_paper"].min_ms

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.8))
for ax, key, label in ((axes[0], "top1", "top-1"), (axes[1], "top5", "top-5")):
    for n in names:
        value = getattr(PAPER_ACCURACY[n], key)
        if value is None:
            continue
        ax.scatter(family_macs[n] / 1e9, value, s=family_params[n] / 4e5, alpha=0.7)
        ax.annotate(n.replace("_paper", ""), (family_macs[n] / 1e9, value), fontsize=7, xytext=(4, -10),
                    textcoords="offset points")
    ax.set(xlabel="GMACs per image (counted)", ylabel=f"ImageNet {label} accuracy, % (cited)", xlim=(0, 15))
    ax.grid(alpha=0.3)
axes[0].set_title("top-1 (Inception-v4 paper, Table 2); marker area ~ params", fontsize=9)
axes[1].set_title("top-5 (GoogLeNet: its paper's Table 3)", fontsize=9)
fig.tight_layout()
plt.show()
gain_v4 = PAPER_ACCURACY["inception_v3"].top1_error - PAPER_ACCURACY["inception_v4"].top1_error
print(f"v3 -> v4: {gain_v4:.1f} points of top-1 for {family_macs['inception_v4'] / family_macs['inception_v3']:.2f}x "
      f"the MACs; v4 -> IR-v2: {PAPER_ACCURACY['inception_v4'].top1_error - PAPER_ACCURACY['inception_resnet_v2'].top1_error:.1f} points")
assert round(gain_v4, 1) == 1.2 and family_macs["inception_v4"] / family_macs["inception_v3"] > 2

# %% [markdown]
# The chart flattens fast. From GoogLeNet to Inception-v3 the top-5 error halves (10.07% to 5.6%) for 3.6 times the
# MACs; Inception-v4 then buys 1.2 more points of top-1 for 2.1 times v3's MACs, and Inception-ResNet-v2 0.1 point
# more than v4 at about the same cost. Inception-ResNet-v1 matches v3's accuracy at similar cost. By the paper's own
# numbers, the residual connections did not make the networks much more accurate; the authors' claim is about
# training speed (section 4). And latency does not follow the MACs one-to-one (lesson 01): compare the measured
# "MACs per ms" column.
#
# ## Summary
#
# * Inception-v4 is uniform: a stem (Figure 3), 4 Inception-A, Reduction-A, 7 Inception-B, Reduction-B,
#   3 Inception-C; 42.7 M parameters and 12.25 G MACs at 299 x 299, almost half of them in the Inception-B stage.
# * An Inception-ResNet block adds its Inception branches to its input: a linear 1x1 conv (with bias, no BN, no ReLU)
#   expands the branches back to the input's depth, BN sits only on the traditional layers, never on the sum.
#   Inception-ResNet-v1 costs about as much as v3, v2 as much as v4 (7-9% more MACs, counted).
# * Residual scaling: unscaled, the sums accumulate variance block after block (2.7x the standard deviation after 40
#   blocks at initialization, about 20x the gradient at the stem of scale 0.2's); scale 0.1-0.3 keeps both near
#   their start. The paper's failure needs more than 1000 filters; at 32 channels and a high learning rate (stored
#   experiment, 3 seeds) neither arm learned, but the unscaled stacks "died" as the paper describes (97-100% of the
#   last block's channels always zero) and the scaled ones did not (9-16%).
# * The shipped minis' histories (one seed each) put Inception-ResNet-v2 ahead of v4 at every epoch: consistent with
#   "trains faster", not a measurement of it.
# * The released Inception-ResNet-v2 is not the paper's: 10 / 20 / 10 blocks, another stem, 320 / 1088 / 2080
#   channels; the paper's figures are not even consistent with each other (1154 against the 1152 its reductions give).
# * Across the family, cited accuracy grows slowly with counted MACs after v3.
#
# **Next:** lesson 06 takes the factorization idea to its end in Xception (depthwise separable convolutions).
# Lesson 04 has the factorized convolutions that fill Inception-B and -C:
# [04_inception_v3_factorization.ipynb](04_inception_v3_factorization.ipynb); lesson 01 the counting tools:
# [01_1x1_convolutions_and_flops.ipynb](01_1x1_convolutions_and_flops.ipynb).
#
# **Read more:** [Inception-v4, Inception-ResNet and the Impact of Residual Connections on Learning](https://arxiv.org/abs/1602.07261) ·
# [Deep Residual Learning for Image Recognition](https://arxiv.org/abs/1512.03385) ·
# [Rethinking the Inception Architecture for Computer Vision](https://arxiv.org/abs/1512.00567) ·
# [Batch Normalization](https://arxiv.org/abs/1502.03167) ·
# [Going deeper with convolutions](https://arxiv.org/abs/1409.4842) ·
# [torchinfo](https://github.com/TylerYep/torchinfo)
