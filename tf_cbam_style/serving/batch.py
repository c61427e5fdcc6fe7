"""Stylizing many image files with a served model: one request per batch.

Contents of the same size that share a style go to the server together, as
one `[batch, H, W, 3]` request of at most `batch_size` images.
"""

import collections
import os

Job = collections.namedtuple("Job", ["content", "style", "output", "attention"])
Job.__doc__ = """One content-style pair and where its results go (`attention` may be `None`)."""

BatchReport = collections.namedtuple("BatchReport", ["images", "requests", "seconds"])
BatchReport.__doc__ = """What `stylize_files` did: images written, requests sent, wall time."""


def _stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def plan_jobs(contents, styles, output, attention=None, extension="png", overwrite=False):
    """One `Job` per (content, style) pair, every output path checked.

    Args:
        contents, styles: lists of image paths.
        output: the output file (one pair) or an existing folder, in which
            results are named `{content}__{style}.{extension}`.
        attention: like `output`, for the attention maps (`_attention.png`),
            or `None`.
        extension: the output format in a folder.
        overwrite: allow replacing existing files.

    Returns:
        A list of `Job`s.
    """
    from tf_cbam_style.io import check_output_path

    pairs = [(c, s) for c in contents for s in styles]

    def paths(target, suffix, ext, name):
        if target is None:
            return [None] * len(pairs)
        if os.path.isdir(target):
            result = [
                os.path.join(target, f"{_stem(c)}__{_stem(s)}{suffix}.{ext}") for c, s in pairs
            ]
        elif len(pairs) > 1:
            raise ValueError(
                f"`{name}` must be an existing folder when CONTENT or STYLE name several images. "
                f"Received: {name}={target!r}"
            )
        else:
            result = [target]
        seen = set()
        for path in result:
            key = os.path.normcase(os.path.abspath(path))
            if key in seen:
                raise ValueError(
                    f"two results would be written to {path!r}; rename one of the inputs. "
                    f"Received: {name}={target!r}"
                )
            seen.add(key)
            check_output_path(path, overwrite=overwrite)
        return result

    outputs = paths(output, "", extension, "output")
    attentions = paths(attention, "_attention", "png", "save_attention")
    if attention is not None and set(map(os.path.abspath, outputs)) & set(
        map(os.path.abspath, attentions)
    ):
        raise ValueError(
            f"`save_attention` must differ from `output`. Received: save_attention={attention!r}"
        )
    return [Job(c, s, o, a) for (c, s), o, a in zip(pairs, outputs, attentions)]


def group_jobs(jobs, shape_of, batch_size):
    """Splits `jobs` into lists that can share one request.

    Jobs share a request when they have the same style and contents of the
    same shape (`shape_of(path)`), at most `batch_size` at a time.
    """
    if not isinstance(batch_size, int) or batch_size < 1:
        raise ValueError(f"`batch_size` must be an int >= 1. Received: batch_size={batch_size!r}")
    groups = collections.defaultdict(list)
    for job in jobs:
        groups[(job.style, shape_of(job.content))].append(job)
    return [
        group[i : i + batch_size]
        for group in groups.values()
        for i in range(0, len(group), batch_size)
    ]


def stylize_files(
    client,
    jobs,
    options=None,
    batch_size=4,
    max_size=None,
    style_max_size=None,
    overwrite=False,
    on_batch=None,
):
    """Stylizes every `Job` with `client`, writing the images (and attention maps).

    Args:
        client: a `StyleClient`.
        jobs: `Job`s from `plan_jobs`.
        options: a `StylizeOptions`, or `None`.
        batch_size: the most contents in one request.
        max_size, style_max_size: longer sides that larger contents and
            styles are downscaled to before sending (`None`: as they are).
        overwrite: allow replacing existing files.
        on_batch: called with the list of `Job`s after each request.

    Returns:
        A `BatchReport`.
    """
    import time

    import numpy as np

    from tf_cbam_style.io import fit_max_size, load_image, save_image

    start = time.time()
    images = {}

    def load(path, limit):
        key = (path, limit)
        if key not in images:
            images[key] = fit_max_size(load_image(path, min_size=32), limit, min_size=32).image
        return images[key]

    for job in jobs:  # read every input before the first request
        load(job.content, max_size)
        load(job.style, style_max_size)
    requests = 0
    for group in group_jobs(jobs, lambda path: load(path, max_size).shape, batch_size):
        content = np.stack([load(job.content, max_size) for job in group])
        style = load(group[0].style, style_max_size)
        result = client.stylize(content, style, options)
        requests += 1
        for index, job in enumerate(group):
            save_image(job.output, result.image[index], overwrite=overwrite)
            if job.attention is not None and result.attention_map is not None:
                save_image(job.attention, result.attention_map[index], overwrite=overwrite)
        if on_batch is not None:
            on_batch(group)
    return BatchReport(len(jobs), requests, time.time() - start)
