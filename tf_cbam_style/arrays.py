"""The one rule that turns arrays into images and masks (numpy only).

Used alike by the Python API, the command line (after decoding a file),
the serving client and the test stand-in:

- `uint8` is divided by 255 and `uint16` by 65535, whatever the values
  (a 16-bit image whose values stay below 256 is a very dark 16-bit image,
  not an 8-bit one);
- `bool` masks are 0 or 1;
- floats (16, 32 or 64 bit) must already be in [0, 1]: values outside
  `[-1e-3, 1 + 1e-3]` raise a `ValueError` naming the range found (a
  common slip is 0-255 floats); values inside that slack are clipped;
- other integer types (int8, int32, uint32, ...) carry no agreed scale and
  are refused;
- NaN and inf are refused.

An RGB mask `(H, W, 3)` is converted to its BT.601 luminance (other
channel counts are refused). An image must be RGB `(H, W, 3)`.
"""

import numpy as np

FLOAT_SLACK = 1e-3
LUMA = np.asarray((0.299, 0.587, 0.114), np.float32)


def to_unit_range(array, name):
    """`array` as float32 in [0, 1] by the dtype rule above.

    Raises:
        ValueError: naming `name`, for unsupported dtypes, non-finite values
            or floats outside [0, 1].
    """
    array = np.asarray(array)
    kind, dtype = array.dtype.kind, array.dtype
    if dtype == np.uint8:
        return array.astype(np.float32) / 255.0
    if dtype == np.uint16:
        return array.astype(np.float32) / 65535.0
    if kind == "b":
        return array.astype(np.float32)
    if kind in "ui":
        raise ValueError(
            f"`{name}` must be uint8 (0-255), uint16 (0-65535) or float in [0, 1]; {dtype} has no "
            f"agreed scale. Received: {name}.dtype={dtype}"
        )
    if kind != "f":
        raise ValueError(
            f"`{name}` must be a uint8, uint16 or float array. Received: {name}.dtype={dtype}"
        )
    values = array.astype(np.float32)
    if values.size and not np.isfinite(values).all():
        raise ValueError(f"`{name}` must not contain NaN or inf. Received: {name} with non-finite values")
    if values.size:
        lo, hi = float(values.min()), float(values.max())
        if lo < -FLOAT_SLACK or hi > 1.0 + FLOAT_SLACK:
            hint = " (divide 8-bit values by 255)" if hi <= 255.0 + FLOAT_SLACK and lo >= 0 else ""
            raise ValueError(
                f"`{name}` floats must be in [0, 1]{hint}. Received: {name} with values in "
                f"[{lo:.4g}, {hi:.4g}]"
            )
    return np.clip(values, 0.0, 1.0)


def as_image(array, name="image", *, batch=False, min_size=32):
    """An RGB image (or batch) as float32 in [0, 1].

    Args:
        array: `(H, W, 3)`, or `(1, H, W, 3)`; with `batch=True` also
            `(batch, H, W, 3)`.
        name: the argument's name for error messages.
        batch: return `(batch, H, W, 3)` instead of `(H, W, 3)`.
        min_size: the smallest side allowed, pixels.

    Returns:
        float32 `(H, W, 3)`, or `(batch, H, W, 3)` with `batch=True`.

    Raises:
        ValueError: naming `name`, for a bad shape, dtype or range.
    """
    array = np.asarray(array)
    shape = array.shape
    if array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[-1] != 3 or (not batch and array.shape[0] != 1) or array.size == 0:
        expected = "(H, W, 3) or (batch, H, W, 3)" if batch else "(H, W, 3)"
        raise ValueError(f"`{name}` must be an {expected} RGB array. Received: {name}.shape={shape}")
    if min(array.shape[1:3]) < min_size:
        raise ValueError(
            f"`{name}` must be at least {min_size}x{min_size} pixels. Received: {name}.shape={shape}"
        )
    image = to_unit_range(array, name)
    return image if batch else image[0]


def as_mask(array, name="mask", *, batch=False):
    """A mask (or batch of masks) as float32 in [0, 1], 1 = salient / foreground.

    Args:
        array: `(H, W)`, `(H, W, 1)` or `(H, W, 3)` (converted to
            luminance, see module doc); with `batch=True` also
            `(batch, H, W, 1)` or `(batch, H, W, 3)`.
        name: the argument's name for error messages.
        batch: return `(batch, H, W, 1)` instead of `(H, W)`.

    Raises:
        ValueError: naming `name`, for a bad shape, dtype or range.
    """
    array = np.asarray(array)
    shape = array.shape
    if array.ndim == 2:
        array = array[None, :, :, None]
    elif array.ndim == 3:
        array = array[None]
    if array.ndim != 4 or array.shape[-1] not in (1, 3) or array.size == 0 or (
            not batch and array.shape[0] != 1):
        expected = "(H, W), (H, W, 1), (H, W, 3)" + (" or (batch, H, W, 1)" if batch else "")
        raise ValueError(f"`{name}` must be an {expected} array. Received: {name}.shape={shape}")
    mask = to_unit_range(array, name)
    if mask.shape[-1] != 1:
        mask = mask @ LUMA[:, None]
    return mask if batch else mask[0, ..., 0]
