"""Error statuses of the TCP reader presets (a Datalogic DS8110 has no error reply)."""

import pytest

from drivers.errors import DeviceFault
from tests.drivers.barcode.reader_rig import parcel, rig


@pytest.mark.parametrize("preset", ["cognex", "sick", "keyence"])  # a DS8110 has no error reply
async def test_an_error_status_is_a_device_fault_naming_it(preset):
    expected = {"cognex": "status 104", "sick": r"status 3 \(system error\)", "keyence": "14"}
    async with rig(preset) as (driver, sim, scan):
        sim.fault = {"cognex": 104, "sick": 3, "keyence": 14}[preset]
        scan.parcel = parcel()
        with pytest.raises(DeviceFault, match=expected[preset]):
            await driver.trigger()
        sim.fault = None
        assert (await driver.trigger()).symbols  # the next trigger is fine
