"""Whose turn it is at the door: a truck is loaded last stop first. Pure.

A container goes by its highest stop (:attr:`~controller.loading.plan.LoadUnit.last_stop`).
Its turn has come when its truck is at its door and nothing that must be loaded before it
can still come:

* every container of the truck with a higher stop is loaded, and
* no higher stop of the truck is still open at a put wall (more containers may come for
  it), unless the truck is *final* (departure: load what there is).

Containers of the same stop may go together. A held, failed or lost container of a higher
stop keeps the lower stops waiting: it has to be solved (released, retried) first, which
is what a loader at the door would have to do too. At departure (*final*) such a unit no
longer blocks (``blocks`` false): the rest is loaded, and the door's check records the
loads it overtook as out of sequence.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Unit:
    """A container of a truck as sequencing sees it."""

    id: str
    last_stop: int
    loaded: bool
    blocks: bool = True
    """False for a unit that cannot come now (held, stuck) once the truck is final."""


def turn_has_come(
    units: Iterable[Unit], open_stops: Collection[int], *, docked: bool, final: bool = False
) -> list[str]:
    """The ids of the truck's units not loaded yet whose turn has come, in load order."""
    if not docked:
        return []
    units = sorted(units, key=lambda u: (-u.last_stop, u.id))
    pending = [u for u in units if not u.loaded and (u.blocks or not final)]
    if not pending:
        return []
    highest_open = max(open_stops, default=-1) if not final else -1
    front = max(pending[0].last_stop, highest_open)
    return [u.id for u in pending if u.last_stop >= front]
