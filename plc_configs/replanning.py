"""The ``replanning:`` section: when the line proposes a new sort plan, and who applies it."""

from __future__ import annotations

from typing import Literal

from pydantic import Field

from plc_configs.base import Strict


class ReplanningSection(Strict):
    """Live re-planning of the sort plan by the optimiser (issue: chutes fail, volumes shift).

    The line proposes a plan when the TMS sends a new route plan (a fresh plan), and a
    repair when a chute is taken out (by a supervisor or the PLC), reports full for
    longer than ``full_after_s``, or when the routes' arrived volume departs from what
    the plan was made for by more than ``volume_departure``. ``policy: manual`` waits for
    a supervisor to apply or discard it (HMI planning page, or the API); ``auto`` applies
    it at once, recorded as a sort-plan version by ``replanner``.
    """

    enabled: bool = Field(True, description="propose plans at all (false: hand-made plans only)")
    policy: Literal["manual", "auto"] = Field(
        "manual", description="manual: a supervisor applies a proposal; auto: applied at once"
    )
    repairs: bool = Field(
        True,
        description="propose repairs on the triggers (false: only a new route plan "
        "proposes a plan, a fresh one; the plan is static in between)",
    )
    full_after_s: float = Field(
        60, gt=0, description="a chute reporting full this long triggers a repair"
    )
    volume_departure: float = Field(
        0.25,
        gt=0,
        description="a route's share of the arrived parcels off by this share of its planned "
        "share (0.25: 25 %) triggers a repair",
    )
    volume_min_parcels: int = Field(
        200, ge=1, description="arrivals since the plan before volume shifts are judged"
    )
    chute_capacity: int | None = Field(
        None,
        ge=1,
        description="parcels a chute takes in a wave, for planning (null: 1.25 x the mean load)",
    )
    time_limit_s: float = Field(2.0, gt=0, le=600, description="the optimiser's time limit")
    check_interval_s: float = Field(1.0, gt=0, description="how often the triggers are checked")
