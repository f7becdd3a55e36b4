"""Pick-to-light drivers: Atop ABLEPick over TCP, Banner PICK-IQ over Modbus RTU."""

from drivers.ptl.base import Colour, EventKind, LightEvent, PickToLight

__all__ = ["Colour", "EventKind", "LightEvent", "PickToLight"]
