
from tf_cbam_style.models.attention_autoencoder import AttentionAutoencoder
from tf_cbam_style.models.decoder import Decoder
from tf_cbam_style.models.vgg19_encoder import VGG19Encoder, resolve_vgg_weights

__all__ = [
    "AttentionAutoencoder",
    "Decoder",

    "VGG19Encoder",
    "resolve_vgg_weights",
]
from tf_cbam_style.models.stylizer import METHODS, StylizerConfig, build_stylizer  # noqa: E402

__all__ += ["METHODS", "StylizerConfig", "build_stylizer"]
