"""The master's side of VDA 5050: one MQTT session for the whole fleet.

Subscribes ``{interfaceName}/v2/+/+/{state|connection|factsheet|visualization}``, parses
each message with :func:`plc_configs.vda5050.messages.parse` and hands it to
``on_message(vehicle_key, kind, message)``. A message of a vehicle not in the config is
counted (and logged once per vehicle); a malformed one is logged and counted, never
raised. Publishes ``order`` and ``instantActions`` at QoS 0 (VDA 5050 6.2) with the
configured protocol version, a ``headerId`` counting +1 per topic and vehicle, and an
ISO 8601 UTC timestamp. Publishing while the broker is away raises
:class:`~drivers.errors.ConnectionLost` (from the MQTT link).
"""

from __future__ import annotations

import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any, Protocol

from drivers.errors import ProtocolError
from plc_configs.fleet import FleetSection, VehicleConfig
from plc_configs.vda5050 import messages, topics
from plc_configs.vda5050.messages import Action, Edge, Header, InstantActions, Node, Order

log = logging.getLogger(__name__)

#: The topics the master reads.
SUBSCRIBED = ("state", "connection", "factsheet", "visualization")

Handler = Callable[[str, bytes, bool], Any]
OnMessage = Callable[[str, str, Header], Any]


class MqttClient(Protocol):
    """What the fleet link needs of :class:`drivers.mqtt.link.MqttLink`."""

    connected: bool

    def subscribe(self, topic_filter: str, handler: Handler) -> None:
        """Call ``await handler(topic, payload, retain)`` for every message on the filter."""
        ...

    async def publish(self, topic: str, payload: bytes, qos: int = 0, retain: bool = False) -> None:
        """Publish (ConnectionLost when the broker is away)."""
        ...

    async def run(self) -> None:
        """Connect and reconnect until closed."""
        ...

    async def close(self) -> None:
        """Disconnect and stop."""
        ...


class FleetLink:
    """The fleet's MQTT session (see the module docstring)."""

    def __init__(
        self,
        fleet: FleetSection,
        mqtt: MqttClient,
        on_message: OnMessage | None = None,
    ):
        self.fleet = fleet
        self.mqtt = mqtt
        self.on_message: OnMessage = on_message or (lambda key, kind, message: None)
        self.vehicles = {v.key: v for v in fleet.vehicles}
        self._ids: dict[str, topics.HeaderIds] = {}
        self.received = 0
        self.malformed = 0
        self.unknown = 0
        self.unknown_vehicles: set[str] = set()
        self.published = 0
        self.last_error: str | None = None
        self._subscribed = False

    @classmethod
    def create(
        cls, fleet: FleetSection, *, client_id: str = "lanesort-master", **kwargs: Any
    ) -> FleetLink:
        """A link with its own :class:`~drivers.mqtt.link.MqttLink` on ``fleet.mqtt``."""
        from drivers.mqtt.link import MqttLink

        if fleet.mqtt is None:
            raise ValueError("fleet.mqtt: the fleet needs its broker")
        client_id = fleet.mqtt.client_id or client_id
        return cls(fleet, MqttLink("fleet", fleet.mqtt, client_id=client_id), **kwargs)

    @property
    def connected(self) -> bool:
        """True while the MQTT session is up."""
        return bool(self.mqtt.connected)

    async def subscribe(self) -> None:
        """Subscribe the fleet's state, connection, factsheet and visualization topics
        (once; the MQTT link subscribes again after every reconnect)."""
        if self._subscribed:
            return
        self._subscribed = True
        for kind in SUBSCRIBED:
            await self.mqtt.subscribe(
                topics.fleet_filter(self.fleet.interface_name, self.fleet.protocol_version, kind),
                self._on_raw,
                qos=1 if kind == "connection" else 0,
            )

    async def run(self) -> None:
        """Subscribe, then run the MQTT session (reconnecting) until closed."""
        await self.subscribe()
        await self.mqtt.run()

    async def close(self) -> None:
        """Close the MQTT session."""
        await self.mqtt.close()

    # ------------------------------------------------------------------ in

    async def _on_raw(self, topic: str, payload: bytes, retain: bool) -> None:
        try:
            result = self.handle(topic, payload)
        except ProtocolError as err:
            self.malformed += 1
            self.last_error = str(err)
            log.warning("%s", err)
            return
        except Exception:  # a handler's bug must not end the MQTT session
            log.exception("fleet: handling %s failed", topic)
            return
        if result is not None and inspect.isawaitable(result[1]):
            try:
                await result[1]
            except Exception:  # a handler's bug must not end the MQTT session
                log.exception("fleet: handling %s failed", topic)

    def handle(self, topic: str, payload: bytes) -> tuple[Header, Any] | None:
        """Parse one message and pass it to ``on_message``: answers the message and what
        ``on_message`` returned (an awaitable is awaited by the subscription); ProtocolError
        when it is malformed; None when its vehicle is not configured (counted, logged once)."""
        try:
            parts = topics.parse_topic(topic)
        except ValueError as err:
            raise ProtocolError("fleet", topic, str(err)) from err
        key = f"{parts.manufacturer}/{parts.serial}"
        if key not in self.vehicles:
            self.unknown += 1
            if key not in self.unknown_vehicles:
                self.unknown_vehicles.add(key)
                log.warning("fleet: messages from %s, a vehicle not in the config, ignored", key)
            return None
        if not payload:  # a retained message being cleared
            return None
        try:
            message = messages.parse(parts.kind, payload)
        except messages.MessageError as err:
            raise ProtocolError(key, topic, f"malformed message: {err}") from err
        if (message.manufacturer, message.serial_number) != (parts.manufacturer, parts.serial):
            raise ProtocolError(
                key,
                topic,
                f"message names {message.manufacturer}/{message.serial_number}, not the topic's",
            )
        self.received += 1
        return message, self.on_message(key, parts.kind, message)

    # ------------------------------------------------------------------ out

    def _header(self, vehicle: VehicleConfig, kind: str) -> dict[str, Any]:
        ids = self._ids.setdefault(vehicle.key, topics.HeaderIds())
        return {
            "header_id": ids.next(kind),
            "timestamp": messages.utc_timestamp(),
            "version": self.fleet.protocol_version,
            "manufacturer": vehicle.manufacturer,
            "serial_number": vehicle.serial_number,
        }

    def _topic(self, vehicle: VehicleConfig, kind: str) -> str:
        return topics.topic(
            self.fleet.interface_name,
            self.fleet.protocol_version,
            vehicle.manufacturer,
            vehicle.serial_number,
            kind,
        )

    def order(
        self,
        key: str,
        order_id: str,
        order_update_id: int,
        nodes: Sequence[Node],
        edges: Sequence[Edge],
    ) -> Order:
        """The order message for vehicle ``key`` (takes the topic's next headerId)."""
        vehicle = self.vehicles[key]
        return Order(
            **self._header(vehicle, "order"),
            order_id=order_id,
            order_update_id=order_update_id,
            nodes=list(nodes),
            edges=list(edges),
        )

    def instant(self, key: str, actions: Sequence[Action]) -> InstantActions:
        """The instantActions message for vehicle ``key`` (takes the next headerId)."""
        return InstantActions(
            **self._header(self.vehicles[key], "instantActions"), actions=list(actions)
        )

    async def send(self, key: str, message: Order | InstantActions) -> None:
        """Publish ``message`` to vehicle ``key`` at QoS 0; ConnectionLost when down."""
        kind = "order" if isinstance(message, Order) else "instantActions"
        await self.mqtt.publish(
            self._topic(self.vehicles[key], kind), messages.dump(message), qos=0
        )
        self.published += 1

    async def send_order(
        self,
        key: str,
        order_id: str,
        order_update_id: int,
        nodes: Sequence[Node],
        edges: Sequence[Edge],
    ) -> Order:
        """Build and publish an order; answers the message sent."""
        message = self.order(key, order_id, order_update_id, nodes, edges)
        await self.send(key, message)
        return message

    async def send_instant(self, key: str, actions: Sequence[Action]) -> InstantActions:
        """Build and publish instant actions; answers the message sent."""
        message = self.instant(key, actions)
        await self.send(key, message)
        return message

    def counters(self) -> dict[str, Any]:
        """Messages received, malformed, from unknown vehicles, published."""
        return {
            "connected": self.connected,
            "received": self.received,
            "malformed": self.malformed,
            "unknown": self.unknown,
            "unknown_vehicles": sorted(self.unknown_vehicles),
            "published": self.published,
            "last_error": self.last_error,
        }
