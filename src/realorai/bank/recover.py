"""The picture inside a screenshot or above a caption band: candidate rectangles to hash again.

A global hash does not survive a phone-feed screenshot (interface around the picture) or a
caption band added above it: the frame changes what PDQ sees. But a picture pasted into a frame
leaves straight boundaries: rows (and columns) where almost every pixel changes at once, as they
rarely do inside a photograph. ``boxes`` finds such lines on a small grey copy and proposes the
rectangles they enclose (at least a quarter of each side, never the whole image), strongest
first; each is hashed like a query and matched by the same rule. A photograph with no such lines
gets no candidates, so most queries cost nothing more. What this buys, and the false matches it
adds, are measured by ``benchmarks/bank.py`` (docs/RESULTS.md, section "bank").
"""

from __future__ import annotations

import numpy as np
from PIL import Image

SIDE = 384  # px: lines are found on a copy fitted into this
STEP = 12  # grey levels: a change this large between neighbours counts
LINE = 0.6  # share of a row's (or column's) pixels that change at once for a boundary
MIN_SIDE = 0.25  # a candidate spans at least this share of the image's height and width
MAX_BOXES = 6
FLAT = 0.5  # the frame around a candidate has at most this share of the texture inside it
COST = 1.0  # a pixel costs this share of the mean texture (see boxes)
Box = tuple[int, int, int, int]  # left, top, right, bottom in the image's pixels


def _cuts(change: np.ndarray, n: int) -> list[int]:
    """Positions (0..n) of boundary lines: peaks of the share of pixels changing at once (one per
    3-px neighbourhood: a downscaled edge spreads over two rows), the image's own edges included."""
    peaks: list[int] = []
    for i in np.argsort(-change, kind="stable"):
        if change[i] < LINE or len(peaks) == 8:
            break
        if all(abs(i + 1 - p) > 3 for p in peaks):
            peaks.append(int(i) + 1)
    return [0, n, *peaks]


def _with_mirrored_margin(scored: tuple[float, Box], w: int) -> list[tuple[float, Box]]:
    """The box, then (when one side is at the image's edge and the other is not) the box with the
    found margin mirrored: feeds centre their pictures, and a white picture edge on a white frame
    leaves no line on its side."""
    score, (left, t, right, b) = scored
    if left == 0 and right < w and w - right < right - (w - right):
        return [scored, (score, (w - right, t, right, b))]
    if right == w and left > 0 and left < w - 2 * left:
        return [scored, (score, (left, t, w - left, b))]
    return [scored]


def boxes(rgb: Image.Image) -> list[Box]:
    """Candidate rectangles of an embedded picture, in ``rgb``'s pixels, most frame-like first:
    bounded by lines, textured inside, flat outside (an interface or a caption band is mostly
    plain background; a rectangle cut out of a photograph has photograph around it)."""
    # Fitted first, then grey: a grey copy at full size would be 100 MB for a 100-MP image,
    # outside the decode budget; this holds only the small picture.
    k = min(1.0, SIDE / max(rgb.size))
    fitted = (max(1, round(rgb.width * k)), max(1, round(rgb.height * k)))
    small = rgb.resize(fitted, Image.Resampling.BICUBIC, reducing_gap=2.0) if k < 1 else rgb
    g = np.asarray(small.convert("L"), dtype=np.int16)
    h, w = g.shape
    if min(h, w) < 16:
        return []
    texture = np.zeros((h, w))
    texture[:, 1:] += np.abs(np.diff(g, axis=1))
    texture[1:, :] += np.abs(np.diff(g, axis=0))
    total = np.pad(texture, ((1, 0), (1, 0))).cumsum(0).cumsum(1)  # integral image: any box's sum at once

    def mean_in(left: int, t: int, right: int, b: int) -> float:
        return (total[b, right] - total[t, right] - total[b, left] + total[t, left]) / max(1, (b - t) * (right - left))

    # A pixel costs half the image's mean texture: taking in plain frame loses, taking in picture
    # gains, so the best-scoring box is the picture's own rectangle.
    cost = COST * total[h, w] / (h * w)
    rows = (np.abs(np.diff(g, axis=0)) > STEP).mean(axis=1)  # row y vs y + 1, over the full width
    tops = _cuts(rows, h)
    found: list[tuple[float, Box]] = []
    for t in tops:
        for b in tops:
            if b - t < MIN_SIDE * h:
                continue
            cols = (np.abs(np.diff(g[t:b], axis=1)) > STEP).mean(axis=0)
            sides = _cuts(cols, w)
            for left in sides:
                for right in sides:
                    area = (b - t) * (right - left)
                    if right - left < MIN_SIDE * w or area == h * w:
                        continue
                    inside = mean_in(left, t, right, b)
                    outside = (total[h, w] - inside * area) / (h * w - area)
                    if outside < FLAT * inside:  # J: the texture a box takes in, less what its area costs
                        found.append(((inside - cost) * area, (left, t, right, b)))
    found.sort(key=lambda s: -s[0])
    # The best box for each vertical extent first, then the rest: a text line between a header and
    # the picture can outscore the picture's own top edge, so several tops and bottoms are tried.
    seen: set[tuple[int, int]] = set()
    first = [s for s in found if (s[1][1], s[1][3]) not in seen and not seen.add((s[1][1], s[1][3]))]
    found = [c for s in first + found for c in _with_mirrored_margin(s, w)]
    sx, sy = rgb.width / w, rgb.height / h
    out: list[Box] = []
    for _, (left, t, right, b) in found:
        box = (round(left * sx), round(t * sy), round(right * sx), round(b * sy))
        if box not in out:
            out.append(box)
        if len(out) == MAX_BOXES:
            break
    return out
