"""OPC UA certificates: this application's own (made once, kept), and reading a peer's.

The folder layout and the policy are in :mod:`plc_configs.opcua_security`, which uses these
to build the trust list and secure an endpoint. Everything here is blocking (RSA key
generation, file IO): callers run it in a thread.
"""

from __future__ import annotations

import datetime
import hashlib
import ipaddress
import logging
import os
import socket
from collections.abc import Sequence
from pathlib import Path

from asyncua.crypto import cert_gen, uacrypto
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

CERT_DAYS = 5 * 365
"""How long a certificate made here is valid."""
CERT_SUFFIXES = (".der", ".pem", ".crt", ".cer")
"""The file suffixes read as certificates in a trusted folder."""

_log = logging.getLogger("lanesort.opcua.security")


def thumbprint(certificate: x509.Certificate) -> str:
    """The OPC UA thumbprint of ``certificate``: SHA-1 of its DER bytes, in hex."""
    return hashlib.sha1(uacrypto.der_from_x509(certificate), usedforsecurity=False).hexdigest()


def subject_cn(certificate: x509.Certificate) -> str:
    """The subject's common name (CN) of ``certificate``, or ``(no CN)``."""
    names = certificate.subject.get_attributes_for_oid(NameOID.COMMON_NAME)
    return str(names[0].value) if names else "(no CN)"


def certificate_uris(certificate: x509.Certificate) -> list[str]:
    """The application URIs in ``certificate``'s subjectAltName."""
    try:
        san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName)
    except x509.ExtensionNotFound:
        return []
    return list(san.value.get_values_for_type(x509.UniformResourceIdentifier))


def not_valid_now(certificate: x509.Certificate) -> str | None:
    """Why ``certificate`` is not valid now (expired, not yet valid), or None."""
    now = datetime.datetime.now(datetime.UTC)
    if certificate.not_valid_after_utc < now:
        return f"expired on {certificate.not_valid_after_utc:%Y-%m-%d}"
    if certificate.not_valid_before_utc > now:
        return f"not valid before {certificate.not_valid_before_utc:%Y-%m-%d %H:%M} UTC"
    return None


def san_names(hostnames: Sequence[str]) -> list[x509.GeneralName]:
    """subjectAltName entries for ``hostnames`` (IP addresses as such) and this machine's name."""
    names: list[x509.GeneralName] = []
    for host in dict.fromkeys((*hostnames, socket.gethostname())):
        try:
            names.append(x509.IPAddress(ipaddress.ip_address(host)))
        except ValueError:
            names.append(x509.DNSName(host))
    return names


def ensure_certificate(
    pki_dir: Path,
    application_uri: str,
    common_name: str,
    hostnames: Sequence[str] = ("localhost", "127.0.0.1"),
) -> tuple[Path, Path]:
    """(certificate.der, private_key.pem) under pki_dir/own/, generated (self-signed, RSA 2048,
    SHA256, with the application URI in subjectAltName as OPC UA requires) on first call and
    reused after. Blocking: callers run it in a thread. Also creates pki_dir/trusted/ and
    pki_dir/rejected/.

    The machine's host name is added to ``hostnames``. A certificate that expired or does
    not name ``application_uri`` (the line was renamed) is made again, with a warning: the
    peers that trusted the old one must trust the new one.
    """
    own = pki_dir / "own"
    for folder in (own, pki_dir / "trusted", pki_dir / "rejected"):
        folder.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = own / "certificate.der", own / "private_key.pem"
    if cert_path.exists() and key_path.exists():
        try:
            current = x509.load_der_x509_certificate(cert_path.read_bytes())
        except ValueError as err:
            why: str | None = f"cannot be read ({err})"
        else:
            why = not_valid_now(current)
            if why is None and application_uri not in certificate_uris(current):
                named = ", ".join(certificate_uris(current))
                why = f"does not name {application_uri} (it names {named})"
        if why is None:
            return cert_path, key_path
        _log.warning(
            "OPC UA certificate %s %s: making a new one; peers that trusted the old one "
            "must trust the new one",
            cert_path,
            why,
        )
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    certificate = cert_gen.generate_self_signed_app_certificate(
        key,
        common_name,
        {"organizationName": "LaneSort"},
        [x509.UniformResourceIdentifier(application_uri), *san_names(hostnames)],
        [ExtendedKeyUsageOID.CLIENT_AUTH, ExtendedKeyUsageOID.SERVER_AUTH],
        days=CERT_DAYS,
    )
    write_whole(key_path, cert_gen.dump_private_key_as_pem(key), private=True)
    write_whole(cert_path, certificate.public_bytes(serialization.Encoding.DER))
    _log.info("OPC UA certificate made: %s (thumbprint %s)", cert_path, thumbprint(certificate))
    return cert_path, key_path


def write_whole(path: Path, data: bytes, private: bool = False) -> None:
    """Write ``path`` whole or not at all (a crash leaves the old file or none)."""
    tmp = path.with_name(path.name + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)


def load_own(cert_path: Path, key_path: Path) -> tuple[x509.Certificate, rsa.RSAPrivateKey]:
    """The certificate and key (file IO: call it in a thread).

    The key's RSA consistency check (~50 ms here) would hold the GIL, stalling the event
    loop even from a thread; the key is our own, made by :func:`ensure_certificate` and
    kept mode 0600, so the check is skipped (as cryptography allows for trusted keys).
    """
    certificate = x509.load_der_x509_certificate(cert_path.read_bytes())
    key = serialization.load_pem_private_key(
        key_path.read_bytes(), password=None, unsafe_skip_rsa_key_validation=True
    )
    assert isinstance(key, rsa.RSAPrivateKey)
    return certificate, key


def read_certificate(path: Path) -> x509.Certificate:
    """A certificate file, DER or PEM."""
    data = path.read_bytes()
    if data.lstrip().startswith(b"-----BEGIN"):
        return x509.load_pem_x509_certificate(data)
    return x509.load_der_x509_certificate(data)
