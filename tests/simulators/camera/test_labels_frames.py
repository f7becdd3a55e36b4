"""Camera simulator rendering: GS1 content, labels, frames per reader outcome."""

from __future__ import annotations

import numpy as np
import pytest
import zxingcpp
from hypothesis import given
from hypothesis import strategies as st

from simulators.camera import SYMBOLOGIES, label_text, parcel_frame, render_label, sscc
from simulators.camera.labels import expected_aim, gs1_check_digit, render_symbol
from simulators.camera.scene import Distortion, damage_label, label_frame
from simulators.parcels import ParcelSpec, ReaderOutcome


def spec(i: int, outcome: ReaderOutcome = ReaderOutcome.OK) -> ParcelSpec:
    second = f"LS9{i:09d}" if outcome is ReaderOutcome.MULTI_LABEL else None
    return ParcelSpec(i, f"LS{i:010d}", "R01", 400, 300, 200, 2.0, True, outcome, second)


def test_gs1_check_digit_known_values() -> None:
    assert gs1_check_digit("10614141123456789") == "7"  # GS1 General Specifications example
    assert gs1_check_digit("629104150021") == "3"  # EAN-13 6291041500213


@given(st.text("0123456789", min_size=1, max_size=30))
def test_check_digit_makes_the_weighted_sum_a_multiple_of_ten(digits: str) -> None:
    full = digits + gs1_check_digit(digits)
    weighted = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(reversed(full)))
    assert weighted % 10 == 0


def test_sscc_is_18_digits_with_a_valid_check() -> None:
    code = sscc("LS0123456789")
    assert len(code) == 18 and code.isdigit()
    assert gs1_check_digit(code[:-1]) == code[-1]


def test_gs1_label_text_has_fnc1_after_the_variable_postal_code() -> None:
    writer, data = label_text("LS0123456789", "gs1-128")
    assert writer.startswith("(420)") and "(00)" in writer
    postal, sscc_field = data.split("\x1d")
    assert postal.startswith("420") and sscc_field == "00" + sscc("LS0123456789")


@pytest.mark.parametrize("symbology", SYMBOLOGIES)
def test_every_symbol_round_trips_through_zxing(symbology: str) -> None:
    image = render_symbol("LS0000000123", symbology)
    (read,) = zxingcpp.read_barcodes(image, text_mode=zxingcpp.TextMode.Plain)
    assert read.text == label_text("LS0000000123", symbology)[1]
    assert read.symbology_identifier == expected_aim(symbology)


def test_label_is_white_card_with_the_symbol() -> None:
    label = render_label("LS0000000123", "code128")
    assert label.dtype == np.uint8 and label.ndim == 2
    assert label.mean() > 120


def test_frames_have_the_default_size_and_are_reproducible() -> None:
    a = parcel_frame(spec(5))
    assert a.shape == (1024, 1280) and a.dtype == np.uint8
    assert np.array_equal(a, parcel_frame(spec(5)))
    assert not np.array_equal(a, parcel_frame(spec(6)))


def test_frame_size_is_configurable() -> None:
    assert label_frame("LS1", size=(640, 480)).shape == (480, 640)


def test_no_parcel_is_an_empty_belt() -> None:
    belt = parcel_frame(None)
    assert belt.mean() < 100  # dark belt, no cardboard, no label


def test_damage_levels() -> None:
    label = render_label("LS0000000123", "code128")
    rng = np.random.default_rng(0)
    assert np.array_equal(damage_label(label, 0.0, rng), label)
    light = damage_label(label, 0.3, np.random.default_rng(0))
    heavy = damage_label(label, 0.9, np.random.default_rng(0))
    assert (light != label).mean() < (heavy != label).mean()


@pytest.mark.parametrize(
    ("outcome", "labels"),
    [
        (ReaderOutcome.OK, 1),
        (ReaderOutcome.LATE_ANSWER, 1),
        (ReaderOutcome.MULTI_LABEL, 2),
        (ReaderOutcome.DUPLICATE_READ, 2),
        (ReaderOutcome.GARBLED, 1),
    ],
)
def test_outcomes_place_labels(outcome: ReaderOutcome, labels: int) -> None:
    from simulators.camera.frames import parcel_placements

    placements = parcel_placements(spec(8, outcome), "code128", np.random.default_rng(0))
    assert len(placements) == labels
    damaged = outcome is ReaderOutcome.GARBLED
    assert all((p.damage >= 0.5) == damaged for p in placements)


def test_no_read_is_no_label_or_a_destroyed_one() -> None:
    from simulators.camera.frames import parcel_placements

    rng = np.random.default_rng(0)
    assert parcel_placements(spec(1, ReaderOutcome.NO_READ), "qr", rng) == []
    (destroyed,) = parcel_placements(spec(2, ReaderOutcome.NO_READ), "qr", rng)
    assert destroyed.damage >= 0.5


def test_distortions_change_the_frame() -> None:
    clean = label_frame("LS1", distortion=Distortion(noise=0))
    for d in (
        Distortion(blur=2, noise=0),
        Distortion(contrast=0.3, noise=0),
        Distortion(perspective=0.05, noise=0),
        Distortion(angle=30, noise=0),
    ):
        assert not np.array_equal(clean, label_frame("LS1", distortion=d))
