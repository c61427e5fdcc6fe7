import keras
import tensorflow as tf

from tf_cbam_style import losses
from tf_cbam_style.layers.cbam import CBAM
from tf_cbam_style.layers.self_attention import SelfAttention
from tf_cbam_style.models.decoder import Decoder, feature_statistics
from tf_cbam_style.models.vgg19_encoder import VGG19Encoder
from tf_cbam_style.options import ATTENTIONS, PRECISIONS

LOSS_NAMES = ("perceptual", "pixel", "attention", "tv", "contrast", "ssim")
PERCEPTUAL_LAYERS = ("relu1_1", "relu2_1", "relu3_1", "relu4_1")
# Inverse mean squares of the VGG19 relu{k}_1 features of the training
# photos relative to relu4_1's (measured on 512 random 128 px crops of
# ../shared/data/photos, `tf_cbam_style.training.measure_feature_energy`),
# so that with these weights every layer's feature MSE counts about as much
# as relu4_1's. With AAMS's plain sum, relu4_1 (mean square 1.4e6) drowns
# relu1_1 (2.9e3): the low layers, the ones that see fine detail and an
# 8-px grid, carry 0.1 % of the loss.
BALANCED_LAYER_WEIGHTS = {"relu1_1": 498.5, "relu2_1": 21.0, "relu3_1": 11.3, "relu4_1": 1.0}


def make_attention(kind, name="attention"):
    """Builds the attention layer called `kind` (`"cbam"` or `"self_attention"`)."""
    if kind == "cbam":
        return CBAM(name=name)
    if kind == "self_attention":
        return SelfAttention(name=name)
    raise ValueError(f"`attention` must be one of {ATTENTIONS}. Received: attention={kind!r}")


@keras.saving.register_keras_serializable(package="tf_cbam_style")
class AttentionAutoencoder(keras.Model):
    """Frozen VGG19 encoder, trainable attention and decoder (AAMS training).

    The attention runs on instance-normalised features, as in the AAMS code,
    so that at stylization time it sees the same kind of input (whitened
    features):

        f = E(x);  n = (f - mu) / sigma;  A = n + n * att(n)
        y = D(A * sigma + mu)

    Loss (images in the 0-255 range of the VGG preprocessing, as AAMS):

        L = w_perceptual * sum_l MSE(phi_l(y), phi_l(x))
          + w_pixel * MSE(y, x)
          + w_attention * mean(|att|)
          + w_tv * mean(|dy| + |dx|)
          + w_contrast * (1 - corr(attention_map, ||f - mean f||))
          + w_ssim * (1 - SSIM(y, x))

    with `phi_l` the encoder's `relu{1..k}_1` outputs up to its depth (at most
    relu4_1) and the terms of `tf_cbam_style.losses` (`compute_losses`).
    Each term is reported as a metric of that name.

    Args:
        depth: encoder cut, `"relu3_1"`, `"relu4_1"` (default) or `"relu5_1"`.
        attention: `"cbam"` (default) or `"self_attention"`.
        pixel_weight, perceptual_weight, tv_weight, attention_weight: loss
            weights; defaults `10`, `1`, `10`, `6` from the AAMS code.
        contrast_weight: float >= 0, weight of `losses.attention_contrast_loss`
            (our addition, not AAMS: pulls the attention map toward the
            features' global contrast, an unsupervised saliency cue).
            Defaults to `0` (off; the term is still reported).
        ssim_weight: float >= 0, weight of `losses.ssim_loss` (our
            addition, not AAMS: trains the structure the held-out SSIM
            measures). Defaults to `0` (off; the term is still reported).
        perceptual_layer_weights: `"balanced"` (default,
            `BALANCED_LAYER_WEIGHTS`), `None` (AAMS: every layer weight 1) or
            a dict layer -> weight.
        decoder_upsampling: `"bilinear"` (default) or `"nearest"` (AAMS,
            AdaIN), see
            `Decoder`.
        skip_statistics: bool, the AAMS decoder that re-normalises its
            lower-resolution activations to the photo's own relu3_1,
            relu2_1 and relu1_1 statistics (see `Decoder`). Defaults to
            `False`.
        encoder_weights: where the VGG19 weights come from, see
            `VGG19Encoder`. Saved models store `None`: their weights live in
            the archive.
        store_encoder_weights: bool, whether saved archives hold the frozen
            VGG19 encoder's weights (default `True`: the archive runs
            offline). With `False` they are left out and a loaded model
            reads them from `$TF_CBAM_STYLE_VGG_WEIGHTS` or the
            `"imagenet"` download (`encoder_weights="auto"`); the relu5_1
            models ship so, at half the size.
        **kwargs: standard model arguments such as `name`.

    Call arguments:
        images: `(batch, height, width, 3)` RGB in [0, 1], sides multiples of
            the encoder stride.

    Returns:
        A dict with `"reconstruction"` (images, unclipped) and
        `"attention_map"` (`(batch, h, w, 1)` at feature resolution).

    Example:

    >>> model = AttentionAutoencoder(depth="relu3_1", encoder_weights=None)
    >>> model(tf.zeros((1, 32, 32, 3)))["reconstruction"].shape
    TensorShape([1, 32, 32, 3])

    Reference:
        - [Yao et al., 2019](https://arxiv.org/abs/1901.05127), section 3.1.
    """

    def __init__(
        self,
        depth="relu4_1",
        attention="cbam",
        pixel_weight=10.0,
        perceptual_weight=1.0,
        tv_weight=10.0,
        attention_weight=6.0,
        contrast_weight=0.0,
        ssim_weight=0.0,
        perceptual_layer_weights="balanced",
        decoder_upsampling="bilinear",
        skip_statistics=False,
        encoder_weights="auto",
        store_encoder_weights=True,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if attention not in ATTENTIONS:
            raise ValueError(
                f"`attention` must be one of {ATTENTIONS}. Received: attention={attention!r}"
            )
        self.depth = depth
        self.attention_kind = attention
        self.pixel_weight = pixel_weight
        self.perceptual_weight = perceptual_weight
        self.tv_weight = tv_weight
        self.attention_weight = attention_weight
        for name, value in (("contrast_weight", contrast_weight), ("ssim_weight", ssim_weight)):
            if not float(value) >= 0:
                raise ValueError(f"`{name}` must be >= 0. Received: {name}={value!r}")
        self.contrast_weight = float(contrast_weight)
        self.ssim_weight = float(ssim_weight)
        if perceptual_layer_weights == "balanced":
            perceptual_layer_weights = dict(BALANCED_LAYER_WEIGHTS)
        if perceptual_layer_weights is not None and (
            not isinstance(perceptual_layer_weights, dict)
            or not set(perceptual_layer_weights) <= set(PERCEPTUAL_LAYERS)
        ):
            raise ValueError(
                f"`perceptual_layer_weights` must be None, 'balanced' or a dict over {PERCEPTUAL_LAYERS}. "
                f"Received: perceptual_layer_weights={perceptual_layer_weights!r}"
            )
        self.perceptual_layer_weights = (
            None if perceptual_layer_weights is None
            else {k: float(v) for k, v in perceptual_layer_weights.items()}
        )
        self.decoder_upsampling = decoder_upsampling
        self.skip_statistics = bool(skip_statistics)
        self.encoder_weights = encoder_weights
        self.store_encoder_weights = bool(store_encoder_weights)
        self.encoder = VGG19Encoder(depth=depth, weights=encoder_weights,
                                    store_weights=self.store_encoder_weights, name="encoder")
        self.attention = make_attention(attention)
        self.decoder = Decoder(
            depth=depth, upsampling=decoder_upsampling, skip_statistics=skip_statistics, name="decoder"
        )
        self.trackers = {
            name: keras.metrics.Mean(name=name) for name in ("loss",) + LOSS_NAMES
        }

    @property
    def metrics(self):
        return list(self.trackers.values())

    def build(self, input_shape=None):
        self.encoder.build((None, None, None, 3))
        channels = self.encoder.channels
        self.attention.build((None, None, None, channels))
        self.decoder.build((None, None, None, channels))
        self.built = True

    def attend(self, features, statistics=None, attention=None):
        """Instance-normalises, applies attention, restores the statistics.

        Args:
            features: `(batch, h, w, c)` encoder features.
            statistics: optional `(mean, std)`, each `(batch, 1, 1, c)`, used
                instead of the features' own (a tile of a larger photo uses
                the whole photo's).
            attention: optional precomputed multiplicative attention
                `(batch, h, w, c)`; both modules compute `n + n * attention`,
                so a tile can use the attention of the whole photo. The
                returned `attention_map` is then `None`.

        Returns:
            A dict with `features`, `attention` and `attention_map`.
        """
        mean, std = statistics if statistics is not None else feature_statistics(features)
        normalized = (features - mean) / std
        if attention is None:
            attended = self.attention(normalized)
        else:
            attended = {"features": normalized + normalized * attention, "attention": attention,
                        "attention_map": None}
        return {
            "features": attended["features"] * std + mean,
            "attention": attended["attention"],
            "attention_map": attended["attention_map"],
        }

    def set_precision(self, precision):
        """Sets the compute precision of every layer of the model (training speed).

        `"mixed_bfloat16"` is Keras mixed precision: the encoder, attention
        and decoder compute in bfloat16 while their weights, the instance
        statistics and every loss term stay float32. On CPUs with bfloat16
        instructions (AVX512_BF16, AMX) a training step is about twice as
        fast (1.9x measured on our 2-core CPU; `tf-cbam-style
        profile-training` measures it); elsewhere it may be slower. The
        model's config is not changed, so `export_model` and saved archives
        are float32 models.

        Args:
            precision: one of `PRECISIONS`.

        Raises:
            ValueError: for any other value.

        Example:

        >>> model.set_precision("mixed_bfloat16")
        >>> model.decoder.compute_dtype
        'bfloat16'
        """
        if precision not in PRECISIONS:
            raise ValueError(f"`precision` must be one of {PRECISIONS}. Received: precision={precision!r}")
        for layer in self._flatten_layers(include_self=False):
            layer.dtype_policy = precision

    def skip_statistics_of(self, features):
        """The decoder's skip statistics from a dict of encoder features (`{}` without skips)."""
        return {name: feature_statistics(features[name]) for name in self.decoder.statistics_layers}

    def call(self, images, training=False):
        features = self.encoder(images, return_intermediate=True)
        attended = self.attend(features[self.depth])
        return {
            "reconstruction": self.decoder(
                attended["features"], statistics=self.skip_statistics_of(features)
            ),
            "attention_map": attended["attention_map"],
        }

    def compute_losses(self, images):
        """Returns a dict of the weighted loss terms and their sum `"loss"`.

        The terms are those of `tf_cbam_style.losses`: `perceptual_loss`
        over the encoder's relu{1..k}_1 features (at most relu4_1) with
        `perceptual_layer_weights`, `pixel_loss`, `attention_loss` of the
        attention, `total_variation_loss` of the output and
        `attention_contrast_loss` of the attention map against the encoder
        features and `ssim_loss` of the output, each times its weight.

        Args:
            images: `(batch, height, width, 3)` RGB in [0, 1].

        Returns:
            A dict of scalar tensors with the keys of `LOSS_NAMES` and
            `"loss"`.
        """
        targets = self.encoder(images, return_intermediate=True)
        attended = self.attend(targets[self.depth])
        output = self.decoder(attended["features"], statistics=self.skip_statistics_of(targets))
        predicted = self.encoder(output, return_intermediate=True)
        # Under a mixed-precision policy (`set_precision`) the layers
        # compute in bfloat16; the loss terms are always taken in float32.
        targets, predicted, output, attended = tf.nest.map_structure(
            lambda t: tf.cast(t, tf.float32), (targets, predicted, output, attended))
        images = tf.cast(images, tf.float32)
        terms = {
            "perceptual": self.perceptual_weight * losses.perceptual_loss(
                predicted, targets, [name for name in targets if name in PERCEPTUAL_LAYERS],
                self.perceptual_layer_weights,
            ),
            "pixel": self.pixel_weight * losses.pixel_loss(output, images),
            "attention": self.attention_weight * losses.attention_loss(attended["attention"]),
            "tv": self.tv_weight * losses.total_variation_loss(output),
            "contrast": self.contrast_weight * losses.attention_contrast_loss(
                attended["attention_map"], targets[self.depth]),
            "ssim": self.ssim_weight * losses.ssim_loss(output, images),
        }
        terms["loss"] = tf.add_n(list(terms.values()))
        return terms

    def _update_metrics(self, terms):
        for name, tracker in self.trackers.items():
            tracker.update_state(terms[name])
        return {name: tracker.result() for name, tracker in self.trackers.items()}

    def train_step(self, data):
        images = data[0] if isinstance(data, (tuple, list)) else data
        with tf.GradientTape() as tape:
            terms = self.compute_losses(images)
            # Gradients are summed over replicas, so each replica scales.
            replicas = tf.distribute.get_strategy().num_replicas_in_sync
            scaled = terms["loss"] / tf.cast(replicas, terms["loss"].dtype)
        variables = self.attention.trainable_variables + self.decoder.trainable_variables
        gradients = tape.gradient(scaled, variables)
        self.optimizer.apply_gradients(zip(gradients, variables))
        return self._update_metrics(terms)

    def test_step(self, data):
        images = data[0] if isinstance(data, (tuple, list)) else data
        return self._update_metrics(self.compute_losses(images))

    @classmethod
    def from_config(cls, config):
        # Models saved before these options existed used the AAMS design.
        config = dict(config)
        config.setdefault("decoder_upsampling", "nearest")
        config.setdefault("perceptual_layer_weights", None)
        return cls(**config)

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "depth": self.depth,
                "attention": self.attention_kind,
                "pixel_weight": self.pixel_weight,
                "perceptual_weight": self.perceptual_weight,
                "tv_weight": self.tv_weight,
                "attention_weight": self.attention_weight,
                "contrast_weight": self.contrast_weight,
                "ssim_weight": self.ssim_weight,
                "perceptual_layer_weights": self.perceptual_layer_weights,
                "decoder_upsampling": self.decoder_upsampling,
                "skip_statistics": self.skip_statistics,
                # A saved model carries its own encoder weights, unless it
                # leaves them out: then it reads them from the VGG19 file.
                "encoder_weights": None if self.store_encoder_weights else "auto",
                "store_encoder_weights": self.store_encoder_weights,
            }
        )
        return config
