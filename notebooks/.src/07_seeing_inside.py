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
# 2. explain how Grad-CAM turns gradients into a map of "where the evidence is", and compute it with Captum;
# 3. measure whether a Grad-CAM map falls on the object, instead of judging by eye;
# 4. run the model-randomization sanity check and say what its result means;
# 5. read a first layer's filters.
#
# **Papers.** Selvaraju et al., [Grad-CAM](https://arxiv.org/abs/1610.02391) (2017);
# Adebayo et al., [Sanity Checks for Saliency Maps](https://arxiv.org/abs/1810.03292) (2018);
# Zeiler & Fergus, [Visualizing and Understanding Convolutional Networks](https://arxiv.org/abs/1311.2901)
# (2014); Szegedy et al., [Going deeper with convolutions](https://arxiv.org/abs/1409.4842) (2014).
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

# %% [markdown]
# ## 1. The data and the trained models
#
# The shapes dataset has ten classes drawn at very different scales, from a few pixels to most of the
# image, on cluttered, noisy backgrounds. Each image comes with the bounding box of its object (the green
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
# 3x3, a reduction followed by the "5x5" branch (two stacked 3x3 in this layout, the same 5x5 receptive
# field), and a 3x3 max pool followed by a 1x1. The module concatenates their outputs along the channels.
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
answer_1 = None  # e.g. [16, 32, 8, 8]
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
# ## 3. Grad-CAM: where the evidence for a class is
#
# Feature maps show what a layer computes, not what the decision used. Grad-CAM (Selvaraju et al., Eq. 1-2)
# combines both. For a target class `c` with score `y_c` and a layer with feature maps `A^k`:
#
# 1. weigh each channel by how much the score depends on it, averaged over positions:
#    $\alpha_k = \frac{1}{Z}\sum_{i,j} \frac{\partial y_c}{\partial A^k_{ij}}$;
# 2. sum the weighted maps and keep the positive part: $L = \mathrm{ReLU}\big(\sum_k \alpha_k A^k\big)$;
# 3. upsample `L` to the image size.
#
# Captum's `LayerGradCam` does steps 1-2 and `LayerAttribution.interpolate` step 3; `viz.grad_cam` wraps
# both, runs the model in eval mode and defaults to the predicted class and the last stage whose map is
# still at least 6x6 (at 48 pixels the very last stage is 3x3 or smaller: too coarse to point anywhere).

# %%
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
assert fractions.mean() > 1.5 * baselines.mean()

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
# Every family answers the same question on the same images (one row per model). Each model explains its
# own prediction at its default layer; the colour scale is each map relative to its maximum. Where a model
# was less accurate (see the table above), expect its maps to be less sure of the object too.

# %%
shown = [7, 21, 42]
fig, axes = plt.subplots(len(models), len(shown), figsize=(4.2 * len(shown), 3.0 * len(models)), squeeze=False)
for row, (name, model) in enumerate(models.items()):
    for col, i in enumerate(shown):
        xi, yi = test_set[i]
        cam_i = viz.grad_cam(model, xi)
        viz.plot_grad_cam(cam_i, ax=axes[row, col], class_names=data.CLASS_NAMES, box=test_set.boxes[i].tolist(),
                          title=f"{name.removeprefix('mini_')}: {data.CLASS_NAMES[cam_i.predicted]}")
fig.suptitle("Grad-CAM of each model's predicted class (green: the object's box)")
fig.tight_layout(rect=(0, 0, 1, 0.985))
plt.show()

# %% [markdown]
# ### Per branch of an Inception module
#
# Grad-CAM can also be computed for each branch's output: which branch carried the evidence for this
# decision, and where? All panels share one colour scale, so a weak branch looks weak.

# %%
cams = viz.grad_cam_branches(googlenet, x, "inception4e")
viz.plot_grad_cam_branches(cams, class_names=data.CLASS_NAMES)
plt.show()

# %% [markdown]
# ## 4. The sanity check: is the map about the model?
#
# Adebayo et al. found that some popular saliency methods draw nearly the same picture for a trained network
# and for one with random weights: they highlight edges of the *input*, whatever the model learned. The test:
# randomize every weight and compare the maps. We report the rank correlation between the two maps (1 = the
# same ordering of pixels) and the mass inside the box for both.

# %%
check = viz.randomization_sanity_check(googlenet, x, target=label)
viz.plot_sanity_check(check, class_names=data.CLASS_NAMES, box=box)
plt.show()

trained_in_box, random_in_box = [], []
for i in range(20):
    xi, yi = test_set[i]
    c = viz.randomization_sanity_check(googlenet, xi, target=yi)
    b = test_set.boxes[i].tolist()
    trained_in_box.append(mass_in_box(c.trained.heatmap, b))
    random_in_box.append(mass_in_box(c.randomized.heatmap, b))
trained_in_box = torch.tensor(trained_in_box).mean()
random_in_box = torch.tensor(random_in_box).mean()
print(f"mass in the box over 20 images: trained {trained_in_box:.2f}, randomized weights {random_in_box:.2f}")
assert trained_in_box > random_in_box + 0.1

# %% [markdown]
# **Exercise 3.** Which outcome of the randomization test shows that an explanation depends on what the
# model learned? Answer with a letter.
#
# * **A**: the map stays nearly the same when the weights are randomized
# * **B**: the map changes clearly when the weights are randomized
# * **C**: the map becomes zero everywhere when the weights are randomized

# %%
answer_3 = None  # "A", "B" or "C"
lesson07.check_sanity_verdict(answer_3)

# %% [markdown]
# <details><summary>Solution</summary>
#
# **B.** A map that survives the destruction of everything the model learned cannot be explaining the
# model; it reflects the input alone. Grad-CAM passes: with random weights its map loses its hold on the object.
# </details>

# %% [markdown]
# ## 5. First-layer filters
#
# The first convolution's kernels live in image space, so they can be drawn as small pictures (each scaled
# to its own range). Trained filters show oriented edges and colour blobs; compare with the same layer
# before training.

# %%
viz.plot_first_layer_filters(googlenet, title="mini GoogLeNet, trained: first-layer filters")
plt.show()
viz.plot_first_layer_filters(viz.randomize_weights(googlenet), title="the same layer with random weights")
plt.show()

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
except Exception as error:  # offline: a short message, not a traceback
    print(f"Skipped: {error}")
else:
    photo224 = data.photo_batch(["chelsea"], preprocess=imagenet_googlenet.preprocess)[0]
    viz.plot_grad_cam(viz.grad_cam(imagenet_googlenet, photo224), title="GoogLeNet (ImageNet) on a photograph")
    plt.show()

# %% [markdown]
# ## Summary
#
# * `viz.capture_activations` and `viz.capture_branches` show what a layer, and each Inception branch,
#   computes; early filters are generic enough to respond to photographs.
# * Grad-CAM weighs a layer's channels by the gradient of the class score and keeps the positive part;
#   Captum computes it, `viz.grad_cam` wraps it for every course model.
# * Measured, not eyeballed: on the shapes test set most of the map's mass lies inside the object's box,
#   far more than a uniform map would put there.
# * The randomization test separates explanations of the model from pictures of the input; Grad-CAM passes it.
#
# **Read more:** [Grad-CAM](https://arxiv.org/abs/1610.02391) ·
# [Sanity Checks for Saliency Maps](https://arxiv.org/abs/1810.03292) ·
# [Captum LayerGradCam](https://captum.ai/api/layer.html#gradcam)
