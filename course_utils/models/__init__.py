"""Faithful Inception-family models with one small common API (lessons 02-08).

``create_model(name)`` builds any of them; ``list_models()`` lists the names.
Importing this package registers every family.
"""
from .base import AuxOutputs, CourseModel, FeatureInfo, PreprocessConfig
from .blocks import BasicConv2d, MultiBranch
from .registry import WeightSource, create_model, list_models, register_model, register_weights

__all__ = [
    "AuxOutputs",
    "BasicConv2d",
    "MultiBranch",
    "CourseModel",
    "FeatureInfo",
    "PreprocessConfig",
    "create_model",
    "list_models",
    "register_model",
    "register_weights",
    "WeightSource",
    "fuse_for_inference",
]

# Importing a family registers its builders with create_model (one line per family).
from . import googlenet  # noqa: E402,F401
from . import bn_inception  # noqa: E402,F401
from . import inception_v3  # noqa: E402,F401
from . import inception_v4  # noqa: E402,F401
from . import inception_resnet  # noqa: E402,F401
from . import xception  # noqa: E402,F401
from .fuse import fuse_for_inference  # noqa: E402
