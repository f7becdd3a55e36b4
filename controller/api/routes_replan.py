"""Re-planning: the optimiser's proposed sort plan, applied or discarded by a supervisor."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from controller.api.auth import Reader, TmsOrSupervisor, actor_of, line_of
from controller.api.models import iso
from controller.api.problems import ApiProblem, field_errors
from controller.errors import PlanningError, SortPlanError
from controller.sortplan.replanner import Proposal

router = APIRouter(prefix="/api/v1/sort-plan/proposal", tags=["sort plan"])

_RESPONSES: dict[int | str, dict[str, Any]] = {
    404: {"description": "no such proposal"},
    409: {"description": "the proposal is not pending, or the plan changed since it was made"},
}


def _proposal(p: Proposal) -> dict[str, Any]:
    body = p.as_dict()
    return {**body, "created": iso(p.created), "decided_at": iso(p.decided_at)}


@router.get("", summary="The newest sort-plan proposal", responses={404: _RESPONSES[404]})
async def get_proposal(request: Request, _: Reader) -> dict[str, Any]:
    """The newest proposal (pending, applied, discarded, superseded, or unchanged: a
    repair that moved no route), the re-planning policy, and why the last attempt
    failed, if it did."""
    replanner = line_of(request).replanner
    if replanner.proposal is None:
        raise ApiProblem(404, "no sort-plan proposal yet", "no-proposal")
    return {
        **_proposal(replanner.proposal),
        "policy": replanner.settings.policy,
        "last_error": replanner.error,
    }


@router.post(
    "",
    summary="Propose a sort plan now (tms, supervisor)",
    responses={422: {"description": "no route plan, or no plan exists (the cause named)"}},
)
async def post_proposal(
    request: Request,
    who: TmsOrSupervisor,
    fresh: Annotated[
        bool | None,
        Query(
            description="true: a fresh plan; false: a repair; absent: fresh when the "
            "route plan changed since the plan in force"
        ),
    ] = None,
) -> dict[str, Any]:
    """Run the optimiser (in its worker process) for the line now; with policy ``auto``
    the proposal is applied at once."""
    try:
        proposal = await line_of(request).propose_plan(actor_of(who), fresh)
    except PlanningError as err:
        raise ApiProblem(
            422, f"no sort plan could be proposed: {err}", "no-plan", field_errors(err.problems, "")
        ) from err
    return _proposal(proposal)


def _refused(err: SortPlanError, proposal_id: int) -> ApiProblem:
    why = err.problems.get("proposal") or err.problems.get("expected_version") or str(err)
    status = 404 if "not the newest" in why else 409
    return ApiProblem(status, f"proposal {proposal_id}: {why}", "proposal-refused")


@router.post(
    "/{proposal_id}/apply", summary="Apply a proposal (tms, supervisor)", responses=_RESPONSES
)
async def apply_proposal(proposal_id: int, request: Request, who: TmsOrSupervisor) -> dict:
    """Make the proposal the sort plan: a new version by the caller, with the proposal's
    trigger as the reason."""
    line = line_of(request)
    try:
        version = await line.apply_proposal(proposal_id, actor_of(who))
    except SortPlanError as err:
        raise _refused(err, proposal_id) from err
    return {"version": version.version, "proposal": _proposal(line.replanner.proposal)}


@router.post(
    "/{proposal_id}/discard", summary="Discard a proposal (tms, supervisor)", responses=_RESPONSES
)
async def discard_proposal(proposal_id: int, request: Request, who: TmsOrSupervisor) -> dict:
    """Drop the proposal; the plan in force stays."""
    try:
        proposal = line_of(request).discard_proposal(proposal_id, actor_of(who))
    except SortPlanError as err:
        raise _refused(err, proposal_id) from err
    return _proposal(proposal)
