"""JPEG encoding of camera frames and the keep_images policy."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from drivers.camera.jpeg import encode_jpeg, wants_image


def test_a_colour_frame_is_scaled_to_1280_px_keeping_its_aspect() -> None:
    frame = np.zeros((1000, 2000, 3), np.uint8)
    frame[:, :1000] = (0, 0, 255)  # left half red (BGR)
    data = encode_jpeg(frame)
    assert data is not None
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    assert image.shape == (640, 1280, 3)
    assert image[320, 100, 2] > 200 and image[320, 1200, 2] < 50


def test_a_small_frame_keeps_its_size_and_quality_changes_the_size() -> None:
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 255, (480, 640), np.uint8)
    low, high = encode_jpeg(frame, quality=30), encode_jpeg(frame, quality=95)
    assert low is not None and high is not None and len(low) < len(high)
    assert cv2.imdecode(np.frombuffer(low, np.uint8), cv2.IMREAD_GRAYSCALE).shape == (480, 640)


def test_a_frame_opencv_cannot_encode_gives_none() -> None:
    assert encode_jpeg(np.zeros((10, 10, 7), np.uint8)) is None


@pytest.mark.parametrize(
    ("policy", "symbols", "kept"),
    [
        ("all", 1, True),
        ("all", 0, True),
        ("no_read", 0, True),
        ("no_read", 2, False),
        ("none", 0, False),
        ("none", 1, False),
    ],
)
def test_keep_images_policy(policy, symbols, kept) -> None:
    assert wants_image(policy, symbols) is kept


def test_an_unknown_policy_is_refused() -> None:
    with pytest.raises(ValueError, match="no_read"):
        wants_image("sometimes", 0)  # type: ignore[arg-type]
