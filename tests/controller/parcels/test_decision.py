from controller.parcels.decision import (
    Identification,
    RejectReason,
    SortPlan,
    decide,
)
from controller.parcels.labels import LabelRules
from drivers.barcode.base import BarcodeRead
from plc_configs.schema import LabelsSection

PLAN = SortPlan({"R01": [1, 21], "R02": [2], "EMPTY": []}, reject_chute=32)
MANIFEST = {"LS1": "R01", "LS2": "R02", "LS3": "R99"}
NONE: frozenset[int] = frozenset()
identify = LabelRules(LabelsSection()).identify


def test_one_label_is_the_barcode():
    assert identify([BarcodeRead("LS1", "]C0")]) == Identification("LS1", label="any")


def test_same_label_twice_is_one_read():
    assert identify([BarcodeRead("LS1", "]C0"), BarcodeRead("LS1", "]C0")]).barcode == "LS1"


def test_two_different_labels_are_never_guessed():
    result = identify([BarcodeRead("LS1"), BarcodeRead("LS2")])
    assert result.barcode is None
    assert result.reason is RejectReason.MULTIPLE_LABELS
    assert "LS1" in result.detail and "LS2" in result.detail


def test_nothing_read_is_a_no_read():
    assert identify([]).reason is RejectReason.NO_READ
    assert identify([BarcodeRead("")]).reason is RejectReason.NO_READ


def test_barcode_to_route_to_first_chute():
    d = decide(Identification("LS1"), MANIFEST, PLAN, NONE, NONE)
    assert (d.chute, d.route, d.reason) == (1, "R01", None)
    assert not d.rejected


def test_full_first_chute_falls_back_to_second():
    d = decide(Identification("LS1"), MANIFEST, PLAN, frozenset({1}), NONE)
    assert d.chute == 21 and d.reason is None


def test_disabled_chute_is_skipped():
    d = decide(Identification("LS1"), MANIFEST, PLAN, NONE, frozenset({1}))
    assert d.chute == 21


def test_all_chutes_full_rejects_with_chute_full():
    d = decide(Identification("LS1"), MANIFEST, PLAN, frozenset({1, 21}), NONE)
    assert (d.chute, d.reason) == (32, RejectReason.CHUTE_FULL)
    assert d.route == "R01"


def test_all_chutes_disabled_rejects_with_chute_disabled():
    d = decide(Identification("LS2"), MANIFEST, PLAN, NONE, frozenset({2}))
    assert (d.chute, d.reason) == (32, RejectReason.CHUTE_DISABLED)


def test_full_wins_over_disabled_when_mixed():
    d = decide(Identification("LS1"), MANIFEST, PLAN, frozenset({1}), frozenset({21}))
    assert d.reason is RejectReason.CHUTE_FULL


def test_barcode_missing_from_manifest_is_no_route():
    d = decide(Identification("LS404"), MANIFEST, PLAN, NONE, NONE)
    assert (d.chute, d.reason) == (32, RejectReason.NO_ROUTE)


def test_route_without_chute_in_plan_is_no_route():
    d = decide(Identification("LS3"), MANIFEST, PLAN, NONE, NONE)
    assert d.reason is RejectReason.NO_ROUTE and "R99" in d.detail


def test_unidentified_parcel_keeps_its_reason():
    ident = Identification(None, RejectReason.UNKNOWN_PARCEL, "no scan")
    d = decide(ident, MANIFEST, PLAN, NONE, NONE)
    assert (d.chute, d.reason, d.detail) == (32, RejectReason.UNKNOWN_PARCEL, "no scan")


def test_no_manifest_loaded_means_no_route():
    d = decide(Identification("LS1"), None, PLAN, NONE, NONE)
    assert d.reason is RejectReason.NO_ROUTE
