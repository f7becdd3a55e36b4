"""One put wall's state, pure: cubbies, the put waiting for its confirm, what each press means.

An operator takes a parcel from the chute and scans it (:meth:`PutWall.scan`). The wall
finds the cubby of the parcel's **group** (its stop, or its consignee at that stop when
consolidating), assigning a free cubby when the group has none yet or its cubbies are
full, and lights that cubby: green, showing how many parcels the cubby will hold with
this one. The put waits for the confirm press on that module (:meth:`PutWall.press`).
No I/O here: every call returns a :class:`Step` with what to record (:class:`Record`)
and what to show on the lights (:class:`Light`), and the service applies both.

Rules (each outcome is a :class:`Record` kind):

* ``put`` — the confirm on the right module. The parcel is recorded once, ever.
* ``wrong_put`` — a confirm on another module: nothing recorded, the right cubby
  flashes, the pressed one shows red; the put still waits.
* ``exception`` — an unknown parcel, or one of a truck (route) the wall does not serve:
  it goes to the exception cage with the reason; no cubby is lit.
* ``duplicate`` — a parcel already put (the record names its cubby).
* ``short`` — the shortage button on the lit module: the parcel is missing or damaged.
* ``abandoned`` — another parcel scanned, or no confirm within the timeout: the
  waiting put is dropped (its parcel is still to be put) and its light cleared.
* ``idle_press`` — a press while no put waits (ignored, counted).
* ``container_closed`` — a cubby reached its capacity, or its stop completed, or a
  supervisor closed it: its container is closed (the label is printed and it is
  check-weighed); a full cubby takes no more parcels until its container leaves
  (:meth:`PutWall.container_left`), and its group goes on in another cubby.
* ``stop_complete`` — every manifest parcel of a stop is put or accounted for (short,
  rejected at the sorter, exception): its cubbies show the complete colour and close.
* ``no_cubby`` — no free cubby for a new group: the parcel goes to the exception cage.

A module that drops off the bus (:meth:`PutWall.module_offline`) gets no new group; a
put waiting on it moves to another cubby of its group (or a free one).
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from drivers.ptl.base import Colour

#: The colour of each light meaning.
PENDING, WRONG, COMPLETE, FULL = Colour.GREEN, Colour.RED, Colour.ORANGE, Colour.ORANGE

GroupKey = tuple[str, int, str]
"""(route, stop sequence, consignee or "" when grouping by stop)."""


@dataclass(frozen=True, slots=True)
class WallParcel:
    """What the wall needs of a parcel: its identity and where it is delivered."""

    parcel_id: str
    truck: str | None
    route: str | None
    stop: int | None
    consignee: str = ""


@dataclass(frozen=True, slots=True)
class Light:
    """A light command: show ``value`` in ``colour`` (``None`` colour clears the module)."""

    node: int
    colour: Colour | None
    value: int = 0
    flash: bool = False


@dataclass(frozen=True, slots=True)
class Record:
    """One thing that happened at the wall, to journal (and maybe report upstream)."""

    kind: str
    parcel_id: str | None = None
    cubby: str | None = None
    container_id: str | None = None
    reason: str = ""
    group: GroupKey | None = None
    parcels: tuple[str, ...] = ()


@dataclass
class Step:
    """The outcome of one call: records in order and the light commands to send."""

    records: list[Record] = field(default_factory=list)
    lights: list[Light] = field(default_factory=list)

    def kinds(self) -> list[str]:
        """The records' kinds, in order (handy in tests and logs)."""
        return [r.kind for r in self.records]


@dataclass
class Cubby:
    """One cubby: its module, the group it holds now and its open container."""

    id: str
    node: int
    capacity: int
    group: GroupKey | None = None
    container_id: str | None = None
    parcels: list[str] = field(default_factory=list)
    full: bool = False
    """Its container is closed and has not left yet: no parcel goes in."""
    online: bool = True

    @property
    def free(self) -> bool:
        """True when the cubby can take a new group."""
        return self.group is None and not self.full and self.online


@dataclass
class Pending:
    """The put waiting for its confirm."""

    parcel: WallParcel
    cubby: Cubby
    since: float
    wrong_presses: int = 0


class PutWall:
    """The cubbies of one wall and the put waiting on it.

    ``cubbies`` maps a cubby id to its module's node; ``expected`` maps each manifest
    parcel this wall serves to its group (so a stop knows when it is complete);
    ``serves(parcel)`` says whether a known parcel belongs to this wall.
    ``new_container_id`` makes a container id (unique across restarts).
    """

    def __init__(
        self,
        wall_id: str,
        cubbies: Mapping[str, int],
        *,
        capacity: int,
        by_consignee: bool,
        serves: Callable[[WallParcel], bool],
        new_container_id: Callable[[], str],
        confirm_timeout_s: float = 60.0,
    ):
        self.id = wall_id
        self.cubbies = {cid: Cubby(cid, node, capacity) for cid, node in cubbies.items()}
        self._by_node = {c.node: c for c in self.cubbies.values()}
        self.by_consignee = by_consignee
        self.serves = serves
        self.new_container_id = new_container_id
        self.confirm_timeout_s = confirm_timeout_s
        self.pending: Pending | None = None
        self.put: dict[str, str] = {}
        """Parcel id -> cubby id of every parcel put (this wall's whole history)."""
        self.accounted: dict[str, str] = {}
        """Parcel id -> outcome for parcels that will not be put (short, rejected …)."""
        self.expected: dict[GroupKey, set[str]] = {}
        self.expected_group: dict[str, GroupKey] = {}
        """Parcel id -> its group, for every expected parcel."""
        self.completed: set[tuple[str, int]] = set()
        self.counts: dict[str, int] = {}

    # ----------------------------------------------------------------- set-up

    def expect(self, parcels: Iterable[WallParcel]) -> None:
        """Add manifest parcels this wall will receive (their groups' completeness)."""
        for parcel in parcels:
            if parcel.route is not None and parcel.stop is not None:
                group = self.group_of(parcel)
                self.expected.setdefault(group, set()).add(parcel.parcel_id)
                self.expected_group[parcel.parcel_id] = group

    def group_of(self, parcel: WallParcel) -> GroupKey:
        """The cubby group of a parcel: its stop, and its consignee when consolidating."""
        consignee = parcel.consignee if self.by_consignee else ""
        return (parcel.route or "", parcel.stop if parcel.stop is not None else -1, consignee)

    def cubby_at(self, node: int) -> Cubby | None:
        """The cubby whose module is ``node``."""
        return self._by_node.get(node)

    # ----------------------------------------------------------------- scans

    def scan(self, code: str, parcel: WallParcel | None, now: float) -> Step:
        """An operator scanned ``code``; ``parcel`` is what the manifest knows of it."""
        step = Step()
        if self.pending is not None:
            if parcel is not None and self.pending.parcel.parcel_id == parcel.parcel_id:
                self._light_pending(step)
                return step
            self._abandon(step, "another parcel was scanned")
        if parcel is None:
            return self._out(step, Record("exception", code, reason="unknown parcel"))
        pid = parcel.parcel_id
        if pid in self.put:
            return self._out(step, Record("duplicate", pid, cubby=self.put[pid]))
        if not self.serves(parcel) or parcel.route is None or parcel.stop is None:
            where = f"truck {parcel.truck}" if parcel.truck else "no truck"
            reason = f"not for this wall ({where}, route {parcel.route or 'none'})"
            return self._out(step, Record("exception", pid, reason=reason))
        cubby = self._cubby_for(self.group_of(parcel))
        if cubby is None:
            return self._out(step, Record("no_cubby", pid, reason="no free cubby on the wall"))
        self.pending = Pending(parcel, cubby, now)
        self._light_pending(step)
        return step

    def press(self, node: int, kind: str, now: float) -> Step:
        """A module's button was pressed (``confirm`` or ``shortage``)."""
        step = Step()
        pending = self.pending
        if pending is None:
            return self._out(step, Record("idle_press", reason=f"node {node} {kind}"))
        if node != pending.cubby.node:
            if kind != "confirm":
                return self._out(step, Record("idle_press", reason=f"node {node} {kind}"))
            pending.wrong_presses += 1
            wrong = self._by_node.get(node)
            step.records.append(
                Record(
                    "wrong_put",
                    pending.parcel.parcel_id,
                    cubby=pending.cubby.id,
                    reason=f"pressed {wrong.id if wrong else f'node {node}'}",
                )
            )
            step.lights.append(Light(node, WRONG, 0, flash=False))
            step.lights.append(Light(pending.cubby.node, PENDING, self._shown(pending), True))
            self._count("wrong_put")
            return step
        self.pending = None
        parcel, cubby = pending.parcel, pending.cubby
        if kind == "shortage":
            self.accounted[parcel.parcel_id] = "short"
            step.records.append(
                Record("short", parcel.parcel_id, cubby=cubby.id, reason="shortage pressed")
            )
            self._count("short")
            step.lights.append(self._resting_light(cubby))
        else:
            if cubby.container_id is None:
                cubby.container_id = self.new_container_id()
            cubby.parcels.append(parcel.parcel_id)
            self.put[parcel.parcel_id] = cubby.id
            self.accounted.pop(parcel.parcel_id, None)
            step.records.append(
                Record(
                    "put",
                    parcel.parcel_id,
                    cubby=cubby.id,
                    container_id=cubby.container_id,
                    group=cubby.group,
                )
            )
            self._count("put")
            if len(cubby.parcels) >= cubby.capacity:
                self._close(step, cubby, "cubby full")
            else:
                step.lights.append(self._resting_light(cubby))
        self._check_complete(step, self.group_of(parcel))
        return step

    def account(self, parcel_id: str, outcome: str, group: GroupKey | None) -> Step:
        """A parcel of this wall will not be put (rejected at the sorter, short …)."""
        step = Step()
        if parcel_id in self.put:
            return step
        self.accounted[parcel_id] = outcome
        if group is not None:
            self._check_complete(step, group)
        return step

    def tick(self, now: float) -> Step:
        """Time passes: a put unconfirmed for ``confirm_timeout_s`` is abandoned."""
        step = Step()
        if self.pending is not None and now - self.pending.since >= self.confirm_timeout_s:
            self._abandon(step, f"no confirm within {self.confirm_timeout_s:g} s")
        return step

    # ------------------------------------------------------------ containers

    def close_cubby(self, cubby_id: str, reason: str) -> Step:
        """Close a cubby's container now (a supervisor, or the service)."""
        step = Step()
        cubby = self.cubbies[cubby_id]
        if cubby.parcels:
            self._close(step, cubby, reason)
        return step

    def container_left(self, container_id: str) -> Step:
        """A closed container left its cubby (weighed, or taken away): the cubby is free."""
        step = Step()
        for cubby in self.cubbies.values():
            if cubby.full and cubby.container_id == container_id:
                cubby.full, cubby.container_id, cubby.parcels = False, None, []
                if cubby.group is not None and self._group_done(cubby.group):
                    cubby.group = None
                if cubby.group is None:
                    step.lights.append(Light(cubby.node, None))
                else:
                    step.lights.append(self._resting_light(cubby))
        return step

    def reassign(self, cubby_id: str, group: GroupKey | None) -> Step:
        """Give a cubby another group (a supervisor): allowed only while it is empty."""
        cubby = self.cubbies[cubby_id]
        if cubby.parcels or cubby.full:
            raise ValueError(f"cubby {cubby_id} holds parcels: close its container first")
        if self.pending is not None and self.pending.cubby is cubby:
            raise ValueError(f"cubby {cubby_id} has a put waiting for its confirm")
        cubby.group = group
        step = Step()
        step.lights.append(Light(cubby.node, None))
        step.records.append(Record("cubby_reassigned", cubby=cubby_id, group=group))
        return step

    # --------------------------------------------------------------- modules

    def module_offline(self, node: int) -> Step:
        """A module stopped answering: no new group there; a put waiting on it moves."""
        step = Step()
        cubby = self._by_node.get(node)
        if cubby is None or not cubby.online:
            return step
        cubby.online = False
        step.records.append(Record("module_offline", cubby=cubby.id, reason=f"node {node}"))
        pending = self.pending
        if pending is not None and pending.cubby is cubby:
            moved = self._cubby_for(self.group_of(pending.parcel))
            if moved is None:
                self._abandon(step, f"its cubby {cubby.id} went offline, no other cubby")
            else:
                pending.cubby = moved
                self._light_pending(step)
        return step

    def module_online(self, node: int) -> Step:
        """A module answers again: show what it should show."""
        step = Step()
        cubby = self._by_node.get(node)
        if cubby is None or cubby.online:
            return step
        cubby.online = True
        step.records.append(Record("module_online", cubby=cubby.id, reason=f"node {node}"))
        if self.pending is not None and self.pending.cubby is cubby:
            self._light_pending(step)
        else:
            step.lights.append(self._resting_light(cubby))
        return step

    def lights_now(self) -> list[Light]:
        """What every module must show now (sent again after a bus reconnects)."""
        lights = []
        for cubby in self.cubbies.values():
            if self.pending is not None and self.pending.cubby is cubby:
                lights.append(Light(cubby.node, PENDING, self._shown(self.pending)))
            elif cubby.group is not None and cubby.group[:2] in self.completed and cubby.full:
                lights.append(Light(cubby.node, COMPLETE, len(cubby.parcels)))
            else:
                lights.append(self._resting_light(cubby))
        return lights

    # ---------------------------------------------------------------- inside

    def _cubby_for(self, group: GroupKey) -> Cubby | None:
        for cubby in self.cubbies.values():
            if cubby.group == group and cubby.online and not cubby.full:
                return cubby
        for cubby in self.cubbies.values():
            if cubby.free:
                cubby.group = group
                return cubby
        return None

    def _shown(self, pending: Pending) -> int:
        return len(pending.cubby.parcels) + 1

    def _light_pending(self, step: Step) -> None:
        assert self.pending is not None
        step.lights.append(Light(self.pending.cubby.node, PENDING, self._shown(self.pending)))

    def _resting_light(self, cubby: Cubby) -> Light:
        if cubby.full:
            return Light(cubby.node, FULL, len(cubby.parcels), flash=True)
        return Light(cubby.node, None)

    def _abandon(self, step: Step, reason: str) -> None:
        assert self.pending is not None
        pending, self.pending = self.pending, None
        step.records.append(
            Record("abandoned", pending.parcel.parcel_id, cubby=pending.cubby.id, reason=reason)
        )
        self._count("abandoned")
        step.lights.append(self._resting_light(pending.cubby))
        if not pending.cubby.parcels and not pending.cubby.full:
            pending.cubby.group = None

    def _close(self, step: Step, cubby: Cubby, reason: str) -> None:
        cubby.full = True
        step.records.append(
            Record(
                "container_closed",
                cubby=cubby.id,
                container_id=cubby.container_id,
                reason=reason,
                group=cubby.group,
                parcels=tuple(cubby.parcels),
            )
        )
        self._count("container_closed")
        step.lights.append(self._resting_light(cubby))

    def _group_done(self, group: GroupKey) -> bool:
        return (group[0], group[1]) in self.completed

    def _check_complete(self, step: Step, group: GroupKey) -> None:
        stop = (group[0], group[1])
        if stop in self.completed:
            return
        members = [p for g, ps in self.expected.items() if g[:2] == stop for p in ps]
        if not members or any(p not in self.put and p not in self.accounted for p in members):
            return
        self.completed.add(stop)
        step.records.append(Record("stop_complete", group=(stop[0], stop[1], "")))
        self._count("stop_complete")
        for cubby in self.cubbies.values():
            if cubby.group is not None and cubby.group[:2] == stop:
                if cubby.parcels and not cubby.full:
                    self._close(step, cubby, "stop complete")
                    step.lights[-1] = Light(cubby.node, COMPLETE, len(cubby.parcels))
                elif not cubby.parcels:
                    cubby.group = None

    def _out(self, step: Step, record: Record) -> Step:
        step.records.append(record)
        self._count(record.kind)
        return step

    def _count(self, kind: str) -> None:
        self.counts[kind] = self.counts.get(kind, 0) + 1


def container_ids(prefix: str) -> Callable[[], str]:
    """Container ids ``{prefix}-0001`` … (the prefix makes them unique across restarts)."""
    counter = itertools.count(1)
    return lambda: f"{prefix}-{next(counter):04d}"
