"""Who may do what on the OPC UA server: the controller's users and roles, mapped onto asyncua.

* **Users** are the HMI's (:class:`controller.auth.users.UserStore`, ``lanesort user add``):
  a user name and password token logs in with the user's role, supervisor or viewer.
  Anonymous clients get in only when ``opcua_server.allow_anonymous``, as viewers.
* **Roles**: viewers read, browse and subscribe; supervisors may also call the line's
  methods (PackML commands, chute Enable/Disable). :class:`LineRuleset` is asyncua's
  permission ruleset: it sees every request with its user and refuses with
  ``BadUserAccessDenied`` a viewer's Write and a viewer's Call of a method of the line's
  namespace; nobody may add or delete nodes or references.
* **The password check** (scrypt, ~40 ms) must not run on the event loop, but asyncua
  asks its user manager synchronously inside session activation. So the server
  (:mod:`controller.opcua.transport`) checks the user name token in a thread
  (:class:`LoginCheck`) *before* asyncua activates the session and hands the result
  down in a context variable; :meth:`LineUserManager.get_user` only reads it and refuses
  any user name that was not checked that way.
* **Who acts**: :data:`CURRENT_USER` holds the session's user while a request is served,
  so a method knows its caller and audits under ``Actor(user, role, "opcua")``.
"""

from __future__ import annotations

import asyncio
import logging
from contextvars import ContextVar
from dataclasses import dataclass
from typing import Any

from asyncua import ua
from asyncua.crypto.permission_rules import USER_TYPES, PermissionRuleset, User, UserRole
from asyncua.ua.ua_binary import struct_from_binary

from controller.auth import Actor, AuditLog, Role, UserStore
from controller.errors import UserError


@dataclass
class LineUser(User):
    """An asyncua user with the controller's role (supervisor or viewer)."""

    line_role: Role = Role.VIEWER

    @property
    def actor(self) -> Actor:
        """The audit log's actor for this user's actions."""
        return Actor(self.name or "anonymous", self.line_role.value, "opcua")

    @property
    def supervisor(self) -> bool:
        """True when the user may act on the line."""
        return self.line_role is Role.SUPERVISOR


ANONYMOUS = LineUser(role=UserRole.Anonymous, name="anonymous", line_role=Role.VIEWER)
"""An anonymous client (only when allowed): a viewer."""

CURRENT_USER: ContextVar[LineUser | None] = ContextVar("opcua_current_user", default=None)
"""The user of the session whose request is being served (set by the transport)."""


@dataclass(frozen=True, slots=True)
class Login:
    """A user name token checked off the loop: who, the token's password field, the verdict."""

    name: str
    secret: bytes | None
    """The password field as the client sent it (encrypted): ties the verdict to the token."""
    user: LineUser | None
    """The user when the password is right, else None."""


PENDING_LOGIN: ContextVar[Login | None] = ContextVar("opcua_pending_login", default=None)
"""The checked login of the ActivateSession request being served (set by the transport)."""


class LoginCheck:
    """Decrypts a user name token and checks the password in a thread; audits the login."""

    def __init__(self, users: UserStore, audit: AuditLog, log: logging.Logger):
        self.users = users
        self.audit = audit
        self.log = log

    async def __call__(
        self, iserver: Any, session: Any, token: ua.UserNameIdentityToken, peer: Any
    ) -> Login:
        """The verdict on ``token`` for ``session`` (of ``iserver``), from ``peer``."""
        login, why = await asyncio.to_thread(self._check, iserver, session, token)
        if login.user is not None:
            self.log.info("OPC UA login: %s from %s", login.user.actor, peer)
            self.audit.record(login.user.actor, "login", detail=f"from {peer}")
        else:
            self.log.warning("OPC UA login of %r from %s refused: %s", login.name, peer, why)
            actor = Actor(login.name[:64] or "-", "-", "opcua")
            self.audit.record(actor, "login", detail=f"from {peer}: {why}", ok=False)
        return login

    def _check(
        self, iserver: Any, session: Any, token: ua.UserNameIdentityToken
    ) -> tuple[Login, str]:
        name = token.UserName or ""
        try:
            name, password = iserver.decrypt_user_token(session, token)  # RSA: ~0.3 ms
            info = self.users.verify(name, password)
        except UserError as err:  # LoginRefused: wrong password, locked, disabled
            return Login(name, token.Password, None), str(err)
        except Exception as err:  # a token we cannot decrypt or decode
            return Login(name, token.Password, None), f"unreadable token: {err!r}"
        user = LineUser(UserRole.User, info.name, Role(info.role))
        return Login(name, token.Password, user), ""


class LineUserManager:
    """asyncua's user manager: never checks a password itself (see the module docstring)."""

    def __init__(self, allow_anonymous: bool, log: logging.Logger):
        self.allow_anonymous = allow_anonymous
        self.log = log

    def get_user(
        self,
        iserver: Any,
        username: str | None = None,
        password: str | None = None,
        certificate: Any = None,
    ) -> LineUser | None:
        """The session's user, or None to refuse it (BadUserAccessDenied)."""
        if username is None:  # an anonymous token: the only other kind offered
            return ANONYMOUS if self.allow_anonymous else None
        login = PENDING_LOGIN.get()
        if login is None or login.name != username:
            self.log.warning("OPC UA login of %r refused: its password was not checked", username)
            return None
        return login.user


_ADMIN_REQUESTS = frozenset(
    ua.NodeId(i)
    for i in (
        ua.ObjectIds.AddNodesRequest_Encoding_DefaultBinary,
        ua.ObjectIds.DeleteNodesRequest_Encoding_DefaultBinary,
        ua.ObjectIds.AddReferencesRequest_Encoding_DefaultBinary,
        ua.ObjectIds.DeleteReferencesRequest_Encoding_DefaultBinary,
        ua.ObjectIds.RegisterServerRequest_Encoding_DefaultBinary,
        ua.ObjectIds.RegisterServer2Request_Encoding_DefaultBinary,
    )
)
_USER_REQUESTS = frozenset(ua.NodeId(i) for i in USER_TYPES)
_WRITE = ua.NodeId(ua.ObjectIds.WriteRequest_Encoding_DefaultBinary)
_CALL = ua.NodeId(ua.ObjectIds.CallRequest_Encoding_DefaultBinary)


class LineRuleset(PermissionRuleset):
    """Role checks of every request (asyncua calls :meth:`check_validity` before serving it)."""

    def __init__(self, namespace_index: int, log: logging.Logger):
        self.namespace_index = namespace_index
        self.log = log

    def check_validity(self, user: Any, action_type_id: ua.NodeId, body: Any) -> bool:
        """True when ``user`` may make this request; False answers BadUserAccessDenied."""
        if action_type_id in _ADMIN_REQUESTS:
            return False
        supervisor = isinstance(user, LineUser) and user.supervisor
        if action_type_id == _WRITE:
            return supervisor
        if action_type_id == _CALL and not supervisor:
            calls = struct_from_binary(ua.CallParameters, body.copy()).MethodsToCall
            ours = [c for c in calls if c.MethodId.NamespaceIndex == self.namespace_index]
            if ours:
                self.log.warning(
                    "OPC UA: %s may not call %s (supervisors only)",
                    user.actor if isinstance(user, LineUser) else "a client without a role",
                    ", ".join(str(c.MethodId.Identifier) for c in ours),
                )
                return False
        return action_type_id in _USER_REQUESTS
