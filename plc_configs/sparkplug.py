"""The line as a Sparkplug B 3.0 edge node (SCADA over MQTT, Ignition-style).

Optional: without a ``sparkplug:`` section the line publishes nothing. With one, the line
is edge node ``edge_node_id`` (default: the line's name) of group ``group_id`` on
``mqtt``'s broker, with devices ``line``, ``chute-N`` and one per field device.
``primary_host`` makes it wait for that host's STATE online before its birth.
``command_host`` lets writes (NCMD/DCMD) through, and only while that host is the online
primary host; the broker's ACL must let only that host's MQTT user publish commands
(``spBv1.0/{group}/NCMD/#`` and ``DCMD/#``): the edge node cannot see who published.
"""

from __future__ import annotations

from pydantic import Field, field_validator, model_validator

from plc_configs.base import Strict
from plc_configs.mqtt import MqttSection


def _sparkplug_id(value: str | None) -> str | None:
    if value is not None and (not value or any(c in value for c in "+/#")):
        raise ValueError(f"{value!r}: a Sparkplug id is non-empty without '+', '/' or '#'")
    return value


class SparkplugSection(Strict):
    """The line's Sparkplug B edge node."""

    mqtt: MqttSection = Field(description="the site's broker")
    group_id: str = Field(description="Sparkplug group id (e.g. the hub's name)")
    edge_node_id: str | None = Field(None, description="edge node id (unset = the line's name)")
    primary_host: str | None = Field(
        None,
        description="host id of the primary host application: the birth waits for its "
        "STATE online; it going offline ends the session (NDEATH) until it is back",
    )
    command_host: str | None = Field(
        None,
        description="host id whose writes (start/stop, chute enable) are carried out; must "
        "be the primary_host (unset = every write is refused)",
    )
    publish_interval_s: float = Field(
        1.0, ge=0.1, le=60, description="how often the line's values are read for changes"
    )

    @field_validator("group_id", "edge_node_id", "primary_host", "command_host")
    @classmethod
    def _ids(cls, value: str | None) -> str | None:
        return _sparkplug_id(value)

    @model_validator(mode="after")
    def _commands_from_the_primary_host(self) -> SparkplugSection:
        if self.command_host is not None and self.command_host != self.primary_host:
            raise ValueError(
                "command_host: commands are taken only from the primary host; set "
                f"primary_host: {self.command_host} too"
            )
        return self
