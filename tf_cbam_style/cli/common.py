"""What the commands share: argument parsers and checks, expanding CONTENT
and STYLE into files, planning the outputs (`Job`), decoding every input
once (`InputImages`) and loading a mask.

Nothing here imports TensorFlow; PIL and numpy load when a function runs.
"""

import argparse
import collections
import difflib
import os

from tf_cbam_style.options import METHOD_NAMES, MIN_IMAGE_SIZE

OUTPUT_FORMATS = ("png", "jpg", "webp")
# Decoded inputs kept between the up-front check and their use; past this,
# an input is decoded again when its turn comes, so a folder of thousands of
# photos does not hold them all in memory.
KEEP_BYTES = 1 << 30

Job = collections.namedtuple("Job", ["content", "style", "output", "attention"])
Job.__doc__ = """One content-style pair and where its results go (`attention` may be `None`)."""


# ---------------------------------------------------------------------------
# Argument parsers and checks
# ---------------------------------------------------------------------------


def check_method(method):
    """Raises a one-line `ValueError` naming the closest method."""
    if method in METHOD_NAMES:
        return method
    close = difflib.get_close_matches(method, METHOD_NAMES, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else "."
    raise ValueError(f"unknown method {method!r}{hint} Choose from: {', '.join(METHOD_NAMES)}")


def float_list(text):
    """argparse type: `"0.5,1"` -> `(0.5, 1.0)`."""
    try:
        values = tuple(float(v) for v in text.split(",") if v.strip())
    except ValueError:
        values = ()
    if not values:
        raise argparse.ArgumentTypeError(
            f"expected comma-separated numbers such as 0.5,1.0. Received: {text!r}"
        )
    return values


def check_model_path(path):
    """`--model`: `None`, a `.keras` file or a folder holding `model.keras`."""
    if path is None:
        return
    if os.path.isdir(path):
        path = os.path.join(path, "model.keras")
    if not os.path.isfile(path):
        raise FileNotFoundError(
            "`--model` must be a .keras model file or a folder holding model.keras "
            f"(see `tf-cbam-style train`). Received: model={path!r}"
        )


def resolve_model(path, depth, method):
    """`--model` and `--depth`: the model file to load, or `None` for the default.

    `--depth` names the shipped model of `method`'s attention at that depth
    (`saved_models/<attention>_<depth>/model.keras`); it cannot be combined
    with `--model`, which names a model (and so its depth) itself.

    Raises:
        ValueError: both are given.
        FileNotFoundError: `--model` is not a model, or no model is shipped
            at `--depth`.
    """
    if depth is not None and path is not None:
        raise ValueError(
            "`--depth` chooses a shipped model and `--model` names one; give only one of them. "
            f"Received: model={path!r}, depth={depth!r}"
        )
    if depth is None:
        check_model_path(path)
        return path
    from tf_cbam_style import api
    from tf_cbam_style.options import model_attention

    attention = model_attention(method)
    shipped = api.default_model_path(attention, depth)
    if not shipped.is_file():
        there = sorted(p.parent.name for p in api.models_dir().glob(f"*/{api.KERAS_FILE}"))
        raise FileNotFoundError(
            f"`--depth`: no {attention} model is shipped at {depth} ({shipped} is missing; "
            f"shipped: {', '.join(there) or 'none'}). Received: depth={depth!r}"
        )
    return str(shipped)


def max_size(value, name):
    """`--max-size`-like limits: `N` -> `N`, `0` -> `None` (no limit)."""
    if value != 0 and value < MIN_IMAGE_SIZE:
        raise ValueError(
            f"`--{name.replace('_', '-')}` must be at least {MIN_IMAGE_SIZE}, or 0 for no limit. "
            f"Received: {name}={value}"
        )
    return value or None


def add_input_options(p, skip_bad=True):
    """`--max-pixels` (and `--skip-bad`) for commands that read image files."""
    p.add_argument("--max-pixels", type=int, default=None, metavar="N",
                   help="largest input in pixels, the guard against decompression bombs; 0: no "
                   "limit (default: $TF_CBAM_STYLE_MAX_PIXELS, else Pillow's, about 179 megapixels)")
    if skip_bad:
        p.add_argument("--skip-bad", action="store_true",
                       help="go on without inputs that cannot be read, listing them (default: "
                       "stop before any work, listing every bad input)")


def check_max_pixels(value):
    """`--max-pixels` (or, without it, `$TF_CBAM_STYLE_MAX_PIXELS`), checked
    once by the rule of `io.max_pixels_limit` before any file is read."""
    from tf_cbam_style.io import max_pixels_limit

    max_pixels_limit(value)
    return value


def size_text(size):
    return f"{size.width}x{size.height}"


# ---------------------------------------------------------------------------
# Inputs
# ---------------------------------------------------------------------------


def expand_images(spec, name, ignored=None):
    """A file, a folder (its images) or a quoted glob -> sorted list of paths.

    A plain path is returned as is, even if missing or not an image, so that
    `load_image` reports what is wrong with it. In a folder or glob, files
    whose extension is not in `io.IMAGE_EXTENSIONS` are not inputs; they are
    appended to `ignored` (a list) so that the command can name them. Hidden
    files (`.name`) are left out.

    Raises:
        ValueError: the folder or glob holds no image.
    """
    import glob

    from tf_cbam_style.io import IMAGE_EXTENSIONS

    if os.path.isdir(spec):
        candidates = [os.path.join(spec, n) for n in os.listdir(spec) if not n.startswith(".")]
        what = "folder holds no images"
    elif any(c in spec for c in "*?[") and not os.path.exists(spec):
        candidates = glob.glob(spec)
        what = "pattern matches no images"
    else:
        return [spec]
    candidates = sorted(p for p in candidates if os.path.isfile(p))
    files = [p for p in candidates if p.lower().endswith(IMAGE_EXTENSIONS)]
    others = [p for p in candidates if p not in files]
    if ignored is not None:
        ignored.extend(others)
    if not files:
        held = f"; it holds only {', '.join(map(os.path.basename, others))}" if others else ""
        raise ValueError(
            f"`{name}` {what} ({', '.join(IMAGE_EXTENSIONS)}){held}. Received: {name}={spec!r}"
        )
    return files


def ignored_note(ignored):
    """The line telling which files of a folder were not inputs, or `None`."""
    if not ignored:
        return None
    return (f"Ignored {len(ignored)} file(s) that are not images by their extension: "
            f"{', '.join(ignored)}")


def load_mask(path, max_pixels=None):
    """A mask image as `(H, W)` in [0, 1]: its luminance, by the `arrays` rule.

    Raises:
        ValueError, OSError: the file cannot be used as a mask; the message
            starts with `--mask` (the one-line error then says which
            argument was wrong).
    """
    from tf_cbam_style.arrays import as_mask
    from tf_cbam_style.io import load_image

    try:
        return as_mask(load_image(path, min_size=1, max_pixels=max_pixels), "mask")
    except ValueError as error:
        raise ValueError(f"`--mask`: {error}") from None
    except OSError as error:
        raise OSError(f"`--mask`: {error}") from None


class InputImages:
    """Every input decoded once, up front, and fitted to its size limit.

    `check` decodes each file once (a file used as content and as style is
    still decoded once) and returns the files that cannot be used; `get`
    then hands out the fitted image. Up to `keep_bytes` of fitted images
    are kept; beyond that an input is decoded again by `get`.

    Args:
        max_pixels: passed to `io.load_image`.
        keep_bytes: the most bytes of decoded images kept.
    """

    def __init__(self, max_pixels=None, keep_bytes=KEEP_BYTES):
        self.max_pixels = max_pixels
        self.keep_bytes = keep_bytes
        self._kept = {}  # (path, limit) -> FitResult
        self._bytes = 0

    def _fit(self, image, limit):
        from tf_cbam_style.io import fit_max_size

        return fit_max_size(image, limit, min_size=MIN_IMAGE_SIZE)

    def _load(self, path):
        from tf_cbam_style.io import load_image

        return load_image(path, min_size=MIN_IMAGE_SIZE, max_pixels=self.max_pixels)

    def check(self, wanted):
        """Decodes every `(path, limit)` of `wanted`; returns `{path: message}` of bad files."""
        limits = collections.defaultdict(list)
        for path, limit in wanted:
            if limit not in limits[path]:
                limits[path].append(limit)
        bad = {}
        for path, path_limits in limits.items():
            try:
                image = self._load(path)
            except ValueError as error:  # ImageError and arrays-rule errors
                bad[path] = " ".join(str(error).split())
                continue
            for limit in path_limits:
                fit = self._fit(image, limit)
                if self._bytes + fit.image.nbytes <= self.keep_bytes:
                    self._kept[(path, limit)] = fit
                    self._bytes += fit.image.nbytes
        return bad

    def get(self, path, limit):
        """The `io.FitResult` of `path` fitted to `limit`."""
        fit = self._kept.get((path, limit))
        return fit if fit is not None else self._fit(self._load(path), limit)


def check_inputs(images, wanted, total, skip_bad, warn):
    """Decodes every input; stops listing every bad one, or (`skip_bad`) warns.

    Args:
        images: an `InputImages`.
        wanted: `(path, limit)` pairs.
        total: how many distinct inputs there are.
        skip_bad: go on without bad inputs.
        warn: called with the warning line when bad inputs are skipped.

    Returns:
        The set of bad paths (empty unless `skip_bad`).

    Raises:
        ValueError: bad inputs without `skip_bad` (for a single pair the
            file's own message, else one line listing every bad file), or
            no good input left with it.
    """
    bad = images.check(wanted)
    if not bad:
        return set()
    messages = "; ".join(bad.values())
    if skip_bad:
        if len(bad) == total:
            raise ValueError(f"no input image can be used: {messages}")
        warn(f"warning: skipped {len(bad)} of {total} input images (--skip-bad): {messages}")
        return set(bad)
    if total <= 2 and len(bad) == 1:
        raise ValueError(messages)
    raise ValueError(
        f"{len(bad)} of {total} input images cannot be used (pass --skip-bad to go on without "
        f"them): {messages}"
    )


def count(n, noun):
    """`"1 style"`, `"2 styles"`."""
    return f"{n} {noun}{'' if n == 1 else 's'}"


def drop_bad(jobs, bad):
    """The jobs whose content and style are both good.

    Raises:
        ValueError: when bad inputs (skipped with `--skip-bad`) leave no
            content x style pair at all: every content or every style is
            bad, so nothing would be written.
    """
    kept = [job for job in jobs if job.content not in bad and job.style not in bad]
    if bad and not kept:
        contents = sorted({job.content for job in jobs})
        styles = sorted({job.style for job in jobs})
        which = "content" if all(c in bad for c in contents) else "style"
        raise ValueError(
            f"--skip-bad left no content x style pair to stylize: every {which} is bad. "
            f"Received: {which}s={contents if which == 'content' else styles}"
        )
    return kept


# ---------------------------------------------------------------------------
# Outputs
# ---------------------------------------------------------------------------


def plan_outputs(folder, names, overwrite):
    """Output paths in the report folder `folder`, refusing existing files without overwrite.

    Checked before any work, so that a refused run loses nothing.

    Raises:
        ValueError: `folder` is a file, or holds one of `names` and
            `overwrite` is false (one line naming `--out`).
    """
    if os.path.exists(folder) and not os.path.isdir(folder):
        raise ValueError(f"`--out` must be a folder. Received: out={folder!r}")
    paths = [os.path.join(folder, n) for n in names]
    existing = [p for p in paths if os.path.lexists(p)]
    if existing and not overwrite:
        raise ValueError(
            f"`--out` already holds {', '.join(os.path.basename(p) for p in existing)}; pass --overwrite to "
            f"replace. Received: out={folder!r}"
        )
    return paths


def _stem(path):
    return os.path.splitext(os.path.basename(path))[0]


def _plan_paths(target, pairs, suffix, extension, name, overwrite):
    """One output path per (content, style) pair, checked for writing.

    `target` is the file itself for a single pair, or an existing folder in
    which outputs are named `{content}__{style}{suffix}.{extension}`.
    """
    from tf_cbam_style.io import check_output_path

    if os.path.isdir(target):
        paths = [
            os.path.join(target, f"{_stem(c)}__{_stem(s)}{suffix}.{extension}") for c, s in pairs
        ]
    elif len(pairs) > 1:
        raise ValueError(
            f"`--{name.replace('_', '-')}` must be an existing folder when CONTENT or STYLE "
            f"name several images. Received: {name}={target!r}"
        )
    else:
        paths = [target]
    seen = {}
    for path, pair in zip(paths, pairs):
        key = os.path.normcase(os.path.abspath(path))
        if key in seen:
            raise ValueError(
                f"{seen[key][0]!r} with {seen[key][1]!r} and {pair[0]!r} with {pair[1]!r} "
                f"would both be written to {path!r}; rename one of them"
            )
        seen[key] = pair
        check_output_path(path, overwrite=overwrite)
    return paths


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

    Raises:
        ValueError: an output that cannot be written (bad extension, missing
            folder, existing file without `overwrite`, two results with one
            name, the attention path equal to the output).
    """
    pairs = [(c, s) for c in contents for s in styles]
    outputs = _plan_paths(output, pairs, "", extension, "output", overwrite)
    attentions = [None] * len(pairs)
    if attention is not None:
        attentions = _plan_paths(attention, pairs, "_attention", "png", "save_attention", overwrite)
        if set(map(os.path.abspath, outputs)) & set(map(os.path.abspath, attentions)):
            raise ValueError(
                "`--save-attention` must differ from `--output`. "
                f"Received: save_attention={attention!r}"
            )
    return [Job(c, s, o, a) for (c, s), o, a in zip(pairs, outputs, attentions)]


def check_output_sizes(jobs, size_of, overwrite):
    """Checks that each output's format can store its image at its size.

    Args:
        jobs: `Job`s.
        size_of: `job -> Size` of the image that will be written.
        overwrite: as for `plan_jobs`.

    Raises:
        ImageError: e.g. `.xbm` (no RGB) or `.ico` for a 300x200 image.
    """
    from tf_cbam_style.io import check_output_path

    for job in jobs:
        size = size_of(job)
        check_output_path(job.output, overwrite=overwrite, size=size)
        if job.attention is not None:
            check_output_path(job.attention, overwrite=overwrite, size=size, mode="L")
