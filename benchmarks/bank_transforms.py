"""The copies ``benchmarks/bank.py`` makes of each picture: re-encodes, resizes, edits, crops,
rotations, and frames (a phone-feed screenshot, a caption band) whose layout varies per image
(``rng``), so the frame finder is not judged on the one layout it was developed on."""

from __future__ import annotations

import io
import random

from PIL import Image, ImageDraw, ImageEnhance, ImageOps


def jpeg(img: Image.Image, q: int) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "JPEG", quality=q)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def webp(img: Image.Image) -> Image.Image:
    buf = io.BytesIO()
    img.save(buf, "WEBP", quality=80)
    return Image.open(io.BytesIO(buf.getvalue())).convert("RGB")


def scale(img: Image.Image, f: float) -> Image.Image:
    return img.resize((max(8, round(img.width * f)), max(8, round(img.height * f))), Image.Resampling.BILINEAR)


def text_over(img: Image.Image, rng: random.Random) -> Image.Image:
    out = img.copy()
    d = ImageDraw.Draw(out)
    for i in range(3):
        d.text((out.width // 10, out.height // 4 * (i + 1)), "BREAKING: you won't believe this", fill=(255, 255, 255))
    return out


def crop(img: Image.Image, area: float) -> Image.Image:
    k = (1 - area) ** 0.5
    w, h = img.size
    dx, dy = round(w * (1 - k) / 2), round(h * (1 - k) / 2)
    return img.crop((dx, dy, w - dx, h - dy))


def caption(img: Image.Image, rng: random.Random) -> Image.Image:
    """A band of 10-30% of the height, above (or, one time in four, below) the picture: white
    with black text, or black with white text."""
    band = max(20, round(img.height * rng.uniform(0.1, 0.3)))
    dark = rng.random() < 0.3
    above = rng.random() < 0.75
    out = Image.new("RGB", (img.width, img.height + band), (0, 0, 0) if dark else (255, 255, 255))
    out.paste(img, (0, band if above else 0))
    y = band // 3 if above else img.height + band // 3
    ImageDraw.Draw(out).text((8, y), "when the AI is too good", fill=(255, 255, 255) if dark else (0, 0, 0))
    return out


def screenshot(img: Image.Image, rng: random.Random) -> Image.Image:
    """A phone feed: a light or dark interface, a status bar, a header with a name, the picture
    with a margin of 0-48 px, buttons and text below, saved as JPEG."""
    w = rng.choice((1080, 1170, 1242))
    margin = rng.choice((0, 16, 32, 48))
    dark = rng.random() < 0.4
    bg, ink = ((18, 18, 18), (230, 230, 230)) if dark else ((250, 250, 250), (20, 20, 20))
    pic = img.resize((w - 2 * margin, round((w - 2 * margin) * img.height / img.width)))
    top = rng.randint(180, 360)
    out = Image.new("RGB", (w, top + pic.height + rng.randint(250, 600)), bg)
    out.paste(pic, (margin, top))
    d = ImageDraw.Draw(out)
    d.rectangle([0, 0, w, rng.randint(60, 130)], fill=(40, 40, 40) if not dark else (0, 0, 0))
    d.ellipse([24, top - 110, 104, top - 30], fill=(120, 140, 200))
    d.text((120, top - 80), "@someone · 3h  look at this", fill=ink)
    for i in range(4):
        d.rectangle([40 + 150 * i, top + pic.height + 30, 100 + 150 * i, top + pic.height + 70], outline=ink)
    return jpeg(out, rng.choice((70, 80, 90)))


def platform_chain(img: Image.Image) -> Image.Image:
    fit = img.copy()
    fit.thumbnail((1080, 1080))
    return jpeg(scale(jpeg(fit, 75), 0.5), 75)


TRANSFORMS = {
    "strip (re-encode q95)": lambda i, r: jpeg(i, 95),
    "JPEG q70": lambda i, r: jpeg(i, 70),
    "WebP": lambda i, r: webp(i),
    "0.5x": lambda i, r: scale(i, 0.5),
    "0.33x": lambda i, r: scale(i, 0.33),
    "platform chain": lambda i, r: platform_chain(i),
    "brightness +30%": lambda i, r: ImageEnhance.Brightness(i).enhance(1.3),
    "text overlay": text_over,
    "horizontal flip": lambda i, r: ImageOps.mirror(i),
    "crop 10%": lambda i, r: crop(i, 0.10),
    "crop 25%": lambda i, r: crop(i, 0.25),
    "rotate 2°": lambda i, r: i.rotate(2, Image.Resampling.BILINEAR),
    "rotate 5°": lambda i, r: i.rotate(5, Image.Resampling.BILINEAR),
    "phone screenshot": screenshot,
    "caption band": caption,
}
# The copies made of every unbanked image too, for false matches of copies (the frames included:
# the frame finder's extra hashes are where new false matches would come from).
FALSE_MATCH_TRANSFORMS = ("JPEG q70", "0.5x", "platform chain", "phone screenshot", "caption band")
