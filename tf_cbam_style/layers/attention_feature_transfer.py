import keras
import tensorflow as tf

from tf_cbam_style.layers.adain import AdaIN
from tf_cbam_style.layers.cbam import CBAM
from tf_cbam_style.layers.multi_stroke_fusion import MultiStrokeFusion
from tf_cbam_style.layers.self_attention import SelfAttention
from tf_cbam_style.layers.style_swap import StyleSwap
from tf_cbam_style.layers.whitening_coloring import WhiteningColoring

TRANSFERS = ("multi_stroke", "wct", "adain", "style_swap")


@keras.saving.register_keras_serializable(package="tf_cbam_style")
class AttentionFeatureTransfer(keras.layers.Layer):
    """Feature-space style transfer guided by a trained attention module.

    With `transfer="multi_stroke"` (the method of the seed paper and AAMS):

    1. whiten the content and style features (`WhiteningColoring`);
    2. apply the attention module to the whitened content: `A`, and its map;
    3. style-swap `A` against the whitened style at every stroke scale;
    4. fuse `[A, swap(finest), ..., swap(coarsest)]` per pixel by the map
       (`MultiStrokeFusion`): salient regions keep fine detail, the
       background gets coarse strokes;
    5. blend `alpha * fused + (1 - alpha) * A` and colour with the style's
       mean and covariance.

    The baselines reuse the same attention map (for display and
    foreground-only compositing) but transfer with `"wct"`, `"adain"` or
    single-scale `"style_swap"` (Chen & Schmidt, on raw features).

    Args:
        attention: `"cbam"` or `"self_attention"`, the trained module's kind;
            its weights are copied in by `build_stylizer`.
        transfer: one of `"multi_stroke"`, `"wct"`, `"adain"`, `"style_swap"`.
        alpha: float in [0, 1], stylization strength. Defaults to `1.0`.
        stroke_scales: style resize factors, defaults to `(0.5, 0.7071, 1.0)`.
        num_regions: int, saliency regions `K`. Defaults to `4`.
        patch_size: odd int, style-swap patch. Defaults to `5`.
        theta: float, fusion softmax sharpness. Defaults to `50.0`.
        **kwargs: standard layer arguments such as `name` and `dtype`.

    Call arguments:
        content_features: `(batch, h, w, c)` encoder features.
        style_features: `(batch or 1, hs, ws, c)` encoder features.
        saliency_mask: optional `(batch, H, W, 1)` saliency at any resolution (e.g. a
            user-drawn mask at image resolution); it replaces the attention
            map after a bilinear resize to the feature resolution. A mask
            whose maximum is negative means "no mask".
        alpha, stroke_scales, num_regions: optional run-time overrides of the
            configured values (scalar tensor, `(S,)` float tensor, scalar int
            tensor), used by the serving signature and the web demo.

    Returns:
        A dict with `"features"` (`(batch, h, w, c)`, ready to decode) and
        `"attention_map"` (`(batch, h, w, 1)` in [0, 1]).

    Example:

    >>> layer = AttentionFeatureTransfer(transfer="adain")
    >>> out = layer(tf.random.normal((1, 8, 8, 32)), tf.random.normal((1, 8, 8, 32)))
    >>> out["features"].shape
    TensorShape([1, 8, 8, 32])

    Reference:
        - [Yao et al., 2019](https://arxiv.org/abs/1901.05127).
    """

    def __init__(
        self,
        attention="cbam",
        transfer="multi_stroke",
        alpha=1.0,
        stroke_scales=(0.5, 0.7071, 1.0),
        num_regions=4,
        patch_size=5,
        theta=50.0,
        **kwargs,
    ):
        super().__init__(**kwargs)
        if attention not in ("cbam", "self_attention"):
            raise ValueError(
                "`attention` must be 'cbam' or 'self_attention'. "
                f"Received: attention={attention!r}"
            )
        if transfer not in TRANSFERS:
            raise ValueError(f"`transfer` must be one of {TRANSFERS}. Received: transfer={transfer!r}")
        if not 0.0 <= float(alpha) <= 1.0:
            raise ValueError(f"`alpha` must be in [0, 1]. Received: alpha={alpha!r}")
        self.attention_kind = attention
        self.transfer = transfer
        self.alpha = float(alpha)
        self.stroke_scales = tuple(float(s) for s in stroke_scales)
        self.num_regions = num_regions
        self.patch_size = patch_size
        self.theta = float(theta)
        self.attention = CBAM(name="attention") if attention == "cbam" else SelfAttention(name="attention")
        self.wct = WhiteningColoring(name="whitening_coloring")
        self.fusion = MultiStrokeFusion(num_regions=num_regions, theta=theta, name="fusion")
        scales = self.stroke_scales if transfer == "multi_stroke" else (1.0,)
        self.swap = StyleSwap(patch_size=patch_size, stroke_scales=scales, name="style_swap")
        self.adain = AdaIN(name="adain")

    def build(self, content_features_shape, style_features_shape=None, saliency_mask_shape=None):
        self.attention.build(content_features_shape)

    def call(self, content_features, style_features, saliency_mask=None, alpha=None,
             stroke_scales=None, num_regions=None):
        alpha = self.alpha if alpha is None else alpha
        content = self.wct.whiten(content_features)
        style = self.wct.whiten(style_features)
        attended = self.attention(content.whitened)
        attention_map = attended["attention_map"]
        if saliency_mask is not None:
            size = tf.shape(content_features)[1:3]
            mask = tf.cast(saliency_mask, attention_map.dtype)
            resized = tf.image.resize(mask, size, method="bilinear")
            # A mask whose maximum is negative means "no mask" (serving
            # signatures cannot leave an input out).
            use_mask = tf.cast(tf.reduce_max(mask) >= 0.0, attention_map.dtype)
            attention_map = use_mask * resized + (1.0 - use_mask) * attention_map
        if self.transfer == "multi_stroke":
            a = attended["features"]
            if stroke_scales is None:
                swapped = tf.stack(self.swap([a, style.whitened]))
            else:
                scales = -tf.sort(-tf.cast(tf.reshape(stroke_scales, [-1]), tf.float32))
                swapped = tf.map_fn(
                    lambda scale: self.swap.swap_batch(a, style.whitened, scale), scales,
                    fn_output_signature=tf.TensorSpec([None, None, None, a.shape[-1]], a.dtype),
                )
            features = tf.concat([a[None], swapped], axis=0)
            fused = self.fusion(features, attention_map, num_regions=num_regions)
            blended = alpha * fused["features"] + (1.0 - alpha) * a
            return {
                "features": self.wct.color(blended, style),
                "attention_map": fused["attention_map"],
            }
        saliency = self.fusion([content_features], attention_map, num_regions=num_regions)["attention_map"]
        if self.transfer == "wct":
            out = self.wct.color(content.whitened, style)
        elif self.transfer == "adain":
            out = self.adain.transfer(content_features, style_features)
        else:
            out = self.swap([content_features, style_features])[0]
        out = alpha * out + (1.0 - alpha) * content_features
        return {"features": out, "attention_map": saliency}

    def get_config(self):
        config = super().get_config()
        config.update(
            {
                "attention": self.attention_kind,
                "transfer": self.transfer,
                "alpha": self.alpha,
                "stroke_scales": list(self.stroke_scales),
                "num_regions": self.num_regions,
                "patch_size": self.patch_size,
                "theta": self.theta,
            }
        )
        return config
