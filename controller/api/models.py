"""Request and answer bodies of the API that are more than a plain dict."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict, Field

Chute = Annotated[int, Field(ge=1, le=65535)]
RouteName = Annotated[str, Field(min_length=1, max_length=64)]
HistoryLimit = Annotated[int, Query(ge=1, le=1000)]
"""How many versions a history page holds."""
HistoryBefore = Annotated[
    int | None, Query(ge=1, le=2**62, description="versions older than this one")
]
"""Page back from a version number (a query parameter of the history endpoints)."""


def iso(epoch: float | None) -> str | None:
    """Epoch seconds as ISO 8601 UTC with milliseconds, or None."""
    if epoch is None:
        return None
    return (
        datetime.fromtimestamp(epoch, UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LineCommand(_Body):
    """A PackML command for the line."""

    command: Literal[
        "reset", "start", "stop", "hold", "unhold", "suspend", "unsuspend", "abort", "clear",
        "complete",
    ] = Field(description="Start needs Idle, Reset needs Stopped (PackML)")  # fmt: skip


class ChuteChange(_Body):
    """Enable or disable a chute."""

    enabled: bool = Field(description="false: the PLC sends its parcels elsewhere or to reject")


class _PlanChange(_Body):
    """What every sort plan change carries besides the routes."""

    reason: str | None = Field(None, max_length=500, description="kept in the audit trail")
    expected_version: int | None = Field(
        None,
        ge=1,
        le=2**62,
        description="refuse the change (409) if the plan is no longer this version",
    )


class SortPlanReplace(_PlanChange):
    """A whole new sort plan."""

    routes: dict[RouteName, list[Chute]] = Field(
        description="route -> chutes in order of preference; every route of the line's "
        "label route rules must stay",
        examples=[{"R01": [1, 2], "R02": [3]}],
    )


class SortPlanPatch(_PlanChange):
    """Set or remove single routes; the other routes stay as they are."""

    routes: dict[RouteName, list[Chute] | None] = Field(
        description="route -> its new chutes, or null to remove the route",
        examples=[{"R07": [12], "R19": None}],
    )


class ReplayRequest(_Body):
    """Which outbox events to send again."""

    event_ids: list[Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        None, max_length=10_000, description="these events; omit to replay by state"
    )
    state: Literal["dead", "delivered"] = Field(
        "dead", description="without event_ids: every event in this state"
    )


class CloseOut(_Body):
    """Why a chute's container is closed out (optional)."""

    reason: str | None = Field(
        None, max_length=500, description="kept with the record, e.g. full or route done"
    )
