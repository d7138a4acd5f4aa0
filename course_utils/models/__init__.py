"""Faithful Inception-family models with one small common API (lessons 02-08).

``create_model(name)`` builds any of them; ``list_models()`` lists the names.
Importing this package registers every family. One module per job:

* ``base``      - the shared surface of every model (``CourseModel``, ``FeatureInfo``, ``PreprocessConfig``)
* ``blocks``    - the building blocks every family uses (``BasicConv2d``, ``SeparableConv2d``, ``MultiBranch``)
* ``config``    - one way to build a model: a frozen config, a model class, presets (``ModelConfig``)
* ``records``   - one record per model: its counted parameters and MACs, input sizes, reference
* ``registry``  - ``create_model``, ``list_models`` and the pretrained-weight sources
* ``pretrained`` - loading torchvision/timm ImageNet weights (opt-in, needs internet)
* ``fuse``      - folding BatchNorm into the convolutions for inference (lesson 03)
* one module per family: ``googlenet``, ``bn_inception``, ``inception_v3``, ``inception_v4``,
  ``inception_resnet``, ``xception``: its paper's tables, its config, its model class, its presets.
"""
from .base import AuxOutputs, CourseModel, FeatureInfo, PreprocessConfig
from .blocks import BasicConv2d, MultiBranch, SeparableConv2d
from .config import ModelConfig
from .records import RECORDS, ModelRecord
from .registry import WeightSource, create_model, list_models, register_model, register_weights

__all__ = [
    "AuxOutputs",
    "BasicConv2d",
    "MultiBranch",
    "SeparableConv2d",
    "CourseModel",
    "FeatureInfo",
    "ModelConfig",
    "ModelRecord",
    "PreprocessConfig",
    "RECORDS",
    "create_model",
    "list_models",
    "register_model",
    "register_weights",
    "WeightSource",
    "fuse_for_inference",
]

# Importing a family registers its presets with create_model (one line per family).
from . import googlenet  # noqa: E402,F401
from . import bn_inception  # noqa: E402,F401
from . import inception_v3  # noqa: E402,F401
from . import inception_v4  # noqa: E402,F401
from . import inception_resnet  # noqa: E402,F401
from . import xception  # noqa: E402,F401
from .fuse import fuse_for_inference  # noqa: E402
