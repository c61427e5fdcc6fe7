"""Reading and writing images as float32 arrays in [0, 1].

Every image enters and leaves the package through this module:
`load_image` turns any file PIL can read (any mode, any EXIF orientation)
into an `(height, width, 3)` RGB array at the file's true scale, and
`save_image` writes an array atomically so that no partial file is ever
left behind. PIL is imported when a function is first called.

How pixel modes are scaled (`load_image`):

| Pillow mode | read as |
|---|---|
| `1` (1-bit) | 0 or 1 |
| `L`, `P`, `RGB`, `CMYK`, `YCbCr`, `HSV` and 16-bit RGB files (which Pillow opens as 8-bit RGB) | 8-bit levels / 255 |
| `I;16`, `I;16L`, `I;16B`, `I;16N` (16-bit gray) | / 65535 |
| `I` (32-bit integer, e.g. 16-bit PGM, int32 TIFF) | 16-bit levels / 65535; values outside 0-65535 are refused |
| `F` (32-bit float TIFF) | must already be in [0, 1]; other ranges are refused |
| `LA`, `PA`, `RGBA`, palette or colour-key transparency | composited over white |

The integer and float rules are those of `tf_cbam_style.arrays`. A file
that cannot be read at its true scale raises an `ImageError`; it never
loads as a black or white image.
"""

import collections
import contextlib
import io as _bytes_io
import os
import secrets

import numpy as np

from tf_cbam_style.arrays import to_unit_range

# The files a folder or glob expands to. `.avif` needs a Pillow built with
# AVIF (Pillow >= 11.3 wheels are); without it such files are reported,
# never skipped.
IMAGE_EXTENSIONS = (
    ".jpg", ".jpeg", ".jpe", ".jfif", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff", ".avif",
)
MAX_PIXELS_ENV_VAR = "TF_CBAM_STYLE_MAX_PIXELS"

_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N")
_ALPHA_MODES = ("RGBA", "RGBa", "LA", "La", "PA")
_SAVE_OPTIONS = {"JPEG": {"quality": 95}, "WEBP": {"quality": 95}}

Size = collections.namedtuple("Size", ["width", "height"])
FitResult = collections.namedtuple(
    "FitResult", ["image", "resized", "original_size", "new_size"]
)


class ImageError(ValueError):
    """An image file that cannot be read or written; the message is one line."""


def image_size(image):
    """The `Size(width, height)` of an `(height, width[, channels])` array."""
    return Size(int(image.shape[1]), int(image.shape[0]))


def _one_line(error):
    return " ".join(str(error).split()) or type(error).__name__


# ---------------------------------------------------------------------------
# Reading
# ---------------------------------------------------------------------------


def max_pixels_limit(max_pixels=None):
    """The largest image `load_image` decodes, in pixels (`None`: no limit).

    Args:
        max_pixels: an int, `0` for no limit, or `None` for the default:
            `$TF_CBAM_STYLE_MAX_PIXELS` if set, else twice Pillow's
            `Image.MAX_IMAGE_PIXELS` (about 179 megapixels), the size at
            which Pillow itself refuses a file as a possible decompression
            bomb.

    Raises:
        ValueError: a negative or non-integer limit (also from the
            environment variable).
    """
    from PIL import Image

    source = "max_pixels"
    if max_pixels is None and os.environ.get(MAX_PIXELS_ENV_VAR):
        source, max_pixels = MAX_PIXELS_ENV_VAR, os.environ[MAX_PIXELS_ENV_VAR]
        try:
            max_pixels = int(max_pixels)
        except ValueError:
            pass
    if max_pixels is None:
        return None if Image.MAX_IMAGE_PIXELS is None else 2 * int(Image.MAX_IMAGE_PIXELS)
    if isinstance(max_pixels, bool) or not isinstance(max_pixels, (int, np.integer)) or max_pixels < 0:
        raise ValueError(
            f"`{source}` must be a pixel count >= 0 (0: no limit). Received: {source}={max_pixels!r}"
        )
    return int(max_pixels) or None


@contextlib.contextmanager
def _pillow_settings():
    """Strict truncation and no Pillow pixel limit (`load_image` checks its
    own), restoring the caller's settings. Like Pillow's own, these settings
    are process-wide."""
    from PIL import Image, ImageFile

    previous = ImageFile.LOAD_TRUNCATED_IMAGES, Image.MAX_IMAGE_PIXELS
    ImageFile.LOAD_TRUNCATED_IMAGES, Image.MAX_IMAGE_PIXELS = False, None
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES, Image.MAX_IMAGE_PIXELS = previous


def _composite_over_white(rgb, alpha):
    return rgb * alpha + (1.0 - alpha)


def _scaled(values, what, path, rule):
    """`arrays.to_unit_range` with the error naming the file."""
    try:
        return to_unit_range(values, "image")
    except ValueError:
        finite = values[np.isfinite(values)]
        low, high = (float(finite.min()), float(finite.max())) if finite.size else (0.0, 0.0)
        found = "NaN or inf values" if finite.size < values.size else f"values in [{low:.4g}, {high:.4g}]"
        hint = " (divide 8-bit values by 255)" if finite.size == values.size and 1.0 < high <= 255.0 else ""
        raise ImageError(
            f"`path` holds {what} pixels with {found}; {rule}{hint}. Received: path={path!r}"
        ) from None


def _to_rgb_array(image, path):
    """A loaded PIL image of any mode -> float32 RGB in [0, 1] at its true scale."""
    mode = image.mode
    gray = None
    if mode == "1":
        gray = np.asarray(image, dtype=bool).astype(np.float32)
    elif mode in _SIXTEEN_BIT_MODES:
        levels = np.asarray(image).astype(np.uint16)  # native byte order
        gray = to_unit_range(levels, "image")
    elif mode == "I":
        levels = np.asarray(image)
        if levels.size and (levels.min() < 0 or levels.max() > 65535):
            raise ImageError(
                f"`path` holds 32-bit integer pixels with values in [{levels.min()}, {levels.max()}]; "
                "integer images are read as 16-bit levels 0-65535, so this one has no agreed scale: "
                f"save it as 8- or 16-bit, or as float in [0, 1]. Received: path={path!r}"
            )
        gray = to_unit_range(levels.astype(np.uint16), "image")
    elif mode == "F":
        gray = _scaled(np.asarray(image, dtype=np.float32), "32-bit float", path,
                       "float images must be in [0, 1]")
    if gray is not None:
        key = image.info.get("transparency")
        rgb = np.repeat(gray[..., None], 3, axis=-1)
        if isinstance(key, (int, float)) and not isinstance(key, bool):
            opaque = (np.asarray(image) != key)[..., None].astype(np.float32)
            rgb = _composite_over_white(rgb, opaque)
        return rgb
    try:
        if mode in _ALPHA_MODES or "transparency" in image.info:
            rgba = to_unit_range(np.asarray(image.convert("RGBA")), "image")
            return _composite_over_white(rgba[..., :3], rgba[..., 3:])
        return to_unit_range(np.asarray(image.convert("RGB")), "image")
    except ValueError as error:  # e.g. "conversion from LAB to RGB not supported"
        raise ImageError(
            f"`path` has pixel mode {mode!r}, which cannot be converted to RGB at its true scale "
            f"({_one_line(error)}); save it as RGB or grayscale. Received: path={path!r}"
        ) from None


def _unreadable_format(path):
    """Why Pillow could not identify `path`, when its extension and first bytes say more."""
    from PIL import Image

    Image.init()
    extension = os.path.splitext(path)[1].lower()
    format_name = Image.registered_extensions().get(extension)
    if extension in IMAGE_EXTENSIONS and format_name not in Image.OPEN:
        return (f"this Pillow cannot read {extension} files (upgrade Pillow, e.g. "
                f"`pip install -U pillow`, for AVIF)")
    if format_name in Image.OPEN:
        accept = Image.OPEN[format_name][1]
        with open(path, "rb") as f:
            prefix = f.read(16)
        if accept is not None and accept(prefix):
            return (f"it is a {format_name} file in a pixel format Pillow cannot decode (e.g. 3-channel "
                    "float or 16-bit gray with alpha); save it as 8- or 16-bit RGB or grayscale")
    return None


def load_image(path, min_size=32, max_pixels=None):
    """Reads an image file as float32 RGB in [0, 1], at the file's true scale.

    Every Pillow mode is scaled by its bit depth (see the module doc):
    8-bit / 255, 16-bit / 65535, 1-bit to 0 or 1, floats must be in [0, 1].
    Transparent pixels become white, CMYK and palettes are converted to RGB
    and the EXIF orientation is applied.

    Args:
        path: path of the image file.
        min_size: smallest accepted shorter side, in pixels. Defaults to `32`.
        max_pixels: largest accepted width x height; `None` (default) uses
            `$TF_CBAM_STYLE_MAX_PIXELS`, else twice Pillow's
            `Image.MAX_IMAGE_PIXELS` (Pillow's decompression-bomb limit,
            about 179 megapixels); `0` means no limit.

    Returns:
        A float32 array of shape `(height, width, 3)` with values in [0, 1].

    Raises:
        ImageError: the file is missing, is not an image, is truncated or
            corrupt, is smaller than `min_size` or larger than `max_pixels`,
            or holds pixels with no agreed scale (int32 over 65535, floats
            outside [0, 1], a mode such as LAB).

    Example:

    >>> load_image("examples/content/lotus.jpg").shape
    (288, 512, 3)
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ImageError(f"`path` does not exist or is not a file. Received: path={path!r}")
    limit = max_pixels_limit(max_pixels)
    try:
        with _pillow_settings(), Image.open(path) as image:
            width, height = image.size
            if min(width, height) < min_size:
                raise ImageError(
                    f"`path` is {width}x{height} pixels; images must be at least "
                    f"{min_size} pixels on their shorter side. Received: path={path!r}"
                )
            if limit is not None and width * height > limit:
                raise ImageError(
                    f"`path` is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels), over "
                    f"the limit of {limit / 1e6:.1f} megapixels that guards against decompression "
                    f"bombs (twice Pillow's Image.MAX_IMAGE_PIXELS by default). If you trust the file, "
                    f"raise it with --max-pixels {width * height} or {MAX_PIXELS_ENV_VAR}="
                    f"{width * height} (0: no limit). Received: path={path!r}"
                )
            image.load()
            image = ImageOps.exif_transpose(image)
            return _to_rgb_array(image, path)
    except ImageError:
        raise
    except UnidentifiedImageError as error:
        reason = _unreadable_format(path)
        if reason:
            raise ImageError(f"`path` cannot be read: {reason}. Received: path={path!r}") from error
        raise ImageError(f"`path` is not an image file. Received: path={path!r}") from error
    except Exception as error:
        raise ImageError(
            f"`path` is a truncated or corrupt image: {_one_line(error)}. "
            f"Received: path={path!r}"
        ) from error


# ---------------------------------------------------------------------------
# Writing
# ---------------------------------------------------------------------------


def image_format(path):
    """The PIL format name (e.g. `"PNG"`) that `path`'s extension selects.

    Raises:
        ImageError: the extension is missing or no PIL writer handles it.
    """
    from PIL import Image

    extension = os.path.splitext(os.fspath(path))[1].lower()
    format_name = Image.registered_extensions().get(extension)
    if format_name is None or format_name not in Image.SAVE:
        raise ImageError(
            "`path` must end with an image extension such as .png, .jpg or .webp. "
            f"Received: path={os.fspath(path)!r}"
        )
    return format_name


def _encode(pil_image, file, format_name):
    pil_image.save(file, format=format_name, **_SAVE_OPTIONS.get(format_name, {}))


def _check_written_size(file, format_name, size, path):
    """Raises `ImageError` if the encoded `file` does not hold a `size` image."""
    from PIL import Image

    file.seek(0)
    with Image.open(file) as written:
        stored = Size(*written.size)
    if stored != tuple(size):
        raise ImageError(
            f"{format_name} cannot hold a {size[0]}x{size[1]} image (it would be written as "
            f"{stored.width}x{stored.height}); choose .png, .jpg or .webp. Received: path={path!r}"
        )


_PROBED = {}  # (format, size, mode) -> error message or None


def _probe(format_name, size, mode, path):
    """Encodes a blank `size` image of `mode` in memory: can `format_name` write it as is?"""
    from PIL import Image

    key = (format_name, tuple(size), mode)
    if key not in _PROBED:
        buffer = _bytes_io.BytesIO()
        try:
            _encode(Image.new(mode, tuple(size)), buffer, format_name)
            _check_written_size(buffer, format_name, size, "")
            _PROBED[key] = None
        except ImageError as error:
            _PROBED[key] = str(error).rsplit(" Received:", 1)[0]
        except Exception as error:  # e.g. "cannot write mode RGB as XBM"
            _PROBED[key] = (f"{format_name} cannot store a {size[0]}x{size[1]} {mode} image "
                            f"({_one_line(error)}); choose .png, .jpg or .webp")
    if _PROBED[key]:
        raise ImageError(f"`path`: {_PROBED[key]}. Received: path={path!r}")


def check_output_path(path, overwrite=False, size=None, mode="RGB"):
    """Raises `ImageError` if `save_image(path, ..., overwrite)` would fail.

    Checks the extension, that the folder exists and that `path` is not an
    existing file (unless `overwrite`) or folder; with `size`, also that the
    format can store a `size` image of `mode` as it is (`.xbm` cannot store
    RGB; `.ico` cannot hold 300x200), by encoding a blank one in memory.

    Args:
        path: the output path.
        overwrite: whether an existing file may be replaced.
        size: optional `(width, height)` of the image to be written.
        mode: `"RGB"` (images) or `"L"` (attention maps). Defaults to `"RGB"`.

    Returns:
        The PIL format name `path` selects.
    """
    path = os.fspath(path)
    format_name = image_format(path)
    directory = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(directory):
        raise ImageError(
            f"The folder of `path` does not exist: {directory!r}. Received: path={path!r}"
        )
    if os.path.isdir(path):
        raise ImageError(f"`path` is a folder, not a file name. Received: path={path!r}")
    if os.path.lexists(path) and not overwrite:
        raise ImageError(
            f"`path` already exists; pass overwrite=True (--overwrite) to replace it. "
            f"Received: path={path!r}"
        )
    if size is not None:
        _probe(format_name, size, mode, path)
    return format_name


def to_uint8(image):
    """Float [0, 1] (or uint8) array -> uint8 array, rounding and clipping."""
    image = np.asarray(image)
    if image.dtype == np.uint8:
        return image
    image = np.nan_to_num(image.astype(np.float32), nan=0.0)
    return np.round(np.clip(image, 0.0, 1.0) * 255.0).astype(np.uint8)


def save_image(path, image, overwrite=False):
    """Writes `image` as an 8-bit file whose format follows the extension.

    The file is written to a temporary name in the same folder, checked to
    hold an image of the array's size, and then renamed, so `path` either
    holds the complete image at its size or is untouched.

    Args:
        path: output path; `.png`, `.jpg`, `.webp`, ... select the format.
        image: float array in [0, 1] (or uint8), `(height, width, 3)` RGB or
            `(height, width)` grayscale (e.g. an attention map).
        overwrite: whether to replace an existing file. Defaults to `False`.

    Returns:
        `path`.

    Raises:
        ImageError: bad extension, missing folder, existing file without
            `overwrite`, an array that is not an image, or a format that
            cannot store it at its size (`.xbm` for RGB, `.ico` over 256 px).
    """
    from PIL import Image

    path = os.fspath(path)
    image = np.asarray(image)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if not (image.ndim == 2 or (image.ndim == 3 and image.shape[-1] == 3)) or 0 in image.shape:
        raise ImageError(
            "`image` must be a non-empty (height, width, 3) or (height, width) array. "
            f"Received: image.shape={image.shape}"
        )
    format_name = check_output_path(path, overwrite=overwrite)
    pil_image = Image.fromarray(to_uint8(image))
    directory, name = os.path.split(os.path.abspath(path))
    temporary = os.path.join(directory, f".{name}.{secrets.token_hex(4)}.tmp")
    try:
        # "x" creates the file with the usual umask permissions.
        with open(temporary, "xb+") as f:
            _encode(pil_image, f, format_name)
            _check_written_size(f, format_name, pil_image.size, path)
        os.replace(temporary, path)
    except BaseException:
        with contextlib.suppress(OSError):
            os.remove(temporary)
        raise
    return path


def resize_image(image, size):
    """Resizes a float image with PIL's LANCZOS filter (antialiased).

    Args:
        image: float array `(height, width, channels)` or `(height, width)`.
        size: target `(width, height)`, PIL's order; a `Size` works.

    Returns:
        A float32 array of the new size, clipped to [0, 1].
    """
    from PIL import Image

    width, height = (int(v) for v in size)
    if width < 1 or height < 1:
        raise ValueError(f"`size` must be positive (width, height). Received: size={tuple(size)}")
    image = np.asarray(image, dtype=np.float32)
    if image.ndim not in (2, 3):
        raise ValueError(
            f"`image` must be (height, width[, channels]). Received: image.shape={image.shape}"
        )
    if image_size(image) == (width, height):
        return image.copy()
    planes = image[..., None] if image.ndim == 2 else image
    resized = np.stack(
        [
            np.asarray(
                Image.fromarray(np.ascontiguousarray(planes[..., c])).resize(
                    (width, height), Image.Resampling.LANCZOS
                )
            )
            for c in range(planes.shape[-1])
        ],
        axis=-1,
    )
    resized = np.clip(resized, 0.0, 1.0)
    return resized[..., 0] if image.ndim == 2 else resized


def fit_max_size(image, max_size, min_size=None):
    """Downscales `image` so that its longer side is at most `max_size`.

    Args:
        image: float array `(height, width[, channels])`.
        max_size: int, or `None` to leave the image as it is.
        min_size: optional int; downscaling stops where the shorter side
            would drop below it (the longer side may then exceed
            `max_size`). Defaults to `None`.

    Returns:
        `FitResult(image, resized, original_size, new_size)`, sizes as
        `Size(width, height)`; `resized` is `False` when nothing changed.
    """
    for name, value in (("max_size", max_size), ("min_size", min_size)):
        if value is not None and (
            isinstance(value, bool) or not isinstance(value, int) or value < 1
        ):
            raise ValueError(f"`{name}` must be a positive int or None. Received: {name}={value!r}")
    original = image_size(image)
    if max_size is None:
        return FitResult(image, False, original, original)
    scale = max_size / max(original)
    if min_size is not None:
        scale = max(scale, min_size / min(original))
    if scale >= 1.0:
        return FitResult(image, False, original, original)
    new = Size(
        max(1, min(original.width, round(original.width * scale))),
        max(1, min(original.height, round(original.height * scale))),
    )
    return FitResult(resize_image(image, new), True, original, new)
