# ---
# jupyter:
#   course:
#     description: capture feature maps per stage and per Inception branch; derive CAM and Grad-CAM and measure them against the objects' boxes in every shipped model; run the weight-randomization sanity check; see what training changed in the first-layer filters
# ---

# %% [markdown]
# # Lesson 07 — Seeing inside
#
# An Inception module is a claim: *let several kernel sizes look at the same input, and the network will
# decide which view matters where*. In this lesson we check that claim by looking. We capture what each
# branch computes, ask a trained network where it looked when it decided (Grad-CAM), and test whether that
# answer is about the network at all.
#
# **Learning goals.** By the end of this lesson you can
#
# 1. capture the feature maps of any named layer, and of each branch of an Inception module separately;
# 2. derive CAM for a network that ends in global average pooling and one linear layer, and explain how
#    Grad-CAM generalizes it to any layer (computed with Captum);
# 3. measure whether a Grad-CAM map falls on the object, instead of judging by eye;
# 4. run the model-randomization sanity check and say what its result means;
# 5. read a first layer's filters, and what training changed in them.
#
# **Papers.** Selvaraju et al., [Grad-CAM](https://arxiv.org/abs/1610.02391) (2017);
# Adebayo et al., [Sanity Checks for Saliency Maps](https://arxiv.org/abs/1810.03292) (2018);
# Zeiler & Fergus, [Visualizing and Understanding Convolutional Networks](https://arxiv.org/abs/1311.2901)
# (2014); Zhou et al., [Learning Deep Features for Discriminative Localization](https://arxiv.org/abs/1512.04150)
# (2016, CAM); Szegedy et al., [Going deeper with convolutions](https://arxiv.org/abs/1409.4842) (2014).
#
# Everything runs offline on a CPU: the models are small versions of each family, trained on the course's
# shapes dataset and shipped with the course (`data/checkpoints/`).

# %%
import matplotlib.pyplot as plt
import torch

from course_utils import checkpoints, data, viz
from course_utils.exercises import lesson07
from course_utils.runtime import seed_everything

seed_everything(0)
torch.set_printoptions(precision=3)

# %% [markdown]
# ## 1. The data and the trained models
#
# The shapes dataset has ten classes drawn at very different scales, from a few pixels to most of the
# image, on cluttered, noisy backgrounds. Each image comes with the bounding box of its object (the red
# frames below), which will let us *measure* where an explanation points.

# %%
test_set = data.embedded_dataset("test")
print(f"{len(test_set)} test images of {test_set.size}x{test_set.size} pixels, classes: {', '.join(data.CLASS_NAMES)}")
data.plot_samples(test_set, per_class=6)
plt.show()

# %% [markdown]
# One small model of each family was trained on this data by `data/make_checkpoints.py` (the same
# `course_utils.train` code you can run yourself). Loading a checkpoint rebuilds the architecture from its
# metadata and checks every tensor's name and shape.

# %%
models, metadata = {}, {}
for name in checkpoints.list_checkpoints():
    models[name], metadata[name] = checkpoints.load_checkpoint(name)
    models[name].eval()
for name, meta in metadata.items():
    print(f"{name:<26} test accuracy {100 * meta['accuracy']:.1f}%, trained in {meta['train_time_s']:.0f} s")

# %% [markdown]
# ## 2. Feature maps, stage by stage
#
# A feature map is one channel of a layer's output: where in the image that channel's pattern was found.
# `feature_info` names each stage of a model with its channels and its reduction (how many input pixels one
# output pixel steps over). Early stages keep the full resolution and respond to edges and colours; later
# ones are coarse and respond to larger structures.

# %%
googlenet = models["mini_googlenet"]
for info in googlenet.feature_info:
    print(f"{info.module:<12} {info.num_chs:>4} channels, 1 pixel = {info.reduction:>2} input pixels")

index = 7  # one test image; try others
x, label = test_set[index]
box = test_set.boxes[index].tolist()
print(f"image {index}: a {data.CLASS_NAMES[label]}, box (x0, y0, x1, y1) = {box}")
stages = viz.capture_activations(googlenet, x, [info.module for info in googlenet.feature_info[:3]])
viz.plot_feature_maps(stages, max_channels=6, image=viz.display_image(x, googlenet.preprocess.mean, googlenet.preprocess.std),
                      title="mini GoogLeNet: the 6 strongest channels of three stages")
plt.show()

# %% [markdown]
# ### Each branch of an Inception module
#
# Inside `inception3b` four branches see the same input: a 1x1 convolution, a 1x1 reduction followed by a
# 3x3, a reduction followed by a 5x5 (a real 5x5, as in the paper; torchvision's port uses a 3x3 there),
# and a 3x3 max pool followed by a 1x1. The module concatenates their outputs along the channels.
# `viz.capture_branches` runs the module's `forward_branches` and keeps each branch's output before the
# concatenation.

# %%
branches = viz.capture_branches(googlenet, x, "inception3b")
for name, fmap in branches.items():
    print(f"{name:<10} {tuple(fmap.shape[1:])}")
viz.plot_feature_maps(branches, max_channels=6, title="inception3b, branch by branch (strongest channels)")
plt.show()

# %% [markdown]
# **Exercise 1.** How many channels does each branch of `inception3a` in `googlenet` (our mini GoogLeNet)
# contribute? Give a list in concatenation order. (Hint: `viz.capture_branches`.)

# %%
answer_1 = None  # a list of whole numbers, one per branch
lesson07.check_branch_widths(answer_1, googlenet, "inception3a")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# widths = [fmap.shape[1] for fmap in viz.capture_branches(googlenet, x, "inception3a").values()]
# ```
# The four numbers are Table 1's #1x1, #3x3, #5x5 and pool-proj columns for inception (3a), scaled by
# the mini model's width multiplier. Their sum is the module's output channels.
# </details>

# %% [markdown]
# ### The same filters on a real photograph
#
# The model never saw a photograph, yet its first stages respond to edges and colour contrasts in one:
# early filters are generic. The photo is resized to 96 pixels (these models accept any size from 32 up)
# and normalized with the shapes dataset's statistics, as the model expects.

# %%
photo = data.load_photo("chelsea", size=96)              # 3 x 96 x 96, values in [0, 1]
mean, std = torch.tensor(googlenet.preprocess.mean), torch.tensor(googlenet.preprocess.std)
photo_x = (photo - mean[:, None, None]) / std[:, None, None]
viz.plot_feature_maps(viz.capture_branches(googlenet, photo_x, "inception3a"), max_channels=6,
                      image=photo.permute(1, 2, 0).numpy(), title="inception3a on a photograph, branch by branch")
plt.show()

# %% [markdown]
# ## 3. CAM and Grad-CAM: where the evidence for a class is
#
# Feature maps show what a layer computes, not what the decision used. Every model in this course ends the
# same way: the last stage's maps `A^k` (k = 1..K channels, each h x w) are averaged over all positions
# (global average pooling) and one linear layer turns the K averages into class scores:
#
# $$y_c = \sum_k w_{ck} \frac{1}{Z}\sum_{i,j} A^k_{ij} + b_c = \frac{1}{Z}\sum_{i,j} \Big(\sum_k w_{ck} A^k_{ij}\Big) + b_c .$$
#
# The score is an average over positions of one map, $M_c = \sum_k w_{ck} A^k$: the **class activation map**
# (CAM, Zhou et al. 2016). It says how much each position adds to the class score, no gradients needed.
# Let us compute it by hand at the last stage of the mini GoogLeNet.

# %%
last = googlenet.feature_info[-1].module
A = viz.capture_activations(googlenet, x, [last])[last][0]                  # K x h x w
w_c = googlenet.get_classifier().weight[label].detach()                      # K weights of the true class
b_c = googlenet.get_classifier().bias[label].detach().item()
cam_by_hand = torch.einsum("k,khw->hw", w_c, A)                               # M_c = sum_k w_ck A^k
Z = A.shape[1] * A.shape[2]
with torch.no_grad():
    score = float(googlenet(x[None])[0, label])
print(f"last stage {last}: {A.shape[0]} channels of {A.shape[1]}x{A.shape[2]}; CAM for '{data.CLASS_NAMES[label]}':")
print(cam_by_hand.numpy().round(2))
print(f"mean of the CAM + bias = {float(cam_by_hand.mean()) + b_c:.3f}, the model's score = {score:.3f}")
assert abs(float(cam_by_hand.mean()) + b_c - score) < 1e-3

# %% [markdown]
# At 48 pixels the last stage is a 3x3 grid: one cell covers 16 x 16 input pixels, too coarse to point at a
# small object. Grad-CAM (Selvaraju et al., Eq. 1-2) computes the same kind of map at *any* layer, by
# replacing the classifier weights with gradients. For a target class `c` with score `y_c` and a layer with
# feature maps `A^k`:
#
# 1. weigh each channel by how much the score depends on it, averaged over positions:
#    $\alpha_k = \frac{1}{Z}\sum_{i,j} \frac{\partial y_c}{\partial A^k_{ij}}$;
# 2. sum the weighted maps and keep the positive part: $L = \mathrm{ReLU}\big(\sum_k \alpha_k A^k\big)$;
# 3. upsample `L` to the image size.
#
# At the last stage of our models, $\partial y_c / \partial A^k_{ij} = w_{ck}/Z$ at every position, so
# $\alpha_k = w_{ck}/Z$ and Grad-CAM is exactly $\mathrm{ReLU}(M_c)/Z$: **CAM is Grad-CAM at the last
# stage**, as the next cell checks. At earlier layers the gradient does the job the classifier weights did.
#
# Captum's `LayerGradCam` does steps 1-2 and `LayerAttribution.interpolate` step 3; `viz.grad_cam` wraps
# both, runs the model in eval mode and defaults to the predicted class and the last stage whose map is
# still at least 6x6 (here `inception4e`).

# %%
cam_last = viz.grad_cam(googlenet, x, target=label, layer=last)
print("Grad-CAM at the last stage = ReLU(CAM) / Z:",
      torch.allclose(cam_last.layer_map, torch.relu(cam_by_hand) / Z, atol=1e-5))
assert torch.allclose(cam_last.layer_map, torch.relu(cam_by_hand) / Z, atol=1e-5)

cam = viz.grad_cam(googlenet, x)
print(f"predicted {data.CLASS_NAMES[cam.predicted]} (p = {cam.probability:.2f}), explained at {cam.where}")
viz.plot_grad_cam(cam, class_names=data.CLASS_NAMES, box=box)
plt.show()

# %% [markdown]
# ### Measuring it: how much of the map lies on the object?
#
# Looking at a few maps proves little. A number does better: the fraction of the map's mass inside the
# object's box (the "energy-based pointing game"). A map spread evenly over the image scores the box's
# share of the image area, so we compare against that baseline.

# %%
def uniform_share(b):
    """What a map spread evenly over the image puts inside box b: the box's share of the area."""
    return (b[2] - b[0]) * (b[3] - b[1]) / test_set.size**2


def mass_in_box(heatmap, b):
    """Fraction of the map inside the box; a map that is zero everywhere points nowhere: score it as uniform."""
    share = viz.cam_mass_in_box(heatmap, b)
    return uniform_share(b) if share != share else share  # share != share is True only for NaN


n_images = 40
fractions, baselines = [], []
for i in range(n_images):
    xi, _ = test_set[i]
    cam_i = viz.grad_cam(googlenet, xi)
    b = test_set.boxes[i].tolist()
    fractions.append(mass_in_box(cam_i.heatmap, b))
    baselines.append(uniform_share(b))
fractions, baselines = torch.tensor(fractions), torch.tensor(baselines)
print(f"mass inside the box, mean over {n_images} test images: {fractions.mean():.2f} "
      f"(a uniform map would score {baselines.mean():.2f})")
assert 0.3 < fractions.mean() < 0.5 and 1.5 < fractions.mean() / baselines.mean() < 2.5

# %% [markdown]
# **Exercise 2.** Compute the fraction of `cam.heatmap`'s mass inside `box` yourself, with tensor slicing
# (not `viz.cam_mass_in_box`). `box` is `(x0, y0, x1, y1)` with `x1`, `y1` exclusive.

# %%
answer_2 = None  # a fraction between 0 and 1
lesson07.check_cam_mass(answer_2, cam, box)

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# x0, y0, x1, y1 = box
# answer_2 = float(cam.heatmap[y0:y1, x0:x1].sum() / cam.heatmap.sum())
# ```
# Rows (y) come first in an image tensor.
# </details>

# %% [markdown]
# ### Across architectures
#
# Every family answers the same question on the same images. To compare like with like, each model is
# explained at its stage with reduction 8, a grid of 5-6 cells a side at 48 pixels (the default layers
# differ: 6x6 for some models, 11x11 or 12x12 for others). For each model we measure, over the same 20 test
# images, the mass inside the box and how often the map's peak lies inside it (the "pointing game").

# %%
def stage_with_reduction(model, reduction=8):
    return next(info.module for info in model.feature_info if info.reduction == reduction)


n_compare = 20
across = {}
for name, model in models.items():
    layer = stage_with_reduction(model)
    masses, peaks = [], []
    for i in range(n_compare):
        xi, _ = test_set[i]
        b = test_set.boxes[i].tolist()
        cam_i = viz.grad_cam(model, xi, layer=layer)
        masses.append(mass_in_box(cam_i.heatmap, b))
        peaks.append(viz.cam_peak_in_box(cam_i.heatmap, b))
    across[name] = dict(layer=layer, grid=tuple(cam_i.layer_map.shape), mass=sum(masses) / n_compare,
                        peaks=sum(peaks))
uniform = float(baselines[:n_compare].mean())
print(f"{'model':<26} {'layer':<18} {'grid':>5}  mass in box  peak in box")
for name, r in across.items():
    print(f"{name:<26} {r['layer']:<18} {r['grid'][0]:>2}x{r['grid'][1]:<2}  {r['mass']:11.2f}  {r['peaks']:>5} of {n_compare}")
print(f"(a uniform map: {uniform:.2f} of its mass in the box)")
assert all(r["grid"][0] in (5, 6) for r in across.values())
assert sum(r["mass"] > uniform for r in across.values()) >= len(across) - 1

# %% [markdown]
# The table is the measurement; the pictures below show one image per model at the same layers. The colour
# scale is each map relative to its own maximum; the cyan frame is the object's box.

# %%
fig, axes = plt.subplots(2, 4, figsize=(12, 6.4))
axes = axes.ravel()
axes[0].imshow(viz.display_image(x, googlenet.preprocess.mean, googlenet.preprocess.std))
axes[0].add_patch(plt.Rectangle((box[0] - 0.5, box[1] - 0.5), box[2] - box[0], box[3] - box[1], fill=False,
                                edgecolor="cyan", linewidth=1.5))
axes[0].set_title(f"input: a {data.CLASS_NAMES[label]}", fontsize=9)
axes[0].set_axis_off()
for ax, (name, model) in zip(axes[1:], models.items()):
    cam_m = viz.grad_cam(model, x, layer=across[name]["layer"])
    viz.plot_grad_cam(cam_m, ax=ax, class_names=data.CLASS_NAMES, box=box,
                      title=f"{name.removeprefix('mini_')}: {data.CLASS_NAMES[cam_m.predicted]}")
fig.suptitle("Grad-CAM of each model's predicted class at its reduction-8 stage (cyan: the object's box)")
fig.tight_layout(rect=(0, 0, 1, 0.97))
plt.show()

# %% [markdown]
# ### Per branch of an Inception module
#
# Grad-CAM can also be computed for each branch's output: which branch carried the evidence for this
# decision, and where? All panels share one colour scale, so a weak branch looks weak.
#
# The branch maps are not a new kind of explanation. The module's output is the concatenation of the branch
# outputs, so its channels split into the branches' channels, and each channel keeps its own weight
# $\alpha_k$. Before the ReLU the module's map is therefore the **sum** of the branch maps:
# $\sum_k \alpha_k A^k = \sum_{b} \sum_{k \in b} \alpha_k A^k$. The next cell checks it by hand.

# %%
cams = viz.grad_cam_branches(googlenet, x, "inception4e")
viz.plot_grad_cam_branches(cams, class_names=data.CLASS_NAMES)
plt.show()

# The module's map before the ReLU, by hand: gradient of the score w.r.t. the module's output.
captured = {}
handle = googlenet.inception4e.register_forward_hook(lambda m, i, out: captured.update(out=out))
googlenet.zero_grad()
score = googlenet(x[None])[0, cam.predicted]
handle.remove()
(grad,) = torch.autograd.grad(score, captured["out"])
alpha = grad[0].mean(dim=(1, 2))                                   # one weight per channel
maps = alpha[:, None, None] * captured["out"][0].detach()          # alpha_k A^k, channel by channel
widths = [fmap.shape[1] for fmap in viz.capture_branches(googlenet, x, "inception4e").values()]
branch_maps = dict(zip(cams, [part.sum(0) for part in maps.split(widths)]))
module_map = maps.sum(0)
print("branch maps (before ReLU) add up to the module's map:",
      torch.allclose(sum(branch_maps.values()), module_map, atol=1e-5))
print("ReLU of the module's map = viz.grad_cam at inception4e:",
      torch.allclose(torch.relu(module_map), viz.grad_cam(googlenet, x, layer="inception4e").layer_map, atol=1e-5))
for name, part in branch_maps.items():
    print(f"  {name:<10} adds {float(part.sum()):+8.3f}; ReLU(its map) = its Grad-CAM: "
          f"{torch.allclose(torch.relu(part), cams[name].layer_map, atol=1e-5)}")
assert torch.allclose(sum(branch_maps.values()), module_map, atol=1e-5)
assert all(torch.allclose(torch.relu(p), cams[n].layer_map, atol=1e-5) for n, p in branch_maps.items())

# %% [markdown]
# After the ReLU the branch maps no longer add up (a branch's negative evidence is cut off in its own
# panel, but it cancels positive evidence of other branches in the module's map).

# %% [markdown]
# ## 4. The sanity check: is the map about the model?
#
# Adebayo et al. found that some popular saliency methods draw nearly the same picture for a trained network
# and for one with random weights: they highlight edges of the *input*, whatever the model learned. The test:
# randomize every weight and compare the maps. We report the rank correlation between the two maps at the
# layer's resolution (1 = the same ordering of positions, 0 = unrelated) and the mass inside the box for both.
#
# `viz.randomize_weights` redraws every weight the way PyTorch initializes it, with a fixed seed. With seed 0
# that is exactly where our training started (the checkpoints were trained from seed 0): the "random" model is
# the untrained one.

# %%
randomized = viz.randomize_weights(googlenet, seed=0)
example = 10  # an image where both maps are non-zero; try others
xe, ye = test_set[example]
be = test_set.boxes[example].tolist()
check = viz.randomization_sanity_check(googlenet, xe, target=ye)
viz.plot_sanity_check(check, class_names=data.CLASS_NAMES, box=be)
plt.show()
assert check.rank_correlation == check.rank_correlation  # defined (not NaN) for this image

n_sanity = 20
rhos, trained_in_box, random_in_box, zero_maps = [], [], [], 0
for i in range(n_sanity):
    xi, yi = test_set[i]
    b = test_set.boxes[i].tolist()
    trained_i = viz.grad_cam(googlenet, xi, target=yi)
    random_i = viz.grad_cam(randomized, xi, target=yi, layer=trained_i.layer)
    rhos.append(viz.rank_correlation(trained_i.layer_map, random_i.layer_map))
    zero_maps += float(random_i.layer_map.max()) <= 0
    trained_in_box.append(mass_in_box(trained_i.heatmap, b))
    random_in_box.append(mass_in_box(random_i.heatmap, b))
rhos = torch.tensor(rhos)
defined = rhos[~rhos.isnan()]
print(f"over {n_sanity} test images at {trained_i.layer}:")
print(f"  the random model's map is zero everywhere for {zero_maps} (rank correlation undefined);")
print(f"  for the other {len(defined)}: rank correlation median {defined.median():.2f}, "
      f"from {defined.min():.2f} to {defined.max():.2f}")
trained_in_box, random_in_box = torch.tensor(trained_in_box).mean(), torch.tensor(random_in_box).mean()
print(f"  mass in the box: trained {trained_in_box:.2f}, random weights {random_in_box:.2f}")
assert zero_maps + len(defined) == n_sanity and 0.25 * n_sanity <= zero_maps <= 0.75 * n_sanity
assert defined.median() < 0.8 and defined.max() - defined.min() > 0.5
assert trained_in_box > random_in_box + 0.1 and abs(random_in_box - baselines[:n_sanity].mean()) < 0.1

# %% [markdown]
# What this says, measured: for about half the images the random network's map is zero everywhere (every
# position's weighted sum is negative and the ReLU removes it), which is no picture at all; where there is a
# map, it is only partly like the trained one (the correlations above spread widely around their median), and
# it does not find the object: its mass in the box is near the uniform share. Grad-CAM's map depends on the
# trained weights, though a coarse 6x6 map of a random network keeps some of the input's layout.
#
# **Exercise 3 (measure).** Repeat the test one stage earlier, at `inception3b`, whose map is 12x12: what is
# the rank correlation between the trained and the random model's map there for image `example`? (Use
# `viz.randomization_sanity_check` with `layer=`.) Compare it with the value at `inception4e` in the figure.

# %%
answer_3 = None  # a number between -1 and 1
lesson07.check_rank_correlation(answer_3, googlenet, xe, ye, layer="inception3b")

# %% [markdown]
# <details><summary>Solution</summary>
#
# ```python
# answer_3 = viz.randomization_sanity_check(googlenet, xe, target=ye, layer="inception3b").rank_correlation
# ```
# It is lower than at `inception4e`: at the finer, earlier layer the random network's map has even less to do
# with the trained one's. A single image is an anecdote; loop over the 20 images as above to see the spread.
# </details>

# %% [markdown]
# ## 5. First-layer filters
#
# The first convolution's kernels live in image space, so they can be drawn as small pictures (each scaled
# to its own range). In large networks trained on photographs they become oriented edges and colour blobs
# (section 7 shows GoogLeNet's when you are online). Ours are 16 filters of 3x3 pixels trained for 3 epochs
# on shapes: how far did training move them from where they started (the seed-0 draw above)?

# %%
import copy

conv_name, trained_filters = viz.first_layer_filters(googlenet)
_, start_filters = viz.first_layer_filters(randomized)           # the seed-0 draw = where training started
_, other_draw = viz.first_layer_filters(viz.randomize_weights(googlenet, seed=1))
cosine = torch.nn.functional.cosine_similarity(trained_filters.flatten(1), start_filters.flatten(1))
cosine_other = torch.nn.functional.cosine_similarity(trained_filters.flatten(1), other_draw.flatten(1))
moved = (trained_filters - start_filters).flatten(1).norm(dim=1) / start_filters.flatten(1).norm(dim=1)
print(f"{conv_name}: {tuple(trained_filters.shape)}; per filter, trained vs its starting point:")
print(f"  cosine similarity {cosine.min():.2f} to {cosine.max():.2f} (median {cosine.median():.2f}); "
      f"against another random draw: median {cosine_other.median():.2f}")
print(f"  training changed each filter by {moved.min():.0%} to {moved.max():.0%} of its length (median {moved.median():.0%})")
assert cosine.median() > 0.8 and cosine_other.median().abs() < 0.4

changed = copy.deepcopy(googlenet)
with torch.no_grad():
    dict(changed.named_modules())[conv_name].weight.copy_(trained_filters - start_filters)
viz.plot_first_layer_filters(googlenet, title="mini GoogLeNet, trained: first-layer filters")
plt.show()
viz.plot_first_layer_filters(changed, title="what training changed: trained minus starting filters")
plt.show()

# %% [markdown]
# The trained filters still look much like their random start (cosine similarity around 0.9): on this small
# problem, training moved each 3x3 filter by a fraction of its length, and most of what you see in the top
# figure is the initialization. The change itself (bottom) is where the learning is. Comparing against the
# starting point, not against an unrelated random draw, is what shows it: drawn side by side, a trained model
# and its own initialization look almost alike.

# %% [markdown]
# ## 6. Explore
#
# Pick an image, a model, a view and a layer. The menus only offer what makes sense: per-branch Grad-CAM only
# for models with Inception modules, layers only with a spatial output. (Needs a live kernel.)

# %%
# NBVAL_IGNORE_OUTPUT
picks = {f"{data.CLASS_NAMES[test_set[i][1]]} #{i}": i for i in (7, 21, 42, 64)}
viz.seeing_inside_widget(
    models,
    inputs={name: test_set[i][0] for name, i in picks.items()},
    class_names=data.CLASS_NAMES,
)

# %% [markdown]
# ## 7. Optional: ImageNet-trained weights (needs internet)
#
# With a network connection (on Colab, say) the same tools work on the full-size GoogLeNet with torchvision's
# ImageNet weights, converted into the course's model. Offline this cell says so and moves on.

# %%
# NBVAL_IGNORE_OUTPUT
from course_utils.models import create_model

try:
    imagenet_googlenet = create_model("googlenet", pretrained=True).eval()
except Exception:  # offline: two short lines, not a traceback
    print("Skipped: the ImageNet weights are not on this machine and cannot be downloaded (no internet).")
    print("To see this section, run the notebook where the internet is reachable, e.g. on Colab.")
else:
    photo224 = data.photo_batch(["chelsea"], preprocess=imagenet_googlenet.preprocess)[0]
    viz.plot_grad_cam(viz.grad_cam(imagenet_googlenet, photo224), title="GoogLeNet (ImageNet) on a photograph")
    plt.show()
    viz.plot_first_layer_filters(imagenet_googlenet, title="GoogLeNet (ImageNet): 7x7 first-layer filters")
    plt.show()

# %% [markdown]
# ## Summary
#
# * `viz.capture_activations` and `viz.capture_branches` show what a layer, and each Inception branch,
#   computes; early filters are generic enough to respond to photographs.
# * A network ending in global average pooling and one linear layer scores a class by averaging its CAM,
#   $\sum_k w_{ck} A^k$; Grad-CAM replaces the weights by gradients and works at any layer (at the last stage
#   it is CAM). Per-branch maps add up to the module's map before the ReLU.
# * Measured, not eyeballed: at `inception4e` the mini GoogLeNet puts about 0.4 of the map's mass inside the
#   object's box, about twice what a uniform map would (the box covers about a fifth of the image); every
#   shipped mini was measured the same way at a comparable grid (the table in section 3).
# * The randomization test: a random network's map is often empty and otherwise only partly like the trained
#   one, and it misses the object; the map depends on what the model learned.
# * Training moved the small first-layer filters only partly away from their random start; the difference
#   shows what was learned.
#
# **Next:** lesson 08 reuses these minis on a task they never saw (transfer learning to handwritten digits) and
# compares the whole family: [08_transfer_learning_and_the_family.ipynb](08_transfer_learning_and_the_family.ipynb).
#
# **Read more:** [Grad-CAM](https://arxiv.org/abs/1610.02391) ·
# [Sanity Checks for Saliency Maps](https://arxiv.org/abs/1810.03292) ·
# [Captum LayerGradCam](https://captum.ai/api/layer.html#gradcam)
