"""SavedModel export for TF Serving: `saved_models/<name>/<version>/`.

Two signatures (their inputs are listed once, in `options.SIGNATURE_INPUTS`):

- `serving_default`: `content_image` float32 `(batch, H, W, 3)` and
  `style_image` float32 `(batch or 1, Hs, Ws, 3)`, RGB in [0, 1], sizes free
  and independent -> `stylized_image` float32 `(batch, H, W, 3)`.
- `stylize_with_options`: the same images plus `alpha` float32 `()`,
  `stroke_scales` float32 `(S,)`, `num_regions` int32 `()`, `preserve_color`
  bool `()`, `region` int32 `()` (0 all, 1 foreground, 2 background),
  `color_transfer` float32 `()` in [0, 1] and `mask` float32
  `(batch or 1, h, w, 1)` (a mask whose maximum is negative means "use the
  attention map") -> `stylized_image`, `attention_map`
  `(batch, H, W, 1)` and `matte` `(batch, H, W, 1)` (the region composite's).

Both run `models.pipeline.StylizePipeline`, the same code as the Python
API. Bad inputs (values outside [0, 1], NaN, images under 32 px, batch
mismatch, options out of range) fail inside the graph with
`InvalidArgument`, which TF Serving returns as gRPC `INVALID_ARGUMENT` /
HTTP 400.
"""

import collections
import os
import shutil

import numpy as np

from tf_cbam_style import options as opts

ExportResult = collections.namedtuple("ExportResult", ["path", "signatures", "warmup_requests"])

SIGNATURE_DEFAULT = opts.SIGNATURE_DEFAULT
SIGNATURE_OPTIONS = opts.SIGNATURE_OPTIONS
MIN_SIZE = opts.MIN_IMAGE_SIZE
# Floats this far outside [0, 1] are refused, as by `arrays.to_unit_range`.
RANGE_SLACK = 1e-3


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
            tf.debugging.Assert(
                tf.logical_and(tf.reduce_min(image) >= -RANGE_SLACK, tf.reduce_max(image) <= 1.0 + RANGE_SLACK),
                [f"`{name}` must hold floats in [0, 1] (divide 8-bit values by 255); found values in",
                 tf.reduce_min(image), tf.reduce_max(image)]),
        ]
    style_batch = tf.shape(style)[0]
    checks.append(tf.debugging.Assert(
        tf.logical_or(tf.equal(style_batch, 1), tf.equal(style_batch, tf.shape(content)[0])),
        ["`style_image` batch must be 1 or equal to the `content_image` batch"]))
    return checks


def _check_options(alpha, stroke_scales, num_regions, region, color_transfer, mask):
    import tensorflow as tf

    return [
        tf.debugging.Assert(tf.logical_and(alpha >= 0.0, alpha <= 1.0), ["`alpha` must be in [0, 1]"]),
        tf.debugging.Assert(tf.size(stroke_scales) > 0, ["`stroke_scales` must not be empty"]),
        tf.debugging.Assert(
            tf.reduce_all(tf.logical_and(stroke_scales > 0.0, stroke_scales <= 1.0)),
            ["`stroke_scales` must be in (0, 1]"]),
        tf.debugging.Assert(
            tf.logical_and(num_regions >= 1, num_regions <= opts.MAX_NUM_REGIONS),
            [f"`num_regions` must be in [1, {opts.MAX_NUM_REGIONS}]"]),
        tf.debugging.Assert(
            tf.logical_and(region >= 0, region < len(opts.REGIONS)),
            ["`region` must be 0 (all), 1 (foreground) or 2 (background)"]),
        tf.debugging.Assert(tf.logical_and(color_transfer >= 0.0, color_transfer <= 1.0),
                            ["`color_transfer` must be in [0, 1]"]),
        tf.debugging.assert_all_finite(mask, message="`mask` must not contain NaN or inf"),
        tf.debugging.Assert(tf.reduce_max(mask) <= 1.0 + RANGE_SLACK, ["`mask` must be in [0, 1]"]),
    ]


class _Signatures:
    """The two signatures of one model, both running `StylizePipeline`."""

    def __init__(self, autoencoder):
        from tf_cbam_style.models.pipeline import StylizePipeline

        self.pipeline = StylizePipeline(autoencoder)
        self.method = autoencoder.attention_kind
        self.transfer = self.pipeline.check_method(self.method)

    def _run(self, inputs, options):
        out = self.pipeline.run(inputs, self.transfer, options)
        return {"stylized_image": out["stylized_image"], "attention_map": out["attention_map"],
                "matte": out["matte"]}

    def default(self, content_image, style_image):
        import tensorflow as tf

        from tf_cbam_style.models.pipeline import option_tensors

        with tf.control_dependencies(_check_images(content_image, style_image)):
            content_image = tf.identity(content_image)
        options = option_tensors(opts.StylizeOptions(method=self.method))
        out = self._run({"content_image": content_image, "style_image": style_image}, options)
        return {"stylized_image": out["stylized_image"]}

    def with_options(self, content_image, style_image, alpha, stroke_scales, num_regions,
                     preserve_color, region, color_transfer, mask):
        import tensorflow as tf

        checks = _check_images(content_image, style_image) + _check_options(
            alpha, stroke_scales, num_regions, region, color_transfer, mask)
        with tf.control_dependencies(checks):
            content_image = tf.identity(content_image)
        options = {"alpha": alpha, "stroke_scales": stroke_scales, "num_regions": num_regions,
                   "preserve_color": preserve_color, "region": region, "color_transfer": color_transfer}
        return self._run({"content_image": content_image, "style_image": style_image, "mask": mask}, options)


def _signatures():
    import tensorflow as tf

    def specs(signature):
        return [tf.TensorSpec(spec.shape, getattr(tf, spec.dtype), name=spec.name)
                for spec in opts.SIGNATURE_INPUTS[signature]]

    return specs(SIGNATURE_DEFAULT), specs(SIGNATURE_OPTIONS)


def _warmup_requests(model_name, size=64):
    """`PredictionLog` records, one per signature, on smooth synthetic images."""
    import tensorflow as tf

    from tf_cbam_style.serving.grpc_apis import import_serving_protos

    protos = import_serving_protos()  # names the pip command when they are missing
    model_pb2, predict_pb2, prediction_log_pb2 = protos.model_pb2, protos.predict_pb2, protos.prediction_log_pb2

    y, x = np.mgrid[0:size, 0:size] / size
    content = np.stack([x, y, 0.5 * (x + y)], -1)[None].astype(np.float32)
    style = np.stack([np.sin(8 * x), np.cos(8 * y), x * y], -1)[None].astype(np.float32) * 0.5 + 0.5
    records = []
    for signature in (SIGNATURE_DEFAULT, SIGNATURE_OPTIONS):
        request = predict_pb2.PredictRequest(
            model_spec=model_pb2.ModelSpec(name=model_name, signature_name=signature))
        inputs = {"content_image": content, "style_image": style}
        if signature == SIGNATURE_OPTIONS:
            inputs.update(opts.option_inputs())
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
    pipeline = _Signatures(model)
    images, options = _signatures()
    # A plain tf.Module: keras.export.ExportArchive would store every
    # variable twice (its `variables` and `_all_variables` lists).
    module = tf.Module()
    module.autoencoder = model
    module.serving_default = tf.function(pipeline.default, input_signature=images, autograph=False)
    module.stylize_with_options = tf.function(pipeline.with_options, input_signature=options, autograph=False)
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
