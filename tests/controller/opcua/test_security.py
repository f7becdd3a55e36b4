"""The OPC UA server's security: trusted certificates, users, anonymous access, mode None."""

from __future__ import annotations

import logging

import pytest
from asyncua.ua.uaerrors import (
    BadCertificateUntrusted,
    BadIdentityTokenRejected,
    BadSecurityPolicyRejected,
    BadUserAccessDenied,
)
from cryptography import x509

from plc_configs.opcua_certificates import thumbprint
from tests.controller.opcua.conftest import opcua_config, serving


async def test_an_untrusted_certificate_is_refused_with_a_clear_log_line(
    ua_line, stranger_pki, caplog
):
    caplog.set_level(logging.WARNING, "lanesort.opcua")
    with pytest.raises(BadCertificateUntrusted):
        async with ua_line.client(stranger_pki, "sue"):
            pass
    trusted = ua_line.server.pki_dir / "trusted"
    rejected = list((ua_line.server.pki_dir / "rejected").iterdir())
    assert len(rejected) == 1
    cert = x509.load_der_x509_certificate(stranger_pki.cert.read_bytes())
    assert x509.load_der_x509_certificate(rejected[0].read_bytes()) == cert
    refusals = [r.getMessage() for r in caplog.records if "certificate refused" in r.getMessage()]
    assert refusals == [
        "OPC UA client certificate refused: CN=Stranger, application urn:lanesort:test:stranger, "
        f"thumbprint {thumbprint(cert)}: not trusted; copy {rejected[0]} to {trusted}/ to trust it"
    ]
    assert 2 not in ua_line.line.plc.disabled_by_host


async def test_a_copied_certificate_is_trusted_without_a_restart(ua_line, stranger_pki):
    with pytest.raises(BadCertificateUntrusted):
        async with ua_line.client(stranger_pki, "vic"):
            pass
    rejected = next((ua_line.server.pki_dir / "rejected").iterdir())
    (ua_line.server.pki_dir / "trusted" / rejected.name).write_bytes(rejected.read_bytes())
    async with ua_line.client(stranger_pki, "vic") as scada:
        assert await scada.read("Line.Name") == "test-line"


async def test_anonymous_and_unsecured_clients_are_refused_by_default(ua_line, scada_pki):
    with pytest.raises(BadIdentityTokenRejected):
        async with ua_line.client(scada_pki, user=None):
            pass
    with pytest.raises(BadSecurityPolicyRejected):  # asyncua alone would let it in
        async with ua_line.client(None, "sue"):
            pass
    with pytest.raises(BadSecurityPolicyRejected):
        async with ua_line.client(scada_pki, "sue", mode="None"):
            pass


async def test_anonymous_viewers_and_mode_none_only_when_configured(tmp_path, caplog):
    caplog.set_level(logging.WARNING, "lanesort.opcua")
    config = opcua_config(allow_anonymous=True, security_modes=["None", "SignAndEncrypt"])
    async with serving(config, tmp_path) as ua_line:
        warnings = [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]
        assert any(
            "offers security mode None: unencrypted and unauthenticated" in w for w in warnings
        )
        assert "None (unsecured)" in ua_line.server.describe()
        async with ua_line.client(None, user=None) as scada:
            assert scada.client.security_policy.Mode.name == "None_"
            assert await scada.read("Line.Chutes.Chute02.Route") == "B"
            with pytest.raises(BadUserAccessDenied):
                await scada.call("Line.Chutes.Chute02.Disable")
            with pytest.raises(BadUserAccessDenied):
                await scada.call("Line.PackML.Abort")
        assert not ua_line.line.plc.disabled_by_host
        assert ua_line.line.snapshot().packml_state.name == "EXECUTE"
        async with ua_line.client(None, "sue") as scada:  # the password travels encrypted
            await scada.call("Line.Chutes.Chute02.Disable")
        assert ua_line.line.plc.disabled_by_host == {2}
