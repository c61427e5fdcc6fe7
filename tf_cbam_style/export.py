"""SavedModel export for TF Serving: `saved_models/<name>/<version>/`.

Two signatures:

- `serving_default`: `content_image` float32 `(batch, H, W, 3)` and
  `style_image` float32 `(batch or 1, Hs, Ws, 3)`, RGB in [0, 1], sizes free
  and independent -> `stylized_image` float32 `(batch, H, W, 3)`.
- `stylize_with_options`: the same images plus `alpha` float32 `()`,
  `stroke_scales` float32 `(S,)`, `num_regions` int32 `()`, `preserve_color`
  bool `()`, `foreground_only` bool `()` and `mask` float32
  `(batch or 1, h, w, 1)` (a mask whose maximum is negative means "use the
  attention map") -> `stylized_image` and `attention_map` `(batch, H, W, 1)`.

Bad inputs (wrong range, NaN, images under 32 px, batch mismatch) fail
inside the graph with `InvalidArgument`, which TF Serving returns as gRPC
`INVALID_ARGUMENT` / HTTP 400.
"""

import collections
import os
import shutil

import numpy as np

ExportResult = collections.namedtuple("ExportResult", ["path", "signatures", "warmup_requests"])

SIGNATURE_DEFAULT = "serving_default"
SIGNATURE_OPTIONS = "stylize_with_options"
MIN_SIZE = 32


def _check_images(content, style):
    import tensorflow as tf

    checks = []
    for name, image in (("content_image", content), ("style_image", style)):
        shape = tf.shape(image)
        checks += [
            tf.debugging.assert_greater_equal(
                tf.minimum(shape[1], shape[2]), MIN_SIZE,
                message=f"`{name}` must be at least {MIN_SIZE}x{MIN_SIZE} pixels"),
            tf.debugging.assert_all_finite(image, message=f"`{name}` must not contain NaN or inf"),
        ]
    style_batch = tf.shape(style)[0]
    checks.append(tf.debugging.Assert(
        tf.logical_or(tf.equal(style_batch, 1), tf.equal(style_batch, tf.shape(content)[0])),
        ["`style_image` batch must be 1 or equal to the `content_image` batch"]))
    return checks


def _check_options(alpha, stroke_scales, num_regions, mask):
    import tensorflow as tf

    return [
        tf.debugging.Assert(tf.logical_and(alpha >= 0.0, alpha <= 1.0), ["`alpha` must be in [0, 1]"]),
        tf.debugging.Assert(tf.size(stroke_scales) > 0, ["`stroke_scales` must not be empty"]),
        tf.debugging.Assert(
            tf.reduce_all(tf.logical_and(stroke_scales > 0.0, stroke_scales <= 1.0)),
            ["`stroke_scales` must be in (0, 1]"]),
        tf.debugging.Assert(
            tf.logical_and(num_regions >= 1, num_regions <= 16), ["`num_regions` must be in [1, 16]"]),
        tf.debugging.assert_all_finite(mask, message="`mask` must not contain NaN or inf"),
    ]


class _Pipeline:
    """The layers of one exported model, called with run-time options."""

    def __init__(self, autoencoder):
        from tf_cbam_style.layers import (
            AttentionFeatureTransfer, ColorPreservation, CropLike, ForegroundComposite, PadToMultiple,
        )
        from tf_cbam_style.models.stylizer import StylizerConfig, build_stylizer

        stride = autoencoder.encoder.stride
        self.stylizer = build_stylizer(autoencoder, StylizerConfig(method=autoencoder.attention_kind))
        self.encoder = autoencoder.encoder
        self.decoder = autoencoder.decoder
        self.transfer = AttentionFeatureTransfer(attention=autoencoder.attention_kind, name="feature_transfer")
        self.pad = PadToMultiple(stride)
        self.crop = CropLike()
        self.crop_map = CropLike(upsample=stride)
        self.preserve_color = ColorPreservation()
        self.foreground = ForegroundComposite(feather=float(stride))
        features = self.encoder(np.zeros((1, 64, 64, 3), np.float32))
        self.transfer(features, features)
        self.transfer.attention.set_weights(autoencoder.attention.get_weights())

    def default(self, content_image, style_image):
        import tensorflow as tf

        with tf.control_dependencies(_check_images(content_image, style_image)):
            out = self.stylizer({"content_image": content_image, "style_image": style_image})
        return {"stylized_image": out["stylized_image"]}

    def with_options(self, content_image, style_image, alpha, stroke_scales, num_regions,
                     preserve_color, foreground_only, mask):
        import tensorflow as tf

        checks = _check_images(content_image, style_image) + _check_options(
            alpha, stroke_scales, num_regions, mask)
        with tf.control_dependencies(checks):
            content_features = self.encoder(self.pad(content_image))
        style_features = self.encoder(self.pad(style_image))
        out = self.transfer(content_features, style_features, saliency_mask=mask, alpha=alpha,
                            stroke_scales=stroke_scales, num_regions=num_regions)
        image = self.crop(self.decoder(out["features"]), content_image)
        attention_map = self.crop_map(out["attention_map"], content_image)
        image = tf.where(preserve_color, self.preserve_color(image, content_image), image)
        composite = self.foreground(image, content_image, attention_map)["image"]
        image = tf.where(foreground_only, composite, image)
        return {"stylized_image": image, "attention_map": attention_map}


def _signatures():
    import tensorflow as tf

    images = [
        tf.TensorSpec([None, None, None, 3], tf.float32, name="content_image"),
        tf.TensorSpec([None, None, None, 3], tf.float32, name="style_image"),
    ]
    options = images + [
        tf.TensorSpec([], tf.float32, name="alpha"),
        tf.TensorSpec([None], tf.float32, name="stroke_scales"),
        tf.TensorSpec([], tf.int32, name="num_regions"),
        tf.TensorSpec([], tf.bool, name="preserve_color"),
        tf.TensorSpec([], tf.bool, name="foreground_only"),
        tf.TensorSpec([None, None, None, 1], tf.float32, name="mask"),
    ]
    return images, options


def default_options(batch=1):
    """The `stylize_with_options` extras that reproduce `serving_default`."""
    return {
        "alpha": np.float32(1.0),
        "stroke_scales": np.array([0.5, 0.7071, 1.0], np.float32),
        "num_regions": np.int32(4),
        "preserve_color": np.bool_(False),
        "foreground_only": np.bool_(False),
        "mask": -np.ones((1, 1, 1, 1), np.float32),
    }


def _warmup_requests(model_name, size=64):
    """`PredictionLog` records, one per signature, on smooth synthetic images."""
    import tensorflow as tf
    from tensorflow_serving.apis import model_pb2, predict_pb2, prediction_log_pb2

    y, x = np.mgrid[0:size, 0:size] / size
    content = np.stack([x, y, 0.5 * (x + y)], -1)[None].astype(np.float32)
    style = np.stack([np.sin(8 * x), np.cos(8 * y), x * y], -1)[None].astype(np.float32) * 0.5 + 0.5
    records = []
    for signature in (SIGNATURE_DEFAULT, SIGNATURE_OPTIONS):
        request = predict_pb2.PredictRequest(
            model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature))
        inputs = {"content_image": content, "style_image": style}
        if signature == SIGNATURE_OPTIONS:
            inputs.update(default_options())
        for key, value in inputs.items():
            request.inputs[key].CopyFrom(tf.make_tensor_proto(value))
        log = prediction_log_pb2.PredictionLog(
            predict_log=prediction_log_pb2.PredictLog(request=request))
        records.append(log.SerializeToString())
    return records


def export_saved_model(model, export_base, version=1, warmup=True, overwrite=False):
    """Exports a trained `AttentionAutoencoder` for TF Serving.

    Args:
        model: the trained model (see `tf_cbam_style.api.load_model`).
        export_base: the model's base folder, e.g. `saved_models/cbam_relu4_1`;
            the SavedModel goes to `<export_base>/<version>/`.
        version: positive int, the TF Serving version folder.
        warmup: write `assets.extra/tf_serving_warmup_requests` (needs the
            serving extra: `pip install -e ".[serving]"`).
        overwrite: replace an existing version folder.

    Returns:
        `ExportResult(path, signatures, warmup_requests)`.
    """
    import tensorflow as tf

    if not isinstance(version, int) or version < 1:
        raise ValueError(f"`version` must be a positive int. Received: version={version!r}")
    path = os.path.join(export_base, str(version))
    if os.path.exists(path):
        if not overwrite:
            raise FileExistsError(
                f"`export_base` already holds version {version}; pass overwrite=True. Received: path={path!r}")
    records = []
    if warmup:
        try:
            records = _warmup_requests(os.path.basename(os.path.normpath(export_base)))
        except ImportError:
            raise ImportError(
                "Writing TF Serving warm-up requests needs tensorflow-serving-api: "
                'pip install -e ".[serving]" (or pass warmup=False).'
            ) from None
    pipeline = _Pipeline(model)
    images, options = _signatures()
    # A plain tf.Module: keras.export.ExportArchive would store every
    # variable twice (its `variables` and `_all_variables` lists).
    module = tf.Module()
    module.stylizer = pipeline.stylizer
    module.transfer = pipeline.transfer
    module.serving_default = tf.function(pipeline.default, input_signature=images)
    module.stylize_with_options = tf.function(pipeline.with_options, input_signature=options)
    signatures = {
        SIGNATURE_DEFAULT: module.serving_default,
        SIGNATURE_OPTIONS: module.stylize_with_options,
    }
    tmp = path + ".tmp"
    shutil.rmtree(tmp, ignore_errors=True)
    try:
        tf.saved_model.save(module, tmp, signatures=signatures)
        if records:
            extra = os.path.join(tmp, "assets.extra")
            os.makedirs(extra, exist_ok=True)
            with tf.io.TFRecordWriter(os.path.join(extra, "tf_serving_warmup_requests")) as writer:
                for record in records:
                    writer.write(record)
        shutil.rmtree(path, ignore_errors=True)
        os.replace(tmp, path)
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return ExportResult(path, (SIGNATURE_DEFAULT, SIGNATURE_OPTIONS), len(records))
