"""Held-out reconstruction quality of a trained autoencoder (PSNR, SSIM)."""

import collections
import os

import numpy as np

ReconstructionReport = collections.namedtuple(
    "ReconstructionReport", ["psnr", "ssim", "per_image", "size"]
)


def evaluate_reconstruction(model, files, size=256):
    """Reconstructs each image through encoder, attention and decoder.

    Each image is resized so its shorter side is `size`, centre-cropped to a
    multiple of the encoder stride, reconstructed, clipped to [0, 1] and
    compared with the input by `tf.image.psnr` and `tf.image.ssim`
    (max_val 1, 11x11 Gaussian window, sigma 1.5).

    Returns:
        `ReconstructionReport(psnr, ssim, per_image, size)` with means and a
        list of `(filename, psnr, ssim)`.
    """
    import tensorflow as tf

    from tf_cbam_style.io import load_image

    stride = model.encoder.stride
    rows = []
    for path in files:
        image = load_image(path)
        h, w = image.shape[:2]
        scale = size / min(h, w)
        nh, nw = max(size, round(h * scale)), max(size, round(w * scale))
        resized = tf.image.resize(image[None], (nh, nw), method="area", antialias=True)
        ch, cw = nh - nh % stride, nw - nw % stride
        top, left = (nh - ch) // 2, (nw - cw) // 2
        x = tf.clip_by_value(resized[:, top:top + ch, left:left + cw], 0.0, 1.0)
        # float32 also for a model training under a bfloat16 compute policy.
        y = tf.clip_by_value(tf.cast(model(x)["reconstruction"], tf.float32), 0.0, 1.0)
        rows.append((os.path.basename(path), float(tf.image.psnr(x, y, 1.0)[0]),
                     float(tf.image.ssim(x, y, 1.0)[0])))
    psnr = float(np.mean([r[1] for r in rows]))
    ssim = float(np.mean([r[2] for r in rows]))
    return ReconstructionReport(psnr, ssim, rows, size)
