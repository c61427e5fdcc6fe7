"""Models: the VGG19 encoder, the decoder, the attention autoencoder, the pipeline."""

from tf_cbam_style.models.attention_autoencoder import AttentionAutoencoder
from tf_cbam_style.models.decoder import Decoder
from tf_cbam_style.models.pipeline import StylizePipeline
from tf_cbam_style.models.stylizer import Stylizer, build_stylizer
from tf_cbam_style.models.vgg19_encoder import VGG19Encoder, resolve_vgg_weights

__all__ = [
    "AttentionAutoencoder",
    "Decoder",
    "StylizePipeline",
    "Stylizer",
    "VGG19Encoder",
    "build_stylizer",
    "resolve_vgg_weights",
]
