"""What a simulated vehicle publishes: its state, visualization and factsheet messages.

Built from a :class:`~simulators.fleet.model.VehicleModel`; the sender stamps
``headerId`` and ``timestamp``. The factsheet says what the simulator does: its node and
instant actions with their parameters, one load handling device ``LHD1``, and the
timing limits of the simulation settings.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from plc_configs.vda5050.messages import (
    AgvPosition,
    BatteryState,
    EdgeState,
    Factsheet,
    NodePosition,
    NodeState,
    State,
    Velocity,
    Visualization,
)

if TYPE_CHECKING:
    from simulators.fleet.model import VehicleModel


def _position(model: VehicleModel) -> AgvPosition:
    return AgvPosition(
        x=round(model.x, 3),
        y=round(model.y, 3),
        theta=round(model.theta, 4),
        map_id=model.map_id,
        position_initialized=True,
    )


def _velocity(model: VehicleModel) -> Velocity:
    return Velocity(vx=model.speed if model.driving else 0.0, vy=0.0, omega=0.0)


def state_message(model: VehicleModel) -> State:
    """The vehicle's ``state``."""
    node_states = []
    for node in model.nodes:
        where = model.layout.node(node.node_id)
        node_states.append(
            NodeState(
                node_id=node.node_id,
                sequence_id=node.sequence_id,
                released=node.released,
                node_position=NodePosition(x=where.x, y=where.y, map_id=where.map),
            )
        )
    return State(
        manufacturer=model.manufacturer,
        serial_number=model.serial,
        version=model.version,
        order_id=model.order_id,
        order_update_id=model.order_update_id,
        last_node_id=model.last_node_id,
        last_node_sequence_id=model.last_node_seq,
        node_states=node_states,
        edge_states=[
            EdgeState(edge_id=e.edge_id, sequence_id=e.sequence_id, released=e.released)
            for e in model.edges
        ],
        driving=model.driving,
        action_states=[s.model_copy() for s in model.actions.values()],
        battery_state=BatteryState(battery_charge=round(model.battery, 2), charging=model.charging),
        operating_mode="AUTOMATIC",
        errors=[e.model_copy(deep=True) for e in model.errors],
        paused=model.paused,
        new_base_request=False,
        distance_since_last_node=round(model.distance_since_last_node, 3),
        agv_position=_position(model),
        velocity=_velocity(model),
        loads=[ld.model_copy() for ld in model.loads],
    )


def visualization_message(model: VehicleModel) -> Visualization:
    """The vehicle's ``visualization``."""
    return Visualization(
        manufacturer=model.manufacturer,
        serial_number=model.serial,
        version=model.version,
        agv_position=_position(model),
        velocity=_velocity(model),
    )


def _param(key: str, kind: str, optional: bool = False) -> dict[str, Any]:
    return {"key": key, "valueDataType": kind, "isOptional": optional}


_LOAD_PARAMS = [
    _param("lhd", "STRING", True),
    _param("stationType", "STRING"),
    _param("stationName", "STRING", True),
    _param("loadType", "STRING"),
    _param("loadId", "STRING", True),
]

_ACTIONS: list[dict[str, Any]] = [
    {"actionType": "pick", "actionScopes": ["NODE"], "actionParameters": _LOAD_PARAMS},
    {"actionType": "drop", "actionScopes": ["NODE"], "actionParameters": _LOAD_PARAMS},
    {"actionType": "startCharging", "actionScopes": ["INSTANT", "NODE"]},
    {"actionType": "stopCharging", "actionScopes": ["INSTANT", "NODE"]},
    {"actionType": "cancelOrder", "actionScopes": ["INSTANT"]},
    {"actionType": "startPause", "actionScopes": ["INSTANT"]},
    {"actionType": "stopPause", "actionScopes": ["INSTANT"]},
    {"actionType": "factsheetRequest", "actionScopes": ["INSTANT"]},
    {"actionType": "stateRequest", "actionScopes": ["INSTANT"]},
    {
        "actionType": "initPosition",
        "actionScopes": ["INSTANT"],
        "actionParameters": [
            _param("x", "FLOAT"),
            _param("y", "FLOAT"),
            _param("theta", "FLOAT"),
            _param("mapId", "STRING"),
            _param("lastNodeId", "STRING"),
        ],
    },
]


def factsheet_message(model: VehicleModel) -> Factsheet:
    """The vehicle's ``factsheet`` (answer to ``factsheetRequest``)."""
    settings = model.settings
    return Factsheet(
        manufacturer=model.manufacturer,
        serial_number=model.serial,
        version=model.version,
        type_specification={
            "seriesName": "LaneSim container AMR",
            "seriesDescription": "LaneSort's simulated container carrier",
            "agvKinematic": "DIFF",
            "agvClass": "CARRIER",
            "maxLoadMass": 60.0,
            "localizationTypes": ["NATURAL"],
            "navigationTypes": ["AUTONOMOUS"],
        },
        physical_parameters={
            "speedMin": 0.0,
            "speedMax": settings.speed_m_s,
            "accelerationMax": 1.0,
            "decelerationMax": 1.0,
            "heightMax": 0.4,
            "width": 0.6,
            "length": 0.9,
        },
        protocol_limits={
            "maxStringLens": {},
            "maxArrayLens": {},
            "timing": {
                "minOrderInterval": 0.0,
                "minStateInterval": 0.0,
                "defaultStateInterval": settings.state_interval_s,
                "visualizationInterval": settings.visualization_interval_s,
            },
        },
        protocol_features={"optionalParameters": [], "agvActions": _ACTIONS},
        agv_geometry={},
        load_specification={"loadPositions": ["LHD1"]},
    )
