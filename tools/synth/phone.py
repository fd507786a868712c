"""Phone-size photos (8-12 MP) of a rendered scene: the scene upsampled to the camera's frame, then what a
phone camera adds at that resolution (lens blur, sensor noise, its own JPEG), with the truth scaled along.

The card keeps the detail the scene had (a phone's card text is no sharper than its optics), but every
stage of the reader pays for the full frame, as with a real phone photo.
"""

from __future__ import annotations

import dataclasses

import cv2
import numpy as np

from .capture import Quad, Sample


def phone_frame(w: int, h: int, megapixels: float) -> tuple[int, int]:
    """The (width, height) of a `megapixels` frame with the scene's aspect (phones shoot 4:3 and 16:9 alike):
    8 MP of a 4:3 scene is 3266 x 2449, of a 16:9 scene 3771 x 2121."""
    k = (megapixels * 1e6 / (w * h)) ** 0.5
    return round(w * k), round(h * k)


def phone_size(sample: Sample, megapixels: float, seed: int = 0) -> Sample:
    """`sample` as a `megapixels` (say 8 or 12) photo of the same scene, scaled alike in x and y."""
    img = sample.image
    h, w = img.shape[:2]
    size = phone_frame(w, h, megapixels)
    big = cv2.resize(img, size, interpolation=cv2.INTER_CUBIC)
    big = cv2.GaussianBlur(big, (0, 0), 0.8)  # the lens: no phone resolves single pixels at 12 MP
    rng = np.random.default_rng(seed)
    noise = rng.normal(0.0, 2.5, size=(size[1] // 2, size[0] // 2, 1)).astype(np.float32)  # sensor noise,
    noise = cv2.resize(noise, size, interpolation=cv2.INTER_LINEAR)[:, :, None]  # a little correlated (demosaic)
    out = np.clip(big.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    sx, sy = size[0] / w, size[1] / h

    def quad(q: Quad) -> Quad:
        return [[x * sx, y * sy] for x, y in q]

    t = sample.truth
    truth = dataclasses.replace(
        t, quads=[quad(q) for q in t.quads], image_size=size, boxes={k: quad(q) for k, q in t.boxes.items()},
        portraits=[quad(q) for q in t.portraits])
    return Sample(out, truth, sample.condition)
