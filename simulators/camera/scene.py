"""Camera frames of a parcel on the belt: labels placed on a box, then distorted.

Everything is a pure function of its arguments and a ``numpy`` random generator, so a
frame is reproducible. Distortions (:class:`Distortion`): rotation (any angle, per
label), perspective (corner jitter of the whole frame), Gaussian blur, low contrast,
sensor noise, and label damage: ``damage`` < 0.5 draws scratches *along* the scan
direction and small stains (a decoder still reads it); ``damage`` >= 0.5 also lays an
opaque band of tape *across* the symbol, over ``damage`` x 45 % of its width, which no
decoder can read through (Code 128 has no error correction; 2D codes lose more than
their error correction can repair).
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from simulators.camera.labels import render_label

FRAME_SIZE = (1280, 1024)
"""Default frame (width, height)."""


@dataclass(frozen=True)
class Distortion:
    """How a frame is spoiled. ``angle`` is the first label's rotation in degrees."""

    angle: float = 0.0
    perspective: float = 0.0
    """Corner jitter as a fraction of the frame size (0.05 = a camera clearly off-axis)."""
    blur: float = 0.0
    """Gaussian sigma in pixels."""
    contrast: float = 1.0
    """1 = full contrast; 0.25 = grey bars on a grey label."""
    noise: float = 2.0
    """Gaussian sensor noise sigma (grey levels)."""
    damage: float = 0.0
    """0 = intact label; < 0.5 scratched but readable; >= 0.5 destroyed."""


@dataclass(frozen=True)
class Placement:
    """One label on the parcel: its image, centre (fraction of the frame) and angle."""

    label: np.ndarray
    centre: tuple[float, float] = (0.5, 0.5)
    angle: float = 0.0
    damage: float = 0.0


def belt(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """An empty dark belt with a faint texture."""
    w, h = size
    base = rng.normal(70, 6, (h // 8 + 1, w // 8 + 1)).astype(np.float32)
    img = cv2.resize(base, (w, h), interpolation=cv2.INTER_LINEAR)
    return np.clip(img, 0, 255).astype(np.uint8)


def parcel_background(size: tuple[int, int], rng: np.random.Generator) -> np.ndarray:
    """The belt with a cardboard box covering most of the frame."""
    img = belt(size, rng)
    w, h = size
    x0, y0 = int(w * rng.uniform(0.03, 0.08)), int(h * rng.uniform(0.03, 0.08))
    x1, y1 = int(w * rng.uniform(0.92, 0.97)), int(h * rng.uniform(0.92, 0.97))
    card = rng.normal(150, 5, (h // 16 + 1, w // 16 + 1)).astype(np.float32)
    card = cv2.resize(card, (w, h), interpolation=cv2.INTER_CUBIC)
    img[y0:y1, x0:x1] = np.clip(card[y0:y1, x0:x1], 0, 255).astype(np.uint8)
    tape_y = int(h * rng.uniform(0.1, 0.2))
    img[tape_y : tape_y + h // 14, x0:x1] = 175  # packing tape across the lid
    return img


def damage_label(label: np.ndarray, level: float, rng: np.random.Generator) -> np.ndarray:
    """Scratches and stains (``level`` < 0.5); plus an opaque tape band (>= 0.5)."""
    out = label.copy()
    h, w = out.shape
    if level <= 0:
        return out
    for _ in range(round(level * 10) + 1):  # scratches roughly along the scan line
        y = int(rng.uniform(0.35, 0.95) * h)
        dy = int(rng.normal(0, 0.04 * h))
        colour = int(rng.choice([255, 40]))
        cv2.line(out, (0, y), (w - 1, y + dy), colour, int(rng.integers(1, 3)), cv2.LINE_AA)
    for _ in range(round(level * 6)):  # stains near the edges of the bars
        cx, cy = int(rng.uniform(0.1, 0.9) * w), int(rng.choice([0.3, 0.97]) * h)
        cv2.circle(out, (cx, cy), int(0.03 * min(w, h)) + 2, 120, -1, cv2.LINE_AA)
    if level >= 0.5:
        band = max(8, int(w * 0.45 * level))
        x = int(rng.uniform(0.3, 0.7) * w - band / 2)
        x = min(max(x, int(0.15 * w)), int(0.85 * w) - band)
        out[:, x : x + band] = 200  # opaque tape across every scan line
    return out


def place_label(frame: np.ndarray, p: Placement, rng: np.random.Generator) -> None:
    """Paste a (damaged, rotated) label into the frame in place."""
    label = damage_label(p.label, p.damage, rng)
    lh, lw = label.shape
    fh, fw = frame.shape
    cx, cy = p.centre[0] * fw, p.centre[1] * fh
    m = cv2.getRotationMatrix2D((lw / 2, lh / 2), p.angle, 1.0)
    m[:, 2] += (cx - lw / 2, cy - lh / 2)
    warped = cv2.warpAffine(label, m, (fw, fh), flags=cv2.INTER_LINEAR)
    mask = cv2.warpAffine(np.full_like(label, 255), m, (fw, fh), flags=cv2.INTER_LINEAR)
    alpha = mask.astype(np.float32) / 255.0
    blended = frame * (1 - alpha) + warped * alpha
    frame[:] = np.clip(blended, 0, 255).astype(np.uint8)


def distort(frame: np.ndarray, d: Distortion, rng: np.random.Generator) -> np.ndarray:
    """Perspective, contrast, blur and noise applied to a whole frame."""
    h, w = frame.shape
    out = frame
    if d.perspective > 0:
        src = np.float32([[0, 0], [w, 0], [w, h], [0, h]])
        jitter = rng.uniform(-d.perspective, d.perspective, (4, 2)) * (w, h)
        dst = (src + jitter).astype(np.float32)
        matrix = cv2.getPerspectiveTransform(src, dst)
        out = cv2.warpPerspective(out, matrix, (w, h), borderMode=cv2.BORDER_REPLICATE)
    if d.contrast != 1.0:
        mean = float(out.mean())
        out = np.clip((out.astype(np.float32) - mean) * d.contrast + mean, 0, 255)
        out = out.astype(np.uint8)
    if d.blur > 0:
        out = cv2.GaussianBlur(out, (0, 0), d.blur)
    if d.noise > 0:
        noisy = out.astype(np.float32) + rng.normal(0, d.noise, out.shape).astype(np.float32)
        out = np.clip(noisy, 0, 255).astype(np.uint8)
    return out


def render_frame(
    placements: list[Placement],
    distortion: Distortion = Distortion(),
    *,
    size: tuple[int, int] = FRAME_SIZE,
    seed: int = 0,
    parcel: bool = True,
) -> np.ndarray:
    """A grayscale frame (``size`` = width, height) with these labels on a parcel.

    ``parcel=False`` shows the empty belt (nothing in the scan field).
    """
    rng = np.random.default_rng(seed)
    frame = parcel_background(size, rng) if parcel else belt(size, rng)
    for p in placements:
        place_label(frame, p, rng)
    return distort(frame, distortion, rng)


def label_frame(
    barcode: str,
    symbology: str = "code128",
    distortion: Distortion = Distortion(),
    *,
    size: tuple[int, int] = FRAME_SIZE,
    seed: int = 0,
    module_px: int = 3,
    centre: tuple[float, float] = (0.5, 0.55),
) -> np.ndarray:
    """A frame with one label, rotated by ``distortion.angle`` and damaged as it says."""
    label = render_label(barcode, symbology, module_px)
    placement = Placement(label, centre, distortion.angle, distortion.damage)
    return render_frame([placement], distortion, size=size, seed=seed)
