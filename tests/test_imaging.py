"""Every awkward input decodes the documented way, or fails with a clear, file-naming error."""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import png_header_bomb, smooth_image
from PIL import Image, ImageFile

from realorai.imaging import ImageLoadError, jpeg_quality, load_image


def test_never_loads_truncated_images():
    assert ImageFile.LOAD_TRUNCATED_IMAGES is False


def test_zero_byte_file(tmp_path):
    f = tmp_path / "empty.jpg"
    f.write_bytes(b"")
    with pytest.raises(ImageLoadError, match="empty file") as e:
        load_image(f)
    assert str(f) in str(e.value) and e.value.status == "corrupt"


def test_text_file_named_jpg(tmp_path):
    f = tmp_path / "notes.jpg"
    f.write_text("this is not an image\n")
    with pytest.raises(ImageLoadError, match="not a recognised image format") as e:
        load_image(f)
    assert e.value.status == "corrupt"


@pytest.mark.parametrize("draft", [None, 32])
def test_truncated_jpeg_is_an_error(tmp_path, draft):
    buf = io.BytesIO()
    smooth_image(1, 256, noise=30).save(buf, "JPEG", quality=90)
    f = tmp_path / "cut.jpg"
    f.write_bytes(buf.getvalue()[: len(buf.getvalue()) // 2])
    with pytest.raises(ImageLoadError, match="cannot decode") as e:
        load_image(f, draft=draft)
    assert e.value.status == "corrupt"


def test_cmyk_jpeg_becomes_rgb(tmp_path):
    f = tmp_path / "cmyk.jpg"
    Image.new("CMYK", (20, 10), (0, 255, 255, 0)).save(f)
    img = load_image(f)
    assert img.mode == "RGB" and img.size == (20, 10)
    r, g, b = img.getpixel((5, 5))
    assert r > 200 and g < 60 and b < 60  # cyan 0, magenta+yellow full = red


def test_16_bit_png_scaled_to_8_bit(tmp_path):
    f = tmp_path / "deep.png"
    Image.fromarray(np.full((8, 8), 65535, dtype=np.uint16)).save(f)
    img = load_image(f)
    assert img.mode == "RGB" and img.getpixel((0, 0)) == (255, 255, 255)
    Image.fromarray(np.full((8, 8), 32896, dtype=np.uint16)).save(f)
    assert load_image(f).getpixel((0, 0)) == (128, 128, 128)


def test_palette_transparency_composited_on_white(tmp_path):
    f = tmp_path / "pal.png"
    img = Image.new("P", (4, 4), 0)
    img.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    img.putpixel((0, 0), 1)
    img.save(f, transparency=0)
    out = load_image(f)
    assert out.getpixel((1, 1)) == (255, 255, 255)  # transparent black -> white background
    assert out.getpixel((0, 0)) == (255, 0, 0)


def test_rgba_composited_like_palette(tmp_path):
    f = tmp_path / "rgba.png"
    Image.new("RGBA", (4, 4), (0, 0, 0, 0)).save(f)
    assert load_image(f).getpixel((0, 0)) == (255, 255, 255)


def test_animated_gif_uses_first_frame(tmp_path):
    f = tmp_path / "anim.gif"
    frames = [Image.new("RGB", (8, 8), c) for c in [(255, 0, 0), (0, 0, 255)]]
    frames[0].save(f, save_all=True, append_images=frames[1:], duration=50, loop=0)
    r, g, b = load_image(f).getpixel((4, 4))
    assert r > 200 and b < 50


def test_exif_orientation_applied(tmp_path):
    f = tmp_path / "rotated.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90 degrees clockwise on display
    img = Image.new("RGB", (40, 20), (10, 200, 10))
    img.paste((250, 10, 10), (0, 0, 10, 10))  # a red mark in the stored top-left corner
    img.save(f, exif=exif, quality=95)
    shown = np.asarray(load_image(f))
    assert shown.shape[:2] == (40, 20)
    # Rotated 90 degrees clockwise, the stored top-left corner is shown at the top right.
    assert shown[:8, -8:, 0].mean() > 200 and shown[:8, :8, 0].mean() < 60


@pytest.mark.parametrize("size", [(100_000, 100_000), (12_000, 12_000)])
def test_decompression_bomb_refused_before_decoding(tmp_path, size):
    f = tmp_path / "bomb.png"
    f.write_bytes(png_header_bomb(*size))
    with pytest.raises(ImageLoadError, match="decompression bomb") as e:
        load_image(f)
    assert e.value.status == "unsupported"


def test_jpeg_quality_estimate(tmp_path):
    img = smooth_image(3, 64, noise=10)
    for q in (50, 75, 90):
        buf = io.BytesIO()
        img.save(buf, "JPEG", quality=q)
        assert abs(jpeg_quality(Image.open(buf)) - q) <= 2
    assert jpeg_quality(img) is None
