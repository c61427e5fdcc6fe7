"""Contact sheets: a grid of images, each letterboxed into a square cell."""

import numpy as np

from tf_cbam_style.io import Size, resize_image


def to_rgb(image):
    """`(H, W)` or `(H, W, 1)` grayscale -> `(H, W, 3)`; RGB is returned as is."""
    image = np.asarray(image, dtype=np.float32)
    if image.ndim == 3 and image.shape[-1] == 1:
        image = image[..., 0]
    if image.ndim == 2:
        return np.repeat(image[..., None], 3, axis=-1)
    return image


def letterbox(image, size, background=1.0):
    """Scales `image` to fit a `size` x `size` square and centres it there.

    Args:
        image: float `(H, W, 3)` or `(H, W)` in [0, 1].
        size: int, side of the square cell.
        background: grey level of the bars. Defaults to white.

    Returns:
        A float32 `(size, size, 3)` array.
    """
    if not isinstance(size, int) or size < 1:
        raise ValueError(f"`size` must be a positive int. Received: size={size!r}")
    image = to_rgb(image)
    height, width = image.shape[:2]
    scale = size / max(height, width)
    new_width = max(1, min(size, round(width * scale)))
    new_height = max(1, min(size, round(height * scale)))
    resized = resize_image(image, (new_width, new_height))
    cell = np.full((size, size, 3), background, np.float32)
    top, left = (size - new_height) // 2, (size - new_width) // 2
    cell[top : top + new_height, left : left + new_width] = resized
    return cell


def colorize(attention, colormap="inferno"):
    """Colour-maps an `(H, W)` map in [0, 1] with matplotlib, else grey.

    Returns:
        A float32 `(H, W, 3)` array in [0, 1].
    """
    attention = np.clip(np.asarray(attention, dtype=np.float32), 0.0, 1.0)
    if attention.ndim == 3 and attention.shape[-1] == 1:
        attention = attention[..., 0]
    try:
        import matplotlib
    except ImportError:
        return to_rgb(attention)
    return matplotlib.colormaps[colormap](attention)[..., :3].astype(np.float32)


def sheet_size(rows, columns, cell_size, gutter=4):
    """The `Size(width, height)` of a `contact_sheet` of `rows` x `columns` cells."""
    step = cell_size + gutter
    return Size(columns * step + gutter, rows * step + gutter)


def contact_sheet(grid, cell_size, gutter=4, background=1.0):
    """Lays out a grid of images as one image with gutters between cells.

    Args:
        grid: list of rows, each a list of images (`(H, W, 3)` or `(H, W)`
            floats in [0, 1]) or `None` for a blank cell; rows may differ in
            length (shorter rows end in blank cells).
        cell_size: int, side of each square cell in pixels.
        gutter: int, width of the gaps and the border. Defaults to `4`.
        background: grey level of gutters and blank cells. Defaults to white.

    Returns:
        A float32 `(rows * (cell_size + gutter) + gutter, ..., 3)` array.
    """
    rows = len(grid)
    columns = max((len(row) for row in grid), default=0)
    if rows == 0 or columns == 0:
        raise ValueError(f"`grid` must hold at least one cell. Received: grid={grid!r}")
    if not isinstance(gutter, int) or gutter < 0:
        raise ValueError(f"`gutter` must be a non-negative int. Received: gutter={gutter!r}")
    step = cell_size + gutter
    width, height = sheet_size(rows, columns, cell_size, gutter)
    sheet = np.full((height, width, 3), background, np.float32)
    for r, row in enumerate(grid):
        for c, image in enumerate(row):
            if image is None:
                continue
            top, left = gutter + r * step, gutter + c * step
            sheet[top : top + cell_size, left : left + cell_size] = letterbox(
                image, cell_size, background
            )
    return sheet
