"""tf.data input pipelines: any folder of images, or a TensorFlow Datasets name."""

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


def _decode_bytes(data):
    image = tf.io.decode_image(data, channels=3, expand_animations=False, dtype=tf.uint8)
    return tf.cast(image, tf.float32) / 255.0


def _decode(path):
    return _decode_bytes(tf.io.read_file(path))


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


def _check_shard(num_shards, shard_index, start):
    if not isinstance(num_shards, int) or num_shards < 1:
        raise ValueError(f"`num_shards` must be a positive int. Received: num_shards={num_shards!r}")
    if not isinstance(shard_index, int) or not 0 <= shard_index < num_shards:
        raise ValueError(
            f"`shard_index` must be in [0, num_shards={num_shards}). Received: shard_index={shard_index!r}"
        )
    if not isinstance(start, int) or start < 0:
        raise ValueError(f"`start` must be a non-negative int. Received: start={start!r}")


def make_dataset(files, crop_size=256, batch_size=8, seed=0, repeat=True, shuffle=True,
                 start=0, num_shards=1, shard_index=0, image_size=None):
    """Random, seeded crops of `files` as float32 batches in [0, 1].

    Each photo is resized so its shorter side is `image_size` (default:
    `crop_size`, the whole photo at crop scale), then cropped at random to
    `crop_size` and flipped at random. `image_size=256` with 128 px crops
    trains at the scale of 256 px photos for a quarter of the cost.

    The stream is a pure function of `seed`: the files shuffled anew each
    epoch, image `i` of the stream cropped with the seed `(i, seed)`. Files
    that still fail to decode at run time (e.g. truncated JPEGs that passed
    the header check) are dropped instead of stopping training.

    Args:
        files: image paths.
        crop_size: square crop side, pixels.
        image_size: shorter side, pixels, photos are resized to before
            cropping; `None`: the crop size.
        batch_size: images per batch (per replica when sharded).
        seed: shuffle and crop seed.
        repeat, shuffle: loop over the files forever, in a new order each
            epoch (defaults); `False` gives one pass in the given order.
        start: images of the stream to skip before the first batch (cheap:
            only file names are skipped, nothing is decoded). A run resumed
            at step `s` with global batch `G` passes `start=s * G`.
        num_shards, shard_index: with `num_shards = n > 1`, the stream is
            cut into chunks of `batch_size` images and this dataset keeps the
            chunks `c` with `c % n == shard_index`, decoding only its own
            images. The `n` shards together hold the unsharded stream with
            batch `n * batch_size`, batch for batch, so that `n` workers of
            batch `b` see exactly the images of one worker of batch `n * b`.

    Returns:
        A `tf.data.Dataset` of `(batch_size, crop_size, crop_size, 3)`
        float32 batches.

    Raises:
        ValueError: for an empty `files`, or a bad shard or start.

    Example:

    >>> ds = make_dataset(["a.jpg", "b.jpg"], crop_size=64, batch_size=1, num_shards=2, shard_index=1)
    """
    if not files:
        raise ValueError("`files` must list at least one image. Received: files=[]")
    _check_shard(num_shards, shard_index, start)
    ds = tf.data.Dataset.from_tensor_slices(list(files))
    if shuffle:
        ds = ds.shuffle(len(files), seed=seed, reshuffle_each_iteration=True)
    if repeat:
        ds = ds.repeat()
    ds = ds.enumerate()
    if start:
        ds = ds.skip(start)
    if num_shards > 1:
        ds = ds.filter(lambda i, p: (i // batch_size) % num_shards == shard_index)
    ds = ds.map(
        lambda i, p: _random_crop(_decode(p), crop_size, tf.stack([tf.cast(i, tf.int32), seed]), image_size),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    ds = ds.ignore_errors()
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)


# ---------------------------------------------------------------------------
# TensorFlow Datasets
# ---------------------------------------------------------------------------

TFDS_PREFIX = "tfds:"


def is_tfds(data):
    """Whether `data` names a TensorFlow Datasets dataset (`"tfds:coco/2017"`)."""
    return isinstance(data, str) and data.startswith(TFDS_PREFIX)


def tfds_name(data):
    """`"tfds:coco/2017"` -> `"coco/2017"`.

    Raises:
        ValueError: when `data` is not `tfds:` followed by a name.
    """
    name = data[len(TFDS_PREFIX):] if is_tfds(data) else ""
    if not name.strip():
        raise ValueError(
            "`data` must be a folder or tfds:NAME such as tfds:coco/2017. Received: data=" + repr(data)
        )
    return name


def _import_tfds():
    try:
        import tensorflow_datasets as tfds
    except ImportError:
        raise ImportError(
            'Reading tfds: data needs TensorFlow Datasets: pip install -e ".[tfds]" '
            "(or pip install tensorflow-datasets)"
        ) from None
    return tfds


def tfds_builder(data, data_dir=None, download=False, split="train", image_key="image"):
    """The prepared TFDS builder of `data`, checked for `split` and `image_key`.

    With `download=True` the dataset is downloaded and prepared first
    (`builder.download_and_prepare()`, into `data_dir`); otherwise it must
    already be prepared there, so that an offline machine can use a copy.

    Args:
        data: `"tfds:NAME"`, e.g. `"tfds:coco/2017"`.
        data_dir: the TFDS data folder (default: TFDS's, `~/tensorflow_datasets`).
        download: download and prepare a missing dataset.
        split: the split to train on.
        image_key: the image feature of each example.

    Returns:
        A `tfds.core.DatasetBuilder`; `builder.info.splits[split].num_examples`
        counts the images.

    Raises:
        ImportError: without tensorflow-datasets (naming the pip command).
        ValueError: for an unknown or unprepared dataset, or a missing split
            or image feature.
    """
    tfds = _import_tfds()
    name = tfds_name(data)
    where = f" in data_dir={data_dir!r}" if data_dir else ""
    try:
        builder = tfds.builder(name, data_dir=data_dir)
        if download:
            builder.download_and_prepare()
        elif not builder.is_prepared():
            raise ValueError(
                f"`data` names a TFDS dataset that is not prepared{where}: prepare it once with "
                f"--tfds-download (download=True) or `tfds build {name}`. Received: data={data!r}"
            )
    except tfds.core.registered.DatasetNotFoundError:
        raise ValueError(f"`data` names no TFDS dataset known{where}. Received: data={data!r}") from None
    if split not in builder.info.splits:
        raise ValueError(
            f"`tfds_split` must be one of {sorted(builder.info.splits)}. Received: tfds_split={split!r}"
        )
    features = builder.info.features
    if image_key not in features:
        raise ValueError(
            f"`data` must have an {image_key!r} feature; this dataset has {sorted(features)}. "
            f"Received: data={data!r}"
        )
    return builder


def make_tfds_dataset(data, crop_size=256, batch_size=8, seed=0, data_dir=None, download=False,
                      split="train", input_context=None, image_key="image", shuffle_buffer=1024, start=0,
                      image_size=None):
    """Random, seeded crops of a TFDS dataset's images as float32 batches in [0, 1].

    Reads `split` with `tfds.load` (the record files in a seeded shuffled
    order, images decoded here, not by TFDS), through a `shuffle_buffer`
    images deep shuffle, forever; crops as `make_dataset`.

    Args:
        data: `"tfds:NAME"`; `data_dir`, `download`, `split`, `image_key`:
            see `tfds_builder`.
        crop_size, batch_size, seed: see `make_dataset`.
        input_context: a `tf.distribute.InputContext`: with several input
            pipelines, each reads only its share of the record files
            (`tfds.ReadConfig(input_context=...)`; the split needs at least
            as many files as there are pipelines).
        shuffle_buffer: images in the shuffle buffer.
        start: where a resumed run stands in the stream (images). Record
            files cannot be entered in the middle without reading them up
            to there, so a resumed stream does not skip: it starts anew,
            seeded with `seed + start` (still a pure function of the
            arguments; image folders, `make_dataset`, resume exactly).

    Returns:
        A `tf.data.Dataset` of `(batch_size, crop_size, crop_size, 3)` float32.

    Raises:
        ImportError, ValueError: see `tfds_builder`.
    """
    tfds = _import_tfds()
    builder = tfds_builder(data, data_dir=data_dir, download=download, split=split, image_key=image_key)
    pipelines = input_context.num_input_pipelines if input_context else 1
    files = builder.info.splits[split].num_shards
    if pipelines > files:
        raise ValueError(
            f"`data` has {files} record file(s) in split {split!r}, fewer than the {pipelines} "
            f"input pipelines of the cluster. Received: data={data!r}"
        )
    _check_shard(1, 0, start)
    seed = seed + start
    ds = tfds.load(
        tfds_name(data), split=split, data_dir=data_dir, download=download, shuffle_files=True,
        read_config=tfds.ReadConfig(input_context=input_context, shuffle_seed=seed),
        decoders={image_key: tfds.decode.SkipDecoding()},
    )
    ds = ds.map(lambda example: example[image_key], num_parallel_calls=tf.data.AUTOTUNE)
    ds = ds.shuffle(shuffle_buffer, seed=seed, reshuffle_each_iteration=True).repeat().enumerate()
    ds = ds.map(
        lambda i, data: _random_crop(_decode_bytes(data), crop_size, tf.stack([tf.cast(i, tf.int32), seed]),
                                     image_size),
        num_parallel_calls=tf.data.AUTOTUNE,
        deterministic=True,
    )
    ds = ds.ignore_errors()
    return ds.batch(batch_size, drop_remainder=True).prefetch(tf.data.AUTOTUNE)
