r"""The webhook signature against known vectors, not against the function that makes it.

The expected hex digests were computed outside Python, with OpenSSL 3.0.19, from the
format the README documents (``v1`` = HMAC-SHA256 of ``"<t>.<raw body>"``, lower-case
hex)::

    body='{"event_id":"0b5c6d1e","type":"parcel.sorted","parcel_id":"P-1","sequence":1,"chute":3}'
    printf '%s' "1735732800.$body" | openssl dgst -sha256 -hmac 'whsec-test-0001'
    printf '1735732800.{"consignee":"Z\xc3\xbcrich"}' | openssl dgst -sha256 -hmac 'whsec-test-0001'

They are hard-coded here on purpose: recomputing them with ``hmac`` in the test would be
a second copy of the implementation, not a check of it.
"""

from __future__ import annotations

import pytest

from plc_configs.webhook import signature, signature_header, verify_signature

SECRET = "whsec-test-0001"
T = 1735732800  # 2025-01-01T12:00:00Z
BODY = b'{"event_id":"0b5c6d1e","type":"parcel.sorted","parcel_id":"P-1","sequence":1,"chute":3}'
BODY_HEX = "692ba82e14d41be7d9cbeb2f0f29960a4255207fbe5906616cedf4e72c48ebd9"  # openssl
UTF8_BODY = '{"consignee":"Zürich"}'.encode()  # the raw bytes are signed, not the text
UTF8_HEX = "8de99ee56fe23ab68ebe0a70f14cc61cc41a9d78bfbd8c828709ea8bd58cdbcb"  # openssl


@pytest.mark.parametrize(("body", "expected"), [(BODY, BODY_HEX), (UTF8_BODY, UTF8_HEX)])
def test_the_signer_matches_the_openssl_vector(body: bytes, expected: str):
    assert signature(SECRET, T, body) == expected
    assert signature_header(SECRET, T, body) == f"t={T},v1={expected}"


@pytest.mark.parametrize(("body", "expected"), [(BODY, BODY_HEX), (UTF8_BODY, UTF8_HEX)])
def test_verify_accepts_the_openssl_vector(body: bytes, expected: str):
    assert verify_signature(SECRET, f"t={T},v1={expected}", body, now=T + 10) is None


def test_verify_rejects_a_one_byte_change_of_body_signature_or_timestamp():
    header = f"t={T},v1={BODY_HEX}"
    changed_body = BODY.replace(b'"chute":3', b'"chute":4')
    assert len(changed_body) == len(BODY) and changed_body != BODY
    assert "does not match" in (verify_signature(SECRET, header, changed_body, T) or "")
    flipped = BODY_HEX[:-1] + ("0" if BODY_HEX[-1] != "0" else "1")
    bad_hex = verify_signature(SECRET, f"t={T},v1={flipped}", BODY, T)
    assert "does not match" in (bad_hex or "")
    other_t = verify_signature(SECRET, f"t={T + 1},v1={BODY_HEX}", BODY, T)
    assert "does not match" in (other_t or "")
    assert "does not match" in (verify_signature("whsec-test-0002", header, BODY, T) or "")


def test_verify_rejects_a_stale_timestamp_even_with_the_right_digest():
    header = f"t={T},v1={BODY_HEX}"
    assert verify_signature(SECRET, header, BODY, now=T + 300) is None
    assert "off" in (verify_signature(SECRET, header, BODY, now=T + 301) or "")
