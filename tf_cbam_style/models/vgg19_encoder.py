import os

import keras
import tensorflow as tf

WEIGHTS_ENV_VAR = "TF_CBAM_STYLE_VGG_WEIGHTS"

# (name, filters) per conv, with "pool" between blocks; the names are the
# ones `keras.applications.VGG19` uses, so its weights load by name.
_VGG19_LAYERS = (
    ("block1_conv1", 64), ("block1_conv2", 64), "pool",
    ("block2_conv1", 128), ("block2_conv2", 128), "pool",
    ("block3_conv1", 256), ("block3_conv2", 256), ("block3_conv3", 256),
    ("block3_conv4", 256), "pool",
    ("block4_conv1", 512), ("block4_conv2", 512), ("block4_conv3", 512),
    ("block4_conv4", 512), "pool",
    ("block5_conv1", 512),
)
DEPTHS = ("relu3_1", "relu4_1", "relu5_1")
# The ImageNet mean of Keras' "caffe" preprocessing, BGR, 0-255 units: the
# one copy in the package.
_CAFFE_MEAN_BGR = (103.939, 116.779, 123.68)


def _relu_name(conv_name):
    # "block4_conv1" -> "relu4_1"
    block, conv = conv_name.split("_")
    return f"relu{block[-1]}_{conv[-1]}"


# The first ReLU of each block, the features that `return_intermediate`
# returns (up to the encoder's depth): relu1_1 .. relu5_1.
FEATURE_LAYERS = tuple(
    _relu_name(spec[0]) for spec in _VGG19_LAYERS if spec != "pool" and spec[0].endswith("conv1")
)


def resolve_vgg_weights(weights="auto"):
    """Decides where the ImageNet VGG19 weights come from.

    Order: an explicit path or `"imagenet"`; else the environment variable
    `TF_CBAM_STYLE_VGG_WEIGHTS`; else `"imagenet"`, which
    `keras.applications` downloads for users who are online.

    Args:
        weights: `"auto"`, `"imagenet"`, or a path to a Keras weights file.

    Returns:
        `"imagenet"` or an existing file path.
    """
    if weights == "auto":
        weights = os.environ.get(WEIGHTS_ENV_VAR) or "imagenet"
    if weights != "imagenet" and not os.path.isfile(weights):
        raise FileNotFoundError(
            "`weights` must be 'imagenet' or an existing Keras weights file "
            f"(it can also come from ${WEIGHTS_ENV_VAR}). Received: weights={weights!r}"
        )
    return weights


class _UnstoredConv2D(keras.layers.Conv2D):
    """A `Conv2D` whose weights saved archives leave out (an encoder with
    `store_weights=False` re-reads them from the VGG19 weights file)."""

    def save_own_variables(self, store):
        pass

    def load_own_variables(self, store):
        pass


@keras.saving.register_keras_serializable(package="tf_cbam_style")
class VGG19Encoder(keras.layers.Layer):
    """ImageNet VGG19 cut at `relu3_1`, `relu4_1` or `relu5_1`, frozen.

    Takes RGB images in [0, 1] and applies Keras' caffe preprocessing itself
    (RGB to BGR, 0-255, minus the ImageNet mean), so callers never do.

    Args:
        depth: one of `"relu3_1"`, `"relu4_1"` (default) or `"relu5_1"`.
        weights: `"auto"` (default) resolves, in order, an explicit
            `TF_CBAM_STYLE_VGG_WEIGHTS` file or the `"imagenet"` download;
            `"imagenet"` or a path to a Keras weights file of
            `keras.applications.VGG19(include_top=False)`; `None` leaves the
            weights random (used when a saved model restores its own).
        store_weights: bool, whether saved `.keras` archives hold the
            (frozen, public) VGG19 weights. Defaults to `True`, so that a
            saved model runs offline. With `False` an archive leaves them out
            and loading reads them from `weights` again: a relu5_1 model's
            archive shrinks from 104 MB to 52 MB, at the price of needing the
            weights file (or the download) to load.
        **kwargs: standard layer arguments such as `name` and `dtype`.

    Call arguments:
        images: float tensor `(batch, height, width, 3)`, RGB in [0, 1].
        return_intermediate: bool. If `True`, return a dict of every
            `relu{k}_1` output up to `depth` (the perceptual-loss layers).

    Output shape:
        `(batch, height / s, width / s, c)` with `(s, c)` = `(4, 256)`,
        `(8, 512)` or `(16, 512)` for the three depths.

    Raises:
        ValueError: for an unknown `depth`, or `store_weights=False` with
            `weights=None` (nothing to load the weights from).

    Example:

    >>> encoder = VGG19Encoder(depth="relu3_1", weights=None)
    >>> encoder(tf.zeros((1, 32, 32, 3))).shape
    TensorShape([1, 8, 8, 256])

    Reference:
        - [Simonyan & Zisserman, 2014](https://arxiv.org/abs/1409.1556).
    """

    def __init__(self, depth="relu4_1", weights="auto", store_weights=True, **kwargs):
        super().__init__(**kwargs)
        if depth not in DEPTHS:
            raise ValueError(
                f"`depth` must be one of {DEPTHS}. Received: depth={depth!r}"
            )
        if not store_weights and weights is None:
            raise ValueError(
                "`store_weights=False` needs `weights` to load the VGG19 weights from. "
                f"Received: weights={weights!r}"
            )
        self.depth = depth
        self.weights_source = weights
        self.store_weights = bool(store_weights)
        conv_class = keras.layers.Conv2D if self.store_weights else _UnstoredConv2D
        self.conv_layers = []
        for spec in _VGG19_LAYERS:
            if spec == "pool":
                continue
            name, filters = spec
            self.conv_layers.append(
                conv_class(filters, 3, padding="same", activation="relu", name=name)
            )
            if _relu_name(name) == depth:
                break
        # Frozen: set after the convolutions exist so that it reaches them.
        self.trainable = False

    @property
    def channels(self):
        return self.conv_layers[-1].filters

    @property
    def stride(self):
        return {"relu3_1": 4, "relu4_1": 8, "relu5_1": 16}[self.depth]

    def build(self, input_shape):
        channels = 3
        for layer in self.conv_layers:
            layer.build((None, None, None, channels))
            channels = layer.filters
        if self.weights_source is not None:
            self.load_pretrained(self.weights_source)

    def load_pretrained(self, weights="auto"):
        """Copies ImageNet weights into the built layers (see `weights`)."""
        source = resolve_vgg_weights(weights)
        try:
            vgg = keras.applications.VGG19(
                include_top=False, weights=source, input_shape=(None, None, 3)
            )
        except Exception as error:  # download or file-format failure
            raise RuntimeError(
                f"Could not load the VGG19 weights from {source!r} ({error}). "
                f"Offline, set ${WEIGHTS_ENV_VAR} to a Keras weights file of "
                "keras.applications.VGG19(include_top=False). "
                f"Received: weights={weights!r}"
            ) from None
        for layer in self.conv_layers:
            layer.set_weights(vgg.get_layer(layer.name).get_weights())

    def call(self, images, return_intermediate=False):
        x = tf.reverse(images, axis=[-1]) * 255.0 - tf.constant(_CAFFE_MEAN_BGR, images.dtype)
        outputs = {}
        for layer in self.conv_layers:
            if layer.name.endswith("conv1") and not layer.name.startswith("block1"):
                x = tf.nn.max_pool2d(x, 2, 2, "VALID")
            x = layer(x)
            if layer.name.endswith("conv1"):
                outputs[_relu_name(layer.name)] = x
        return outputs if return_intermediate else x

    def compute_output_shape(self, input_shape):
        b, h, w, _ = input_shape
        s = self.stride
        return (b, None if h is None else h // s, None if w is None else w // s, self.channels)

    def get_config(self):
        config = super().get_config()
        config.update({"depth": self.depth, "weights": self.weights_source,
                       "store_weights": self.store_weights})
        return config
