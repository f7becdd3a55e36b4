"""The web server's certificate and key (``api.tls``): made, reused, checked; no sockets."""

from __future__ import annotations

import ipaddress
import logging
import stat

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from pydantic import ValidationError

from controller.api.tls import (
    SELF_SIGNED_DAYS,
    TlsError,
    fingerprint_sha256,
    make_self_signed,
    prepare_tls,
)
from plc_configs.integration import TlsSection


def _load(path) -> x509.Certificate:
    return x509.load_pem_x509_certificate(path.read_bytes())


def test_no_tls_section_serves_plain_http(tmp_path):
    assert prepare_tls(None, tmp_path, "127.0.0.1") is None


def test_a_self_signed_pair_is_made_once_and_reused(tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="lanesort.tls")
    made = prepare_tls(TlsSection(self_signed=True), tmp_path, "10.1.2.3")
    assert made is not None and made.made and made.self_signed
    assert made.certificate == tmp_path / "tls" / "certificate.pem"
    assert stat.S_IMODE(made.key.stat().st_mode) == 0o600
    certificate = _load(made.certificate)
    assert made.fingerprint == fingerprint_sha256(certificate)
    assert made.fingerprint in caplog.text
    san = certificate.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert ipaddress.ip_address("10.1.2.3") in san.get_values_for_type(x509.IPAddress)
    assert ipaddress.ip_address("127.0.0.1") in san.get_values_for_type(x509.IPAddress)
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    life = certificate.not_valid_after_utc - certificate.not_valid_before_utc
    assert abs(life.days - SELF_SIGNED_DAYS) <= 1
    again = prepare_tls(TlsSection(self_signed=True), tmp_path, "10.1.2.3")
    assert again is not None and not again.made and again.fingerprint == made.fingerprint


def test_a_wildcard_host_is_not_named_in_the_certificate(tmp_path):
    made = prepare_tls(TlsSection(self_signed=True), tmp_path, "0.0.0.0")
    assert made is not None
    san = _load(made.certificate).extensions.get_extension_for_class(x509.SubjectAlternativeName)
    assert ipaddress.ip_address("0.0.0.0") not in san.value.get_values_for_type(x509.IPAddress)


def test_configured_files_are_served(tmp_path):
    make_self_signed(tmp_path / "site.crt", tmp_path / "site.key", ["lane1.hub.example"])
    tls = prepare_tls(TlsSection(certificate="site.crt", key="site.key"), tmp_path, "0.0.0.0")
    assert tls is not None and not tls.made
    assert tls.uvicorn_kwargs() == {
        "ssl_certfile": str(tmp_path / "site.crt"),
        "ssl_keyfile": str(tmp_path / "site.key"),
    }


def test_neither_files_nor_self_signed_is_a_config_error():
    with pytest.raises(ValidationError, match="self_signed"):
        TlsSection(certificate="a.pem")


def test_a_missing_certificate_names_the_key_and_the_file(tmp_path):
    section = TlsSection(certificate="nope.pem", key="nope.key")
    with pytest.raises(TlsError, match=r"api\.tls\.certificate: .*nope\.pem: no such file"):
        prepare_tls(section, tmp_path, "127.0.0.1")


def test_a_file_that_is_not_a_certificate(tmp_path):
    (tmp_path / "c.pem").write_text("hello\n")
    (tmp_path / "k.pem").write_text("hello\n")
    section = TlsSection(certificate="c.pem", key="k.pem")
    with pytest.raises(TlsError, match=r"site\.tls\.certificate: .*c\.pem: not a PEM cert"):
        prepare_tls(section, tmp_path, "127.0.0.1", "site.tls")


def test_a_key_that_is_not_the_certificates(tmp_path):
    make_self_signed(tmp_path / "a.crt", tmp_path / "a.key", ["localhost"])
    make_self_signed(tmp_path / "b.crt", tmp_path / "b.key", ["localhost"])
    section = TlsSection(certificate="a.crt", key="b.key")
    with pytest.raises(TlsError, match=r"api\.tls\.key: .*b\.key is not the key of"):
        prepare_tls(section, tmp_path, "127.0.0.1")


def test_an_encrypted_or_garbled_key(tmp_path):
    make_self_signed(tmp_path / "a.crt", tmp_path / "a.key", ["localhost"])
    key = ec.generate_private_key(ec.SECP256R1())
    (tmp_path / "enc.key").write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.BestAvailableEncryption(b"secret"),
        )
    )
    (tmp_path / "bad.key").write_text(
        "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"
    )
    with pytest.raises(TlsError, match=r"api\.tls\.key: .*enc\.key: the key is encrypted"):
        prepare_tls(TlsSection(certificate="a.crt", key="enc.key"), tmp_path, "127.0.0.1")
    with pytest.raises(TlsError, match=r"api\.tls\.key: .*bad\.key: not a PEM private key"):
        prepare_tls(TlsSection(certificate="a.crt", key="bad.key"), tmp_path, "127.0.0.1")


def test_self_signed_does_not_overwrite_a_lone_certificate(tmp_path):
    (tmp_path / "tls").mkdir()
    (tmp_path / "tls" / "certificate.pem").write_text("someone's certificate\n")
    with pytest.raises(TlsError, match="not a PEM certificate"):
        prepare_tls(TlsSection(self_signed=True), tmp_path, "127.0.0.1")
    assert (tmp_path / "tls" / "certificate.pem").read_text() == "someone's certificate\n"
