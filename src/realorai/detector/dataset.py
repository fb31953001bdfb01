"""Images streamed from disk: decoded, cropped (and augmented) one item at a time, by threads
(scoring, ``threaded_loader``) or DataLoader workers (training, ``features.crop_loader``), so
memory does not grow with the number of images. Crops are uint8 numpy arrays: scoring on ONNX
Runtime needs no torch."""

from __future__ import annotations

import random
from collections.abc import Callable, Iterator, Sequence

import numpy as np
from PIL import Image

from realorai.detector.augment import AugmentConfig, augment
from realorai.detector.crops import CropPlan, image_crops, to_uint8
from realorai.imaging import ImageLoadError, Source, load_image, opened_and_decoded

# Called in the decoding thread with (source, opened image, its RGB pixels) while the file is
# open: whatever else needs the pixels (provenance, heatmap crops) reads this one decode.
Inspect = Callable[[Source, Image.Image, Image.Image], dict]


class CropDataset:
    """Item ``j`` is view ``j // len(paths)`` of image ``j % len(paths)``.

    With ``aug`` every view is one augmented random crop, seeded by (seed, j) so that any
    worker produces the same pixels. Without, an item is all of the plan's crops of the image.
    An unreadable file yields an item with no crops and its reason, never an exception.
    """

    def __init__(
        self,
        paths: Sequence[str],
        plan: CropPlan,
        aug: AugmentConfig | None = None,
        views: int = 1,
        seed: int = 0,
        transform: Callable[[Image.Image], Image.Image] | None = None,
        keys: Sequence[str] | None = None,
        inspect: Inspect | None = None,
    ) -> None:
        self.paths, self.plan, self.aug, self.views, self.seed = list(paths), plan, aug, views, seed
        # Augmentation seeds by key instead of position: the two images of an aligned pair share a
        # key (their pair id), so they get the same crop box, flips, blur and JPEG qualities.
        self.keys = list(keys) if keys is not None else None
        # Applied to each decoded image first: the benchmark's JPEG / resize / blur perturbations.
        self.transform = transform
        self.inspect = inspect

    def __len__(self) -> int:
        return len(self.paths) * self.views

    def __getitem__(self, j: int) -> dict:
        i = j % len(self.paths)
        empty = np.empty((0, 3, self.plan.size, self.plan.size), dtype=np.uint8)
        try:
            if self.aug is None and self.transform is None:
                # Scoring: crops are cut while the file is open, so the decoded image is never copied.
                with opened_and_decoded(self.paths[i]) as (opened, img):
                    crops, _, upsampled = image_crops(img, self.plan)
                    extra = self.inspect(self.paths[i], opened, img) if self.inspect else None
                return {"index": i, "crops": crops, "upsampled": upsampled, "error": "", "extra": extra}
            img = load_image(self.paths[i])
            if self.transform is not None:
                img = self.transform(img)
        except ImageLoadError as e:
            return {"index": i, "crops": empty, "upsampled": False, "error": e.reason}
        except Exception as e:  # one odd file never stops a run over thousands
            return {"index": i, "crops": empty, "upsampled": False, "error": f"{type(e).__name__}: {e}"}
        if self.aug is not None:
            key = self.keys[i] if self.keys is not None and self.keys[i] else None
            rng = random.Random(f"{self.seed}:{j}" if key is None else f"{self.seed}:{j // len(self.paths)}:{key}")
            crop = augment(img, self.plan, self.aug, rng)
            return {
                "index": i,
                "crops": to_uint8(crop)[None],
                "upsampled": min(img.size) < self.plan.size,
                "error": "",
            }
        crops, _, upsampled = image_crops(img, self.plan)
        return {"index": i, "crops": crops, "upsampled": upsampled, "error": ""}


def collate(items: list[dict]) -> dict:
    """Concatenate the crops of several images; ``owner[k]`` is the item position of crop k."""
    crops = np.concatenate([it["crops"] for it in items])
    owner = np.concatenate([np.full(len(it["crops"]), n, dtype=np.int64) for n, it in enumerate(items)])
    return {
        "crops": crops,
        "owner": owner,
        "index": [it["index"] for it in items],
        "upsampled": [it["upsampled"] for it in items],
        "error": [it["error"] for it in items],
        "extra": [it.get("extra") for it in items],
    }


def threaded_loader(dataset: CropDataset, batch_size: int = 16, workers: int = 2, ahead: int = 3) -> Iterator[dict]:
    """Batches in order, items decoded by ``workers`` threads up to ``ahead`` batches in advance.

    For scoring: Pillow releases the GIL while decoding, so threads overlap decoding with the
    model without the processes' start-up and the copying of crops between processes. Memory is
    bounded by ``(ahead + 1) * batch_size`` decoded items, whatever the number of files."""
    from collections import deque
    from concurrent.futures import ThreadPoolExecutor

    n = len(dataset)
    with ThreadPoolExecutor(max(1, workers), thread_name_prefix="decode") as pool:
        queue: deque = deque()
        submitted = 0
        while submitted < n or queue:
            while submitted < n and len(queue) < (ahead + 1) * batch_size:
                queue.append(pool.submit(dataset.__getitem__, submitted))
                submitted += 1
            take = min(batch_size, len(queue))
            yield collate([queue.popleft().result() for _ in range(take)])
