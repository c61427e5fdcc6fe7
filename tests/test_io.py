import os
import struct
import zlib

import numpy as np
import pytest
from PIL import Image, ImageFile

from tf_cbam_style import io


def _write_png16_rgb(path, rgb):
    """Writes a 16-bit RGB PNG by hand (PIL cannot write 48-bit images)."""
    height, width = rgb.shape[:2]
    raw = b"".join(b"\x00" + rgb[y].astype(">u2").tobytes() for y in range(height))

    def chunk(tag, data):
        return (
            struct.pack(">I", len(data)) + tag + data
            + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)
        )

    header = struct.pack(">IIBBBBB", width, height, 16, 2, 0, 0, 0)
    with open(path, "wb") as f:
        f.write(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
                + chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b""))


def _assert_rgb(image, shape):
    assert image.dtype == np.float32
    assert image.shape == shape
    assert image.min() >= 0.0 and image.max() <= 1.0


# ---------------------------------------------------------------------------
# load_image: bad input
# ---------------------------------------------------------------------------


def test_missing_file_names_it(tmp_path):
    path = tmp_path / "missing.jpg"
    with pytest.raises(io.ImageError, match="missing.jpg"):
        io.load_image(path)


def test_folder_is_not_a_file(tmp_path):
    with pytest.raises(io.ImageError, match="not a file"):
        io.load_image(tmp_path)


def test_text_file_renamed_jpg(tmp_path):
    path = tmp_path / "notes.jpg"
    path.write_text("not an image\n")
    with pytest.raises(io.ImageError, match="not an image.*notes.jpg"):
        io.load_image(path)


@pytest.mark.parametrize("extension", [".jpg", ".png"])
def test_truncated_image(write_image, extension):
    path = write_image("cut" + extension, 64, 64)
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])
    with pytest.raises(io.ImageError, match="truncated.*cut" + extension):
        io.load_image(path)


def test_truncated_image_detected_even_if_flag_set_elsewhere(write_image, monkeypatch):
    path = write_image("cut.jpg", 64, 64)
    data = open(path, "rb").read()
    with open(path, "wb") as f:
        f.write(data[: len(data) // 2])
    monkeypatch.setattr(ImageFile, "LOAD_TRUNCATED_IMAGES", True)
    with pytest.raises(io.ImageError, match="truncated"):
        io.load_image(path)
    # The caller's setting is restored.
    assert ImageFile.LOAD_TRUNCATED_IMAGES is True


def test_truncation_flag_is_left_alone(write_image):
    io.load_image(write_image("ok.png"))
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_too_small(write_image):
    path = write_image("tiny.png", height=31, width=80)
    with pytest.raises(io.ImageError, match=r"80x31.*32.*tiny.png"):
        io.load_image(path)
    assert io.load_image(path, min_size=16).shape == (31, 80, 3)


def test_error_messages_are_one_line(tmp_path):
    path = tmp_path / "bad.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00" * 40)
    with pytest.raises(io.ImageError) as info:
        io.load_image(path)
    assert "\n" not in str(info.value)
    assert str(info.value).endswith(f"Received: path={str(path)!r}")


# ---------------------------------------------------------------------------
# load_image: modes
# ---------------------------------------------------------------------------


def test_rgb_values(tmp_path):
    pixels = np.zeros((32, 40, 3), np.uint8)
    pixels[0, 0] = (255, 128, 0)
    Image.fromarray(pixels).save(tmp_path / "rgb.png")
    image = io.load_image(tmp_path / "rgb.png")
    _assert_rgb(image, (32, 40, 3))
    np.testing.assert_allclose(image[0, 0], [1.0, 128 / 255, 0.0], atol=1e-6)


def test_grayscale_l(tmp_path):
    Image.new("L", (40, 32), 128).save(tmp_path / "l.png")
    image = io.load_image(tmp_path / "l.png")
    _assert_rgb(image, (32, 40, 3))
    np.testing.assert_allclose(image, 128 / 255, atol=1e-6)


def test_bilevel(tmp_path):
    Image.new("1", (40, 32), 1).save(tmp_path / "one.png")
    np.testing.assert_allclose(io.load_image(tmp_path / "one.png"), 1.0)


def test_rgba_composites_over_white(tmp_path):
    pixels = np.zeros((32, 32, 4), np.uint8)
    pixels[..., 0] = 255  # red everywhere
    pixels[0, 0, 3] = 0  # transparent
    pixels[0, 1, 3] = 255  # opaque
    pixels[0, 2, 3] = 128  # half
    Image.fromarray(pixels, "RGBA").save(tmp_path / "rgba.png")
    image = io.load_image(tmp_path / "rgba.png")
    _assert_rgb(image, (32, 32, 3))
    np.testing.assert_allclose(image[0, 0], [1, 1, 1], atol=1e-6)
    np.testing.assert_allclose(image[0, 1], [1, 0, 0], atol=1e-6)
    np.testing.assert_allclose(image[0, 2], [1, 127 / 255, 127 / 255], atol=1e-6)


def test_la_composites_over_white(tmp_path):
    pixels = np.zeros((32, 32, 2), np.uint8)
    pixels[0, 1, 1] = 255
    Image.fromarray(pixels, "LA").save(tmp_path / "la.png")
    image = io.load_image(tmp_path / "la.png")
    _assert_rgb(image, (32, 32, 3))
    np.testing.assert_allclose(image[0, 0], [1, 1, 1])
    np.testing.assert_allclose(image[0, 1], [0, 0, 0])


@pytest.mark.parametrize("extension", [".png", ".gif"])
def test_palette_with_transparency(tmp_path, extension):
    image = Image.new("P", (40, 32), 1)
    image.putpalette([0, 0, 0, 0, 0, 255] + [0] * 762)
    image.putpixel((0, 0), 0)
    path = tmp_path / ("p" + extension)
    image.save(path, transparency=0)
    loaded = io.load_image(path)
    _assert_rgb(loaded, (32, 40, 3))
    np.testing.assert_allclose(loaded[0, 0], [1, 1, 1])
    np.testing.assert_allclose(loaded[5, 5], [0, 0, 1])


def test_palette_without_transparency(tmp_path):
    image = Image.new("P", (40, 32), 1)
    image.putpalette([0, 0, 0, 0, 255, 0] + [0] * 762)
    image.save(tmp_path / "p.png")
    np.testing.assert_allclose(io.load_image(tmp_path / "p.png")[3, 3], [0, 1, 0])


def test_grayscale_16_bit(tmp_path):
    levels = np.zeros((32, 40), np.uint16)
    levels[0, :3] = (0, 32768, 65535)
    Image.fromarray(levels).save(tmp_path / "g16.png")
    assert Image.open(tmp_path / "g16.png").mode.startswith("I")
    image = io.load_image(tmp_path / "g16.png")
    _assert_rgb(image, (32, 40, 3))
    np.testing.assert_allclose(image[0, :3, 0], [0.0, 32768 / 65535, 1.0], atol=1e-6)
    np.testing.assert_array_equal(image[..., 0], image[..., 2])


def test_grayscale_32_bit_integer_mode(tmp_path):
    levels = np.zeros((32, 40), np.int32)
    levels[0, :2] = (32768, 65535)
    image = Image.fromarray(levels)
    assert image.mode == "I"
    image.save(tmp_path / "i.tif")
    np.testing.assert_allclose(
        io.load_image(tmp_path / "i.tif")[0, :2, 1], [32768 / 65535, 1.0], atol=1e-6
    )


def test_rgb_16_bit(tmp_path):
    rgb = np.zeros((32, 40, 3), np.uint16)
    rgb[0, 0] = (65535, 32768, 0)
    _write_png16_rgb(tmp_path / "rgb16.png", rgb)
    image = io.load_image(tmp_path / "rgb16.png")
    _assert_rgb(image, (32, 40, 3))
    np.testing.assert_allclose(image[0, 0], [1.0, 0.5, 0.0], atol=1 / 255)


def test_cmyk(tmp_path):
    Image.new("CMYK", (40, 32), (0, 255, 255, 0)).save(tmp_path / "cmyk.tif")
    image = io.load_image(tmp_path / "cmyk.tif")
    _assert_rgb(image, (32, 40, 3))
    np.testing.assert_allclose(image[0, 0], [1, 0, 0])


def test_exif_orientation(tmp_path):
    pixels = np.zeros((40, 64, 3), np.uint8)
    pixels[:8, :8] = 255  # white block at the stored top-left
    image = Image.fromarray(pixels)
    exif = Image.Exif()
    exif[0x0112] = 6  # displayed rotated 90 degrees clockwise
    image.save(tmp_path / "rotated.png", exif=exif)
    loaded = io.load_image(tmp_path / "rotated.png")
    _assert_rgb(loaded, (64, 40, 3))
    assert loaded[:8, -8:].mean() == 1.0  # now at the top-right
    assert loaded[:8, :8].mean() == 0.0


# ---------------------------------------------------------------------------
# save_image
# ---------------------------------------------------------------------------


def test_save_round_trip(tmp_path):
    image = np.random.default_rng(0).random((33, 47, 3)).astype(np.float32)
    path = io.save_image(tmp_path / "out.png", image)
    assert path == str(tmp_path / "out.png")
    np.testing.assert_allclose(io.load_image(path), image, atol=0.5 / 255 + 1e-6)


def test_save_grayscale_and_jpeg(tmp_path):
    attention = np.linspace(0, 1, 40 * 32, dtype=np.float32).reshape(32, 40)
    io.save_image(tmp_path / "map.png", attention)
    with Image.open(tmp_path / "map.png") as saved:
        assert saved.mode == "L" and saved.size == (40, 32)
    io.save_image(tmp_path / "map.jpg", attention[..., None])
    with Image.open(tmp_path / "map.jpg") as saved:
        assert saved.format == "JPEG"


def test_save_clips_out_of_range(tmp_path):
    image = np.full((32, 32, 3), 2.0, np.float32)
    image[0, 0] = -1.0
    image[0, 1] = np.nan
    io.save_image(tmp_path / "c.png", image)
    loaded = io.load_image(tmp_path / "c.png")
    assert loaded[1, 1, 0] == 1.0 and loaded[0, 0, 0] == 0.0 and loaded[0, 1, 0] == 0.0


def test_save_unknown_extension(tmp_path):
    with pytest.raises(io.ImageError, match=r"extension.*out\.xyz"):
        io.save_image(tmp_path / "out.xyz", np.zeros((8, 8, 3)))
    assert os.listdir(tmp_path) == []


def test_save_missing_folder(tmp_path):
    with pytest.raises(io.ImageError, match="does not exist"):
        io.save_image(tmp_path / "nowhere" / "out.png", np.zeros((8, 8, 3)))


def test_save_bad_shape(tmp_path):
    with pytest.raises(io.ImageError, match="image.shape"):
        io.save_image(tmp_path / "out.png", np.zeros((8, 8, 4)))


def test_save_refuses_overwrite(tmp_path):
    path = tmp_path / "out.png"
    path.write_bytes(b"keep me")
    with pytest.raises(io.ImageError, match="already exists.*out.png"):
        io.save_image(path, np.zeros((8, 8, 3)))
    assert path.read_bytes() == b"keep me"
    io.save_image(path, np.ones((8, 8, 3)), overwrite=True)
    assert io.load_image(path, min_size=1).min() == 1.0


@pytest.mark.parametrize("failure", [OSError("disk full"), KeyboardInterrupt()])
def test_save_is_atomic(tmp_path, monkeypatch, failure):
    def partial_save(self, fp, *args, **kwargs):
        fp.write(b"\x89PNG partial")
        raise failure

    monkeypatch.setattr(Image.Image, "save", partial_save)
    with pytest.raises(type(failure)):
        io.save_image(tmp_path / "out.png", np.zeros((8, 8, 3)))
    assert os.listdir(tmp_path) == []


def test_save_atomic_keeps_previous_file(tmp_path, monkeypatch):
    path = tmp_path / "out.png"
    io.save_image(path, np.zeros((8, 8, 3)))
    before = path.read_bytes()

    def failing_save(self, fp, *args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(Image.Image, "save", failing_save)
    with pytest.raises(OSError):
        io.save_image(path, np.ones((8, 8, 3)), overwrite=True)
    assert path.read_bytes() == before
    assert os.listdir(tmp_path) == ["out.png"]


# ---------------------------------------------------------------------------
# Resizing
# ---------------------------------------------------------------------------


def test_fit_max_size_downscales():
    image = np.random.default_rng(0).random((50, 100, 3)).astype(np.float32)
    result = io.fit_max_size(image, 40)
    assert result.resized
    assert result.original_size == io.Size(width=100, height=50)
    assert result.new_size == io.Size(width=40, height=20)
    assert result.image.shape == (20, 40, 3) and result.image.dtype == np.float32
    assert result.image.min() >= 0.0 and result.image.max() <= 1.0


@pytest.mark.parametrize("max_size", [None, 100, 500])
def test_fit_max_size_no_op(max_size):
    image = np.zeros((50, 100, 3), np.float32)
    result = io.fit_max_size(image, max_size)
    assert not result.resized
    assert result.image is image
    assert result.original_size == result.new_size == (100, 50)


def test_fit_max_size_keeps_min_size():
    image = np.zeros((40, 400, 3), np.float32)
    result = io.fit_max_size(image, 100, min_size=32)
    assert result.resized and result.new_size == (320, 32)
    assert io.fit_max_size(image, 100, min_size=40).resized is False
    assert io.fit_max_size(image, 100).new_size == (100, 10)


@pytest.mark.parametrize("max_size", [0, -3, 2.5, True])
def test_fit_max_size_rejects_bad_size(max_size):
    with pytest.raises(ValueError, match="Received: max_size="):
        io.fit_max_size(np.zeros((8, 8, 3)), max_size)


def test_resize_image_grayscale_and_constant():
    image = np.full((10, 20), 0.25, np.float32)
    resized = io.resize_image(image, (7, 3))
    assert resized.shape == (3, 7)
    np.testing.assert_allclose(resized, 0.25, atol=1e-5)
    upsampled = io.resize_image(np.full((10, 20, 3), 1.0, np.float32), io.Size(40, 20))
    assert upsampled.shape == (20, 40, 3) and upsampled.max() <= 1.0
