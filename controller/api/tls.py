"""HTTPS for the controller's web server (the API and the HMI): the certificate and its key.

A config section :class:`~plc_configs.integration.TlsSection` (``api.tls`` on a line)
names a PEM certificate and its key, or asks for a self-signed pair for commissioning
(``self_signed: true``): made on first start where the files are missing (EC P-256,
825 days, subjectAltName with the configured host, this machine's name and localhost),
the key written mode 0600, and reused on every start after. :func:`prepare_tls` checks
the files before the server starts, so a bad file fails at once with the config key and
the path in the message, and returns what uvicorn needs (:meth:`ServerTls.uvicorn_kwargs`)
and the certificate's SHA-256 fingerprint, which the operator compares in the browser.

Everything here is blocking (file IO, key generation): async callers run it in a thread.
"""

from __future__ import annotations

import datetime
import ipaddress
import logging
import ssl
import stat
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from controller.errors import ConfigError
from plc_configs.integration import TlsSection
from plc_configs.opcua_certificates import not_valid_now, san_names, write_whole

SELF_SIGNED_DAYS = 825
"""Validity of a self-signed certificate made here (the CA/Browser Forum's old maximum)."""
DEFAULT_CERTIFICATE = "tls/certificate.pem"
"""Where a self-signed certificate is kept unless ``certificate`` says, under the data dir."""
DEFAULT_KEY = "tls/key.pem"
"""Where a self-signed certificate's key is kept unless ``key`` says, under the data dir."""

log = logging.getLogger("lanesort.tls")


class TlsError(ConfigError):
    """A TLS certificate or key cannot be used; the message names the config key and file."""


@dataclass(frozen=True, slots=True)
class ServerTls:
    """The certificate and key a web server serves HTTPS with, checked."""

    certificate: Path
    key: Path
    fingerprint: str
    """SHA-256 of the certificate (DER), upper-case hex in colon-separated pairs."""
    self_signed: bool
    made: bool
    """True when the pair was made on this start."""

    def uvicorn_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for :class:`uvicorn.Config` to serve HTTPS with this pair."""
        return {"ssl_certfile": str(self.certificate), "ssl_keyfile": str(self.key)}


def fingerprint_sha256(certificate: x509.Certificate) -> str:
    """The SHA-256 fingerprint of ``certificate`` as browsers show it (``AB:CD:…``)."""
    return certificate.fingerprint(hashes.SHA256()).hex(":").upper()


def tls_hostnames(host: str) -> list[str]:
    """The names a certificate for a server listening on ``host`` should carry: ``host``
    itself (unless it is a wildcard such as 0.0.0.0 or ::), localhost, 127.0.0.1 and ::1
    (:func:`~plc_configs.opcua_certificates.san_names` adds this machine's name)."""
    names = ["localhost", "127.0.0.1", "::1"]
    try:
        wildcard = ipaddress.ip_address(host).is_unspecified
    except ValueError:
        wildcard = False
    if host and not wildcard:
        names.insert(0, host)
    return list(dict.fromkeys(names))


def make_self_signed(
    cert_path: Path, key_path: Path, hostnames: list[str], days: int = SELF_SIGNED_DAYS
) -> x509.Certificate:
    """Make a self-signed server certificate for ``hostnames`` (EC P-256, SHA-256) and
    write it (PEM) and its key (PEM, mode 0600), each whole or not at all."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name(
        [
            x509.NameAttribute(NameOID.COMMON_NAME, hostnames[0][:64]),
            x509.NameAttribute(NameOID.ORGANIZATION_NAME, "LaneSort (self-signed)"),
        ]
    )
    now = datetime.datetime.now(datetime.UTC)
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=days))
        .add_extension(x509.SubjectAlternativeName(san_names(hostnames)), critical=False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=True,
                key_cert_sign=False,
                crl_sign=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(key, hashes.SHA256())
    )
    for folder in {cert_path.parent, key_path.parent}:
        folder.mkdir(parents=True, exist_ok=True)
    key_pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    write_whole(key_path, key_pem, private=True)
    write_whole(cert_path, certificate.public_bytes(serialization.Encoding.PEM))
    return certificate


def prepare_tls(
    tls: TlsSection | None, data_dir: Path, host: str, config_key: str = "api.tls"
) -> ServerTls | None:
    """The checked certificate and key to serve HTTPS with, or None for plain HTTP.

    ``tls`` is the config section (``config_key`` names it in errors, e.g. ``api.tls`` or
    ``site.http.tls``); relative paths are under ``data_dir``; ``host`` is the address the
    server listens on (a self-signed certificate names it). With ``self_signed`` a pair
    is made where both files are missing (and again when the one made before expired).
    The fingerprint is logged. Raises :class:`TlsError` naming the key and the file when
    a file is missing, unreadable, not PEM, encrypted, or the key is not the
    certificate's. Blocking: run it in a thread from async code.
    """
    if tls is None:
        return None
    cert_path = _in_dir(data_dir, tls.certificate or DEFAULT_CERTIFICATE)
    key_path = _in_dir(data_dir, tls.key or DEFAULT_KEY)
    made = False
    if tls.self_signed and not cert_path.exists() and not key_path.exists():
        _make(cert_path, key_path, host, config_key)
        made = True
    certificate = _read_certificate(cert_path, f"{config_key}.certificate")
    self_signed = certificate.issuer == certificate.subject
    why = not_valid_now(certificate)
    if why is not None and tls.self_signed and self_signed and not made:
        log.warning("HTTPS certificate %s %s: making a new self-signed one", cert_path, why)
        certificate = _make(cert_path, key_path, host, config_key)
        made, why = True, None
    _check_key(key_path, cert_path, certificate, config_key)
    if why is not None:
        log.warning(
            "HTTPS certificate %s (%s) %s: browsers will refuse it", cert_path, config_key, why
        )
    fingerprint = fingerprint_sha256(certificate)
    log.info(
        "HTTPS certificate %s%s, SHA-256 fingerprint %s",
        cert_path,
        " (self-signed, made now)" if made else " (self-signed)" if self_signed else "",
        fingerprint,
    )
    return ServerTls(cert_path, key_path, fingerprint, self_signed, made)


def _in_dir(data_dir: Path, configured: str) -> Path:
    path = Path(configured)
    return path if path.is_absolute() else data_dir / path


def _make(cert_path: Path, key_path: Path, host: str, config_key: str) -> x509.Certificate:
    try:
        return make_self_signed(cert_path, key_path, tls_hostnames(host))
    except OSError as err:
        raise TlsError(
            f"{config_key}: cannot write the self-signed pair {cert_path}, {key_path}: "
            f"{err.strerror or err}"
        ) from err


def _read(path: Path, key: str) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError as err:
        raise TlsError(f"{key}: {path}: no such file") from err
    except OSError as err:
        raise TlsError(f"{key}: {path}: cannot be read: {err.strerror or err}") from err


def _read_certificate(path: Path, key: str) -> x509.Certificate:
    data = _read(path, key)
    try:
        certificates = x509.load_pem_x509_certificates(data)
    except ValueError as err:
        raise TlsError(f"{key}: {path}: not a PEM certificate ({err})") from err
    return certificates[0]


def _check_key(
    key_path: Path, cert_path: Path, certificate: x509.Certificate, config_key: str
) -> None:
    key = f"{config_key}.key"
    data = _read(key_path, key)
    try:
        private = serialization.load_pem_private_key(
            data, password=None, unsafe_skip_rsa_key_validation=True
        )
    except TypeError as err:
        raise TlsError(
            f"{key}: {key_path}: the key is encrypted; give it unencrypted (mode 0600)"
        ) from err
    except (ValueError, UnsupportedAlgorithm) as err:
        raise TlsError(f"{key}: {key_path}: not a PEM private key ({err})") from err
    if private.public_key() != certificate.public_key():
        raise TlsError(f"{key}: {key_path} is not the key of {config_key}.certificate {cert_path}")
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    try:
        context.load_cert_chain(cert_path, key_path)
    except ssl.SSLError as err:
        raise TlsError(
            f"{config_key}: {cert_path} with {key_path} cannot serve TLS: {err.reason or err}"
        ) from err
    if key_path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s: %s can be read by other users: chmod 600 it", key, key_path)
