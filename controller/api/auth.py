"""Bearer-token authentication and role checks for the API routes.

``Depends(require(Role.TMS))`` lets a ``tms`` token through; a missing or wrong
token answers 401 (with ``WWW-Authenticate: Bearer``), a valid token of another
role 403. Reading needs any role.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated

from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from controller.api.problems import ApiProblem
from controller.auth import Actor, Role, TokenInfo
from controller.line import LineController

_bearer = HTTPBearer(
    auto_error=False,
    description="An API token from `lanesort token create --role tms|supervisor|viewer`",
)

ANY_ROLE = (Role.TMS, Role.SUPERVISOR, Role.VIEWER)


def line_of(request: Request) -> LineController:
    """The line the app serves."""
    return request.app.state.line


def actor_of(token: TokenInfo) -> Actor:
    """The audit log's actor for a request made with ``token``."""
    return Actor(token.name, token.role.value, "api")


def require(*roles: Role) -> Callable[..., Awaitable[TokenInfo]]:
    """A dependency that authenticates the caller and checks its role is one of ``roles``."""
    allowed = frozenset(roles or ANY_ROLE)

    async def _check(
        request: Request,
        credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
    ) -> TokenInfo:
        challenge = {"WWW-Authenticate": "Bearer"}
        if credentials is None or credentials.scheme.lower() != "bearer":
            raise ApiProblem(
                401, "missing bearer token (Authorization: Bearer <token>)", headers=challenge
            )
        tokens = request.app.state.tokens
        info = await asyncio.to_thread(tokens.authenticate, credentials.credentials)
        if info is None:
            raise ApiProblem(401, "unknown, revoked or malformed token", headers=challenge)
        if info.role not in allowed:
            need = " or ".join(sorted(r.value for r in allowed))
            raise ApiProblem(
                403, f"token {info.name!r} has role {info.role.value}; this needs {need}"
            )
        return info

    return _check


reader = require(*ANY_ROLE)
"""Any valid token may read."""

Reader = Annotated[TokenInfo, Depends(reader)]
"""A route parameter: the caller, with any role."""
Tms = Annotated[TokenInfo, Depends(require(Role.TMS))]
"""A route parameter: the caller, with role tms."""
Supervisor = Annotated[TokenInfo, Depends(require(Role.SUPERVISOR))]
"""A route parameter: the caller, with role supervisor."""
TmsOrSupervisor = Annotated[TokenInfo, Depends(require(Role.TMS, Role.SUPERVISOR))]
"""A route parameter: the caller, with role tms or supervisor."""
