"""fuse_for_inference: BN folded into convs, same outputs, on every registered model."""
import pytest
import torch
from torch import nn

from course_utils.models import create_model, fuse_for_inference, list_models
from course_utils.models.fuse import count_batchnorms
from course_utils.models.xception import SeparableConvBN
from zoo_helpers import randomize_, test_size


@pytest.mark.parametrize("name", list_models())
def test_fused_model_computes_the_same_without_batchnorm(name):
    torch.manual_seed(0)
    model = randomize_(create_model(name), seed=1).eval()  # BN statistics far from (0, 1)
    size = test_size(model, name)
    x = torch.randn(2, 3, size, size)
    fused = fuse_for_inference(model)

    assert count_batchnorms(fused) == 0
    assert count_batchnorms(model) == sum(isinstance(m, nn.BatchNorm2d) for m in model.modules())
    assert not fused.training
    with torch.no_grad():  # features and logits from one pass each (eval: logits = head(features))
        features, fused_features = model.forward_features(x), fused.forward_features(x)
        expected, got = model.forward_head(features), fused.forward_head(fused_features)
    # He-scaled random weights give outputs well above 0 (so 1e-3 is a real tolerance); deep
    # residual stacks (Xception) can reach 1e6, where float32 rounding alone exceeds 1e-3:
    # there the tolerance is relative to the largest output.
    scale = expected.abs().max().item()
    assert scale > 0.1
    assert (expected - got).abs().max().item() <= 1e-3 * max(1.0, scale)
    feature_scale = features.abs().max().item()
    assert (features - fused_features).abs().max().item() <= 1e-4 * max(1.0, feature_scale)


def test_original_is_untouched_and_copy_is_channels_last():
    model = create_model("mini_inception_resnet_v2").train()
    before = {k: v.clone() for k, v in model.state_dict().items()}
    fused = fuse_for_inference(model)
    assert model.training and count_batchnorms(model) > 0
    assert all(torch.equal(before[k], v) for k, v in model.state_dict().items())
    conv = fused.stem.conv2d_1a.conv
    assert conv.weight.is_contiguous(memory_format=torch.channels_last)
    assert conv.bias is not None  # the folded BN became the conv's bias
    assert isinstance(fused.stem.conv2d_1a.bn, nn.Identity)
    plain = fuse_for_inference(model, channels_last=False)
    assert plain.stem.conv2d_1a.conv.weight.is_contiguous()


def test_separable_conv_folds_into_the_pointwise_conv():
    block = randomize_(SeparableConvBN(8, 16)).eval()
    wrapper = nn.Sequential(block)
    fused = fuse_for_inference(wrapper, channels_last=False)[0]
    assert isinstance(fused.bn, nn.Identity)
    assert fused.conv.depthwise.bias is None and fused.conv.pointwise.bias is not None
    x = torch.randn(2, 8, 7, 7)
    with torch.no_grad():
        assert torch.allclose(block(x), fused(x), atol=1e-5)


def test_rejects_non_modules():
    with pytest.raises(ValueError, match="nn.Module"):
        fuse_for_inference("inception_v4")
