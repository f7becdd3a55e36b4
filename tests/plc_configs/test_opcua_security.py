"""The OPC UA trust list and secured endpoints (no server needed)."""

from __future__ import annotations

import datetime
import logging

import pytest
from asyncua import Server, ua
from asyncua.crypto import cert_gen
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from plc_configs.opcua_certificates import ensure_certificate, thumbprint
from plc_configs.opcua_security import NOT_TRUSTED, TrustList, describe_modes, secure_server

URI = "urn:lanesort:test:app"


def _cert(path):
    return x509.load_der_x509_certificate(path.read_bytes())


def _other(tmp_path, name: str, uri: str = "urn:lanesort:test:peer"):
    cert_path, _ = ensure_certificate(tmp_path / name, uri, name)
    return _cert(cert_path)


def test_the_trust_list_trusts_only_certificates_in_its_folder(tmp_path):
    pki = tmp_path / "server"
    ensure_certificate(pki, URI, "Server")
    trust = TrustList(pki)
    peer = _other(tmp_path, "peer")
    refusal = trust.check(peer, "urn:lanesort:test:peer")
    assert refusal is not None and refusal.why == NOT_TRUSTED
    assert refusal.code == ua.StatusCodes.BadCertificateUntrusted
    pem = peer.public_bytes(serialization.Encoding.PEM)
    (pki / "trusted" / "peer.pem").write_bytes(pem)  # read again: the folder changed
    assert trust.check(peer, "urn:lanesort:test:peer") is None
    assert trust.check(peer, None) is None
    wrong = trust.check(peer, "urn:lanesort:test:someone-else")
    assert wrong is not None and wrong.code == ua.StatusCodes.BadCertificateUriInvalid
    rejected = trust.reject(peer)
    assert rejected.parent == pki / "rejected" and thumbprint(peer) in rejected.name
    assert _cert(rejected) == peer


def test_a_certificate_issued_by_a_trusted_ca_is_trusted(tmp_path):
    pki = tmp_path / "server"
    ensure_certificate(pki, URI, "Server")
    ca_key = cert_gen.generate_private_key()
    ca = cert_gen.generate_self_signed_app_certificate(ca_key, "Plant CA", {}, [], [])
    (pki / "trusted" / "ca.der").write_bytes(ca.public_bytes(serialization.Encoding.DER))
    key = cert_gen.generate_private_key()
    csr = cert_gen.generate_app_certificate_signing_request(
        key,
        "SCADA",
        {},
        [x509.UniformResourceIdentifier("urn:plant:scada")],
        [ExtendedKeyUsageOID.CLIENT_AUTH],
    )
    issued = cert_gen.sign_certificate_request(csr, ca, ca_key)
    assert TrustList(pki).check(issued, "urn:plant:scada") is None
    stranger = _other(tmp_path, "stranger", "urn:plant:scada")
    assert TrustList(pki).check(stranger, "urn:plant:scada").why == NOT_TRUSTED


def test_an_expired_certificate_is_refused_even_when_trusted(tmp_path):
    pki = tmp_path / "server"
    ensure_certificate(pki, URI, "Server")
    key = cert_gen.generate_private_key()
    now = datetime.datetime.now(datetime.UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Old")])
    old = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(days=400))
        .not_valid_after(now - datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.UniformResourceIdentifier("urn:old")]), False
        )
        .sign(key, hashes.SHA256())
    )
    (pki / "trusted" / "old.der").write_bytes(old.public_bytes(serialization.Encoding.DER))
    refusal = TrustList(pki).check(old, "urn:old")
    assert refusal.why == f"expired on {(now - datetime.timedelta(days=1)):%Y-%m-%d}"
    assert refusal.code == ua.StatusCodes.BadCertificateTimeInvalid


def test_security_modes_are_described_and_checked():
    assert describe_modes(["Sign", "SignAndEncrypt"]) == "Basic256Sha256 Sign, SignAndEncrypt"
    assert describe_modes(["None", "SignAndEncrypt"]) == (
        "Basic256Sha256 SignAndEncrypt; None (unsecured)"
    )


async def test_an_unknown_mode_is_refused_before_anything_is_made(tmp_path):
    with pytest.raises(ValueError, match="unknown security modes"):
        await secure_server(
            Server(),
            pki_dir=tmp_path,
            application_uri=URI,
            common_name="x",
            modes=["Encrypt"],  # type: ignore[list-item]
            log=logging.getLogger("test"),
        )
    assert not (tmp_path / "own").exists()
