"""MQTT: a link with LaneSort's own reconnect loop (aiomqtt 2.x) and a Mosquitto broker runner
for the demo, the tests and the benchmarks."""

from drivers.mqtt.broker import BrokerError, BrokerTls, MosquittoBroker
from drivers.mqtt.link import Handler, MqttLink, StateListener, Will
from drivers.mqtt.topics import topic_matches

__all__ = [
    "BrokerError",
    "BrokerTls",
    "Handler",
    "MosquittoBroker",
    "MqttLink",
    "StateListener",
    "Will",
    "topic_matches",
]
