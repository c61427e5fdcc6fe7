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


# ---------------------------------------------------------------------------
# load_image: every mode at its true scale, or an error (never a black image)
# ---------------------------------------------------------------------------


def test_float_tiff_in_unit_range_loads_as_is(tmp_path):
    values = np.linspace(0.0, 1.0, 32 * 40, dtype=np.float32).reshape(32, 40)
    Image.fromarray(values).save(tmp_path / "f.tif")
    assert Image.open(tmp_path / "f.tif").mode == "F"
    image = io.load_image(tmp_path / "f.tif")
    _assert_rgb(image, (32, 40, 3))
    np.testing.assert_allclose(image[..., 1], values, atol=1e-6)  # not values / 255
    assert image.max() == 1.0


@pytest.mark.parametrize("value, message", [
    (200.0, r"values in \[200, 200\]; float images must be in \[0, 1\] \(divide 8-bit values by 255\)"),
    (-3.0, r"values in \[-3, -3\]; float images must be in \[0, 1\]\. Received"),
    (np.nan, r"NaN or inf values"),
])
def test_float_tiff_out_of_range_is_refused(tmp_path, value, message):
    Image.fromarray(np.full((32, 40), value, np.float32)).save(tmp_path / "f.tif")
    with pytest.raises(io.ImageError, match=message + r".*f\.tif"):
        io.load_image(tmp_path / "f.tif")


def test_int32_tiff_outside_16_bit_levels_is_refused(tmp_path):
    for value in (70000, -5):
        Image.fromarray(np.full((32, 40), value, np.int32)).save(tmp_path / "i.tif")
        with pytest.raises(io.ImageError, match=rf"32-bit integer pixels with values in \[{value}, {value}\]"):
            io.load_image(tmp_path / "i.tif")


def test_16_bit_pgm_is_mode_i_at_16_bit_scale(tmp_path):
    Image.fromarray(np.full((32, 40), 40000, np.uint16)).save(tmp_path / "g.pgm")
    assert Image.open(tmp_path / "g.pgm").mode == "I"
    np.testing.assert_allclose(io.load_image(tmp_path / "g.pgm"), 40000 / 65535, atol=1e-6)


@pytest.mark.parametrize("mode", ["I;16", "I;16B"])
def test_16_bit_modes_and_byte_orders(tmp_path, mode):
    levels = np.zeros((32, 40), np.uint16)
    levels[0, :3] = (1, 40000, 65535)
    dtype = ">u2" if mode.endswith("B") else "<u2"
    Image.frombytes(mode, (40, 32), levels.astype(dtype).tobytes()).save(tmp_path / "g.tif")
    assert Image.open(tmp_path / "g.tif").mode == mode
    image = io.load_image(tmp_path / "g.tif")
    np.testing.assert_allclose(image[0, :3, 0], [1 / 65535, 40000 / 65535, 1.0], atol=1e-7)


def test_16_bit_gray_with_transparent_colour_key(tmp_path):
    levels = np.full((32, 40), 1000, np.uint16)
    levels[0, 0] = 40000
    Image.fromarray(levels).save(tmp_path / "t.png", transparency=40000)
    image = io.load_image(tmp_path / "t.png")
    np.testing.assert_allclose(image[0, 0], [1, 1, 1])  # transparent -> white
    np.testing.assert_allclose(image[1, 1], 1000 / 65535, atol=1e-7)


def test_rgb_with_transparent_colour_key(tmp_path):
    pixels = np.full((32, 40, 3), 10, np.uint8)
    pixels[0, 0] = (1, 2, 3)
    Image.fromarray(pixels).save(tmp_path / "t.png", transparency=(1, 2, 3))
    image = io.load_image(tmp_path / "t.png")
    np.testing.assert_allclose(image[0, 0], [1, 1, 1])
    np.testing.assert_allclose(image[1, 1], 10 / 255, atol=1e-6)


def test_lab_and_ycbcr_convert_to_rgb(tmp_path):
    Image.new("LAB", (40, 32), (255, 128, 128)).save(tmp_path / "lab.tif")  # L=100, a=b=0: white
    np.testing.assert_allclose(io.load_image(tmp_path / "lab.tif"), 1.0, atol=2 / 255)
    Image.new("YCbCr", (40, 32), (255, 128, 128)).save(tmp_path / "y.jpg")
    np.testing.assert_allclose(io.load_image(tmp_path / "y.jpg"), 1.0, atol=2 / 255)


def test_16_bit_rgb_tiff(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    tifffile.imwrite(tmp_path / "rgb16.tif", np.full((32, 40, 3), 40000, np.uint16), photometric="rgb")
    np.testing.assert_allclose(io.load_image(tmp_path / "rgb16.tif"), 40000 / 65535, atol=1 / 255)


def test_pixel_format_pillow_cannot_decode_is_named(tmp_path):
    tifffile = pytest.importorskip("tifffile")
    tifffile.imwrite(tmp_path / "rgbf.tif", np.full((32, 40, 3), 0.5, np.float32), photometric="rgb")
    with pytest.raises(io.ImageError, match=r"TIFF file in a pixel format Pillow cannot decode.*rgbf\.tif"):
        io.load_image(tmp_path / "rgbf.tif")


def test_avif_and_jfif_load(tmp_path):
    from PIL import features

    Image.new("RGB", (40, 32), (10, 200, 30)).save(tmp_path / "x.jfif")
    np.testing.assert_allclose(io.load_image(tmp_path / "x.jfif")[0, 0], [10 / 255, 200 / 255, 30 / 255],
                               atol=3 / 255)
    if not features.check("avif"):
        pytest.skip("this Pillow has no AVIF")
    Image.new("RGB", (40, 32), (10, 200, 30)).save(tmp_path / "x.avif")
    np.testing.assert_allclose(io.load_image(tmp_path / "x.avif")[0, 0], [10 / 255, 200 / 255, 30 / 255],
                               atol=3 / 255)
    assert ".avif" in io.IMAGE_EXTENSIONS and ".jfif" in io.IMAGE_EXTENSIONS


# ---------------------------------------------------------------------------
# load_image: the decompression-bomb limit
# ---------------------------------------------------------------------------


def _png_header_only(path, width, height):
    """A PNG whose header claims `width` x `height` (no pixel data)."""
    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IEND", b""))
    return path


def test_196_megapixel_image_names_the_limit(tmp_path, monkeypatch):
    monkeypatch.delenv(io.MAX_PIXELS_ENV_VAR, raising=False)
    path = _png_header_only(tmp_path / "huge.png", 14000, 14000)
    with pytest.raises(io.ImageError) as info:
        io.load_image(path)
    message = str(info.value)
    assert "14000x14000 pixels (196.0 megapixels)" in message and "decompression bombs" in message
    assert "--max-pixels 196000000" in message and f"{io.MAX_PIXELS_ENV_VAR}=196000000" in message
    assert "truncated" not in message and "\n" not in message


def test_pixel_limit_between_pillows_warning_and_error_gives_no_warning(write_image, monkeypatch):
    import warnings

    monkeypatch.delenv(io.MAX_PIXELS_ENV_VAR, raising=False)
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 2000)  # Pillow warns above 2000, errs above 4000
    path = write_image("mid.png", 48, 64)  # 3072 pixels
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert io.load_image(path).shape == (48, 64, 3)
    assert Image.MAX_IMAGE_PIXELS == 2000  # restored
    big = write_image("big.png", 64, 64)  # 4096 pixels > 2 x 2000
    with pytest.raises(io.ImageError, match=r"64x64 pixels.*limit of 0\.0 megapixels.*--max-pixels 4096"):
        io.load_image(big)
    assert io.load_image(big, max_pixels=4096).shape == (64, 64, 3)
    assert io.load_image(big, max_pixels=0).shape == (64, 64, 3)  # no limit
    monkeypatch.setenv(io.MAX_PIXELS_ENV_VAR, "5000")
    assert io.load_image(big).shape == (64, 64, 3)
    monkeypatch.setenv(io.MAX_PIXELS_ENV_VAR, "lots")
    with pytest.raises(ValueError, match=rf"`{io.MAX_PIXELS_ENV_VAR}` must be a pixel count.*'lots'"):
        io.load_image(big)
    with pytest.raises(ValueError, match=r"Received: max_pixels=-1"):
        io.load_image(big, max_pixels=-1)


# ---------------------------------------------------------------------------
# Output formats: checked up front, never a file of another size
# ---------------------------------------------------------------------------


def test_check_output_path_probes_the_format(tmp_path):
    assert io.check_output_path(tmp_path / "a.png", size=(128, 96)) == "PNG"
    with pytest.raises(io.ImageError, match=r"XBM cannot store a 128x96 RGB image.*a\.xbm"):
        io.check_output_path(tmp_path / "a.xbm", size=(128, 96))
    with pytest.raises(io.ImageError, match=r"ICO cannot hold a 128x96 image \(it would be written as 64x48\)"):
        io.check_output_path(tmp_path / "a.ico", size=(128, 96))
    assert io.check_output_path(tmp_path / "a.ico", size=(64, 64)) == "ICO"
    assert io.check_output_path(tmp_path / "m.jpg", size=(64, 48), mode="L") == "JPEG"
    assert os.listdir(tmp_path) == []


def test_save_never_writes_another_size(tmp_path):
    with pytest.raises(io.ImageError, match="it would be written as 64x48"):
        io.save_image(tmp_path / "a.ico", np.zeros((96, 128, 3)))
    with pytest.raises(OSError, match="cannot write mode RGB as XBM"):
        io.save_image(tmp_path / "a.xbm", np.zeros((96, 128, 3)))
    assert os.listdir(tmp_path) == []
    io.save_image(tmp_path / "a.ico", np.zeros((64, 64, 3)))
    assert Image.open(tmp_path / "a.ico").size == (64, 64)
