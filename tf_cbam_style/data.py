"""tf.data input pipeline over any folder of images."""

import collections
import os

import tensorflow as tf

from tf_cbam_style.io import IMAGE_EXTENSIONS

ScanResult = collections.namedtuple("ScanResult", ["files", "skipped"])
# What `tf.io.decode_image` reads (Pillow's format names); TIFF, AVIF and
# other formats that `load_image` reads would fail inside tf.data.
TF_DECODABLE_FORMATS = ("JPEG", "PNG", "GIF", "BMP", "WEBP")
UNDECODABLE = "format tf.data cannot decode (convert to JPEG or PNG)"


def scan_image_folder(directory):
    """Lists the readable images under `directory`, recursively.

    Files without an image extension, files PIL cannot open or verify, and
    images in a format `tf.io.decode_image` cannot read (TIFF, AVIF, ...;
    `TF_DECODABLE_FORMATS`) are skipped and counted by reason, so that
    training never drops a file without saying so.

    Returns:
        `ScanResult(files, skipped)`: sorted paths and a dict reason -> count.
    """
    if not os.path.isdir(directory):
        raise FileNotFoundError(
            f"`data` must be an existing folder of images. Received: data={directory!r}"
        )
    from PIL import Image

    files = []
    skipped = collections.Counter()
    for root, _, names in os.walk(directory):
        for name in sorted(names):
            path = os.path.join(root, name)
            if not name.lower().endswith(IMAGE_EXTENSIONS):
                skipped["not an image"] += 1
                continue
            try:
                with Image.open(path) as image:
                    image_format = image.format
                    image.verify()
            except Exception:
                skipped["unreadable"] += 1
                continue
            if image_format not in TF_DECODABLE_FORMATS:
                skipped[UNDECODABLE] += 1
                continue
            files.append(path)
    return ScanResult(sorted(files), dict(skipped))


def _decode(path):
    data = tf.io.read_file(path)
    image = tf.io.decode_image(data, channels=3, expand_animations=False, dtype=tf.uint8)
    return tf.cast(image, tf.float32) / 255.0


def _random_crop(image, crop_size, seed, image_size=None):
    shape = tf.shape(image)
    short = tf.cast(tf.minimum(shape[0], shape[1]), tf.float32)
    target = max(crop_size, image_size or crop_size)
    scale = tf.cast(target, tf.float32) / short
    new_size = tf.cast(tf.math.ceil(tf.cast(shape[:2], tf.float32) * scale), tf.int32)
    new_size = tf.maximum(new_size, crop_size)
    image = tf.image.resize(image, new_size, method="area" if target < 256 else "bilinear")
    image = tf.image.stateless_random_crop(image, [crop_size, crop_size, 3], seed=seed)
    image = tf.image.stateless_random_flip_left_right(image, seed=seed + 1)
    return tf.clip_by_value(image, 0.0, 1.0)


def make_dataset(files, crop_size=256, batch_size=8, seed=0, repeat=True, shuffle=True, image_size=None):
    """Random, seeded crops of `files` as float32 batches in [0, 1].

    Each photo is resized so its shorter side is `image_size` (default:
    `crop_size`, the whole photo at crop scale), then cropped at random to
    `crop_size` and flipped at random. `image_size=256` with 128 px crops
    trains at the scale of 256 px photos for a quarter of the cost.

    Files that still fail to decode at run time (e.g. truncated JPEGs that
    passed the header check) are dropped instead of stopping training.
    """
    if not files:
        raise ValueError("`files` must list at least one image. Received: files=[]")
    ds = tf.data.Dataset.from_tensor_slices(list(files))
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.enumerate()
    ds = ds.map(
        lambda i, p: _random_crop(_decode(p), crop_size, tf.stack([tf.cast(i, tf.int32), seed]), image_size),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    ds = ds.ignore_errors()
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
