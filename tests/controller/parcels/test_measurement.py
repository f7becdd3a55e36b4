from decimal import Decimal

from controller.parcels.decision import RejectReason
from controller.parcels.measurement import Measurement, check_measurement, volumetric_kg
from drivers.dimensioner.base import Dimensions
from drivers.scale.base import Weight, WeightMode
from plc_configs.schema import TunnelSection

LIMITS = TunnelSection(max_weight_kg=30, max_length_mm=1000, max_width_mm=600, max_height_mm=600)


def _weight(kg: str, stable: bool = True, legal: bool = True) -> Weight:
    return Weight(Decimal(kg), Decimal(kg), "kg", stable, WeightMode.GROSS, legal, f"S S {kg} kg")


def _dims(l_mm: str, w: str = "100", h: str = "100", legal: bool = True) -> Dimensions:
    return Dimensions(Decimal(l_mm), Decimal(w), Decimal(h), legal, "raw")


def _reasons(m: Measurement, weighs=True, dimensions=True) -> list[RejectReason]:
    return [i.reason for i in check_measurement(m, LIMITS, weighs=weighs, dimensions=dimensions)]


def test_volumetric_weight_is_exact():
    assert volumetric_kg(_dims("400", "300", "200"), 5000) == Decimal("4.8")
    assert (
        volumetric_kg(Dimensions(None, None, None, False, "x", no_dimension_reason="C"), 5000)
        is None
    )


def test_a_good_measurement_has_no_incident():
    assert _reasons(Measurement(weight=_weight("1.234"), dimensions=_dims("300"))) == []


def test_each_incident_is_found():
    assert _reasons(Measurement(weight_error="scale (tcp://x:1): timeout")) == [
        RejectReason.MISSING_WEIGHT,
        RejectReason.MISSING_DIMENSIONS,
    ]
    assert RejectReason.UNSTABLE_WEIGHT in _reasons(
        Measurement(weight=_weight("2", stable=False), dimensions=_dims("1"))
    )
    assert _reasons(Measurement(weight=_weight("30.001"), dimensions=_dims("1"))) == [
        RejectReason.OVER_MAX_WEIGHT
    ]
    assert _reasons(Measurement(weight=_weight("1"), dimensions=_dims("1000.1"))) == [
        RejectReason.OVERSIZE
    ]
    assert _reasons(Measurement(weight=_weight("1", legal=False), dimensions=_dims("1"))) == [
        RejectReason.NOT_LEGAL_FOR_TRADE
    ]


def test_no_dimension_reason_is_reported():
    m = Measurement(
        dimensions=Dimensions(
            None, None, None, False, "\\x02MNC\\x03", no_dimension_reason="corner_sensor"
        )
    )
    (incident,) = check_measurement(m, LIMITS, weighs=False, dimensions=True)
    assert incident.reason is RejectReason.MISSING_DIMENSIONS
    assert incident.detail == "corner_sensor"


def test_devices_the_tunnel_lacks_are_not_checked():
    assert _reasons(Measurement(), weighs=False, dimensions=False) == []


def test_journal_detail_keeps_exact_values_and_raw_text():
    m = Measurement(
        weight=_weight("1.230"),
        weight_device="scale",
        dimensions=_dims("321.5"),
        volumetric_kg=Decimal("0.643"),
    )
    detail = m.to_detail()
    assert detail["weight"]["kg"] == "1.230" and detail["weight"]["raw"] == "S S 1.230 kg"
    assert detail["dimensions"]["length_mm"] == "321.5"
    assert detail["volumetric_kg"] == "0.643"


def test_a_journal_record_gives_back_the_measurement():
    m = Measurement(
        weight=Weight(
            Decimal("0.250"), Decimal("250"), "g", False, WeightMode.NET, False, "S D 250 g",
            flags=("motion", "net"),
        ),
        weight_device="scale",
        dimensions=Dimensions(
            None, None, None, False, "C", no_dimension_reason="NODIM_BOX_STACKED",
            flags=("length:over_range",),
        ),
        dimensions_device="dim",
        dimensions_error=None,
    )  # fmt: skip
    assert Measurement.from_detail(m.to_detail()) == m
    errors = Measurement(weight_error="timeout", dimensions_error="garbage")
    assert Measurement.from_detail(errors.to_detail()) == errors
