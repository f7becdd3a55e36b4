"""Scenario files: which faults hit which simulated device, when, and how often.

A scenario is a YAML file named by ``simulation.scenario`` in the line config (a path
relative to the config file's folder)::

    faults:
      - {device: scale, fault: unstable, rate: 0.5, from_s: 10, to_s: 20}
      - {device: dim, fault: disconnect, rate: 0.05}          # from the start, for ever
      - {device: "*", fault: garbage, rate: 0.01, from_s: 60} # every measuring device

(a bare list of entries is accepted too). ``fault`` is one of the measure faults
(:class:`~simulators.measure.faults.Fault`: unstable, overload, error, bad_checksum,
split, truncated, garbage, silence, disconnect); ``rate`` is the share of requests hit
(0..1); the window is ``from_s <= t < to_s`` in seconds since the simulators started
(``to_s`` null: no end). The rate in force for a device and fault at ``t`` is the
largest of the config's rate and the rates of the entries active at ``t``.

One-off faults of the sorter PLC happen at a moment of the scenario::

    plc:
      - {at_s: 30, fault: disconnect}            # drop every client connection
      - {at_s: 45, fault: stall, seconds: 1.5}   # answer nothing for 1.5 s (a timeout)

Chutes of the sorter jam at a moment of the scenario, for a while or for good::

    chutes:
      - {at_s: 30, chute: 5, fault: jam, seconds: 60}   # disabled by the PLC for 60 s
      - {at_s: 90, chute: 7, fault: jam}                # seconds null (default): for ever

From ``at_s`` the PLC reports the chute disabled (its ``chute_disabled`` bit, on top of
the host's disable requests) until ``at_s + seconds``; a parcel diverted there meanwhile
goes to the reject chute as ``CHUTE_DISABLED``, as for any disabled chute. ``chute``
must be one of ``topology.chutes``.

With ``simulation.route_plan``, volumes shift at a moment of the scenario::

    volumes:
      - {at_s: 20, routes_share: 0.2, factor: 1.3}   # 20 % of the routes get 1.3 x volume

The routes are drawn at random from the seed and the entry's index, and their weights
are multiplied by ``factor`` for the parcels created from ``at_s`` on. Parcel ``i`` is
"created" at ``(i - 1) * 3600 / rate_pph`` seconds, the parcel index at which ``at_s``
is reached at the configured rate (so the manifest, written before the run, and the
parcels agree); a belt that starts late or stops shifts it in wall-clock time. Without
``route_plan`` a ``volumes:`` entry is an error.

Problems are reported all at once, each with the file, line and key
(``scenario.yaml:4: faults.1.rate: …``).
"""

from __future__ import annotations

from collections.abc import Collection
from pathlib import Path
from typing import Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from plc_configs.loader import load_yaml
from plc_configs.schema import LineConfig
from simulators.measure.faults import Fault

ANY_DEVICE = "*"


class FaultWindow(BaseModel):
    """One scenario entry: a fault on a device at a rate during a time window."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    device: str = Field(min_length=1, description="device name, or * for every device")
    fault: Fault
    rate: float = Field(ge=0, le=1)
    from_s: float = Field(0.0, ge=0)
    to_s: float | None = Field(None, description="end of the window (exclusive); null: none")

    @model_validator(mode="after")
    def _window(self) -> FaultWindow:
        if self.to_s is not None and self.to_s <= self.from_s:
            raise ValueError(f"to_s ({self.to_s}) must be after from_s ({self.from_s})")
        return self

    def active(self, t: float) -> bool:
        """True when ``t`` (seconds since start) is inside the window."""
        return self.from_s <= t and (self.to_s is None or t < self.to_s)


class PlcFaultAt(BaseModel):
    """A one-off fault of the sorter PLC simulator at ``at_s`` seconds of the scenario."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at_s: float = Field(ge=0)
    fault: Literal["disconnect", "stall"]
    seconds: float = Field(1.0, gt=0, description="stall: how long the PLC answers nothing")


class ChuteFaultAt(BaseModel):
    """A chute the PLC reports disabled (jammed) from ``at_s`` for ``seconds`` (None: ever)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at_s: float = Field(ge=0)
    chute: int = Field(ge=1, description="a chute of topology.chutes")
    fault: Literal["jam"]
    seconds: float | None = Field(None, gt=0, description="how long; null: for ever")

    def active(self, t: float) -> bool:
        """True when the chute is jammed at ``t`` (seconds of the scenario)."""
        return self.at_s <= t and (self.seconds is None or t < self.at_s + self.seconds)


class VolumeShiftAt(BaseModel):
    """From ``at_s``, a random ``routes_share`` of the routes get ``factor`` x their volume."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    at_s: float = Field(ge=0)
    routes_share: float = Field(gt=0, le=1, description="share of the routes shifted")
    factor: float = Field(gt=0, description="their weights are multiplied by this")


class Scenario(BaseModel):
    """The fault windows of a scenario file (empty: the config's rates only)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    faults: tuple[FaultWindow, ...] = ()
    plc: tuple[PlcFaultAt, ...] = ()
    chutes: tuple[ChuteFaultAt, ...] = ()
    volumes: tuple[VolumeShiftAt, ...] = ()

    def jammed_chutes(self, t: float) -> frozenset[int]:
        """Chutes jammed at ``t`` (seconds of the scenario)."""
        return frozenset(entry.chute for entry in self.chutes if entry.active(t))

    def rate(self, device: str, fault: Fault | str, t: float, config_rate: float = 0.0) -> float:
        """The rate in force: the max of ``config_rate`` and the entries active at ``t``."""
        rate = config_rate
        for entry in self.faults:
            if entry.fault == fault and entry.device in (device, ANY_DEVICE) and entry.active(t):
                rate = max(rate, entry.rate)
        return rate


class ScenarioError(ValueError):
    """A scenario file could not be read or is not valid; lists every problem."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("\n".join(problems))


def _lines(node: yaml.Node | None, path: tuple[Any, ...], out: dict[tuple[Any, ...], int]) -> None:
    if node is None:
        return
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, yaml.MappingNode):
        for key, value in node.value:
            out[(*path, key.value)] = key.start_mark.line + 1
            _lines(value, (*path, key.value), out)
    elif isinstance(node, yaml.SequenceNode):
        for index, item in enumerate(node.value):
            _lines(item, (*path, index), out)


def _where(source: str, lines: dict[tuple[Any, ...], int], loc: tuple[Any, ...]) -> str:
    for end in range(len(loc), -1, -1):
        if loc[:end] in lines:
            return f"{source}:{lines[loc[:end]]}"
    return source


def parse_scenario(
    text: str,
    source: str = "<scenario>",
    devices: Collection[str] | None = None,
    *,
    chutes: Collection[int] | None = None,
    route_plan: bool | None = None,
) -> Scenario:
    """Validate scenario YAML; with ``devices``, entries must name one of them (or ``*``);
    with ``chutes``, ``chutes:`` entries one of these; with ``route_plan=False``, no
    ``volumes:`` entries."""
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
        data = load_yaml(text)
    except yaml.YAMLError as err:
        raise ScenarioError([f"{source}: not valid YAML: {err}"]) from err
    lines: dict[tuple[Any, ...], int] = {}
    if isinstance(data, list):
        data = {"faults": data}
        _lines(node, ("faults",), lines)
    else:
        _lines(node, (), lines)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ScenarioError([f"{source}: expected a mapping with a faults: list"])
    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as err:
        problems = []
        for e in err.errors():
            loc = tuple(e["loc"])
            key = ".".join(str(p) for p in loc) or "(top level)"
            msg = str(e["msg"]).removeprefix("Value error, ")
            if e["type"] == "extra_forbidden":
                msg = "unknown key (misspelt, or not supported here)"
            elif e["type"] == "missing":
                msg = "required key is missing"
            elif not isinstance(e.get("input"), dict | list | type(None)):
                msg = f"{msg} (got {e['input']!r})"
            problems.append(f"{_where(source, lines, loc)}: {key}: {msg}")
        raise ScenarioError(problems) from err
    problems = []
    if devices is not None:
        known = set(devices)
        problems += [
            f"{_where(source, lines, ('faults', i, 'device'))}: faults.{i}.device: no scale or "
            f"dimensioner named {entry.device!r} (known: {', '.join(sorted(known)) or 'none'})"
            for i, entry in enumerate(scenario.faults)
            if entry.device != ANY_DEVICE and entry.device not in known
        ]
    if chutes is not None:
        ids = set(chutes)
        problems += [
            f"{_where(source, lines, ('chutes', i, 'chute'))}: chutes.{i}.chute: no chute "
            f"{entry.chute} in topology.chutes (known: {', '.join(map(str, sorted(ids)))})"
            for i, entry in enumerate(scenario.chutes)
            if entry.chute not in ids
        ]
    if route_plan is False:
        problems += [
            f"{_where(source, lines, ('volumes', i))}: volumes.{i}: volume shifts need "
            "simulation.route_plan in the line config"
            for i in range(len(scenario.volumes))
        ]
    if problems:
        raise ScenarioError(problems)
    return scenario


def load_scenario(
    path: str | Path,
    base_dir: str | Path | None = None,
    devices: Collection[str] | None = None,
    *,
    chutes: Collection[int] | None = None,
    route_plan: bool | None = None,
) -> Scenario:
    """Read the scenario at ``path`` (relative to ``base_dir``, the config file's folder);
    ``devices``, ``chutes`` and ``route_plan`` as for :func:`parse_scenario`."""
    full = Path(path)
    if not full.is_absolute() and base_dir is not None:
        full = Path(base_dir) / full
    try:
        text = full.read_text(encoding="utf-8")
    except OSError as err:
        raise ScenarioError([f"{full}: cannot read the scenario file: {err.strerror}"]) from err
    return parse_scenario(text, str(full), devices, chutes=chutes, route_plan=route_plan)


def load_line_scenario(
    config: LineConfig, config_dir: str | Path | None, devices: Collection[str]
) -> Scenario:
    """The config's ``simulation.scenario``, checked against its measuring ``devices``,
    chutes and route plan (an empty scenario when it has none)."""
    path = config.simulation.scenario
    if not path:
        return Scenario()
    return load_scenario(
        path,
        config_dir,
        devices,
        chutes=config.topology.chute_ids,
        route_plan=config.simulation.route_plan is not None,
    )
