"""The TMS side of the manifest and route-plan pushes to LaneSort's API.

``push_manifest`` streams the file's bytes (with a ``Content-Length``) to
``{api_url}/api/v1/manifest?partial=true|false`` with ``Authorization: Bearer
<token>`` and returns LaneSort's JSON answer; any non-2xx answer raises
:class:`ManifestPushError` carrying the status and the body.

``push_route_plan`` sends a route plan (trucks, routes, stops: see
:meth:`simulators.route_plan.RoutePlan.as_tms_json`) as JSON with ``PUT
{api_url}/api/v1/route-plan`` and the same bearer token; a non-2xx answer raises
:class:`RoutePlanPushError`.
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import aiohttp
from aiohttp.payload import BufferedReaderPayload


class ManifestPushError(Exception):
    """LaneSort answered a manifest push with a non-2xx status (or a non-JSON body)."""

    def __init__(self, status: int, body: str, url: str) -> None:
        super().__init__(f"manifest push to {url}: HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body
        self.url = url


async def push_manifest(
    api_url: str,
    token: str,
    path: Path | str,
    content_type: str = "text/csv",
    partial: bool = False,
    *,
    timeout_s: float = 60.0,
) -> dict[str, Any]:
    """POST the manifest file at ``path`` to LaneSort and return its JSON answer.

    ``partial=True`` asks LaneSort to merge the rows into the current manifest
    instead of replacing it. Raises :class:`ManifestPushError` on a non-2xx
    answer and :class:`aiohttp.ClientError` when LaneSort cannot be reached.
    """
    url = f"{api_url.rstrip('/')}/api/v1/manifest"
    params = {"partial": "true" if partial else "false"}
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    handle = await asyncio.to_thread(Path(path).open, "rb")
    try:
        body = BufferedReaderPayload(handle, content_type=content_type, disposition=None)
        timeout = aiohttp.ClientTimeout(total=timeout_s)
        async with (
            aiohttp.ClientSession(timeout=timeout) as session,
            session.post(url, params=params, data=body, headers=headers) as response,
        ):
            text = await response.text()
            if not 200 <= response.status < 300:
                raise ManifestPushError(response.status, text, str(response.url))
    finally:
        await asyncio.to_thread(handle.close)
    try:
        answer = json.loads(text) if text else {}
    except json.JSONDecodeError as err:
        raise ManifestPushError(response.status, text, url) from err
    if not isinstance(answer, dict):
        raise ManifestPushError(response.status, text, url)
    return answer


class RoutePlanPushError(Exception):
    """LaneSort answered a route-plan push with a non-2xx status (or a non-JSON body)."""

    def __init__(self, status: int, body: str, url: str) -> None:
        super().__init__(f"route plan push to {url}: HTTP {status}: {body[:500]}")
        self.status = status
        self.body = body
        self.url = url


async def push_route_plan(
    api_url: str, token: str, plan_json: dict[str, Any], *, timeout_s: float = 60.0
) -> dict[str, Any]:
    """PUT the route plan ``plan_json`` to LaneSort and return its JSON answer.

    Raises :class:`RoutePlanPushError` on a non-2xx answer (or one that is not a JSON
    object) and :class:`aiohttp.ClientError` when LaneSort cannot be reached.
    """
    url = f"{api_url.rstrip('/')}/api/v1/route-plan"
    headers = {"Authorization": f"Bearer {token}", "Accept": "application/json"}
    timeout = aiohttp.ClientTimeout(total=timeout_s)
    async with (
        aiohttp.ClientSession(timeout=timeout) as session,
        session.put(url, json=plan_json, headers=headers) as response,
    ):
        text = await response.text()
        status = response.status
    if not 200 <= status < 300:
        raise RoutePlanPushError(status, text, url)
    try:
        answer = json.loads(text) if text else {}
    except json.JSONDecodeError as err:
        raise RoutePlanPushError(status, text, url) from err
    if not isinstance(answer, dict):
        raise RoutePlanPushError(status, text, url)
    return answer
