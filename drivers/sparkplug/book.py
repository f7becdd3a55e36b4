"""The metrics of an edge node and its devices: aliases, current values, what changed.

Every metric gets an alias unique across the edge node and all its devices
(tck-id-payloads-alias-uniqueness); births carry name, alias, datatype, timestamp and
the current value (null as ``is_null``); data messages carry only the metrics that
changed since the last birth or data message of their device, by alias alone
(tck-id-payloads-alias-data-cmd-requirement, tck-id-topics-ndata-payload).

Pure bookkeeping, no I/O: :class:`~drivers.sparkplug.edge_node.EdgeNode` publishes what
this hands out.
"""

from __future__ import annotations

from dataclasses import dataclass

from drivers.sparkplug.codec import DataType, Metric, Value, same_value

NODE: None = None
"""The device key of the edge node's own metrics."""


@dataclass(slots=True)
class _Entry:
    name: str
    datatype: DataType
    alias: int | None
    value: Value
    timestamp: int


class MetricBook:
    """Metric definitions and values per device (``None``: the edge node itself)."""

    def __init__(self) -> None:
        self._entries: dict[str | None, dict[str, _Entry]] = {NODE: {}}
        self._by_alias: dict[int, tuple[str | None, _Entry]] = {}
        self._changed: dict[str | None, dict[str, None]] = {}
        self._next_alias = 1

    @property
    def devices(self) -> list[str]:
        """The device ids, in the order they were first defined."""
        return [d for d in self._entries if d is not None]

    def define(
        self,
        device: str | None,
        name: str,
        datatype: DataType,
        value: Value,
        timestamp: int,
        *,
        alias: bool = True,
    ) -> None:
        """Add a metric (a new one is published from the next birth on). ``alias=False``
        leaves it without one (``Node Control/Rebirth``: its alias is forbidden).
        ValueError for a name the device already has."""
        entries = self._entries.setdefault(device, {})
        if name in entries:
            raise ValueError(f"metric {name!r} of {device or 'the edge node'} is already defined")
        number = None
        if alias:
            number = self._next_alias
            self._next_alias += 1
        entry = _Entry(name, DataType(datatype), number, value, timestamp)
        entries[name] = entry
        if number is not None:
            self._by_alias[number] = (device, entry)

    def has(self, device: str | None, name: str) -> bool:
        """True when ``device`` has metric ``name``."""
        return name in self._entries.get(device, {})

    def set(self, device: str | None, name: str, value: Value, timestamp: int) -> bool:
        """Record ``value``; True (and remembered as changed) when it differs from the
        current one. KeyError for a metric not defined."""
        entry = self._entries[device][name]
        if same_value(entry.value, value):
            return False
        entry.value = value
        entry.timestamp = timestamp
        self._changed.setdefault(device, {})[name] = None
        return True

    def value(self, device: str | None, name: str) -> Value:
        """The current value of a metric."""
        return self._entries[device][name].value

    def birth(self, device: str | None) -> list[Metric]:
        """Every metric of ``device`` for its birth (its changes are now published)."""
        self._changed.pop(device, None)
        return [
            Metric(e.name, e.value, e.datatype, e.alias, e.timestamp)
            for e in self._entries.get(device, {}).values()
        ]

    def pending(self) -> list[str | None]:
        """The devices (None: the edge node) with changes not yet published."""
        return [device for device, names in self._changed.items() if names]

    def take_changes(self, device: str | None) -> list[Metric]:
        """The changed metrics of ``device`` by alias and value, no name or datatype
        (encode them with :meth:`types`), forgotten here."""
        names = self._changed.pop(device, {})
        entries = self._entries[device]
        return [
            Metric(None, entries[n].value, None, entries[n].alias, entries[n].timestamp)
            for n in names
        ]

    def types(self) -> dict[int, DataType]:
        """alias → datatype of every aliased metric (to decode commands by alias)."""
        return {alias: entry.datatype for alias, (_, entry) in self._by_alias.items()}

    def resolve(self, device: str | None, metric: Metric) -> tuple[str, DataType] | None:
        """The name and datatype a command's metric addresses on ``device`` (by name, else
        by alias), None when ``device`` has no such metric."""
        if metric.name is not None:
            entry = self._entries.get(device, {}).get(metric.name)
        elif metric.alias is not None and metric.alias in self._by_alias:
            owner, entry = self._by_alias[metric.alias]
            entry = entry if owner == device else None
        else:
            entry = None
        return (entry.name, entry.datatype) if entry is not None else None
