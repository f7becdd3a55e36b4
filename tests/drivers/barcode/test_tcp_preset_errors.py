"""Error statuses of the TCP reader presets (a Datalogic DS8110 and a Cognex at its factory
default, silent responses, have no error reply: see test_cognex_tcp)."""

import pytest

from drivers.errors import DeviceFault
from tests.drivers.barcode.reader_rig import parcel, rig

FAULTS = {"cognex-extended": 104, "sick": 3, "keyence": 14}
EXPECTED = {
    "cognex-extended": r"status 104 \(refused in this state",
    "sick": r"status 3 \(system error\)",
    "keyence": "14",
}


@pytest.mark.parametrize("preset", list(FAULTS))
async def test_an_error_status_is_a_device_fault_naming_it(preset):
    async with rig(preset) as (driver, sim, scan):
        sim.fault = FAULTS[preset]
        scan.parcel = parcel()
        with pytest.raises(DeviceFault, match=EXPECTED[preset]):
            await driver.trigger()
        sim.fault = None
        assert (await driver.trigger()).symbols  # the next trigger is fine
