"""The FastAPI application: routers, problem+json errors, OpenAPI description."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi_offline import FastAPIOffline
from starlette.routing import Mount

from controller.api import (
    hardening,
    problems,
    routes_alarms,
    routes_containers,
    routes_fleet,
    routes_line,
    routes_manifest,
    routes_ops,
    routes_parcels,
    routes_plan,
    routes_putwall,
    routes_replan,
    routes_reports,
    routes_routeplan,
    routes_transport,
    routes_upstream,
)
from controller.auth import TokenStore
from controller.line import LineController

DESCRIPTION = """
The REST API of a LaneSort sort line, for the upstream TMS and for supervisors' tools.

**Authentication.** Every endpoint except `/health` and `/ready` needs
`Authorization: Bearer <token>`. Tokens are made on the controller host with
`lanesort token create --config LINE.yaml --name NAME --role tms|supervisor|viewer`
and shown once. Roles: `tms` uploads manifests, sends the route plan and changes the sort plan;
`supervisor` starts/stops the line, enables/disables chutes and acknowledges and
shelves alarms; every role reads.
A missing or wrong token answers 401, a token of the wrong role 403.

**A TMS integration in four steps.**
1. `POST /api/v1/manifest` with your manifest (CSV, NDJSON or JSON; up to millions
   of rows; bad rows are reported by line number, and nothing is loaded unless you
   ask for `partial=true`).
2. `GET /api/v1/sort-plan` to see route → chutes; `PATCH` it to move routes.
3. Receive parcel events on your webhook (configured in the line config's
   `upstream.webhook_url`): `parcel.measured`, `parcel.sorted`, `parcel.rejected`,
   `parcel.lost` (and `container.closed` when a chute's container is closed out,
   with the parcels in it), one JSON object per POST with an `Idempotency-Key` header and,
   if a secret is set, an `X-LaneSort-Signature` (HMAC-SHA256 of `t.body`).
   Answer 2xx; anything else is retried with backoff and nothing is lost.
4. `GET /api/v1/parcels/{barcode}` for one parcel's measurements and events.

**Errors** are `application/problem+json` (RFC 9457) with `errors: [{field, reason}]`.

`/` (not part of this API) redirects a browser to the HMI, or to this page when the
controller serves no HMI.
"""


def create_app(line: LineController, tokens: TokenStore) -> FastAPI:
    """The API of ``line``; requests are checked against ``tokens``. Every response (the
    HMI's too, once mounted) carries the hardening headers (:mod:`controller.api.hardening`;
    HSTS when ``api.tls`` is set)."""
    # Swagger UI and ReDoc served from the package, not a CDN: a line network is often offline.
    app = FastAPIOffline(
        title="LaneSort",
        version="1",
        description=DESCRIPTION,
        openapi_tags=[
            {"name": "manifest", "description": "Parcels the TMS sends: barcode → route"},
            {"name": "sort plan", "description": "Route → chutes, changes and audit trail"},
            {
                "name": "route plan",
                "description": "Trucks at dock doors, their routes and stops, from the TMS",
            },
            {"name": "parcels", "description": "What happened to each parcel"},
            {
                "name": "fleet",
                "description": "AMR fleet (VDA 5050): vehicles, transport tasks, pause",
            },
            {
                "name": "container transport",
                "description": "Containers from wall to truck: locations, docking, AS/RS buffer",
            },
            {"name": "line", "description": "Line state, commands, audit log, chutes"},
            {"name": "alarms", "description": "ISA-18.2 alarms: acknowledge, shelve, history"},
            {"name": "upstream", "description": "Webhook outbox: depth, dead letters, replay"},
            {"name": "reports", "description": "Shift report (JSON, CSV), throughput series"},
            {"name": "operations", "description": "Health, readiness, Prometheus metrics"},
        ],
    )
    app.state.line = line
    app.state.tokens = tokens
    hardening.add_hardening_headers(app, https=line.config.api.tls is not None)
    problems.install(app)
    for module in (
        routes_manifest,
        routes_plan,
        routes_replan,
        routes_routeplan,
        routes_parcels,
        routes_line,
        routes_containers,
        routes_putwall,
        routes_fleet,
        routes_transport,
        routes_alarms,
        routes_upstream,
        routes_reports,
        routes_ops,
    ):
        app.include_router(module.router)

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def home(request: Request) -> RedirectResponse:
        """The controller's address typed in a browser: the HMI, else the API's docs.

        307, not 308: where ``/`` leads depends on the config (``hmi.enabled``,
        ``hmi.path``), and a browser keeps a permanent redirect even after it changed.
        """
        return RedirectResponse(home_path(request.app, line.config.hmi.path), status_code=307)

    return app


def home_path(app: FastAPI, hmi_path: str) -> str:
    """Where ``/`` leads: ``hmi_path/`` when a web app (the HMI) is mounted there, else
    ``/docs``. The HMI mounts itself after the API is made, so this is asked per request."""
    if any(isinstance(route, Mount) and route.path == hmi_path for route in app.routes):
        return f"{hmi_path}/"
    return "/docs"
