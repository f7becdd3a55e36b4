from controller.parcels.decision import Identification, RejectReason, SortPlan, decide
from controller.parcels.gs1 import GS
from controller.parcels.labels import LabelRules
from drivers.barcode.base import BarcodeRead
from plc_configs.schema import LabelsSection

SSCC = "106141412345678908"
RULES = LabelRules(
    LabelsSection.model_validate(
        {
            "patterns": [
                {"name": "lanesort", "regex": r"LS\d{10}"},
                {"name": "sscc", "gs1_ai": "00", "symbologies": ["]C1", "]d2"]},
                {"name": "carrier-x", "regex": r"X(?P<id>\d{8})P(?P<postal>\d{5})"},
            ],
            "route_rules": [
                {"route": "R01", "postal_from": "10000", "postal_to": "19999"},
                {"route": "R02", "postal_from": "75000", "postal_to": "75999"},
            ],
        }
    )
)
EAN = BarcodeRead("4006381333931", "]E0")


def test_the_shipping_label_is_picked_among_other_symbols():
    ident = RULES.identify([EAN, BarcodeRead("LS0000000042", "]C0")])
    assert ident == Identification("LS0000000042", label="lanesort")


def test_gs1_sscc_label_gives_id_and_postal_code():
    ident = RULES.identify([BarcodeRead("00" + SSCC + "420" + "75011", "]C1"), EAN])
    assert (ident.barcode, ident.postal_code, ident.label) == (SSCC, "75011", "sscc")


def test_sscc_pattern_ignores_a_plain_code128_with_the_same_digits():
    assert RULES.identify([BarcodeRead("00" + SSCC, "]C0")]).reason is RejectReason.NO_READ


def test_regex_groups_name_the_id_and_postal_code():
    ident = RULES.identify([BarcodeRead("X12345678P10115")])
    assert (ident.barcode, ident.postal_code) == ("12345678", "10115")


def test_only_non_sortable_symbols_is_a_no_read_that_says_what_was_seen():
    ident = RULES.identify([EAN])
    assert ident.reason is RejectReason.NO_READ and "4006381333931" in ident.detail


def test_two_different_sortable_labels_is_multi_label_same_twice_is_one():
    a, b = BarcodeRead("LS0000000001"), BarcodeRead("LS0000000002")
    assert RULES.identify([a, b]).reason is RejectReason.MULTIPLE_LABELS
    assert RULES.identify([a, a]).barcode == "LS0000000001"
    sscc = BarcodeRead("00" + SSCC + GS + "42010115", "]C1")
    assert RULES.identify([a, sscc]).reason is RejectReason.MULTIPLE_LABELS


def test_postal_route_rule_routes_a_parcel_missing_from_the_manifest():
    plan = SortPlan({"R01": [1], "R02": [2]}, reject_chute=9)
    ident = RULES.identify([BarcodeRead("00" + SSCC + "420" + "75011", "]C1")])
    d = decide(ident, {}, plan, frozenset(), frozenset(), RULES.route_for_postal)
    assert (d.route, d.chute) == ("R02", 2)
    unknown = Identification("X1", postal_code="99999")
    d = decide(unknown, {}, plan, frozenset(), frozenset(), RULES.route_for_postal)
    assert d.reason is RejectReason.NO_ROUTE and "99999" in d.detail


def test_manifest_wins_over_route_rules():
    plan = SortPlan({"R01": [1], "R02": [2]}, reject_chute=9)
    ident = Identification("X1", postal_code="75011")
    d = decide(ident, {"X1": "R01"}, plan, frozenset(), frozenset(), RULES.route_for_postal)
    assert d.route == "R01"


def test_a_postal_code_of_another_length_matches_no_range():
    assert RULES.route_for_postal("100000") is None and RULES.route_for_postal(None) is None
