"""Simulated AMRs speaking VDA 5050 2.x over a real MQTT broker (the far side of the fleet).

``model`` (orders, motion, battery) with ``actions`` and ``orders`` (checks), ``reports``
(the messages), ``vehicle`` (one vehicle's MQTT client), ``fleet`` (all of a line's
vehicles), ``faults`` and ``cli`` (``python -m simulators fleet``). Imports neither
``drivers`` nor ``controller``; the message models come from ``plc_configs.vda5050``.
"""

from simulators.fleet.fleet import SimulatedFleet, broker_address
from simulators.fleet.model import VehicleModel
from simulators.fleet.vehicle import BrokerAddress, SimulatedVehicle

__all__ = ["BrokerAddress", "SimulatedFleet", "SimulatedVehicle", "VehicleModel", "broker_address"]
