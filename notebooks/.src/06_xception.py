# ---
# jupyter:
#   course:
#     description: the segment spectrum from a regular conv to Inception to depthwise (widget with measured time); depthwise separable convs counted (1/C_out + 1/k^2); why depthwise is slow (arithmetic intensity, torch.profiler shares); no nonlinearity between depthwise and pointwise as a stored experiment; Xception's flows counted; BN folded
# ---

# %% [markdown]
# # Lesson 06 — Xception: depthwise separable convolutions and the segment spectrum
#
# Xception takes the idea behind every Inception module to its end. An Inception module splits its input into a
# few branches and lets each look at the image on its own; Xception lets **every channel** look at the image on its
# own, then mixes the channels with a 1x1 convolution. That is the **depthwise separable convolution**, and Xception
# is a stack of them with residual connections. It has about as many parameters as Inception v3 and did a little
# better on ImageNet. This lesson counts what the idea saves, measures what it does *not* save on a CPU, and tests
# one of the paper's claims with a stored experiment.
#
# **Learning goals.** By the end of this lesson you can
#
# 1. place a regular convolution, an Inception module and a depthwise separable convolution on one **spectrum** of
#    channel segments, and build each point of it with `nn.Conv2d(groups=...)`;
# 2. compute the parameters and MACs of a depthwise separable convolution and its ratio to a regular one,
#    `1/C_out + 1/k^2`, and say why the order (1x1 first or last) matters little in a stack;
# 3. use the **segment spectrum widget** to see, on your own CPU, the MACs fall as 1/g while the time does not;
# 4. explain with **arithmetic intensity** and `torch.profiler` why depthwise convolutions are a small share of
#    Xception's MACs and a large share of its time;
# 5. read a stored experiment on the paper's "no nonlinearity between depthwise and pointwise" claim, with its spread;
# 6. rebuild Xception's entry, middle and exit flows with their parameters and MACs, compare it with Inception v3,
#    and fold its BatchNorms into the separable convolutions for inference.
#
# **Paper.** François Chollet, [Xception: Deep Learning with Depthwise Separable Convolutions](https://arxiv.org/abs/1610.02357)
# (2016; CVPR 2017): Section 2 (the hypothesis and the spectrum), Section 3 (the architecture, Figure 5), Section 4
# (results, Tables 1-3; Figure 10: intermediate activations). Related: Szegedy et al.,
# [Rethinking the Inception Architecture](https://arxiv.org/abs/1512.00567) (Inception v3, lesson 04); Howard et al.,
# [MobileNets](https://arxiv.org/abs/1704.04861) (the same convolution, built for phones).
#
# Run the cells from top to bottom (about a minute on a 2-core laptop). The first code cell only matters on Colab.

# %%
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn

from course_utils import costs, explorers, widgets
from course_utils.batchnorm import inference_variants, time_interleaved
from course_utils.checkpoints import load_checkpoint
from course_utils.exercises import lesson06
from course_utils.experiments import load_result, metric, paired_difference, plot_curves, summarize
from course_utils.explorers.segments import grouped_conv
from course_utils.models import create_model
from course_utils.models.fuse import count_batchnorms
from course_utils.models.records import record
from course_utils.runtime import seed_everything
from course_utils.separable import arithmetic_intensity, depthwise_shares, separable_cost, separable_ratio

seed_everything(0)
torch.set_printoptions(precision=4)

# %% [markdown]
# ## 1. The hypothesis: one spectrum from a regular conv to depthwise
#
# A regular 3x3 convolution maps **two kinds of correlation at once**: across space (the 3x3 window) and across
# channels (every output channel reads every input channel). Section 2 of the paper argues that Inception's success
# comes from partly **decoupling** the two: a 1x1 convolution first maps the cross-channel correlations into a few
# smaller spaces, and then each branch's 3x3 maps the spatial correlations inside its own space. Figure 3 of the
# paper redraws a simplified Inception module as one 1x1 followed by 3x3 convolutions that each see only their
# **segment** of the channels, 3 or 4 segments.
#
# The hypothesis: the two can be decoupled *entirely*. The "extreme" Inception has as many segments as channels.
# A grouped convolution, `nn.Conv2d(C, C, k, groups=g)`, draws the whole spectrum: its `g` groups are the segments,
# each output channel reads only the `C/g` input channels of its own group.
#
# * `groups = 1`: one segment, a regular convolution;
# * `groups = 3` or `4`: a few segments, the Inception module's 3x3 stage;
# * `groups = C`: one segment per channel, a **depthwise** convolution.
#
# Which input channels each output channel reads, for 12 channels:

# %%
C_demo = 12
fig, axes = plt.subplots(1, 3, figsize=(9, 3.2))
for ax, g, name in zip(axes, (1, 4, C_demo), ("regular conv", "Inception-like", "depthwise")):
    conv = grouped_conv(C_demo, 3, g)
    reads = np.kron(np.eye(g), np.ones((C_demo // g, C_demo // g)))  # output channel x input channel
    ax.imshow(reads, cmap="Blues", vmin=0, vmax=1.3)
    ax.set(title=f"groups = {g}: {name}\n{costs.count_params(conv):,} weights", xlabel="input channel",
           ylabel="output channel" if g == 1 else None, xticks=[], yticks=[])
    assert conv.weight.shape == (C_demo, C_demo // g, 3, 3)  # each filter spans C/g input channels
fig.suptitle("which input channels a 3x3 conv's output channels read (blue)", fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# Each output channel of a grouped conv has a `k x k x C/g` filter, so parameters and MACs are divided by `g`:
#
# $$\text{params} = k^2 \cdot \frac{C_{in}}{g} \cdot C_{out}, \qquad \text{MACs} = H_{out} W_{out} \cdot k^2 \cdot \frac{C_{in}}{g} \cdot C_{out}.$$
#
# The counter agrees at every point of the spectrum of a 96-channel 3x3 layer on a 24 x 24 grid:

# %%
C, k, d = 96, 3, 24
spectrum_counts = explorers.segment_spectrum(C, k, d, measure=None)  # counted only; timing comes in section 3
for p in spectrum_counts.points:
    formula = d * d * k * k * (C // p.groups) * C
    assert p.macs == formula and p.params == k * k * (C // p.groups) * C
print(f"groups: {spectrum_counts.groups}")
print(f"MACs per image: {spectrum_counts[1].macs:,} (g = 1), {spectrum_counts[4].macs:,} (g = 4), "
      f"{spectrum_counts[C].macs:,} (g = {C})")
assert spectrum_counts[1].macs == C * spectrum_counts[C].macs

# %% [markdown]
# ## 2. The depthwise separable convolution
#
# A depthwise conv alone never mixes channels, so it cannot be a layer on its own. Xception follows it by a
# **pointwise** 1x1 convolution that does all the mixing: the pair is the depthwise separable convolution,
# `course_utils.models.blocks.SeparableConv2d`. Per output position:
#
# * depthwise k x k: `C_in * k^2` MACs (one k x k filter per channel);
# * pointwise 1x1: `C_in * C_out` MACs;
# * a regular k x k conv from `C_in` to `C_out`: `C_in * k^2 * C_out` MACs.
#
# Dividing, the separable pair costs
#
# $$\frac{C_{in} k^2 + C_{in} C_{out}}{C_{in} k^2 C_{out}} = \frac{1}{C_{out}} + \frac{1}{k^2}$$
#
# of the regular conv, in MACs and in weights. With 3x3 kernels and hundreds of channels that is close to 1/9: the
# kernel size, not the width, sets the saving. `separable.separable_cost` writes the formulas out; the counter checks
# them on built modules, at Xception's middle-flow layer and two others:

# %%
print(f"{'layer':<28}{'separable MACs':>16}{'regular MACs':>16}{'ratio':>8}{'1/C_out + 1/k^2':>17}")
for cin, cout, kk, dd in ((728, 728, 3, 19), (64, 128, 3, 147), (32, 64, 5, 28)):
    c = separable_cost(cin, cout, kk, dd)
    with torch.device("meta"):  # shapes only: counting needs no values
        pair = nn.Sequential(nn.Conv2d(cin, cin, kk, padding=kk // 2, groups=cin, bias=False),
                             nn.Conv2d(cin, cout, 1, bias=False))
        regular = nn.Conv2d(cin, cout, kk, padding=kk // 2, bias=False)
    assert c.macs == costs.count_macs(pair, (1, cin, dd, dd)) and c.regular_macs == costs.count_macs(regular, (1, cin, dd, dd))
    assert c.params == costs.count_params(pair) and np.isclose(c.mac_ratio, separable_ratio(cout, kk))
    print(f"{f'{kk}x{kk} {cin}->{cout} on {dd}x{dd}':<28}{costs.format_count(c.macs):>16}"
          f"{costs.format_count(c.regular_macs):>16}{c.mac_ratio:>8.4f}{1 / cout + 1 / kk ** 2:>17.4f}")
middle = separable_cost(728, 728, 3, 19)
print(f"middle-flow layer: the depthwise part is {100 * middle.depthwise_macs / middle.macs:.1f}% of the pair's MACs")
assert round(1 / middle.mac_ratio, 1) == 8.9 and middle.depthwise_macs / middle.macs < 0.02

# %% [markdown]
# Two facts to keep for section 4: the separable conv does **8.9x fewer MACs** than the regular 3x3 it replaces at
# 728 channels, and **98.8% of its MACs are in the pointwise 1x1**; the depthwise half does almost no arithmetic.
#
# **The order.** An Inception module runs the 1x1 *first* and then the spatial convolutions; the separable conv as
# implemented in TensorFlow, Keras and here runs the depthwise *first*, then the 1x1. The paper notes (Section 2)
# that this difference is unimportant when the operation is stacked: in a stack, the sequence of layers is the same
# alternation apart from its two ends.

# %%
def layer_sequence(order: str, blocks: int = 3) -> list[str]:
    pair = ["1x1", "3x3 per channel"] if order == "1x1 first" else ["3x3 per channel", "1x1"]
    return pair * blocks


xception_order, inception_order = layer_sequence("depthwise first"), layer_sequence("1x1 first")
print("Xception: ", " -> ".join(xception_order))
print("Inception:", " -> ".join(inception_order))
print("the same alternation after dropping Xception's first layer:", xception_order[1:] == inception_order[:-1])
assert xception_order[1:] == inception_order[:-1]

# %% [markdown]
# The second difference matters more: an Inception module puts a **ReLU after both** the 1x1 and the 3x3, whereas
# Xception has **no nonlinearity between** the depthwise and the pointwise conv. Section 5 tests that choice.
#
# **Exercise 1 (count).** The exit flow's second separable conv runs a **depthwise 3x3 on 728 channels, then a 1x1 to
# 1024 channels**, on the 19 x 19 grid ('same' padding). How many MACs does it do for one image?

# %%
answer_1 = None  # MACs, a whole number
lesson06.check_separable_macs(answer_1)

# %% [markdown]
# <details><summary>Solution</summary>
#
# Per output position: 728 x 9 = 6,552 (depthwise) + 728 x 1,024 = 745,472 (pointwise) = 752,024 MACs; times
# 19 x 19 = 361 positions: **271,480,664**. A regular 3x3 from 728 to 1024 channels would do 8.9 times as many.
# Check: `separable.separable_cost(728, 1024, 3, 19).macs`.
# </details>
#
# ## 3. The segment spectrum, measured
#
# Counting says the spectrum's MACs fall as 1/g, by 96x from one end to the other. What does the CPU make of it?
# `explorers.segment_spectrum` builds the 96-channel 3x3 layer for every divisor of 96, counts it, and times all of
# them on this machine: one CPU thread, the twelve convolutions **taking turns** pass by pass (lesson 03's
# `time_interleaved`), for about two seconds in all, so that a busy moment of the machine hits every point alike. It
# reports each point's **fastest** run (other programs can only add time, so the fastest run is the robust figure),
# the median, and the **achieved GMAC/s**: MACs done per second of the fastest run.

# %%
# NBVAL_IGNORE_OUTPUT
# (measured times differ from run to run and machine to machine; the next cell asserts only what must hold)
spectrum = explorers.segment_spectrum(C, k, d, batch_size=8)
print(spectrum.summary())
print(f"({min(p.latency.repeats for p in spectrum.points)} timed runs per point, one CPU thread)")

# %%
fig = widgets.plot_segment_spectrum(spectrum)
plt.show()

assert [p.macs * p.groups for p in spectrum.points] == [spectrum[1].macs] * len(spectrum.points)  # MACs ~ 1/g
rates = {g: spectrum.macs_per_second(g) for g in spectrum.groups}
# Robust on a busy machine: depthwise (g = C) does 1/96 of the arithmetic of g = 1, and it reaches far less than
# half of the best MACs per second on the spectrum; its time falls by much less than its MACs.
assert rates[C] < 0.5 * max(rates.values())
assert spectrum.time_ratio(C) > 2 / C

# %% [markdown]
# Read the chart from left to right. The blue line, MACs, falls in a straight line on log axes: halve the segments'
# width, halve the arithmetic. The red line, time, falls far less, unevenly, with flat stretches where more groups
# buy nothing (on the machine that stored this page: 22x faster from end to end for 96x fewer MACs). The green line
# is why: the **achieved GMAC/s collapses** towards the depthwise end. A regular convolution is a large matrix product that keeps the CPU's vector units busy; a depthwise
# convolution does 9 multiply-adds per value it reads, and spends its time moving data (section 4). Your machine
# decides where the time stops falling (PyTorch has a special kernel for the pure depthwise case, so the last point
# may drop again), and the next exercise asks you to read it off.
#
# ### Explore it yourself
#
# Change the layer (channels, kernel size, grid, batch) and slide `groups` along the divisors of C. Each layer change
# rebuilds and re-times the whole spectrum (about two seconds); moving the slider only moves the marker and the
# readout. Things to try: a batch of 1 against 32; a 7x7 kernel (more arithmetic per value read: does depthwise
# catch up?); a small 7 x 7 grid, where everything is overhead. On a static page you see the last saved state.

# %%
# NBVAL_IGNORE_OUTPUT
widgets.segment_spectrum_widget()

# %% [markdown]
# **Exercise 2 (measure).** On *your* machine, at how many groups does the time of the 96-channel layer above stop
# falling? Read it off `spectrum` (its table or its chart: the first number of groups whose best run is close to the
# fastest one). The check compares your reading with the spectrum you measured.

# %%
answer_2 = None  # a number of groups (a divisor of 96)
lesson06.check_time_plateau(answer_2, spectrum)

# %% [markdown]
# <details><summary>Solution</summary>
#
# `spectrum.plateau()` gives the fewest groups whose best run is within 25% of the fastest run (the check accepts
# readings within 15-40%, because timings on a shared machine wobble). On a quiet x86 laptop it is typically a few
# groups to a few dozen; it depends on the CPU's vector width, its caches and PyTorch's kernels for grouped
# convolutions. If your answer is 96 (PyTorch's dedicated depthwise kernel can make the last point the fastest),
# look at the GMAC/s column: even then the time fell far less than the 96x in MACs.
# </details>
#
# ## 4. Why depthwise is slow: arithmetic intensity and the profiler
#
# A CPU core can do tens of multiply-adds in the time it takes to fetch one number from main memory. A layer is fast
# in MACs per second only when it does **many MACs per byte it moves**: its **arithmetic intensity**. A dense 3x3
# conv reads each input value once and uses it `C_out x 9` times; a depthwise 3x3 uses it 9 times. Counting the least
# traffic any implementation needs (read the input and the weights once, write the output once, 4-byte floats),
# for Xception's middle-flow layer, 728 channels on 19 x 19, one image:

# %%
dense, depthwise = arithmetic_intensity(728, 3, 19, groups=1), arithmetic_intensity(728, 3, 19, groups=728)
pointwise = arithmetic_intensity(728, 1, 19, groups=1)
for name, a in (("dense 3x3", dense), ("pointwise 1x1", pointwise), ("depthwise 3x3", depthwise)):
    print(f"{name:<15} {costs.format_count(a.macs):>10} MACs  {a.bytes_moved / 1e6:6.2f} MB moved  "
          f"{a.macs_per_byte:6.1f} MACs per byte")
print(f"the depthwise conv does {dense.macs / depthwise.macs:.0f}x fewer MACs but moves only "
      f"{dense.bytes_moved / depthwise.bytes_moved:.1f}x fewer bytes")
assert round(depthwise.macs_per_byte, 1) == 1.1 and round(pointwise.macs_per_byte) == 45 and round(dense.macs_per_byte) == 81

# %% [markdown]
# About **one MAC per byte** (1.1) for the depthwise conv against 81 for the dense conv and 45 for the pointwise 1x1.
# A layer below a few MACs per byte is limited by memory bandwidth, not by arithmetic (the *roofline* model): making
# its arithmetic cheaper does not make it faster. That is what the spectrum showed.
#
# In the whole network: `separable.depthwise_shares` runs a model under `torch.profiler`, labels every convolution's
# forward pass as depthwise, pointwise (1x1) or other, and adds up the profiled CPU time per label; the MACs of the
# same layers are counted. The full Xception at 299 x 299 runs once (batch 1, after one warm-up pass), the mini Xception
# of the shipped checkpoints three times at batch 8 on 48 x 48; both on one CPU thread.

# %%
# NBVAL_IGNORE_OUTPUT
# (profiled times vary; the next cell asserts what holds on a loaded machine)
seed_everything(0)
xception = create_model("xception").eval()
mini = create_model("mini_xception").eval()
shares = {
    "Xception, 299 px, batch 1": depthwise_shares(xception, (1, 3, 299, 299), passes=1),
    "mini Xception, 48 px, batch 8": depthwise_shares(mini, (8, 3, 48, 48), passes=3),
}
for name, s in shares.items():
    print(f"{name}: {sum(s.time_ms.values()):.0f} ms per pass profiled")
    for kind in s.macs:
        print(f"    {kind:<16} {100 * s.share(kind, 'macs'):5.1f}% of the MACs   {100 * s.share(kind, 'time'):5.1f}% of the time")

# %%
fig, ax = plt.subplots(figsize=(8, 3.4))
names = list(shares)
x = np.arange(len(names))
mac_bars = ax.bar(x - 0.2, [100 * shares[n].mac_share for n in names], 0.38, color="#4f81bd", label="share of MACs")
time_bars = ax.bar(x + 0.2, [100 * shares[n].time_share for n in names], 0.38, color="#c0504d",
                   label="share of time (profiled)")
ax.bar_label(mac_bars, fmt="%.1f%%", fontsize=8)
ax.bar_label(time_bars, fmt="%.1f%%", fontsize=8)
ax.set_xticks(x, names)
ax.set(ylabel="% spent in depthwise convs", title="depthwise convolutions: little arithmetic, much time")
ax.legend(fontsize=8)
ax.grid(axis="y", alpha=0.3)
fig.tight_layout()
plt.show()

full, small = shares["Xception, 299 px, batch 1"], shares["mini Xception, 48 px, batch 8"]
assert round(100 * full.mac_share, 1) == 1.6 and round(100 * small.mac_share, 1) == 6.7  # counted: exact
assert full.time_share > 2 * full.mac_share and small.time_share > small.mac_share  # measured: robust orderings

# %% [markdown]
# In the full network the depthwise convolutions do **1.6% of the MACs** and take several times that share of the
# time (11-16% in our runs, on one thread of a busy x86 machine; your numbers are above). In the mini
# network, where channels are few and grids small, they do 6.7% of the MACs and again a larger share of the time
# (12-34% in our runs: small layers are noisy to time).
# The pointwise 1x1 convs do 93% of the full network's arithmetic at a high rate; the depthwise ones are cheap to
# count and expensive to run.
#
# > **Misconception: "fewer MACs means faster".** Articles on efficient networks often rank architectures by their
# > FLOPs and read a 9x saving in MACs as a 9x speed-up. The depthwise conv is the counter-example: it cuts the
# > arithmetic of a 3x3 layer by a factor of C, but it does about one MAC per byte moved, so memory, not arithmetic,
# > sets its speed. In Xception it is 1.6% of the MACs and a much larger share of the time, and along the segment
# > spectrum above the time falls far less than the MACs. The paper itself reports Xception training slightly
# > *slower* than Inception v3 (28 against 31 gradient steps per second on its GPUs, Table 3), and notes that
# > depthwise convolutions were not well optimized. Count MACs to compare arithmetic; measure to compare speed.
#
# ## 5. No nonlinearity between depthwise and pointwise: a stored experiment
#
# Inception modules put a ReLU after every convolution. Xception does not put one between the depthwise and the
# pointwise conv, and Section 4.7 (Figure 10) says why: on ImageNet, no intermediate activation trained **faster
# and ended better** than a ReLU or an ELU there. The paper's explanation is a guess: in a deep feature space (the
# Inception modules' 3x3 convs work on many channels) a nonlinearity helps, but in a shallow one, a single channel
# per depthwise filter, it may lose information.
#
# Does that hold at our scale? The stored experiment `benchmarks/exp_separable_nonlinearity.py` trains a small
# all-separable network (`course_utils.separable.SeparableNet`: a 3x3/2 stem and five blocks
# depthwise 3x3 -> **[none | ReLU | ELU]** -> pointwise 1x1 -> BN -> ReLU on 24, 12 and 6 px grids, 63,178
# parameters) on the embedded shapes. Same recipe (AdamW, one-cycle, 5 epochs on 5,000 training images), the same
# three seeds for every arm. Training takes a while on a CPU, so the lesson reads the stored result; set
# `RETRAIN = True` to rerun it with the same code and recipe.

# %%
RETRAIN = False  # True: rerun the stored experiment (3 arms x 3 seeds; the stored run took 28 min on a busy 2-core machine)

if RETRAIN:
    from course_utils.experiments import benchmark_script

    benchmark_script("exp_separable_nonlinearity").run()

nonlinearity = load_result("separable_nonlinearity")
arms = list(nonlinearity["arms"])
print(f"{'between dw and pw':<19}{'test accuracy (mean +- std)':>29}{'final val accuracy':>20}   per seed (test)")
for arm in arms:
    acc = summarize(metric(nonlinearity, arm, "test_acc"))
    val = summarize([curve[-1] for curve in metric(nonlinearity, arm, "val_acc")])
    runs = ", ".join(f"{100 * a:.1f}" for a in metric(nonlinearity, arm, "test_acc"))
    print(f"{arm:<19}{f'{100 * acc.mean:.2f}% +- {100 * acc.std:.2f}':>29}{f'{100 * val.mean:.1f}%':>20}   {runs}")
differences = {arm: paired_difference(metric(nonlinearity, arm, "test_acc"), metric(nonlinearity, "none", "test_acc"))
               for arm in ("ReLU", "ELU")}
for arm, diff in differences.items():
    print(f"{arm} - none, paired by seed: {100 * diff.mean:+.2f} points, 95% CI [{100 * diff.low:+.2f}, "
          f"{100 * diff.high:+.2f}] ({len(diff.differences)} seeds)")
machine = nonlinearity["machine"]
print(f"stored {nonlinearity['created'][:10]}; {machine['torch_threads']} thread per run, load average "
      f"{machine['load_average_1min']} at the start; diverged runs: "
      f"{sum(bool(x) for arm in arms for x in metric(nonlinearity, arm, 'diverged'))}")
assert arms == ["none", "ReLU", "ELU"] and len(nonlinearity["seeds"]) >= 3
assert len({m for arm in arms for m in metric(nonlinearity, arm, "params")}) == 1  # same network but for the arm
accs = {arm: summarize(metric(nonlinearity, arm, "test_acc")) for arm in arms}
assert all(0.7 < a.mean < 0.9 for a in accs.values())  # every arm learned (chance is 10%)
assert all(d.low < 0 < d.high for d in differences.values())  # neither activation measurably better or worse
assert max(a.mean for a in accs.values()) - min(a.mean for a in accs.values()) < min(a.std for a in accs.values())

# %%
fig, axes = plt.subplots(1, 2, figsize=(10, 3.4))
colors = {"none": "#4f81bd", "ReLU": "#c0504d", "ELU": "#9bbb59"}
plot_curves(nonlinearity, "val_acc", ax=axes[0], ylabel="validation accuracy", colors=colors)
axes[0].set_title("validation accuracy per epoch (mean, min-max band, seeds)", fontsize=10)
plot_curves(nonlinearity, "train_loss", ax=axes[1], ylabel="training loss", colors=colors)
axes[1].set_title("training loss per epoch", fontsize=10)
fig.tight_layout()
plt.show()

# %% [markdown]
# **Result: a null result at our scale.** All three arms end near 82% test accuracy; the differences between the
# arms' means (about one point) are smaller than the spread across seeds (2-4 points), and both paired intervals,
# ReLU - none and ELU - none, run from about -10 to +8 points: wide and centred near zero. The learning curves
# overlap within their bands from the first epoch on; no arm converges visibly faster. Three seeds of a 63 K-parameter
# network trained for five epochs cannot show a difference of the size the paper reports, and they do not.
#
# Compared honestly with the paper: Figure 10 shows no intermediate activation ahead of ELU and ReLU on ImageNet,
# in convergence speed and in final accuracy, for the full Xception trained for many epochs. We neither confirm nor
# contradict it; what we can say is that on a small problem the choice matters little, which fits the paper's own
# reading that the effect depends on the depth of the feature space the nonlinearity acts on. Xception's
# `SeparableConv2d` keeps the paper's choice (no activation), which costs nothing and saves a pass over every
# depthwise output.
#
# ## 6. The architecture: entry, middle and exit flows
#
# Figure 5 of the paper: 36 convolutional layers in 14 modules, all with linear residual connections except the first
# and the last. The **entry flow** is two plain 3x3 convs and three residual blocks that each halve the grid
# (147 -> 74 -> 37 -> 19) while growing to 728 channels; the **middle flow** is one block of three separable convs at
# 728 channels on 19 x 19, **repeated eight times**; the **exit flow** is one more strided block (728 -> 1024) and
# two separable convs to 1536 and 2048 channels, then global average pooling and the classifier. In the model they are
# `entry_flow`, `middle_flow` and `exit_flow`, and one counted pass on the `meta` device (shapes, no values) splits
# the cost:

# %%
with torch.device("meta"):
    xception_meta = create_model("xception")
    v3_meta = create_model("inception_v3", aux_logits=False)
x_costs = costs.cost_breakdown(xception_meta, (1, 3, 299, 299))
print(f"{'flow':<13}{'params':>13}{'MACs':>12}{'% of MACs':>11}")
for row in x_costs.rows:
    if row.params or row.macs:
        print(f"{row.name:<13}{row.params:>13,}{costs.format_count(row.macs):>12}{100 * row.share:>10.1f}%")
print(f"{'total':<13}{x_costs.total_params:>13,}{costs.format_count(x_costs.total_macs):>12}")
v3_params, v3_macs = costs.count_params(v3_meta), costs.count_macs(v3_meta, (1, 3, 299, 299))
print(f"Inception v3 (no auxiliary head): {v3_params:,} parameters, {costs.format_count(v3_macs)} MACs; "
      f"Xception / v3: {x_costs.total_params / v3_params:.2f}x the parameters, {x_costs.total_macs / v3_macs:.2f}x the MACs")
assert x_costs.total_params == 22_855_952 == record("xception").params
assert round(x_costs.total_macs / 1e9, 3) == 8.357 and x_costs.total_macs == record("xception").macs
assert round(x_costs.total_macs / v3_macs, 2) == 1.46 and 0.9 < x_costs.total_params / v3_params < 1
assert x_costs.row("middle_flow").share > 0.5

# %% [markdown]
# Xception has **4% fewer parameters** than Inception v3 and does **1.46x its MACs**. More than half of the
# arithmetic is in the middle flow, eight identical blocks on the 19 x 19 grid. Where the parameters are: the middle
# flow holds 12.9 M, the exit flow 6.8 M (its 1536- and 2048-channel pointwise convs), the classifier 2.0 M.
#
# The paper's ImageNet results (Table 1, single crop, single model; Table 3 for size and speed):
#
# | model | top-1 | top-5 | parameters | training steps per second |
# |---|---:|---:|---:|---:|
# | Inception v3 | 0.782 | 0.941 | 23,626,728 | 31 |
# | Xception | **0.790** | **0.945** | 22,855,952 | 28 |
#
# A small gain at equal parameters, which the paper attributes to a more efficient use of them, not to more
# capacity; on the larger JFT dataset the gain was larger (4.3% relative on its MAP@100). The paper's count for
# Inception v3, 23,626,728, is not the released model's 23,834,568 counted here (without the auxiliary head); the
# paper does not say which variant it counted. Either way the two networks are the same size, and Xception's
# 22,855,952 matches our count exactly. We cannot reproduce the ImageNet numbers offline; the shipped mini Xception reaches 94.2% on the
# embedded shapes (README).
#
# **Exercise 3 (count).** How many parameters does **one block of the middle flow** have (three separable convs from
# 728 to 728 channels, each followed by BatchNorm; the shortcut is the identity)? Count it by hand, then check with
# `costs.count_params` on the model.

# %%
answer_3 = None  # parameters, a whole number
lesson06.check_middle_block_params(answer_3)

# %% [markdown]
# <details><summary>Solution</summary>
#
# Each separable conv: depthwise 728 x 3 x 3 = 6,552 weights, pointwise 728 x 728 = 529,984, together 536,536; its
# BatchNorm learns a scale and a shift per channel, 2 x 728 = 1,456 (the running mean and variance are buffers, not
# parameters). Three of each: 3 x (536,536 + 1,456) = **1,613,976**.
# Check: `costs.count_params(create_model("xception").middle_flow.block4)`.
# </details>
#
# ## 7. Folding BatchNorm into the separable convolutions
#
# Every separable conv in Xception is followed by BatchNorm. At inference BN is a fixed per-channel scale and shift
# (lesson 03), and it folds into the last linear operation before it: here the **pointwise** conv, since there is no
# nonlinearity between the depthwise conv, the pointwise conv and the BN. `fuse_for_inference` does exactly that
# (`models/fuse.py`), and converts the copy to channels_last. As in lesson 03, `inference_variants` builds the four
# versions (eager, folded, channels_last, both) and `time_interleaved` times them taking turns, on the trained mini
# Xception:

# %%
trained_mini, _ = load_checkpoint("mini_xception")
variants = inference_variants(trained_mini)
images = torch.randn(32, 3, 48, 48, generator=torch.Generator().manual_seed(0))
with torch.no_grad():
    reference = variants["eager"](images)
    worst = max((variants[name](images) - reference).abs().max().item() for name in variants)
fused = variants["folded + channels_last"]
print(f"BatchNorm layers: {count_batchnorms(trained_mini)} in the trained model, {count_batchnorms(fused)} after "
      f"folding; largest output difference over the variants: {worst:.1e}")
assert count_batchnorms(fused) == 0 and worst < 1e-3
pointwise = fused.middle_flow.block4.rep.sepconv1.conv.pointwise
assert pointwise.bias is not None and fused.middle_flow.block4.rep.sepconv1.conv.depthwise.bias is None  # BN went into the pointwise conv

# %%
# NBVAL_IGNORE_OUTPUT
# (timings; the ratios are medians over rounds in which the variants took turns)
samples = time_interleaved(variants, images, rounds=12, warmup=2, threads=1)
eager_ms = np.array(samples["eager"])
print(f"mini Xception, batch 32 of 48 x 48, one thread, {len(eager_ms)} rounds:")
for name, times in samples.items():
    ratio = np.median(eager_ms / np.array(times))
    print(f"  {name:<24} best {min(times):6.1f} ms   median {np.median(times):6.1f} ms   eager / this: {ratio:.2f}x")

# %% [markdown]
# Folding removes a pass over every feature map that the BN made, and channels_last lets the CPU kernels skip
# reordering the data; lesson 03 measured the same on its plain CNN, and the README's benchmark table shows the full
# Xception 1.3-1.6x faster fused (quiet machine, two threads). The outputs are unchanged up to float rounding,
# which is what the assert above checks; the speed-up is what the table above measured on your machine.
#
# ## Summary
#
# * A grouped convolution draws Xception's spectrum: `groups = 1` is a regular conv, 3-4 groups the 3x3 stage of an
#   Inception module, `groups = C` a depthwise conv. Parameters and MACs fall as 1/g.
# * A depthwise separable conv is a depthwise k x k then a pointwise 1x1: `1/C_out + 1/k^2` of a regular conv's MACs
#   and weights (8.9x fewer at 728 channels, 3x3), almost all of it in the 1x1. Its order (depthwise first) differs from
#   an Inception module's (1x1 first) only at the ends of a stack.
# * Measured: across the spectrum the MACs fall 96x while the time falls far less, with flat stretches; the achieved
#   GMAC/s collapses towards depthwise. A depthwise 3x3 does about 1 MAC per byte moved against about 80 for a dense one, so
#   memory sets its speed. In Xception, depthwise convs are 1.6% of the MACs and a several times larger share of the
#   time (11-16% in our runs); in the mini, 6.7% of the MACs and more of its time. Fewer MACs is not faster.
# * The stored experiment (3 arms x 3 seeds): no nonlinearity, ReLU or ELU between depthwise and pointwise all end
#   near 82% with a spread of 2-4 points; the paired intervals include zero. The paper's Figure 10 advantage for no
#   activation does not show at our scale: a null result, reported as such.
# * Xception: entry flow (to 728 channels at 19 x 19), middle flow (eight 3-separable-conv blocks, over half the
#   MACs), exit flow (to 2048 channels): 22,855,952 parameters and 8.357 GMACs at 299 x 299, Inception v3's size with
#   1.46x its MACs, and 79.0% / 94.5% top-1 / top-5 on ImageNet against 78.2% / 94.1%.
# * BatchNorm folds into the pointwise conv of each separable conv (`fuse_for_inference`), with identical outputs.
#
# **Next:** lesson 07 looks inside the trained networks (feature maps, Grad-CAM), lesson 08 compares the whole family.
# Lesson 04's factorization explorer put the depthwise-separable conv beside the other factorizations:
# [04_inception_v3_factorization.ipynb](04_inception_v3_factorization.ipynb); lesson 01 has the counting tools:
# [01_1x1_convolutions_and_flops.ipynb](01_1x1_convolutions_and_flops.ipynb).
#
# **Read more:** [Xception: Deep Learning with Depthwise Separable Convolutions](https://arxiv.org/abs/1610.02357) ·
# [Rethinking the Inception Architecture for Computer Vision](https://arxiv.org/abs/1512.00567) ·
# [MobileNets](https://arxiv.org/abs/1704.04861) ·
# [Roofline: an insightful visual performance model](https://doi.org/10.1145/1498765.1498785) ·
# [torch.profiler](https://pytorch.org/docs/stable/profiler.html)
