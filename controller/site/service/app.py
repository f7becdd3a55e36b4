"""The site's FastAPI application: parcels, counters, trucks and lines across the hub;
manifests and route plans distributed to the lines; Prometheus metrics.

Tokens and roles are the line's (:mod:`controller.api.auth`), checked against the site's
own token store; errors are problem+json (:mod:`controller.api.problems`). Every read of
the site store answers 503 naming the server and the cause while PostgreSQL is down.
"""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.responses import RedirectResponse
from fastapi_offline import FastAPIOffline
from starlette.routing import Mount

from controller.api import problems
from controller.site.service import routes_distribute, routes_read
from controller.site.service.errors import SiteStoreUnavailable
from controller.site.service.site import Site

DESCRIPTION = """
The REST API of a LaneSort site: one view of every sort line of the hub.

**Authentication** as on a line: `Authorization: Bearer <token>`, tokens made with
`lanesort token create --site SITE.yaml --name NAME --role tms|supervisor|viewer`.
`tms` sends manifests and route plans; every role reads. No token or a wrong one: 401;
a token of the wrong role: 403.

**Distribution.** `POST /api/v1/manifest` (CSV, NDJSON or JSON, as on a line) and
`PUT /api/v1/route-plan` are split by route → line (the site config's `routes`) and each
line gets its part over its own API. The answer lists each line's result (`accepted`,
`loading`, `refused` with the line's reason, `pending` when the line cannot be reached:
kept and retried) and the rows or routes no line takes (`unassigned`).

**Reading** comes from the site store (PostgreSQL) the lines relay into; while it is
down those endpoints answer 503 and say why.
"""


def create_site_app(site: Site) -> FastAPI:
    """The site's web app (API, docs, ``/metrics``); the HMI mounts itself on it later."""
    app = FastAPIOffline(
        title=f"LaneSort site {site.config.site.name}",
        version="1",
        description=DESCRIPTION,
        openapi_tags=[
            {"name": "parcels", "description": "A parcel on whichever line sorted it"},
            {"name": "site", "description": "Counters, lines, trucks across the hub"},
            {"name": "distribution", "description": "Manifests and route plans to the lines"},
            {"name": "operations", "description": "Health, Prometheus metrics"},
        ],
    )
    app.state.site = site
    app.state.tokens = site.tokens
    problems.install(app)

    @app.exception_handler(SiteStoreUnavailable)
    async def _store_down(request: Request, exc: SiteStoreUnavailable):  # type: ignore[no-untyped-def]
        return problems.problem_response(request, 503, str(exc), "site-store-unavailable")

    app.include_router(routes_read.router)
    app.include_router(routes_distribute.router)

    @app.api_route("/", methods=["GET", "HEAD"], include_in_schema=False)
    def home(request: Request) -> RedirectResponse:
        """The site's address in a browser: its HMI page, else the API docs."""
        path = site.config.hmi.path
        mounted = any(isinstance(r, Mount) and r.path == path for r in request.app.routes)
        return RedirectResponse(f"{path}/" if mounted else "/docs", status_code=307)

    return app
