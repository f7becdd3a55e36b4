"""The driver layer's errors: one root, wrapped ``from`` the library error.

::

    DriverError                 any failure talking to a device
    ├── ConnectionLost          cannot connect, or the link dropped
    ├── DeviceTimeout           the device did not answer in time
    ├── DeviceFault             the device answered that it cannot do it
    └── ProtocolError           the device answered something we cannot parse

Every error names the device and its address, so the message alone tells an
integrator where to look: ``sorter (modbus-tcp://10.0.0.5:502): no answer in 500 ms``.
"""

from __future__ import annotations


class DriverError(Exception):
    """Root of all driver errors."""

    def __init__(self, device: str, address: str, message: str):
        self.device = device
        self.address = address
        self.detail = message
        super().__init__(f"{device} ({address}): {message}")


class ConnectionLost(DriverError):
    """Cannot connect to the device, or the connection dropped."""


class DeviceTimeout(DriverError):
    """The device did not answer within the configured time."""


class DeviceFault(DriverError):
    """The device answered with an error status (busy, refused, fault)."""


class ProtocolError(DriverError):
    """The device answered something that does not follow its protocol."""
