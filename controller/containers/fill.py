"""How full each chute's container is, estimated from what the PLC reports.

The PLC reports a chute's full sensor, not a level. The controller counts the
parcels that landed in a chute since its full sensor last cleared (the container
was swapped) or the floor closed the container out (:mod:`controller.containers.book`).
A container emptied before it ever got full, and not closed out, is not seen, so the
count is an upper bound, good for "which chute fills next" on a screen.
"""

from __future__ import annotations


class ChuteFill:
    """Parcels per chute since its container was last swapped (full sensor cleared)."""

    def __init__(self) -> None:
        self._since_swap: dict[int, int] = {}
        self._full: frozenset[int] = frozenset()

    def on_landed(self, chute: int) -> None:
        """A parcel landed in ``chute`` (its terminal confirmation)."""
        self._since_swap[chute] = self._since_swap.get(chute, 0) + 1

    def on_full(self, full: frozenset[int]) -> None:
        """The PLC's full bits now; a bit that cleared means a fresh container."""
        for chute in self._full - full:
            self._since_swap[chute] = 0
        self._full = full

    def swapped(self, chute: int) -> None:
        """The floor swapped ``chute``'s container (a close-out): its count starts again."""
        self._since_swap[chute] = 0

    def counts(self) -> dict[int, int]:
        """Chute -> parcels since the last swap (chutes never used are absent)."""
        return dict(self._since_swap)
