"""The full ImageNet VGG19 up to relu5_1, for metrics and the Gatys baseline."""

import functools

from tf_cbam_style.models.vgg19_encoder import FEATURE_LAYERS as LAYERS


@functools.lru_cache(maxsize=2)
def vgg19_features(weights="auto"):
    """A callable from RGB `[0, 1]` images to the `relu{k}_1` features.

    A `VGG19Encoder(depth="relu5_1")` returning its intermediate features,
    so the preprocessing (Keras' caffe convention) and the weights are those
    of the models' encoder. Cached per `weights`.

    Args:
        weights: `"auto"`, `"imagenet"` or a weights file, resolved by
            `tf_cbam_style.models.vgg19_encoder.resolve_vgg_weights`.

    Returns:
        A callable `images (batch, H, W, 3) -> dict(name -> (batch, h, w, c))`
        with the names of `LAYERS` (relu1_1 .. relu5_1), features in the
        0-255 scale of the network.

    Raises:
        FileNotFoundError: if `weights` is neither `"imagenet"` nor a file.
    """
    import tensorflow as tf

    from tf_cbam_style.models.vgg19_encoder import VGG19Encoder

    encoder = VGG19Encoder(depth="relu5_1", weights=weights, name="vgg19_relu_k_1")
    encoder.build((None, None, None, 3))  # loads the weights now, not at the first call

    def features(images):
        return encoder(tf.convert_to_tensor(images, tf.float32), return_intermediate=True)

    return features
