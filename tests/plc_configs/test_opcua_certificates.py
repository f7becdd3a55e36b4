"""This application's OPC UA certificate: made once with the URI and hosts, again when stale."""

from __future__ import annotations

import ipaddress
import os
import stat

from cryptography import x509

from plc_configs.opcua_certificates import ensure_certificate

URI = "urn:lanesort:test:app"


def _cert(path):
    return x509.load_der_x509_certificate(path.read_bytes())


def test_a_certificate_is_made_once_with_the_uri_and_hosts(tmp_path):
    cert_path, key_path = ensure_certificate(tmp_path, URI, "Test App", ("localhost", "10.0.0.7"))
    cert = _cert(cert_path)
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    assert san.get_values_for_type(x509.UniformResourceIdentifier) == [URI]
    assert "localhost" in san.get_values_for_type(x509.DNSName)
    assert san.get_values_for_type(x509.IPAddress) == [ipaddress.ip_address("10.0.0.7")]
    assert cert.public_key().key_size == 2048
    assert cert.signature_hash_algorithm.name == "sha256"
    assert stat.S_IMODE(os.stat(key_path).st_mode) == 0o600
    assert {p.name for p in tmp_path.iterdir()} == {"own", "trusted", "rejected"}
    again = ensure_certificate(tmp_path, URI, "Test App")
    assert again == (cert_path, key_path) and _cert(cert_path) == cert


def test_a_certificate_of_another_uri_is_made_again(tmp_path, caplog):
    cert_path, _ = ensure_certificate(tmp_path, URI, "Test App")
    first = _cert(cert_path)
    ensure_certificate(tmp_path, "urn:lanesort:renamed", "Test App")
    assert _cert(cert_path) != first
    assert "does not name urn:lanesort:renamed" in caplog.text
