"""Every awkward input decodes the documented way, or fails with a clear, file-naming error."""

from __future__ import annotations

import io

import numpy as np
import pytest
from conftest import png_header_bomb, smooth_image
from PIL import Image, ImageFile

from realorai.imaging import ImageLoadError, load_image
from realorai.jpeg import jpeg_quality


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


def test_100_megapixel_header_is_accepted_and_130_refused(tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from conftest import png_header_bomb

    from realorai.imaging import ImageLoadError, open_image

    ok = tmp_path / "big.png"
    ok.write_bytes(png_header_bomb(10_000, 10_000))  # 100 MP: a real camera can make this
    bomb = tmp_path / "bomb.png"
    bomb.write_bytes(png_header_bomb(13_000, 10_000))

    def status(path):
        try:
            open_image(path).close()
            return "ok"
        except ImageLoadError as e:
            return e.status

    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(status, [ok, bomb] * 100))
    assert results == ["ok", "unsupported"] * 100  # the same answer every time, in any thread


def test_16_bit_scaled_by_bit_depth_not_by_maximum(tmp_path):
    import numpy as np
    from PIL import Image

    from realorai.imaging import load_image

    for top in (255, 256):
        ramp = np.linspace(0, top, 64, dtype=np.uint16).reshape(8, 8)
        f = tmp_path / f"ramp{top}.png"
        Image.fromarray(ramp).save(f)
        assert Image.open(f).mode.startswith("I")
        assert np.asarray(load_image(f)).max() == 1  # 255/65535 and 256/65535 of full scale


def _rgb_icc(red, green, blue, name: str) -> bytes:
    """A minimal ICC v2 display profile: primaries (PCS XYZ, D50) and gamma-1 curves."""
    import struct

    def s15(x):
        return struct.pack(">i", round(x * 65536))

    def xyz(v):
        return b"XYZ " + b"\0" * 4 + b"".join(s15(c) for c in v)

    curv = b"curv" + b"\0" * 4 + struct.pack(">IH", 1, 256) + b"\0\0"
    text = name.encode() + b"\0"
    desc = b"desc" + b"\0" * 4 + struct.pack(">I", len(text)) + text + b"\0" * 78
    tags = [(b"desc", desc), (b"wtpt", xyz((0.9642, 1.0, 0.8249))), (b"rXYZ", xyz(red)), (b"gXYZ", xyz(green))]
    tags += [(b"bXYZ", xyz(blue)), (b"rTRC", curv), (b"gTRC", curv), (b"bTRC", curv)]
    offset = 128 + 4 + 12 * len(tags)
    table, data = b"", b""
    for sig, body in tags:
        data += b"\0" * (-(offset + len(data)) % 4)
        table += sig + struct.pack(">II", offset + len(data), len(body))
        data += body
    header = struct.pack(">I", offset + len(data)) + b"\0" * 4 + struct.pack(">I", 0x02100000)
    header += b"mntrRGB XYZ " + b"\0" * 12 + b"acsp" + b"\0" * 28 + s15(0.9642) + s15(1.0) + s15(0.8249) + b"\0" * 48
    return header + struct.pack(">I", len(tags)) + table + data


def test_icc_profile_converted_to_srgb_and_recorded(tmp_path):
    import numpy as np
    from PIL import Image

    from realorai.data.manifest import scan
    from realorai.imaging import load_image

    # sRGB's primaries with red and green swapped: stored red is meant to be shown green.
    red, green, blue = (0.4361, 0.2225, 0.0139), (0.3851, 0.7169, 0.0971), (0.1431, 0.0606, 0.7141)
    icc = _rgb_icc(green, red, blue, "swapped primaries")
    for label in ("ai", "real"):
        (tmp_path / label).mkdir()
    Image.new("RGB", (16, 16), (200, 0, 0)).save(tmp_path / "ai" / "x.png", icc_profile=icc)
    Image.new("RGB", (16, 16), (200, 0, 0)).save(tmp_path / "real" / "plain.png")
    shown = np.asarray(load_image(tmp_path / "ai" / "x.png"))[0, 0]
    assert shown[1] > 150 and shown[0] < 50  # converted: green, as the profile says
    assert tuple(np.asarray(load_image(tmp_path / "real" / "plain.png"))[0, 0]) == (200, 0, 0)
    df = scan(tmp_path, show_progress=False).set_index("path")
    assert df.loc[str(tmp_path / "ai" / "x.png"), "color_space"] == "swapped primaries"
    assert df.loc[str(tmp_path / "real" / "plain.png"), "color_space"] == ""


def test_symlinked_class_folders_and_avif_ico_are_found(tmp_path):
    import os

    from conftest import make_dataset
    from PIL import Image

    from realorai.data.manifest import scan
    from realorai.inference.inputs import expand_inputs

    shared = make_dataset(tmp_path / "shared", per_class=3)
    root = tmp_path / "data"
    root.mkdir()
    for label in ("ai", "real"):
        os.symlink(shared / label, root / label)
    os.symlink(root, root / "ai" / "loop")  # a cycle must not hang the walk
    Image.new("RGB", (32, 32), (1, 2, 3)).save(shared / "real" / "icon.ico")
    Image.new("RGB", (32, 32), (1, 2, 3)).save(shared / "real" / "photo.avif")
    df = scan(root, show_progress=False)
    assert (df["label"] != "").sum() >= 8
    files, _ = expand_inputs([str(root / "real")])
    assert {os.path.basename(f) for f in files} >= {"icon.ico", "photo.avif", "real_000.png"}


def test_center_crop_of_an_extreme_strip_is_bounded():
    import time

    from PIL import Image

    from realorai.baselines.preprocess import resize_for_model
    from realorai.models import get_spec

    strip = Image.new("RGB", (1, 100_000), (9, 9, 9))
    t0 = time.perf_counter()
    x = resize_for_model(strip, get_spec("efficientnet-lite0-transfer").data_config)
    assert tuple(x.shape) == (3, 224, 224) and time.perf_counter() - t0 < 2.0  # was ~20 GB


@pytest.mark.parametrize("progressive", [False, True])
def test_truncated_jpeg_closed_with_an_end_marker_is_an_error(tmp_path, progressive):
    """Cut short and closed with FFD9, libjpeg pads the rest with grey and only warns."""
    from realorai.data.manifest import probe

    good = tmp_path / "good.jpg"
    smooth_image(4, 400, noise=12.0).save(good, quality=90, progressive=progressive)
    data = good.read_bytes()
    bad = tmp_path / "cut.jpg"
    bad.write_bytes(data[: len(data) // 2] + b"\xff\xd9")
    load_image(good)  # the whole file is fine
    with pytest.raises(ImageLoadError, match="truncated JPEG data"):
        load_image(bad)
    row = probe(bad)
    assert row["status"] == "corrupt" and "truncated" in row["reason"]
    assert probe(good)["status"] == "ok"


def test_a_16_bit_image_converts_in_bands_not_in_float64_at_once():
    from realorai.rgb import to_rgb

    arr = (np.arange(300 * 700, dtype=np.uint32).reshape(300, 700) % 65536).astype(np.uint16)
    out = np.asarray(to_rgb(Image.fromarray(arr)))  # 300 rows: two bands of 256
    expected = np.clip(arr / 257.0 + 0.5, 0, 255).astype(np.uint8)
    assert out.shape == (300, 700, 3) and np.array_equal(out[..., 0], expected)


def test_decoded_bytes_over_the_budget_are_refused_from_the_header(tmp_path, monkeypatch):
    from realorai import limits

    path = tmp_path / "wide16.png"
    Image.fromarray(np.zeros((2000, 3000), dtype=np.uint16)).save(path)  # 6 MP, 7 bytes a pixel
    before = limits.current()
    try:
        limits.set_limits(None, 40_000_000)
        with pytest.raises(ImageLoadError, match="REALORAI_MAX_DECODED_MB") as e:
            load_image(path)
        assert e.value.status == "unsupported"
        limits.set_limits(None, 50_000_000)
        assert load_image(path).size == (3000, 2000)
    finally:
        limits.set_limits(before.max_pixels, before.max_decoded_bytes)
    monkeypatch.setenv("REALORAI_MAX_PIXELS", "150000000")
    monkeypatch.setenv("REALORAI_MAX_DECODED_MB", "2048")
    assert limits.from_env() == limits.Limits(150_000_000, 2_048_000_000)
    monkeypatch.setenv("REALORAI_MAX_DECODED_MB", "lots")
    with pytest.raises(ValueError, match="REALORAI_MAX_DECODED_MB"):
        limits.from_env()
