"""Reading and writing images as float32 arrays in [0, 1].

Every image enters and leaves the package through this module:
`load_image` turns any file PIL can read (any mode, any EXIF orientation)
into an `(height, width, 3)` RGB array, and `save_image` writes an array
atomically so that no partial file is ever left behind. PIL is imported when
a function is first called.
"""

import collections
import contextlib
import os
import secrets

import numpy as np

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".bmp", ".gif", ".webp", ".tif", ".tiff")

_SIXTEEN_BIT_MODES = ("I;16", "I;16L", "I;16B", "I;16N", "I")
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


@contextlib.contextmanager
def _strict_truncation():
    """Makes PIL raise on truncated files, restoring the caller's setting."""
    from PIL import ImageFile

    previous = ImageFile.LOAD_TRUNCATED_IMAGES
    ImageFile.LOAD_TRUNCATED_IMAGES = False
    try:
        yield
    finally:
        ImageFile.LOAD_TRUNCATED_IMAGES = previous


def _one_line(error):
    return " ".join(str(error).split()) or type(error).__name__


def _to_rgb_array(image):
    """Converts a loaded PIL image of any mode to float32 RGB in [0, 1]."""
    if image.mode in _SIXTEEN_BIT_MODES:
        # 16-bit PNG/TIFF grayscale: integer levels 0..65535.
        gray = np.asarray(image).astype(np.float32) / 65535.0
        gray = np.clip(gray, 0.0, 1.0)
        return np.repeat(gray[..., None], 3, axis=-1)
    if image.mode in _ALPHA_MODES or "transparency" in image.info:
        rgba = np.asarray(image.convert("RGBA"), dtype=np.float32) / 255.0
        alpha = rgba[..., 3:]
        # Composite over white.
        return rgba[..., :3] * alpha + (1.0 - alpha)
    return np.asarray(image.convert("RGB"), dtype=np.float32) / 255.0


def load_image(path, min_size=32):
    """Reads an image file as float32 RGB in [0, 1].

    Grayscale, palette, 16-bit, CMYK and transparent images are converted to
    RGB (transparent pixels become white) and the EXIF orientation is
    applied.

    Args:
        path: path of the image file.
        min_size: smallest accepted shorter side, in pixels. Defaults to `32`.

    Returns:
        A float32 array of shape `(height, width, 3)` with values in [0, 1].

    Raises:
        ImageError: the file is missing, is not an image, is truncated or
            corrupt, or is smaller than `min_size`.
    """
    from PIL import Image, ImageOps, UnidentifiedImageError

    path = os.fspath(path)
    if not os.path.isfile(path):
        raise ImageError(f"`path` does not exist or is not a file. Received: path={path!r}")
    try:
        with Image.open(path) as image:
            width, height = image.size
            if min(width, height) < min_size:
                raise ImageError(
                    f"`path` is {width}x{height} pixels; images must be at least "
                    f"{min_size} pixels on their shorter side. Received: path={path!r}"
                )
            with _strict_truncation():
                image.load()
            image = ImageOps.exif_transpose(image)
            return _to_rgb_array(image)
    except ImageError:
        raise
    except UnidentifiedImageError as error:
        raise ImageError(f"`path` is not an image file. Received: path={path!r}") from error
    except Exception as error:
        raise ImageError(
            f"`path` is a truncated or corrupt image: {_one_line(error)}. "
            f"Received: path={path!r}"
        ) from error


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


def check_output_path(path, overwrite=False):
    """Raises `ImageError` if `save_image(path, ..., overwrite)` would fail.

    Checks the extension, that the folder exists and that `path` is not an
    existing file (unless `overwrite`) or folder.

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

    The file is written to a temporary name in the same folder and then
    renamed, so `path` either holds the complete image or is untouched.

    Args:
        path: output path; `.png`, `.jpg`, `.webp`, ... select the format.
        image: float array in [0, 1] (or uint8), `(height, width, 3)` RGB or
            `(height, width)` grayscale (e.g. an attention map).
        overwrite: whether to replace an existing file. Defaults to `False`.

    Returns:
        `path`.

    Raises:
        ImageError: bad extension, missing folder, existing file without
            `overwrite`, or an array that is not an image.
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
        with open(temporary, "xb") as f:
            pil_image.save(f, format=format_name, **_SAVE_OPTIONS.get(format_name, {}))
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
