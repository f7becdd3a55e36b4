"""identify_with: several readers at once (pure: in-memory stand-ins for the links)."""

from types import SimpleNamespace

from controller.line.reader_link import identify_with
from controller.parcels.decision import RejectReason
from controller.parcels.labels import LabelRules
from drivers.barcode.base import BarcodeRead, ReadResult
from drivers.errors import ConnectionLost, DeviceTimeout
from plc_configs.schema import LabelsSection

RULES = LabelRules(LabelsSection())


def _link(name, result):
    async def read():
        return result

    return SimpleNamespace(driver=SimpleNamespace(name=name), read=read)


async def test_symbols_of_all_readers_are_pooled_with_their_device():
    a = _link("top", ReadResult((BarcodeRead("LS1", "]C0"),), "||:1[0]]C0LS1"))
    b = _link("side", ReadResult((), "NOREAD"))
    ident, symbols, raw = await identify_with([a, b], RULES)
    assert ident.barcode == "LS1" and symbols == (("LS1", "]C0", "top"),)
    assert "NOREAD" in raw


async def test_a_reader_reported_multiple_read_is_a_multi_label_reject():
    a = _link("dl", ReadResult((BarcodeRead("LS1"),), "\x02MULTI,LS1\r\n", multiple=True))
    ident, _, _ = await identify_with([a], RULES)
    assert ident.reason is RejectReason.MULTIPLE_LABELS and "dl" in ident.detail


async def test_all_readers_timing_out_is_a_no_read_any_other_failure_a_device_fault():
    t = _link("r", DeviceTimeout("r", "tcp://x:1", "no reply"))
    assert (await identify_with([t], RULES))[0].reason is RejectReason.NO_READ
    c = _link("r", ConnectionLost("r", "tcp://x:1", "down"))
    assert (await identify_with([t, c], RULES))[0].reason is RejectReason.DEVICE_FAULT


async def test_one_reader_failing_while_another_reads_still_identifies():
    t = _link("a", DeviceTimeout("a", "tcp://x:1", "no reply"))
    ok = _link("b", ReadResult((BarcodeRead("LS2"),), "LS2"))
    assert (await identify_with([t, ok], RULES))[0].barcode == "LS2"
