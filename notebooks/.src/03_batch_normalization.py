# ---
# jupyter:
#   course:
#     description: batch normalization from scratch (checked against PyTorch); train vs eval traps; what BN buys at a high learning rate (stored experiment); BN-Inception's Figure 5 rebuilt; folding BN into the conv and timing it
# ---

# %% [markdown]
# # Lesson 03 — Inception v2: batch normalization
#
# GoogLeNet (lesson 02) was trained with a slowly decayed learning rate, dropout and auxiliary
# classifiers. A few months later Ioffe and Szegedy reached its accuracy with **14 times fewer training
# steps** by adding one operation after every convolution: *batch normalization* (BN). The network they
# built around it, **BN-Inception**, is often called Inception v2.
#
# BN is also the operation that most often surprises people in practice: it behaves differently in
# training and in evaluation, it keeps state that a forward pass changes, and the explanation in its own
# title is disputed. This lesson takes it apart.
#
# **Learning goals.** By the end of this lesson you can
#
# 1. write down what BN computes per channel (mean and variance over N, H, W; epsilon; the learned gamma and
#    beta) and what its running statistics are (PyTorch's momentum convention, the unbiased variance);
# 2. implement BN from scratch and show it equals `nn.BatchNorm2d`, in training and in eval mode;
# 3. avoid the train/eval traps: what a training-mode forward pass changes, why tiny batches fail;
# 4. read a stored experiment on what BN buys at a normal and at a high learning rate, with its spread, and
#    say what the "internal covariate shift" explanation claims and what later measurements found;
# 5. describe BN-Inception's changes to GoogLeNet (BN everywhere, the 5x5 replaced by two 3x3) and rebuild
#    its Figure 5 from the model;
# 6. fold BN into the convolution for inference, and measure which part of the speed-up comes from what.
#
# **Papers.** Ioffe & Szegedy, [Batch Normalization: Accelerating Deep Network Training by Reducing Internal
# Covariate Shift](https://arxiv.org/abs/1502.03167) (2015), Sections 3-4 and the Appendix (Figure 5);
# Santurkar, Tsipras, Ilyas & Madry, [How Does Batch Normalization Help
# Optimization?](https://arxiv.org/abs/1805.11604) (2018).
#
# Everything runs offline on a CPU in about a minute. Training results come from a stored experiment
# (`data/results/bn_learning_rate.json`); a `RETRAIN` switch reruns it.

# %%
import inspect
import math
import os

import matplotlib.pyplot as plt
import numpy as np
import torch
from IPython.display import Code, display
from torch import nn

from course_utils import batchnorm, costs, experiments, explorers, widgets
from course_utils.checkpoints import load_checkpoint
from course_utils.data import embedded_dataset
from course_utils.exercises import lesson03
from course_utils.models import create_model, fuse_for_inference
from course_utils.models.bn_inception import BN_INCEPTION_FIGURE5
from course_utils.models.fuse import count_batchnorms
from course_utils.runtime import seed_everything

seed_everything(0)
torch.set_printoptions(precision=4, sci_mode=False)


def below(value: float, bound: float = 1e-5) -> str:
    """'< 1e-05' for a float-rounding-sized difference: stable across machines, unlike its last digits."""
    return f"< {bound:.0e}" if value < bound else f"{value:.1e} (larger than {bound:.0e}!)"


# %% [markdown]
# ## 1. The maths
#
# Take a convolution's output: a batch of **N** images, **C** channels, each an **H x W** map. BN treats
# every channel separately. For channel c it pools all N x H x W values of that channel in the batch (every
# position of every image: a convolution applies the same filter everywhere, so all positions are samples of
# the same feature) and computes their mean and variance:
#
# $$\mu_c = \frac{1}{NHW}\sum_{n,h,w} x_{nchw}, \qquad \sigma_c^2 = \frac{1}{NHW}\sum_{n,h,w}(x_{nchw} - \mu_c)^2$$
#
# Then it normalizes, and applies a learned per-channel scale **gamma** and shift **beta**:
#
# $$\hat x_{nchw} = \frac{x_{nchw} - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}}, \qquad y_{nchw} = \gamma_c \hat x_{nchw} + \beta_c$$
#
# * **epsilon** (PyTorch's default 1e-5; the Inception ports use 1e-3) keeps the division finite for a channel
#   that is constant in the batch (a dead ReLU upstream gives exactly that).
# * **gamma and beta** are why normalizing costs the network nothing: with gamma = sqrt(sigma^2 + eps) and
#   beta = mu the layer gives back its input exactly. This is what the paper means by "the transformation
#   inserted in the network can represent the identity transform": BN can *restore the representation*, so
#   if the un-normalized scale was useful, learning can bring it back. What BN changes is the
#   parametrization: the scale and the offset of each channel are now two plain parameters, instead of an
#   entangled result of every weight before.
#
# Let us check both on a small batch whose three channels have very different scales.

# %%
x = torch.randn(8, 3, 4, 4) * torch.tensor([0.1, 1.0, 20.0]).view(1, 3, 1, 1) + torch.tensor([5.0, 0.0, -3.0]).view(1, 3, 1, 1)
eps = 1e-5
mu = x.mean(dim=(0, 2, 3))                                    # one mean per channel, over N, H, W
var = x.var(dim=(0, 2, 3), unbiased=False)                    # one (biased) variance per channel
x_hat = (x - mu.view(1, 3, 1, 1)) / torch.sqrt(var.view(1, 3, 1, 1) + eps)
print("per-channel mean before:", mu, " after:", x_hat.mean(dim=(0, 2, 3)).abs().max() < 1e-5)
print("per-channel std  before:", var.sqrt(), " after:", x_hat.std(dim=(0, 2, 3), unbiased=False))

gamma, beta = torch.sqrt(var + eps), mu                       # the choice that undoes the normalization
restored = gamma.view(1, 3, 1, 1) * x_hat + beta.view(1, 3, 1, 1)
print("gamma = sqrt(var + eps), beta = mean restores the input:", torch.allclose(restored, x, atol=1e-4))
assert torch.allclose(x_hat.mean(dim=(0, 2, 3)), torch.zeros(3), atol=1e-5)
assert torch.allclose(x_hat.std(dim=(0, 2, 3), unbiased=False), torch.ones(3), atol=1e-3)
assert torch.allclose(restored, x, atol=1e-4)

# %% [markdown]
# ### Running statistics: what inference uses
#
# At inference there may be a single image, and its prediction must not depend on which other images share
# its batch. So BN keeps, per channel, a **running mean** and a **running variance** estimated during
# training, and uses them instead of the batch's in eval mode (the paper's Algorithm 2). PyTorch updates them
# after every training batch with
#
# $$\text{running} \leftarrow (1 - m)\cdot\text{running} + m \cdot \text{batch statistic}, \qquad m = \texttt{momentum} = 0.1$$
#
# Two details trip people up:
#
# * **The momentum convention is reversed between libraries.** In PyTorch, `momentum` is the weight of the
#   *new* batch. The paper's moving average, TensorFlow and Keras use a decay for the *old* value
#   (Keras `BatchNormalization(momentum=0.99)` means `running = 0.99 running + 0.01 batch`, i.e. PyTorch's
#   `momentum=0.01`). The running values start at mean 0 and variance 1.
# * **The variance stored is the unbiased one.** The batch is normalized with its own (biased) variance,
#   dividing by n = N x H x W, but the running variance is updated with the unbiased estimate (dividing by
#   n - 1), as the paper's Algorithm 2 prescribes for the population variance.
#
# With `momentum=1.0` the running values are exactly the last batch's statistics, which makes both details
# visible:

# %%
bn = nn.BatchNorm2d(3, momentum=1.0)
y = bn(x)                                                     # training mode: normalizes with batch statistics
n = x.shape[0] * x.shape[2] * x.shape[3]
print(f"n = N*H*W = {n} values per channel")
print("running_var    :", bn.running_var)
print("biased var     :", var, "(what normalized the batch)")
print("unbiased var   :", x.var(dim=(0, 2, 3), unbiased=True), "(= biased * n / (n - 1))")
assert torch.allclose(bn.running_mean, mu, atol=1e-5)
assert torch.allclose(bn.running_var, var * n / (n - 1), rtol=1e-5)
assert torch.allclose(y, x_hat, atol=1e-4)

# %% [markdown]
# **Exercise 1.** A fresh `nn.BatchNorm2d(1)` (momentum 0.1) sees two training batches. In the first the
# channel's mean is 2.0, in the second 4.0. What is `running_mean` afterwards? Work it out by hand.

# %%
answer_running_mean = None  # a number
lesson03.check_running_mean(answer_running_mean)

# %% [markdown]
# <details><summary>Solution</summary>
#
# The running mean starts at 0. After the first batch: 0.9 x 0 + 0.1 x 2.0 = 0.2. After the second:
# 0.9 x 0.2 + 0.1 x 4.0 = **0.58**. The estimate is still far from both batch means: with momentum 0.1 it
# needs a few dozen batches to forget its starting value (0.9^20 = 12% of it is left after 20 batches).
# Check: feed `torch.tensor([[[[1.0]]], [[[3.0]]]])` and then `torch.tensor([[[[3.0]]], [[[5.0]]]])` through
# `nn.BatchNorm2d(1)` and print `running_mean`.
# </details>

# %% [markdown]
# ## 2. Batch normalization from scratch
#
# Here is the whole transform as a function in `course_utils.batchnorm`, training and eval mode, running
# statistics included. Read it against the formulas above: it is the paper's Algorithm 1 plus the
# running-statistics update.

# %%
display(Code(inspect.getsource(batchnorm.batch_norm), language="python"))

# %% [markdown]
# `batchnorm.BatchNorm2dScratch` wraps it in a module with the same parameters and buffers as
# `nn.BatchNorm2d` (`weight` is gamma, `bias` is beta), so one state dict loads into both. We give PyTorch's
# layer a random gamma and beta, copy everything over, and run five training steps on batches with drifting
# scale and offset, comparing outputs and running statistics after each step; then the same in eval mode.

# %%
seed_everything(0)
reference = nn.BatchNorm2d(16)
with torch.no_grad():
    reference.weight.uniform_(0.5, 1.5)
    reference.bias.uniform_(-1, 1)
scratch = batchnorm.BatchNorm2dScratch(16)
scratch.load_state_dict(reference.state_dict())

worst = {"output": 0.0, "running_mean": 0.0, "running_var": 0.0}
for step in range(5):
    batch = torch.randn(8, 16, 6, 6) * (1 + step) + step      # the statistics drift from step to step
    out_ref, out_scratch = reference(batch), scratch(batch)
    worst["output"] = max(worst["output"], (out_ref - out_scratch).abs().max().item())
    worst["running_mean"] = max(worst["running_mean"], (reference.running_mean - scratch.running_mean).abs().max().item())
    worst["running_var"] = max(worst["running_var"], (reference.running_var - scratch.running_var).abs().max().item())
    assert torch.allclose(out_scratch, out_ref, atol=1e-5)
    assert torch.allclose(scratch.running_mean, reference.running_mean, atol=1e-5)
    assert torch.allclose(scratch.running_var, reference.running_var, atol=1e-4)

reference.eval(), scratch.eval()
test_batch = torch.randn(4, 16, 6, 6) * 3
worst["eval output"] = (reference(test_batch) - scratch(test_batch)).abs().max().item()
assert torch.allclose(scratch(test_batch), reference(test_batch), atol=1e-5)
for name, value in worst.items():
    print(f"largest |scratch - nn.BatchNorm2d| over 5 training steps, {name:<13}: {below(value)}")

# %% [markdown]
# Equal up to float rounding, in both modes. Nothing else is hiding inside `nn.BatchNorm2d` for 2-D inputs
# (its C++ kernel is faster, and it has options such as `affine=False` and `momentum=None`, a cumulative
# average, that we left out).
#
# ## 3. Train vs eval: the traps
#
# ### A training-mode forward pass changes the model
#
# `torch.no_grad()` turns off gradients; it does **not** switch BN to eval mode. A forward pass in training
# mode normalizes with the batch's statistics *and* updates the running ones. Take the course's trained mini
# BN-Inception (a shipped checkpoint), measure it on 500 test images, then push one unlucky batch through it
# in training mode: 32 images of a single class, whose statistics are nothing like the population's. Think of a
# cell that shows the feature maps of one class, run a few times.

# %%
test_set = embedded_dataset("test", 0)
images, labels = test_set.normalized(range(500)), test_set.labels[:500]


def accuracy(model):
    model.eval()
    with torch.no_grad():
        return (model(images).argmax(1) == labels).float().mean().item()


model, _ = load_checkpoint("mini_bn_inception")
acc_before = accuracy(model)
running_before = model.conv1.bn.running_mean.clone()
weights_before = {k: v.clone() for k, v in model.named_parameters()}

one_class = test_set.normalized(torch.nonzero(test_set.labels == 0).flatten()[:32].tolist())
acc_after = {}
for passes in range(1, 11):
    model.train()                                             # the mistake: training mode ...
    with torch.no_grad():                                     # ... even without gradients or an optimizer step
        model(one_class)
    if passes in (1, 3, 10):
        acc_after[passes] = accuracy(model)                   # (accuracy() switches to eval to measure)
print(f"test accuracy before: {100 * acc_before:.1f}%")
for passes, acc in acc_after.items():
    print(f"after {passes:>2} training-mode pass{'es' if passes > 1 else '  '} over the same 32 images: {100 * acc:.1f}%")
print("conv1.bn running mean, first 4 channels, before:", running_before[:4])
print("                                          after :", model.conv1.bn.running_mean[:4])
assert all(torch.equal(v, weights_before[k]) for k, v in model.named_parameters())  # no weight changed
assert acc_after[1] < acc_before and acc_after[10] < acc_before - 0.2

# %% [markdown]
# No weight was touched, yet the network lost accuracy, a little after one pass and most of it after ten: with
# momentum 0.1, each pass moves every BN layer's running statistics 10% of the way towards those of one class
# (after ten passes, 1 - 0.9^10 = 65% of the way). This is why evaluation code must call `model.eval()` (the course's
# `train.evaluate` does), and why a notebook cell that "just looks at" a model in training mode is not harmless.
#
# **Exercise 2 (code).** Reload the checkpoint (`load_checkpoint("mini_bn_inception")`), copy its
# `state_dict()` (clone the tensors, or the copy changes too), run the **first 64 test images**
# (`test_set.normalized(range(64))`) through it in training mode under `torch.no_grad()`, and compare.
# How many entries of the state dict changed?

# %%
answer_changed_entries = None  # a number
lesson03.check_changed_entries(answer_changed_entries)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# model, _ = load_checkpoint("mini_bn_inception")
# before = {k: v.clone() for k, v in model.state_dict().items()}
# model.train()
# with torch.no_grad():
#     model(test_set.normalized(range(64)))
# changed = [k for k, v in model.state_dict().items() if not torch.equal(before[k], v)]
# print(len(changed), sorted({k.rsplit(".", 1)[1] for k in changed}))
# ```
# Three entries per BatchNorm layer change: `running_mean`, `running_var` and `num_batches_tracked`
# (69 BN layers, so **207**). No weight and no gamma/beta changes: there was no optimizer step.
# </details>
#
# **Exercise 3 (code).** In the same experiment, which BatchNorm layer's `running_mean` moved the most
# (largest absolute change of any of its channels)? Give its name as in `model.named_modules()`, e.g.
# `"conv1.bn"`.

# %%
answer_most_moved = None  # a string, the layer's name
lesson03.check_most_moved_layer(answer_most_moved)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# moved = {name: (model.state_dict()[f"{name}.running_mean"] - before[f"{name}.running_mean"]).abs().max().item()
#          for name, m in model.named_modules() if isinstance(m, nn.BatchNorm2d)}
# print(max(moved, key=moved.get), max(moved.values()))
# ```
# The change of a running mean is 0.1 x (batch mean - old running mean), so the layers that move most are
# those whose inputs have a large scale and differ most between this batch and the training data.
# </details>

# %% [markdown]
# ### Tiny batches
#
# In training mode BN needs **more than one value per channel**. With one value the mean is that value, the
# normalized output is 0 whatever the input (the layer outputs beta, and no gradient flows through it), and
# the unbiased variance divides by n - 1 = 0. PyTorch refuses:

# %%
bn = nn.BatchNorm2d(4)
try:
    bn(torch.randn(1, 4, 1, 1))                              # one image, 1 x 1 map: one value per channel
except ValueError as err:
    print("ValueError:", err)

two = bn(torch.randn(2, 4, 1, 1))                             # two values per channel
print("two values per channel normalize to:", two.flatten(1).T.detach())
assert torch.allclose(two.abs(), torch.ones_like(two), atol=1e-2)

one_image = bn(torch.randn(1, 4, 5, 5))                       # one image is fine if H x W > 1: 25 values
print("one image of 5 x 5 in training mode:", tuple(one_image.shape), "- allowed, statistics from 25 values")

# %% [markdown]
# The rule is about values per channel (N x H x W), not images: batch size 1 fails where the map is 1 x 1, i.e.
# after global pooling (a `BatchNorm1d` in a classifier head) or at the end of a deep network on small
# inputs. With two values every channel normalizes to exactly -1 and +1 (up to epsilon), whatever the inputs:
# the output says only which of the two was larger. Small batches are legal but **noisy**, and the noise is
# the price of using the batch as a stand-in for the population.
#
# ### Explore it: batch statistics against the population
#
# How noisy? The explorer below uses *real* activations: the input of `conv3.bn` in the trained mini
# BN-Inception (48 channels on a 24 x 24 map), for 1,024 validation images. Their mean and variance over all
# images are the **population statistics**. The explorer draws 200 training batches at random, and compares
# each batch's statistics (what training normalizes with) and the running estimate (what inference uses) with
# the population's. Errors are in units of each channel's population standard deviation (mean) and relative
# to its population variance (variance), averaged over channels.

# %%
model, _ = load_checkpoint("mini_bn_inception")
val_images = embedded_dataset("val", 0).normalized(range(1024))
bn_inputs = explorers.capture_bn_inputs(model, "conv3.bn", val_images)
print(f"captured {bn_inputs.mean.shape[0]} images x {bn_inputs.mean.shape[1]} channels "
      f"({bn_inputs.spatial} positions each) at {bn_inputs.layer}")

for batch_size in (1, 8, 64):
    print(explorers.bn_statistics(bn_inputs, batch_size=batch_size, momentum=0.1).text())
errors = {b: explorers.bn_statistics(bn_inputs, batch_size=b, momentum=0.1).summary() for b in (1, 8, 64)}
assert errors[1]["batch mean error"] > 2 * errors[64]["batch mean error"]
assert errors[1]["batch var error"] > 2 * errors[64]["batch var error"]
assert all(e["running mean error"] < e["batch mean error"] for e in errors.values())

# %% [markdown]
# Move the sliders (the widget needs a live kernel; a static page shows its last state). Things to look for:
#
# * the batch's error shrinks roughly like 1 / sqrt(batch size): quadruple the batch, halve the noise;
# * the running estimate averages about 1 / momentum recent batches, so it is much less noisy than any one
#   batch; but with a very small momentum (0.01) it has not yet forgotten its starting values (mean 0,
#   variance 1) after 200 steps, and with momentum 1.0 it *is* the last batch;
# * at batch size 1 the variance of the batch is off by tens of percent: training normalizes each image with
#   statistics unlike those the network will see at inference.

# %%
# NBVAL_IGNORE_OUTPUT
widgets.bn_explorer_widget(bn_inputs, batch_size=8, momentum=0.1)

# %% [markdown]
# ## 4. What BN buys: a stored experiment
#
# The paper's headline claim is speed: BN "allows us to use much higher learning rates and be less careful
# about initialization" (Section 3.3). Does it hold at our scale? `benchmarks/exp_bn_learning_rate.py` trains
# the same small plain CNN (`batchnorm.plain_cnn`: eight 3x3 conv -> ReLU layers, about 63,000 parameters,
# He initialization, global average pooling) **with and without** a `BatchNorm2d` after every convolution,
# with SGD (Nesterov momentum 0.9, a constant learning rate, no gradient clipping, batch 16) at a **baseline
# learning rate and a 10 times higher one**, three seeds per arm, for three short epochs on 1,600 images of the
# embedded shapes drawn at 32 x 32 pixels. The two rates were chosen from a short probe (100 steps of batch 32
# on 48-pixel images, seed 0): at the higher one the network without BN stopped learning, the one with BN did not. A run whose loss becomes
# infinite or NaN is stopped and counted as diverged. The twelve runs take minutes on a CPU, so the lesson
# loads the stored result; `RETRAIN = True` reruns them with the same code and recipe.
#
# The budget is tiny on purpose (the whole experiment must run on a laptop), so no network here gets near the
# accuracy of the shipped checkpoints: what matters is how the four arms compare within the same budget.

# %%
RETRAIN = False  # True: rerun all 12 runs here (several minutes) instead of loading the stored result

if RETRAIN:
    torch.set_num_threads(2)
    bn_lr = batchnorm.run_bn_lr_experiment(save=False)
else:
    bn_lr = experiments.load_result("bn_learning_rate")
recipe = bn_lr["recipe"]
print(f"recipe: {recipe['epochs']} epochs of {recipe['train_images']:,} images, batch {recipe['batch_size']}, "
      f"seeds {bn_lr['seeds']}; measured with {bn_lr['machine']['torch_threads']} threads, "
      f"torch {bn_lr['machine']['torch']}, {bn_lr['total_wall_s'] / 60:.0f} min in all")
arms = list(bn_lr["arms"])
summary = {}
for arm in arms:
    accs = experiments.metric(bn_lr, arm, "test_acc")
    diverged = sum(experiments.metric(bn_lr, arm, "diverged"))
    summary[arm] = (experiments.summarize(accs), diverged)
    s = summary[arm][0]
    print(f"{arm:<16} test accuracy {100 * s.mean:5.1f}% +- {100 * s.std:4.1f} "
          f"(runs: {', '.join(f'{100 * a:.1f}' for a in accs)}), diverged {diverged} of {len(accs)}")

chance_loss = math.log(10)                                    # the loss of one uniform guess for every image
learned = {arm: sum(run["train_loss"][-1] is not None and run["train_loss"][-1] < chance_loss
                    for run in bn_lr["arms"][arm]) for arm in arms}
print(f"runs whose last-epoch train loss is below ln 10 = {chance_loss:.3f} (they learned something): "
      + ", ".join(f"{arm} {n} of {len(bn_lr['arms'][arm])}" for arm, n in learned.items()))
if not RETRAIN:  # what the stored result shows (a rerun on another machine may differ in the details)
    assert learned == {"BN, lr 0.05": 3, "no BN, lr 0.05": 1, "BN, lr 0.5": 0, "no BN, lr 0.5": 0}
    assert all(d == 0 for _, d in summary.values())
    assert summary["BN, lr 0.05"][0].mean > max(summary[a][0].mean for a in arms[1:]) + 0.05

# %% [markdown]
# **What the numbers say.** Chance is 10% (ten balanced classes), and a network that gives up and predicts the
# same thing for every image has a loss of ln 10 = 2.303. In this small budget (300 steps of 16 images):
#
# * **BN at the baseline rate is the only arm that learned in all three runs**: loss below ln 10 and test
#   accuracy above chance, though far from converged and with a wide spread (the first line of the table).
# * **Without BN, at the same rate, two of three runs stalled** at exactly chance; one learned a little. Same
#   network, recipe and seeds: the only difference is the normalization.
# * **At the 10 times higher rate nothing learned, with or without BN.** No run *diverged* in the strict sense
#   (no loss became infinite or NaN), so the "x" markers never appear; these runs fail more quietly, their loss
#   hovering just above ln 10 as each step overshoots.
#
# So at our scale BN made the baseline rate work reliably, but it did not make a tenfold rate usable. The
# paper's claim is about long training with a decaying schedule (its BN-x5 and BN-x30 runs), which a
# 300-step experiment cannot test: a smaller claim, stated with its spread. Set `RETRAIN = True` to rerun it,
# or call `batchnorm.run_bn_lr_experiment(epochs=...)` with a longer budget if you have the time.

# %%
colors = {arms[0]: "#1f77b4", arms[1]: "#ff7f0e", arms[2]: "#2ca02c", arms[3]: "#d62728"}
fig, axes = plt.subplots(1, 2, figsize=(11, 3.8))
for arm in arms:
    steps_per_log = recipe["log_every"]
    for i, curve in enumerate(experiments.metric(bn_lr, arm, "step_loss")):
        xs = np.arange(1, len(curve) + 1) * steps_per_log
        axes[0].plot(xs, curve, color=colors[arm], alpha=0.7, linewidth=1, label=arm if i == 0 else None)
    for run in bn_lr["arms"][arm]:
        if run["diverged"]:
            axes[0].plot(run["diverged_at_step"], 2.65, "x", color=colors[arm], markersize=9, mew=2)
axes[0].axhline(math.log(10), color="black", linestyle="--", linewidth=1)
axes[0].text(0.99, math.log(10), "ln 10: one guess for all ", transform=axes[0].get_yaxis_transform(),
             ha="right", va="bottom", fontsize=8)
axes[0].set_ylim(1.9, 2.7)
axes[0].set_xlabel("training step")
axes[0].set_ylabel(f"train loss (mean of {recipe['log_every']} steps)")
axes[0].set_title("loss, every run (x: diverged there; axis cut at 2.7)", fontsize=10)
axes[0].legend(fontsize=8)
axes[0].grid(alpha=0.3)
for arm in arms:
    accs = np.array([[np.nan if v is None else v for v in c] for c in experiments.metric(bn_lr, arm, "val_acc")]) * 100
    epochs = np.arange(1, accs.shape[1] + 1)
    axes[1].plot(epochs, accs.mean(0), "-o", color=colors[arm], markersize=3, label=f"{arm} (mean of {len(accs)})")
    axes[1].fill_between(epochs, accs.min(0), accs.max(0), color=colors[arm], alpha=0.15, linewidth=0)
axes[1].set_xlabel("epoch")
axes[1].set_ylabel("validation accuracy (%)")
axes[1].set_title("validation accuracy: mean, band = min..max over seeds")
axes[1].set_xticks(epochs)
axes[1].grid(alpha=0.3)
axes[1].legend(fontsize=8)
fig.tight_layout()
plt.show()

# %% [markdown]
# ### What the layers see, with and without BN
#
# Every run also recorded, at step 0 and after each epoch, what each layer's ReLU receives (the output of
# BN, or of the convolution when there is none) on the same 256 validation images. First the spread of
# those values (their standard deviation) per depth, for seed 2 of each arm, one line per moment of training:

# %%
shown = bn_lr["seeds"].index(2) if 2 in bn_lr["seeds"] else 0  # seed 2: without BN at the baseline rate it stalled
fig, axes = plt.subplots(1, 4, figsize=(12, 3.2), sharey=True)
for ax, arm in zip(axes, arms):
    run = bn_lr["arms"][arm][shown]
    stds = np.array([[np.nan if v is None else v for v in row] for row in run["act_std"]], dtype=float)
    for i, step in enumerate(run["act_step"]):
        ax.plot(np.arange(1, stds.shape[1] + 1), stds[i], "-o", markersize=3,
                color=plt.cm.viridis(i / max(1, len(run["act_step"]) - 1)), label=f"step {step}")
    ax.set_yscale("log")
    ax.set_xlabel("layer (depth)")
    ax.set_title(arm, fontsize=10)
    ax.grid(alpha=0.3, which="both")
axes[0].set_ylabel("std of what the ReLU receives")
axes[-1].legend(fontsize=7, loc="lower left")
fig.tight_layout()
plt.show()

if not RETRAIN:
    for arm in arms:
        for run in bn_lr["arms"][arm]:
            end = np.array(run["act_std"][-1], dtype=float)
            if arm.startswith("BN"):  # BN output: unit spread by construction (layers 1-7; gamma moves a little)
                assert np.all((end[:7] > 0.9) & (end[:7] < 1.1)), (arm, run["seed"], end)
            else:  # without BN the spread drifts apart from layer to layer
                assert end.max() / end.min() > 3, (arm, run["seed"], end)
    start, end = (bn_lr["arms"]["no BN, lr 0.5"][0]["act_std"][i] for i in (0, -1))
    assert max(end) > 1000 and end[-1] < start[-1] / 2  # seed 0: an early layer blew up, the last layer shrank

# %% [markdown]
# **With BN** what every ReLU receives keeps a spread of about 1 at every depth, all through training. That is
# BN's definition at work (its output is gamma times a unit-variance value, and gamma moves little in 300
# steps), not a finding. **Without BN** the spread is set by the weights: He initialization keeps it of order 1 at
# step 0, but training pulls the layers apart. In the stalled runs the deep layers' inputs shrink towards
# zero and pile up at or below it, so their ReLUs output almost nothing (dead units), the classifier sees
# nearly the same features for every image and the gradient that reaches early layers fades. At the high rate
# some early layers blow up instead (seed 0 without BN: a spread in the thousands at layer 2) while the deep
# ones still collapse. Exploding and vanishing activations are exactly what the paper says BN prevents.
#
# The histograms behind these numbers, for the first, a middle and the last layer (grey: at step 0; colour:
# at the end of training):

# %%
edges = np.array(batchnorm.HIST_EDGES)
centers = (edges[:-1] + edges[1:]) / 2
depths = [0, 3, 7]
fig, axes = plt.subplots(len(depths), len(arms), figsize=(12, 5.2), sharex=True)
for col, arm in enumerate(arms):
    run = bn_lr["arms"][arm][shown]
    for row, depth in enumerate(depths):
        ax = axes[row, col]
        for probe, style in ((0, dict(color="0.6", label="step 0")),
                             (-1, dict(color=colors[arm], label=f"step {run['act_step'][-1]}"))):
            counts = np.array(run["act_hist"][probe][depth], dtype=float)
            ax.step(centers, counts / max(counts.sum(), 1), where="mid", **style)
        ax.set_yticks([])
        ax.text(0.02, 0.82, f"layer {depth + 1}", transform=ax.transAxes, fontsize=8)
        if row == 0:
            ax.set_title(arm, fontsize=10)
            ax.legend(fontsize=7, loc="upper right")
    axes[-1, col].set_xlabel("value (clipped to [-6, 6])")
fig.tight_layout()
plt.show()

# %% [markdown]
# ### "Internal covariate shift": the claim and what was measured
#
# The paper's explanation is in its title. During training every layer's input distribution keeps changing,
# because the layers before it change; the paper calls this *internal covariate shift* and argues that each
# layer wastes effort chasing a moving target. BN fixes the mean and variance of every layer's input, so
# (the argument goes) the distributions stop shifting and higher learning rates become safe.
#
# Santurkar et al. (2018) tested the explanation rather than the method:
#
# * they trained a VGG network with BN and then **added random noise after every BN layer**, with a mean
#   and variance that change at every step, i.e. *more* distributional shift than without BN. It trained
#   almost as well as with plain BN and better than without BN;
# * they measured the shift directly, as how much a layer's gradient changes when the layers before it are
#   updated, and found BN networks **do not** have less of it (sometimes more);
# * what BN does change, they found, is the **smoothness of the loss**: the loss and its gradient change
#   more gently along the gradient direction (smaller Lipschitz constants), so a big step is less likely to
#   land somewhere bad. That is a different reason for the same observation: larger learning rates work.
#
# What our experiment supports is the observation (which learning rates train), not either explanation: the
# histograms show that BN pins each layer's input distribution, which is what BN does by construction, not
# evidence that this is *why* it helps.

# %% [markdown]
# <div style="border-left: 4px solid #c0504d; padding: 0.4em 1em; background: #fbeeee">
#
# **Misconceptions**
#
# * *"`torch.no_grad()` makes a forward pass harmless."* It only skips gradient bookkeeping. In training mode
#   BN still updates its running statistics (section 3). Evaluate with `model.eval()`.
# * *"`momentum=0.99` in PyTorch is the usual BN momentum."* That is Keras's convention (the weight of the old
#   value). PyTorch's `momentum` is the weight of the new batch: 0.99 there would make the running statistics
#   almost the last batch's. Keras 0.99 is PyTorch 0.01; PyTorch's default 0.1 is Keras 0.9.
# * *"GoogLeNet (Inception v1) uses batch normalization."* The 2014 network predates BN. torchvision's
#   `googlenet` adds BN after every convolution (and uses 3x3 in its "5x5" branch); BN arrived with this
#   paper's BN-Inception.
# * *"Inception v2" means one network.* It is used for BN-Inception (TF-slim's `inception_v2`, this lesson)
#   and, in the Inception v3 paper, for an intermediate design of that paper's own (lesson 04). Say which.
# * *"BN works because it removes internal covariate shift."* That is the original hypothesis; Santurkar et al.
#   found BN networks train well even with shift added on purpose (see above).
# </div>

# %% [markdown]
# ## 5. BN-Inception: what changed from GoogLeNet
#
# The paper's Appendix lists the changes to GoogLeNet (lesson 02) that make up BN-Inception:
#
# * **BN after every convolution**, before its ReLU (the convolutions lose their biases: beta does that job),
#   and no local response normalization;
# * **each 5x5 convolution is replaced by two stacked 3x3 convolutions** (the "double #3x3" columns). Two 3x3
#   see the same 5 x 5 window as one 5x5 (receptive field 3 + 2 = 5) with 2 x 9 = 18 instead of 25 weights
#   per input-output channel pair, and one more nonlinearity. This is the idea's **first appearance**; the
#   Inception v3 paper (lesson 04) makes it a design principle and takes it further;
# * three modules at 28 x 28 (3a, 3b, 3c) instead of two; no max pool between module groups: modules 3c and
#   4e reduce the grid themselves with stride-2 convolutions next to a max pool that is passed through;
# * average or max pooling inside the modules (the "Pool +proj" column), a separable 7 x 7 first layer,
#   no dropout.
#
# `course_utils.models.bn_inception` builds the network from the Figure 5 table (`BN_INCEPTION_FIGURE5`). Here
# is the table rebuilt from the model, with the parameters and MACs of each module counted on a 224 x 224 image:

# %%
bn_inception = create_model("bn_inception").eval()
report = costs.cost_breakdown(bn_inception, (1, 3, 224, 224))
shapes = {}
hooks = [getattr(bn_inception, name).register_forward_hook(
    lambda module, inputs, out, name=name: shapes.__setitem__(name, tuple(out.shape[1:])))
    for name in BN_INCEPTION_FIGURE5]
with torch.no_grad():
    bn_inception(torch.zeros(1, 3, 224, 224))
for h in hooks:
    h.remove()

print(f"{'module':<12} {'output':>14} {'#1x1':>5} {'#3x3r':>5} {'#3x3':>5} {'dbl r':>5} {'dbl 3x3':>7} "
      f"{'pool':>9} {'params':>9} {'MACs':>9}")
for name, (stride, c1, c3r, c3, d_r, d, pool, proj) in BN_INCEPTION_FIGURE5.items():
    c, h, w = shapes[name]
    row = report.row(name)
    pool_text = f"{pool}+{proj}" if proj is not None else f"{pool} pass"
    print(f"{name:<12} {f'{h}x{w}x{c}':>14} {c1 or '':>5} {c3r:>5} {c3:>5} {d_r:>5} {d:>7} {pool_text:>9} "
          f"{costs.format_count(row.params):>9} {costs.format_count(row.macs):>9}")
print(f"{'total':<12} {'':>14} {'':>5} {'':>5} {'':>5} {'':>5} {'':>7} {'':>9} "
      f"{costs.format_count(report.total_params):>9} {costs.format_count(report.total_macs):>9}")
assert report.total_params == 11_278_528
assert round(report.total_macs / 1e9, 3) == 1.949

googlenet_paper = create_model("googlenet_paper", aux_logits=False).eval()
v1_params, v1_macs = costs.count_params(googlenet_paper), costs.count_macs(googlenet_paper, (1, 3, 224, 224))
print(f"for comparison, GoogLeNet in the paper's layout (no aux heads): {costs.format_count(v1_params)} params, "
      f"{costs.format_count(v1_macs)} MACs")
assert v1_params < report.total_params and v1_macs < report.total_macs

# %% [markdown]
# Compared with GoogLeNet in the paper's layout (last line), BN-Inception has more parameters and a little more
# arithmetic: a third 28 x 28 module, wider 14 x 14 modules, and the double-3x3 branches. What BN bought was
# not cheaper inference but much faster training: in the paper's Section 4.2.2 (Figures 2 and 3) the BN
# variants reach GoogLeNet's accuracy in far fewer steps, 14 times fewer with the learning rate raised
# five-fold and the other changes of Section 4.2.1 (no dropout, less weight decay, faster decay, no LRN).
#
# ### The figure contradicts itself at 4c and 4d
#
# Figure 5's columns for modules 4c and 4d say 160 + 160 + 160 + 128 and 96 + 192 + 192 + 128 output channels:
# **608** each. Its output-size column prints **576**, and 4e's output (which passes its input through) as
# 1024 instead of 1056. Both cannot be right. The course follows the columns by default and offers the printed
# sizes with `match_output_sizes=True` (TF-slim's choice: 96-channel pool projections in 4c and 4d).

# %%
sized = create_model("bn_inception", match_output_sizes=True).eval()
for name in ("inception4c", "inception4d", "inception4e"):
    columns, printed = getattr(bn_inception, name).out_channels, getattr(sized, name).out_channels
    print(f"{name}: the table's channel columns give {columns} output channels, its size column prints {printed}")
print(f"parameters: {costs.count_params(bn_inception):,} (columns) vs {costs.count_params(sized):,} (printed sizes)")
assert (bn_inception.inception4c.out_channels, sized.inception4c.out_channels) == (608, 576)
assert (bn_inception.inception4e.out_channels, sized.inception4e.out_channels) == (1056, 1024)
_, c1, _, c3, _, d, _, proj = BN_INCEPTION_FIGURE5["inception4c"]         # the table's columns for 4c
assert c1 + c3 + d + proj == 608

# %% [markdown]
# ## 6. Folding BN into the convolution for inference
#
# In eval mode a BN layer is no longer data-dependent: its mean and variance are fixed numbers, so it is a
# per-channel affine map. The convolution before it is linear too, so the two collapse into **one
# convolution**. For output channel c, with the conv's output z = W * x + b:
#
# $$\text{BN}(z)_c = \gamma_c \frac{z_c - \mu_c}{\sqrt{\sigma_c^2 + \epsilon}} + \beta_c
#   = \underbrace{\frac{\gamma_c}{\sqrt{\sigma_c^2 + \epsilon}} W_c}_{W'_c} * x
#   + \underbrace{\beta_c + (b_c - \mu_c)\frac{\gamma_c}{\sqrt{\sigma_c^2 + \epsilon}}}_{b'_c}$$
#
# Every filter of the conv is scaled by its channel's factor gamma / sqrt(var + eps), and the bias absorbs
# the rest (b = 0 for the bias-free convolutions in front of BN). Here it is by hand, for the first
# convolution of the trained mini BN-Inception, compared with the layer pair and with
# `fuse_for_inference`, which does this for every conv-BN pair of a model (with PyTorch's
# `torch.nn.utils.fusion.fuse_conv_bn_eval`).

# %%
model, _ = load_checkpoint("mini_bn_inception")
conv, bn = model.conv1.conv, model.conv1.bn                   # conv (no bias) -> BN, in eval mode
scale = bn.weight / torch.sqrt(bn.running_var + bn.eps)       # gamma / sqrt(var + eps), one per output channel
W_folded = conv.weight * scale.view(-1, 1, 1, 1)              # C_out x C_in x 3 x 3
b_folded = bn.bias - bn.running_mean * scale                  # beta + (0 - mean) * scale

x = images[:16]
with torch.no_grad():
    pair_out = bn(conv(x))
    by_hand = nn.functional.conv2d(x, W_folded, b_folded, stride=conv.stride, padding=conv.padding)
    fused = fuse_for_inference(model)
    library = fused.conv1.conv
print("by hand vs conv -> BN       :", below((by_hand - pair_out).abs().max().item(), 1e-4))
print("by hand vs fuse_for_inference:", below((W_folded - library.weight).abs().max().item()), "(weights)",
      below((b_folded - library.bias).abs().max().item()), "(biases)")
print("whole model, fused vs original logits:", below((fused(x) - model(x)).abs().max().item(), 1e-3))
assert torch.allclose(by_hand, pair_out, atol=1e-4)
assert torch.allclose(W_folded, library.weight, atol=1e-6) and torch.allclose(b_folded, library.bias, atol=1e-6)
assert torch.allclose(fused(x), model(x), atol=1e-3)
assert count_batchnorms(fused) == 0

# %% [markdown]
# **Exercise 4.** A convolution with bias b = 0.2 is followed by a BN (eval mode) with gamma = 1.5,
# beta = 0.1, running mean 1.0, running variance 4.0 and eps = 1e-5. What is the bias b' of the folded
# convolution? (A calculator is enough; `batchnorm.folded_conv_weights` checks it.)

# %%
answer_folded_bias = None  # a number
lesson03.check_folded_bias(answer_folded_bias)

# %% [markdown]
# <details><summary>Solution</summary>
#
# scale = gamma / sqrt(var + eps) = 1.5 / 2.0000025 = 0.75 (to 6 digits);
# b' = beta + (b - mean) x scale = 0.1 + (0.2 - 1.0) x 0.75 = **-0.5**. The weights would all be
# multiplied by 0.75.
# </details>

# %% [markdown]
# ### What folding buys, measured
#
# `fuse_for_inference` does two things: it **folds** the BN layers (one pass over every feature map less),
# and it converts the model to the **channels_last** memory layout (N x H x W x C in memory), which the CPU's
# convolution library (oneDNN) prefers. To see which part of the speed-up comes from what, we time four
# versions of GoogLeNet (torchvision's layout: a BN after each of its 57 convolutions; random weights, the
# time does not depend on them) on one 224 x 224 image: as built, folded only, channels_last only, and both.
# On a shared machine the speed drifts, so the four take turns, one forward pass at a time
# (`batchnorm.time_interleaved`), and we compare them within each round.

# %%
# NBVAL_IGNORE_OUTPUT
# (timings vary from run to run; the next cell asserts what must hold)
seed_everything(0)
googlenet = create_model("googlenet", aux_logits=False).eval()
variants = batchnorm.inference_variants(googlenet)
x224 = torch.randn(1, 3, 224, 224)
with torch.no_grad():
    reference_logits = googlenet(x224)
    for label, m in variants.items():
        assert torch.allclose(m(x224), reference_logits, atol=1e-3), label
times = batchnorm.time_interleaved(variants, x224, rounds=12, warmup=2)
eager_times = np.array(times["eager"])
print(f"GoogLeNet, batch 1, 224 x 224, {torch.get_num_threads()} CPU threads, 12 rounds taking turns:")
print(f"{'variant':<24} {'median ms':>9} {'IQR ms':>8} {'speed-up vs eager (median of per-round ratios)':>47}")
speedups = {}
for label, samples in times.items():
    s = np.array(samples)
    speedups[label] = float(np.median(eager_times / s))
    q1, q3 = np.percentile(s, [25, 75])
    print(f"{label:<24} {np.median(s):9.1f} {q3 - q1:8.1f} {speedups[label]:47.2f}x")
print(f"(load average {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores while timing)")

# %%
# what must hold on any machine, even a busy one (the numbers themselves are in the table above)
folded_gain, layout_gain, both_gain = speedups["folded"], speedups["channels_last"], speedups["folded + channels_last"]
assert both_gain > 1.15, f"folding + channels_last should pay; measured {both_gain:.2f}x"
assert both_gain > folded_gain - 0.05 and both_gain > layout_gain - 0.05

# %% [markdown]
# How to read the table. The last column compares each version with the eager model *within the same round*,
# so a slow moment of the machine cancels out; the medians and IQRs in milliseconds show how much the machine
# itself drifted. Two different savings are at work:
#
# * **folding** removes work: one read and one write of every feature map per BN layer (57 in GoogLeNet).
#   That work is memory traffic, not MACs, so the FLOP counter of lesson 01 does not see it, but the clock does;
# * **channels_last** removes *format conversions*: oneDNN's fast convolution kernels work on channels-last
#   data, and a model in PyTorch's default layout pays for reordering tensors around many convolutions.
#
# `fuse_for_inference` applies both; the assert in the cell above checks that together they pay, even on a
# busy machine. Which of the two matters more depends on the CPU, the batch size and the library version: read
# it off the table (and rerun the cell: the ratios move by a few tenths from run to run on a shared machine).
#
# Two cautions. Folding is for **inference only**: the folded model has no BN left, and training it would
# train a different (un-normalized) network. And the gain depends on the hardware and the library: on a GPU,
# or with a compiler (`torch.compile`) that fuses BN into the convolution by itself, the eager BN costs less
# and folding by hand buys less.

# %% [markdown]
# ## Summary
#
# * BN normalizes each channel with the mean and (biased) variance of its N x H x W values in the batch, adds
#   epsilon, then scales by gamma and shifts by beta, which can restore the original representation.
# * For inference it keeps running statistics: `running = (1 - momentum) running + momentum batch` in PyTorch
#   (the reverse of Keras's convention), with the unbiased variance. A from-scratch implementation equals
#   `nn.BatchNorm2d` in both modes.
# * Training mode is stateful: one forward pass, even under `no_grad`, moves every running statistic. BN needs
#   more than one value per channel, and small batches give noisy statistics.
# * Stored experiment (plain 8-layer CNN, 3 seeds per arm, 300 steps): with BN all three runs learned at the
#   baseline rate, without BN one of three; at a 10x rate none learned either way and none diverged to NaN.
#   BN keeps every layer's input at unit spread; without it activations vanish or explode with depth.
# * "Internal covariate shift" is the paper's hypothesis; Santurkar et al. found BN smooths the loss rather
#   than removing the shift.
# * BN-Inception = GoogLeNet + BN everywhere + two 3x3 for each 5x5 (+ a third 28 x 28 module); its Figure 5
#   disagrees with itself at 4c/4d (608 vs 576 channels).
# * In eval mode BN folds into the convolution: W' = W gamma / sqrt(var + eps), b' = beta + (b - mean) gamma /
#   sqrt(var + eps); on the CPU folding and channels_last together made GoogLeNet clearly faster.
#
# **Next:** lesson 04, Inception v3: factorizing convolutions further (n x n into 1 x n and n x 1).
#
# **Read more:** [Batch Normalization (Ioffe & Szegedy 2015)](https://arxiv.org/abs/1502.03167) ·
# [How Does Batch Normalization Help Optimization? (Santurkar et al. 2018)](https://arxiv.org/abs/1805.11604) ·
# [Rethinking the Inception Architecture (Szegedy et al. 2015)](https://arxiv.org/abs/1512.00567) ·
# [PyTorch `BatchNorm2d`](https://pytorch.org/docs/stable/generated/torch.nn.BatchNorm2d.html) ·
# [PyTorch conv-BN fusion](https://pytorch.org/tutorials/intermediate/torch_compile_conv_bn_fuser.html)
