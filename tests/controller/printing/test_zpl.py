"""The container label's ZPL, read back by the printer simulator's checker."""

from __future__ import annotations

import pytest

from controller.printing.zpl import ContainerLabel, container_label_zpl, stops_text
from simulators.printer import PrintedLabel, ZplStream, check_label

LABEL = ContainerLabel(
    container_id="CT-000123",
    truck="TRK-07",
    route="R-12 NORTH",
    stop_sequences=(3, 1, 2, 7),
    load_position="A3",
    cubby="B-14",
    wall="PW1",
    parcels=12,
    door="D4",
    consignee="Jürgen Müller GmbH",
)


def dots(mm: float, dpi: int) -> int:
    return round(mm / 25.4 * dpi)


def printed(label: ContainerLabel, dpi: int, width_mm: float, height_mm: float) -> PrintedLabel:
    zpl = container_label_zpl(label, dpi=dpi, width_mm=width_mm, height_mm=height_mm)
    result = check_label(zpl, dots(width_mm, dpi), dots(height_mm, dpi))
    assert isinstance(result, PrintedLabel), result
    return result


@pytest.mark.parametrize("dpi", [203, 300])
def test_fields_and_barcode_read_back_are_the_labels_data(dpi: int):
    label = printed(LABEL, dpi, 100, 150)
    texts = [f.data for f in label.fields if f.kind == "text"]  # caption, value, in order
    pairs = dict(zip(texts[::2], texts[1::2], strict=True))
    assert pairs == {
        "TRUCK": "TRK-07",
        "DOOR": "D4",
        "ROUTE": "R-12 NORTH",
        "LOAD POSITION": "A3",
        "STOPS": "1-3, 7",
        "WALL": "PW1",
        "CUBBY": "B-14",
        "PARCELS": "12",
        "CONSIGNEE": "Jürgen Müller GmbH",
    }
    [barcode] = [f for f in label.fields if f.kind == "code128"]
    assert (barcode.data, barcode.start_code) == ("CT-000123", "B")
    assert label.quantity == 1


@pytest.mark.parametrize("dpi", [203, 300])
@pytest.mark.parametrize(("width_mm", "height_mm"), [(100, 150), (100, 50), (60, 40)])
def test_every_origin_is_inside_the_label(dpi: int, width_mm: float, height_mm: float):
    label = printed(LABEL, dpi, width_mm, height_mm)  # the checker rejects any outside
    assert len(label.fields) == 19
    assert all(f.x < dots(width_mm, dpi) and f.y < dots(height_mm, dpi) for f in label.fields)


def test_layout_scales_with_dpi():
    low, high = printed(LABEL, 203, 100, 150), printed(LABEL, 300, 100, 150)
    for a, b in zip(low.fields, high.fields, strict=True):
        assert b.y == pytest.approx(a.y * 300 / 203, abs=2)
    assert "^BY3^" in container_label_zpl(LABEL, dpi=203, width_mm=100, height_mm=150)
    assert "^BY4^" in container_label_zpl(LABEL, dpi=300, width_mm=100, height_mm=150)


def test_hostile_data_is_neutralised():
    hostile = ContainerLabel(
        container_id="CT-1",
        truck="T~HS1",
        route="^XZ^XA^FO9999,9999^FDpwned^FS",
        stop_sequences=(1,),
        load_position="A_1",
        cubby="C\r\n2",
        wall="W",
        parcels=1,
        consignee="Evil ^XZ Corp ~JA",
    )
    zpl = container_label_zpl(hostile, dpi=203, width_mm=100, height_mm=150)
    events = ZplStream().feed(zpl.encode())
    assert [e.kind for e in events] == ["label"]  # no ~ command, no second format
    texts = printed(hostile, 203, 100, 150).texts()
    assert "^XZ^XA^FO9999,9999^FDpwned^FS" in texts
    assert {"T~HS1", "A_1", "Evil ^XZ Corp ~JA", "C  2"} <= set(texts)


@pytest.mark.parametrize("bad", ["CT>1", "CT^1", "", "CT\n1", "CTé"])
def test_container_id_that_cannot_be_a_barcode_is_refused(bad: str):
    with pytest.raises(ValueError, match="cannot be a Code 128 barcode"):
        container_label_zpl(
            ContainerLabel(bad, "T", "R", (1,), "A", "C", "W", 1),
            dpi=203,
            width_mm=100,
            height_mm=150,
        )


def test_too_long_container_id_for_the_label_is_refused():
    with pytest.raises(ValueError, match="too long"):
        container_label_zpl(
            ContainerLabel("X" * 80, "T", "R", (1,), "A", "C", "W", 1),
            dpi=203,
            width_mm=50,
            height_mm=30,
        )


def test_copies_and_stops_text():
    zpl = container_label_zpl(LABEL, dpi=203, width_mm=100, height_mm=150, copies=2)
    assert zpl.startswith("^XA") and zpl.endswith("^PQ2\n^XZ")
    assert stops_text(()) == "-"
    assert stops_text((5, 4, 4, 9, 10, 12)) == "4-5, 9-10, 12"
