"""The optimisation baseline of Gatys et al. (2016) on the same VGG19."""

import numpy as np

from tf_cbam_style import losses
from tf_cbam_style.evaluation.metrics import STYLE_LAYERS


def gatys_stylize(
    content,
    style,
    *,
    iterations=200,
    learning_rate=0.02,
    content_weight=1.0,
    style_weight=1.0,
    progress=True,
    weights="auto",
):
    """Optimises the pixels so the VGG19 features match content and style.

    Loss: `content_weight * L_c + style_weight * L_s`, with
    `L_c = mean((F4(x) - F4(c))^2) / 255^2` at relu4_1 and
    `L_s = sum_l mean((G_l(x) - G_l(s))^2) / 255^4` over relu1_1..relu5_1,
    `G_l = F_l^T F_l / (h w)` (`losses.content_loss`, `losses.gram_matrix`,
    `losses.gram_distance`; the VGG features are in 0-255 units, hence
    the scaling). Adam on the pixels, starting from the content, clipped to
    [0, 1] after each step. Deterministic.

    Args:
        content: `(H, W, 3)` float RGB in [0, 1].
        style: `(Hs, Ws, 3)` float RGB in [0, 1].
        iterations: int, Adam steps. Defaults to `200`.
        learning_rate: float, Adam step size on [0, 1] pixels.
        content_weight: float.
        style_weight: float.
        progress: show a tqdm bar on stderr.
        weights: the VGG19 weights (`resolve_vgg_weights`).

    Returns:
        float32 `(H, W, 3)` in [0, 1].
    """
    import tensorflow as tf
    from tqdm import tqdm

    from tf_cbam_style.evaluation.vgg_features import vgg19_features

    if not isinstance(iterations, int) or iterations < 0:
        raise ValueError(f"`iterations` must be a non-negative int. Received: iterations={iterations!r}")
    features = vgg19_features(weights)
    content = tf.constant(np.asarray(content, np.float32)[None])
    style = tf.constant(np.asarray(style, np.float32)[None])

    target_content = features(content)["relu4_1"]
    style_features = features(style)
    target_grams = [losses.gram_matrix(style_features[k]) for k in STYLE_LAYERS]
    image = tf.Variable(content)
    optimizer = tf.keras.optimizers.Adam(learning_rate)

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            f = features(image)
            content_term = losses.content_loss(f["relu4_1"], target_content) / 255.0 ** 2
            style_term = tf.add_n(
                [losses.gram_distance(losses.gram_matrix(f[k]), g) for k, g in zip(STYLE_LAYERS, target_grams)]
            ) / 255.0 ** 4
            loss = content_weight * content_term + style_weight * style_term
        optimizer.apply_gradients([(tape.gradient(loss, image), image)])
        image.assign(tf.clip_by_value(image, 0.0, 1.0))
        return loss

    with tqdm(total=iterations, desc="gatys", unit="step", disable=not progress, leave=False) as bar:
        for _ in range(iterations):
            loss = step()
            bar.update(1)
            if bar.n % 10 == 0:
                bar.set_postfix(loss=f"{float(loss):.4g}")
    return image.numpy()[0]
