"""The active sort plan (route -> chutes), its changes and audit trail, and routes."""

from __future__ import annotations

import asyncio
from typing import Any

from fastapi import APIRouter, Request

from controller.api.auth import Reader, Tms, line_of
from controller.api.models import (
    HistoryBefore,
    HistoryLimit,
    SortPlanPatch,
    SortPlanReplace,
    iso,
)
from controller.api.problems import ApiProblem, field_errors
from controller.errors import SortPlanError
from controller.line import LineController
from controller.sortplan import PlanVersion

router = APIRouter(prefix="/api/v1", tags=["sort plan"])


def _plan(line: LineController) -> dict[str, Any]:
    return {
        "version": line.plan.version,
        "reject_chute": line.plan.reject_chute,
        "routes": line.plan.as_dict(),
    }


def _version(v: PlanVersion) -> dict[str, Any]:
    return {
        "version": v.version,
        "time": iso(v.time),
        "actor": v.actor,
        "role": v.role,
        "action": v.action,
        "reason": v.reason,
        "change": v.change,
    }


@router.get("/sort-plan", summary="The active sort plan")
async def get_sort_plan(request: Request, _: Reader) -> dict[str, Any]:
    """Route -> chutes in order of preference, with the plan's version."""
    return _plan(line_of(request))


async def _change(request: Request, coro: Any) -> dict[str, Any]:
    try:
        version = await coro
    except SortPlanError as err:
        if "expected_version" in err.problems:
            raise ApiProblem(
                409, err.problems["expected_version"], "plan-version-conflict"
            ) from err
        raise ApiProblem(
            422,
            f"the sort plan change is invalid ({len(err.problems)} problems); nothing changed",
            "invalid-sort-plan",
            field_errors(err.problems),
        ) from err
    return {**_plan(line_of(request)), "change": _version(version)}


_CHANGE_RESPONSES: dict[int | str, dict[str, Any]] = {
    409: {"description": "expected_version is not the active version"},
    422: {"description": "unknown chute, chute already bound, reject chute used …"},
}


@router.put("/sort-plan", summary="Replace the sort plan (tms)", responses=_CHANGE_RESPONSES)
async def put_sort_plan(body: SortPlanReplace, request: Request, who: Tms) -> dict[str, Any]:
    """Validate the whole plan, then make it active at once; audited with who and why."""
    service = line_of(request).plan_service
    return await _change(
        request,
        service.change(
            body.routes, "replace", who.name, who.role.value, body.reason, body.expected_version
        ),
    )


@router.patch(
    "/sort-plan", summary="Change single routes of the sort plan (tms)", responses=_CHANGE_RESPONSES
)
async def patch_sort_plan(body: SortPlanPatch, request: Request, who: Tms) -> dict[str, Any]:
    """Set routes to new chutes or remove them (null); the result is validated as a whole."""
    service = line_of(request).plan_service
    return await _change(
        request,
        service.patch(body.routes, who.name, who.role.value, body.reason, body.expected_version),
    )


@router.get("/sort-plan/history", summary="Audit trail of sort plan changes")
async def get_sort_plan_history(
    request: Request,
    _: Reader,
    limit: HistoryLimit = 50,
    before: HistoryBefore = None,
) -> list[dict[str, Any]]:
    """Versions newest first: who, when, what changed route by route, and why."""
    versions = await line_of(request).plan_service.history(limit, before)
    return [_version(v) for v in versions]


@router.get("/routes", summary="Routes: chutes and manifest parcels")
async def get_routes(request: Request, _: Reader) -> list[dict[str, Any]]:
    """Every route in the sort plan or the manifest, its chutes and its manifest parcels."""
    line = line_of(request)
    counts = await asyncio.to_thread(line.manifest.routes)
    plan = line.plan.as_dict()
    return [
        {"route": route, "chutes": plan.get(route, []), "manifest_parcels": counts.get(route, 0)}
        for route in sorted(set(plan) | set(counts))
    ]
