"""Keras layers of tf_cbam_style.

Every layer is registered under the ``tf_cbam_style`` package so that models
that use them round-trip through ``keras.saving``.
"""

from tf_cbam_style.layers.adain import AdaIN
from tf_cbam_style.layers.cbam import CBAM
from tf_cbam_style.layers.channel_attention import ChannelAttention
from tf_cbam_style.layers.color_preservation import ColorPreservation
from tf_cbam_style.layers.foreground_composite import ForegroundComposite
from tf_cbam_style.layers.guided_filter import GuidedFilter
from tf_cbam_style.layers.multi_stroke_fusion import MultiStrokeFusion
from tf_cbam_style.layers.crop_like import CropLike
from tf_cbam_style.layers.pad_to_multiple import PadToMultiple
from tf_cbam_style.layers.reflection_padding import ReflectionPadding2D
from tf_cbam_style.layers.self_attention import SelfAttention
from tf_cbam_style.layers.spatial_attention import SpatialAttention
from tf_cbam_style.layers.style_swap import StyleSwap
from tf_cbam_style.layers.whitening_coloring import WhiteningColoring

__all__ = [
    "AdaIN",
    "CBAM",
    "ChannelAttention",
    "ColorPreservation",
    "CropLike",
    "ForegroundComposite",
    "GuidedFilter",
    "MultiStrokeFusion",
    "PadToMultiple",
    "ReflectionPadding2D",
    "SelfAttention",
    "SpatialAttention",
    "StyleSwap",
    "WhiteningColoring",
]
