"""A private certificate authority for TLS tests: a CA, server certificates for chosen host
names (subjectAltName, as :func:`~plc_configs.opcua_certificates.san_names` writes them) and
client certificates, all EC P-256 and written as PEM into a directory."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from plc_configs.opcua_certificates import san_names


@dataclass(frozen=True)
class Pair:
    """A certificate and its key, as files."""

    cert: Path
    key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write(
    folder: Path, stem: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey
) -> Pair:
    pair = Pair(folder / f"{stem}.crt", folder / f"{stem}.key")
    pair.cert.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    pair.key.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    pair.key.chmod(0o600)
    return pair


class TestCa:
    """A CA of its own in ``folder``; :meth:`server` and :meth:`client` issue certificates."""

    __test__ = False  # not a test class, whatever its name

    def __init__(self, folder: Path, name: str = "LaneSort test CA"):
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._subject = _name(name)
        cert = (
            self._builder(self._subject, self._key.public_key())
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(_usage(cert_sign=True), critical=True)
            .sign(self._key, hashes.SHA256())
        )
        self.pair = _write(folder, name.replace(" ", "-"), cert, self._key)

    @property
    def cert(self) -> Path:
        """The CA certificate (PEM): what clients put in ``ca_file``."""
        return self.pair.cert

    def _builder(self, subject: x509.Name, public_key: ec.EllipticCurvePublicKey):
        now = datetime.datetime.now(datetime.UTC)
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(self._subject)
            .public_key(public_key)
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(days=1))
        )

    def _issue(self, stem: str, common_name: str, usage: x509.ObjectIdentifier, *extra) -> Pair:
        key = ec.generate_private_key(ec.SECP256R1())
        builder = (
            self._builder(_name(common_name), key.public_key())
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(_usage(cert_sign=False), critical=True)
            .add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        )
        for extension in extra:
            builder = builder.add_extension(extension, critical=False)
        return _write(self.folder, stem, builder.sign(self._key, hashes.SHA256()), key)

    def server(self, hostnames: list[str], stem: str = "server") -> Pair:
        """A server certificate whose subjectAltName holds ``hostnames`` (IP addresses as
        such) and this machine's name."""
        san = x509.SubjectAlternativeName(san_names(hostnames))
        return self._issue(stem, hostnames[0], ExtendedKeyUsageOID.SERVER_AUTH, san)

    def client(self, common_name: str, stem: str = "client") -> Pair:
        """A client certificate for ``common_name``."""
        return self._issue(stem, common_name, ExtendedKeyUsageOID.CLIENT_AUTH)


def _usage(*, cert_sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=not cert_sign,
        key_cert_sign=cert_sign,
        crl_sign=cert_sign,
        encipher_only=False,
        decipher_only=False,
    )
