"""The full ImageNet VGG19 up to relu5_1, for metrics and the Gatys baseline."""

import functools

LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1", "relu5_1")
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


@functools.lru_cache(maxsize=2)
def vgg19_features(weights="auto"):
    """A Keras model from RGB `[0, 1]` images to the `relu{k}_1` features.

    The features are those of `keras.applications.VGG19` with Keras' caffe
    preprocessing (RGB to BGR, 0-255, minus the ImageNet mean), the same
    convention as `VGG19Encoder`. Cached per `weights`.

    Args:
        weights: `"auto"`, `"imagenet"` or a weights file, resolved by
            `tf_cbam_style.models.vgg19_encoder.resolve_vgg_weights`.

    Returns:
        A callable `images (batch, H, W, 3) -> dict(name -> (batch, h, w, c))`
        with the names of `LAYERS`.
    """
    import keras
    import tensorflow as tf

    from tf_cbam_style.models.vgg19_encoder import resolve_vgg_weights

    vgg = keras.applications.VGG19(
        include_top=False, weights=resolve_vgg_weights(weights), input_shape=(None, None, 3)
    )
    vgg.trainable = False
    outputs = {
        name: vgg.get_layer(f"block{name[4]}_conv1").output for name in LAYERS
    }
    extractor = keras.Model(vgg.input, outputs, name="vgg19_relu_k_1")
    mean = tf.constant(_CAFFE_MEAN_BGR, tf.float32)

    def features(images):
        images = tf.convert_to_tensor(images, tf.float32)
        return extractor(tf.reverse(images, axis=[-1]) * 255.0 - mean, training=False)

    return features
