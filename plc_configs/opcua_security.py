"""OPC UA security shared by every LaneSort OPC UA endpoint: certificates and trust.

One folder per application (``pki_dir``) holds, as OPC UA applications usually do::

    pki_dir/own/certificate.der     this application's certificate (self-signed, generated)
    pki_dir/own/private_key.pem     its RSA key (mode 0600)
    pki_dir/trusted/                peer certificates (DER or PEM) trusted; a CA here trusts
                                    every certificate it issued
    pki_dir/rejected/               certificates of refused peers, to copy into trusted/

This application's own certificate and reading a peer's are :mod:`plc_configs.opcua_certificates`;
here: the trust list, and securing a server or a client.

The security policy is Basic256Sha256 in mode ``Sign`` or ``SignAndEncrypt``; ``None``
(no signature, no encryption, no client authentication) only when listed, with a warning.

Everything slow runs in a thread (making an RSA key, ~0.1 s; file IO), and nothing holds
the GIL for long: asyncua's own key loading checks the key for ~50 ms with the GIL held,
so our own key is loaded without that check. The controller's event loop answers the
PLC every few milliseconds and must never wait.
"""

from __future__ import annotations

import asyncio
import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from asyncua import Client, Server, ua
from asyncua.common.utils import ServiceError
from asyncua.crypto import uacrypto
from asyncua.crypto.permission_rules import PermissionRuleset
from asyncua.crypto.security_policies import SecurityPolicyBasic256Sha256, SecurityPolicyNone
from cryptography import x509
from cryptography.exceptions import InvalidSignature

from plc_configs.integration import SecurityMode
from plc_configs.opcua_certificates import (
    CERT_SUFFIXES,
    certificate_uris,
    ensure_certificate,
    load_own,
    not_valid_now,
    read_certificate,
    subject_cn,
    thumbprint,
    write_whole,
)

SECURITY_MODES: tuple[SecurityMode, ...] = ("None", "Sign", "SignAndEncrypt")

_POLICY = {
    "None": ua.SecurityPolicyType.NoSecurity,
    "Sign": ua.SecurityPolicyType.Basic256Sha256_Sign,
    "SignAndEncrypt": ua.SecurityPolicyType.Basic256Sha256_SignAndEncrypt,
}

_log = logging.getLogger("lanesort.opcua.security")


NOT_TRUSTED = "not trusted"


@dataclass(frozen=True, slots=True)
class Refusal:
    """Why a peer's certificate is refused, and the OPC UA status code that says so."""

    why: str
    code: int


@dataclass(frozen=True, slots=True)
class _Trusted:
    thumbprints: frozenset[str]
    authorities: tuple[x509.Certificate, ...]


class TrustList:
    """The peer certificates in ``pki_dir/trusted/``, read again whenever the folder changed.

    :meth:`check` (blocking: call it in a thread) says why a peer's certificate is refused,
    or None when it is trusted: the certificate itself is in the folder, or a CA
    certificate there issued it; it must be valid now and name the peer's application URI.
    """

    def __init__(self, pki_dir: Path, log: logging.Logger = _log):
        self.trusted_dir = pki_dir / "trusted"
        self.rejected_dir = pki_dir / "rejected"
        self.log = log
        self._seen: tuple[tuple[str, int, int], ...] | None = None
        self._trusted = _Trusted(frozenset(), ())

    def _current(self) -> _Trusted:
        try:
            files = sorted(
                (p for p in self.trusted_dir.iterdir() if p.suffix.lower() in CERT_SUFFIXES),
                key=lambda p: p.name,
            )
            seen = tuple((p.name, p.stat().st_mtime_ns, p.stat().st_size) for p in files)
        except OSError:
            files, seen = [], ()
        if seen == self._seen:
            return self._trusted
        prints, authorities = set(), []
        for path in files:
            try:
                certificate = read_certificate(path)
            except (OSError, ValueError) as err:
                self.log.warning("OPC UA trusted certificate %s cannot be read: %s", path, err)
                continue
            prints.add(thumbprint(certificate))
            if _is_authority(certificate):
                authorities.append(certificate)
        self._seen, self._trusted = seen, _Trusted(frozenset(prints), tuple(authorities))
        self.log.info("OPC UA trust list %s: %d certificates", self.trusted_dir, len(prints))
        return self._trusted

    def check(
        self, certificate: x509.Certificate, application_uri: str | None, trust_all: bool = False
    ) -> Refusal | None:
        """Why ``certificate`` is refused, or None when it is accepted.

        ``trust_all``: skip the trust list (validity and application URI are still checked).
        """
        if why := not_valid_now(certificate):
            return Refusal(why, ua.StatusCodes.BadCertificateTimeInvalid)
        if application_uri is not None and application_uri not in certificate_uris(certificate):
            return Refusal(
                f"the client's application URI {application_uri} is not in the certificate "
                f"(it names {', '.join(certificate_uris(certificate)) or 'none'})",
                ua.StatusCodes.BadCertificateUriInvalid,
            )
        if trust_all:
            return None
        trusted = self._current()
        if thumbprint(certificate) in trusted.thumbprints:
            return None
        for authority in trusted.authorities:
            try:
                certificate.verify_directly_issued_by(authority)
            except (ValueError, TypeError, InvalidSignature):
                continue
            return None
        return Refusal(NOT_TRUSTED, ua.StatusCodes.BadCertificateUntrusted)

    def reject(self, certificate: x509.Certificate) -> Path:
        """Keep a copy of a refused certificate in ``rejected/``; its path."""
        name = re.sub(r"[^A-Za-z0-9_.-]+", "_", subject_cn(certificate))[:60]
        path = self.rejected_dir / f"{name} [{thumbprint(certificate)}].der"
        self.rejected_dir.mkdir(parents=True, exist_ok=True)
        write_whole(path, uacrypto.der_from_x509(certificate))
        return path


def _is_authority(certificate: x509.Certificate) -> bool:
    try:
        constraints = certificate.extensions.get_extension_for_class(x509.BasicConstraints)
        usage = certificate.extensions.get_extension_for_class(x509.KeyUsage)
    except x509.ExtensionNotFound:
        return False
    return constraints.value.ca and usage.value.key_cert_sign


class _ClientCertificateCheck:
    """asyncua's certificate validator (called at CreateSession) over a :class:`TrustList`."""

    def __init__(self, trust: TrustList, trust_all: bool):
        self.trust = trust
        self.trust_all = trust_all

    async def __call__(self, certificate: x509.Certificate, app: ua.ApplicationDescription) -> None:
        uri = app.ApplicationUri if app is not None else None
        refusal = await asyncio.to_thread(self.trust.check, certificate, uri, self.trust_all)
        if refusal is None:
            return
        path = await asyncio.to_thread(self.trust.reject, certificate)
        todo = (
            f"copy {path} to {self.trust.trusted_dir}/ to trust it"
            if refusal.why == NOT_TRUSTED
            else "the client needs a new certificate"
        )
        self.trust.log.warning(
            "OPC UA client certificate refused: CN=%s, application %s, thumbprint %s: %s; %s",
            subject_cn(certificate),
            uri or "(none)",
            thumbprint(certificate),
            refusal.why,
            todo,
        )
        raise ServiceError(refusal.code)


def describe_modes(modes: Sequence[SecurityMode]) -> str:
    """``Basic256Sha256 Sign, SignAndEncrypt`` (and ``None`` when listed)."""
    secure = [m for m in modes if m != "None"]
    parts = [f"Basic256Sha256 {', '.join(secure)}"] if secure else []
    return "; ".join([*parts, *(["None (unsecured)"] if "None" in modes else [])])


async def secure_server(
    server: Server,
    *,
    pki_dir: Path,
    application_uri: str,
    common_name: str,
    modes: Sequence[SecurityMode],
    trust_all_clients: bool = False,
    log: logging.Logger,
    permission_ruleset: PermissionRuleset | None = None,
) -> None:
    """Load/generate the server certificate (in a thread), offer Basic256Sha256 with the given
    modes ('None' only if listed, and then log a WARNING saying the endpoint is unencrypted and
    unauthenticated), and, unless trust_all_clients, accept only client certificates found in
    pki_dir/trusted/ (DER or PEM files). A refused certificate is copied to pki_dir/rejected/
    and logged at WARNING in one clear line: who (subject CN, application URI), thumbprint,
    why (not trusted / expired / ...), and what to do ('copy <path> to <trusted dir> to trust it').
    The trusted folder is re-read on each new connection (or on change), so trusting a client
    needs no restart.

    Call it after ``server.init()`` and before ``server.start()``; ``permission_ruleset``
    (the role checks of every request) is given to each security policy.
    """
    if not modes:
        raise ValueError("expected at least one security mode")
    unknown = [m for m in modes if m not in _POLICY]
    if unknown:
        raise ValueError(f"unknown security modes {unknown}; expected {list(SECURITY_MODES)}")
    cert_path, key_path = await asyncio.to_thread(
        ensure_certificate, pki_dir, application_uri, common_name
    )
    certificate, key = await asyncio.to_thread(load_own, cert_path, key_path)
    await server.set_application_uri(application_uri)
    server.iserver.certificate = certificate
    server.iserver.private_key = key
    server.set_security_policy([_POLICY[m] for m in dict.fromkeys(modes)], permission_ruleset)
    trust = TrustList(pki_dir, log)
    server.set_certificate_validator(_ClientCertificateCheck(trust, trust_all_clients))
    if "None" in modes:
        log.warning(
            "OPC UA endpoint %s offers security mode None: unencrypted and unauthenticated "
            "(anyone on the network can read it and, with a password sent in clear, act)",
            server.endpoint.geturl(),
        )
    if trust_all_clients:
        log.warning("OPC UA endpoint %s trusts every client certificate", server.endpoint.geturl())


async def secure_client(
    client: Client,
    *,
    pki_dir: Path,
    application_uri: str,
    common_name: str,
    mode: SecurityMode,
    server_certificate: Path | None = None,
    log: logging.Logger,
) -> None:
    """Client side: mode 'None' logs a WARNING and sets nothing; otherwise generate/load the
    client certificate (in a thread) and call client.set_security(Basic256Sha256, ..., mode).

    Sets ``client.application_uri`` (the server checks it against the certificate). Without
    ``server_certificate`` the server's is taken from its endpoints (one unsecured
    GetEndpoints exchange, as OPC UA discovery does).
    """
    if mode not in _POLICY:
        raise ValueError(f"unknown security mode {mode!r}; expected {list(SECURITY_MODES)}")
    if mode == "None":
        log.warning(
            "OPC UA client for %s uses security mode None: unencrypted and unauthenticated",
            client.server_url.geturl(),
        )
        return
    client.application_uri = application_uri
    cert_path, key_path = await asyncio.to_thread(
        ensure_certificate, pki_dir, application_uri, common_name
    )
    certificate, key = await asyncio.to_thread(load_own, cert_path, key_path)
    security_mode = getattr(ua.MessageSecurityMode, mode)
    if server_certificate is not None:
        peer = await asyncio.to_thread(read_certificate, server_certificate)
    else:
        none = SecurityPolicyNone()
        client.security_policy = none
        client.uaclient.security_policy = none
        endpoints = await client.connect_and_get_server_endpoints()
        endpoint = Client.find_endpoint(endpoints, security_mode, SecurityPolicyBasic256Sha256.URI)
        peer = uacrypto.x509_from_der(endpoint.ServerCertificate)
        log.info(
            "OPC UA server %s presents certificate %s (thumbprint %s), not pinned: set "
            "server_certificate to accept only this one",
            client.server_url.geturl(),
            subject_cn(peer),
            thumbprint(peer),
        )
    # as Client.set_security does, with the key loaded in a thread (not on the loop)
    client.security_policy = SecurityPolicyBasic256Sha256(peer, certificate, key, security_mode)
    client.uaclient.set_security(client.security_policy)
