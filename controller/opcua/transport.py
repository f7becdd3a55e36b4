"""asyncua's server, with the login checked off the event loop and unsecured channels fenced.

asyncua 2.1 activates a session synchronously: ``UaProcessor._process_message`` calls
``InternalSession.activate_session``, which asks the user manager for the user
(``get_user``) with no await in between, so a slow password check there would stall
the whole event loop, and with it the answers to the PLC. :class:`LineUaServer` starts
asyncua's binary server with one change per connection, :class:`_LineProcessor`:

* on ActivateSession with a user name token it first decrypts the token and checks the
  password in a thread (:class:`~controller.opcua.access.LoginCheck`), then lets asyncua
  activate the session with the verdict in a context variable
  (:data:`~controller.opcua.access.PENDING_LOGIN`); :class:`_LineInternalServer` returns
  the already decrypted user name so the token is not decrypted twice on the loop;
* every request runs with its session's user in
  :data:`~controller.opcua.access.CURRENT_USER` (methods audit under it);
* asyncua lets a client open an unsecured (None) channel even when no None endpoint is
  offered (it needs one for GetEndpoints) and then applies no permission checks on it.
  Here such a channel may only discover (GetEndpoints, FindServers); anything else is
  answered ``BadSecurityPolicyRejected``.

These hooks use asyncua 2.1 internals (``UaProcessor._process_message``,
``Server._setup_server_nodes``, ``OPCUAProtocol.processor``); pyproject pins asyncua, and
the tests exercise every hook, so an upgrade that moves them shows up at once.
"""

from __future__ import annotations

import socket
from collections.abc import Awaitable, Callable
from typing import Any

from asyncua import Server, ua
from asyncua.common.utils import ServiceError
from asyncua.crypto import uacrypto
from asyncua.server.binary_server_asyncio import BinaryServer, OPCUAProtocol
from asyncua.server.internal_server import InternalServer
from asyncua.server.uaprocessor import UaProcessor
from asyncua.server.user_managers import UserManager
from asyncua.ua.ua_binary import struct_from_binary

from controller.opcua.access import CURRENT_USER, PENDING_LOGIN, LineUser, Login
from plc_configs.opcua_space import fast_standard_space

LoginHook = Callable[[Any, Any, ua.UserNameIdentityToken, Any], Awaitable[Login]]
"""(internal server, session, token, peer) -> the checked login."""

_ACTIVATE = ua.NodeId(ua.ObjectIds.ActivateSessionRequest_Encoding_DefaultBinary)
_DISCOVERY = frozenset(
    ua.NodeId(i)
    for i in (
        ua.ObjectIds.GetEndpointsRequest_Encoding_DefaultBinary,
        ua.ObjectIds.FindServersRequest_Encoding_DefaultBinary,
        ua.ObjectIds.CloseSecureChannelRequest_Encoding_DefaultBinary,
    )
)


class _LineProcessor(UaProcessor):
    """One connection's request handler (see the module docstring)."""

    login: LoginHook

    async def _process_message(self, typeid: Any, requesthdr: Any, seqhdr: Any, body: Any) -> Any:
        if self._connection.security_policy.permissions is None and typeid not in _DISCOVERY:
            # the channel's policy is not one the server offers (asyncua's default None)
            raise ServiceError(ua.StatusCodes.BadSecurityPolicyRejected)
        login = await self._check_login(requesthdr, body) if typeid == _ACTIVATE else None
        pending = PENDING_LOGIN.set(login)
        user = self.session.user if self.session is not None else None
        current = CURRENT_USER.set(user if isinstance(user, LineUser) else None)
        try:
            return await super()._process_message(typeid, requesthdr, seqhdr, body)
        finally:
            CURRENT_USER.reset(current)
            PENDING_LOGIN.reset(pending)

    async def _check_login(self, requesthdr: Any, body: Any) -> Login | None:
        """The checked user name token of an ActivateSession request (None: no such token)."""
        session = self.session or self.iserver.lookup_external_session(
            requesthdr.AuthenticationToken
        )
        if session is None or session.nonce is None:
            return None
        params = struct_from_binary(ua.ActivateSessionParameters, body.copy())
        token = params.UserIdentityToken
        if not isinstance(token, ua.UserNameIdentityToken):
            return None
        return await self.login(self.iserver, session, token, self.name)


class _LineProtocol(OPCUAProtocol):
    """asyncua's connection protocol, with :class:`_LineProcessor` as its processor."""

    login: LoginHook

    def connection_made(self, transport: Any) -> None:
        """Set up the connection as asyncua does, then swap in the line's processor."""
        super().connection_made(transport)
        if self.processor is not None:  # None: refused (too many connections)
            processor = _LineProcessor(self.iserver, self.transport, self.limits)
            processor.login = self.login
            processor.set_policies(self.policies)
            self.processor = processor


class _LineBinaryServer(BinaryServer):
    def __init__(self, *args: Any, login: LoginHook):
        super().__init__(*args)
        self.login = login

    def _make_protocol(self) -> OPCUAProtocol:
        protocol = _LineProtocol(
            iserver=self.iserver,
            policies=self._policies,
            clients=self.clients,
            closing_tasks=self.closing_tasks,
            limits=self.limits,
        )
        protocol.login = self.login
        return protocol


class _LineInternalServer(InternalServer):
    """asyncua's internal server; a user name token checked off the loop is not decrypted
    again (``decrypt_user_token`` gives the checked name; the password is not needed)."""

    def decrypt_user_token(self, isession: Any, token: ua.UserNameIdentityToken) -> tuple[str, str]:
        """The user name and password of ``token`` (see the class docstring)."""
        login = PENDING_LOGIN.get()
        if login is not None and login.secret == token.Password and login.name == token.UserName:
            return login.name, ""
        return super().decrypt_user_token(isession, token)


class LineUaServer(Server):
    """An asyncua server whose connections check passwords in a thread (module docstring)."""

    def __init__(self, user_manager: UserManager, login: LoginHook, fast_init: bool = True):
        iserver = _LineInternalServer(user_manager=user_manager)
        if fast_init:
            fast_standard_space(iserver)
        super().__init__(iserver=iserver)
        self.login = login

    async def start(self) -> None:
        """Listen (asyncua's ``Server.start`` with the line's binary server)."""
        if self.iserver.certificate is not None:
            uacrypto.check_certificate(
                self.iserver.certificate, self.get_application_uri(), socket.gethostname()
            )
        await self._setup_server_nodes()
        await self.iserver.start()
        try:
            host, port = self._get_bind_socket_info()
            self.bserver = _LineBinaryServer(
                self.iserver, host, port, self.limits, login=self.login
            )
            self.bserver.set_policies(self._policies)
            await self.bserver.start()
        except BaseException:
            await self.iserver.stop()
            raise
