"""What a vehicle does for the master: a transport task's order, a trip to a charger or
home. Pure: builds the planned order of a job from the layout."""

from __future__ import annotations

from collections.abc import Collection
from dataclasses import dataclass, field

from controller.fleet.graph import Graph, Route
from controller.fleet.orders import PlannedOrder, load_action, simple_action
from plc_configs.vda5050.messages import Action

#: Errors with which a vehicle refuses an order (VDA 5050 6.6.4; ``noRouteError`` when it
#: cannot drive it).
REJECTIONS = frozenset({"validationError", "orderError", "orderUpdateError", "noRouteError"})


@dataclass
class Job:
    """One vehicle's current order from the master."""

    kind: str
    """``task``, ``charge`` or ``park``."""
    vehicle: str
    plan: PlannedOrder
    sent_at: float
    task_id: str | None = None
    pick_id: str | None = None
    drop_id: str | None = None
    accepted_update: int = -1
    """The highest ``orderUpdateId`` of this order the vehicle's state showed."""
    tries: int = 1
    cancelling: bool = False
    goal: str | None = None
    """A trip's goal station (the charger of a ``charge`` job)."""
    extra_actions: set[str] = field(default_factory=set)

    @property
    def accepted(self) -> bool:
        """The vehicle shows the last message sent (its orderUpdateId)."""
        return self.accepted_update >= self.plan.update_id

    @property
    def action_ids(self) -> set[str]:
        """Every action of the order."""
        ids = {a.action_id for acts in self.plan.actions.values() for a in acts}
        return ids | self.extra_actions


def task_job(
    graph: Graph,
    *,
    vehicle: str,
    start: str,
    order_id: str,
    container_id: str,
    source: tuple[str, str, str],
    target: tuple[str, str, str],
    base_nodes: int,
    now: float,
    task_id: str,
    avoid: Collection[str] = (),
) -> Job | None:
    """The job of a transport task: drive from ``start`` to the source station, pick, drive
    to the target, drop. ``source``/``target`` are (station id, node, station kind). None
    when there is no way (avoiding ``avoid``)."""
    to_pick = graph.route(start, source[1], avoid=avoid)
    to_drop = graph.route(source[1], target[1], avoid=avoid)
    if to_pick is None or to_drop is None:
        return None
    route = graph.join(to_pick, to_drop)
    pick_id, drop_id = f"{order_id}-pick", f"{order_id}-drop"
    actions = {
        len(to_pick.nodes) - 1: [load_action("pick", pick_id, container_id, source[0], source[2])],
        len(route.nodes) - 1: [load_action("drop", drop_id, container_id, target[0], target[2])],
    }
    plan = PlannedOrder(order_id, route, graph.layout, base_nodes, actions)
    return Job("task", vehicle, plan, now, task_id=task_id, pick_id=pick_id, drop_id=drop_id)


def trip_job(
    graph: Graph,
    *,
    kind: str,
    vehicle: str,
    start: str,
    goal: str,
    order_id: str,
    base_nodes: int,
    now: float,
) -> Job | None:
    """A trip to ``goal``: ``charge`` ends with ``startCharging`` there, ``park`` with none."""
    route = graph.route(start, goal)
    if route is None:
        return None
    actions: dict[int, list[Action]] = {}
    if kind == "charge":
        actions[len(route.nodes) - 1] = [simple_action("startCharging", f"{order_id}-charge")]
    plan = PlannedOrder(order_id, route, graph.layout, base_nodes, actions)
    return Job(kind, vehicle, plan, now)


def reroute_tail(
    graph: Graph,
    job: Job,
    *,
    picked: bool,
    container_id: str,
    source: tuple[str, str, str],
    target: tuple[str, str, str],
    avoid: Collection[str],
) -> tuple[Route, dict[int, list[Action]]] | None:
    """Another way from the job's decision point to what is left to do (the pick if it lies
    ahead, then the drop), avoiding ``avoid``; None when there is none."""
    here, _ = job.plan.decision_point
    pick_index = next(
        (
            i
            for i, acts in job.plan.actions.items()
            if any(a.action_id == job.pick_id for a in acts)
        ),
        0,
    )
    pick_ahead = not picked and pick_index > job.plan.released_to
    assert job.pick_id is not None and job.drop_id is not None
    if pick_ahead:
        first = graph.route(here, source[1], avoid=avoid)
        second = graph.route(source[1], target[1], avoid=avoid)
        if first is None or second is None:
            return None
        tail = graph.join(first, second)
        actions = {
            len(first.nodes) - 1: [
                load_action("pick", job.pick_id, container_id, source[0], source[2])
            ],
        }
    else:
        tail = graph.route(here, target[1], avoid=avoid)
        if tail is None:
            return None
        actions = {}
    actions[len(tail.nodes) - 1] = [
        load_action("drop", job.drop_id, container_id, target[0], target[2])
    ]
    return tail, actions
