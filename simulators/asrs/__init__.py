"""The AS/RS buffer simulator: a rack and a crane behind OSIP or Gebhardt-like telegrams."""

from simulators.asrs.model import Plan, Rack
from simulators.asrs.server import AsrsSimulator

__all__ = ["AsrsSimulator", "Plan", "Rack"]
