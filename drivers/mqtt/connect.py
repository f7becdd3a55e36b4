"""What a connection attempt needs and what its failure means: the password from the
environment, the TLS context, and the wording of a refused or failed connect.

A broker that closes the connection before its CONNACK (under TLS 1.3 a broker that wants a
client certificate, or does not trust ours, sends its alert only after the client finished
the handshake) leaves aiomqtt 2.5 waiting for its whole connect timeout with no reason:
:func:`fail_before_connack` makes that connect fail at once with paho's last error. When
the client's CONNECT reaches the broker after it closed, the kernel's reset discards the
alert and the error is a bare EOF or reset: the wording then names the likely causes.
"""

from __future__ import annotations

import os
import ssl
from typing import Any

import aiomqtt
import paho.mqtt.client as paho
from aiomqtt.exceptions import MqttConnectError

from drivers.errors import ConnectionLost
from plc_configs.mqtt import MqttSection

REFUSED = {
    4: "bad user name or password",  # MQTT 3.1.1 CONNACK return codes
    5: "not authorised",
    134: "bad user name or password",  # the MQTT 5 reason codes paho 2 maps them to
    135: "not authorised",
}


CLIENT_CERTIFICATE_REFUSED = ("unknown ca", "bad certificate", "certificate unknown", "expired")
"""TLS alerts (as OpenSSL words them) of a broker that refused our client certificate."""


class ClosedBeforeConnack(aiomqtt.MqttError):
    """The broker closed the connection before its CONNACK; ``detail`` is paho's last error
    (e.g. ``[SSL: TLSV13_ALERT_CERTIFICATE_REQUIRED] …``) or None."""

    def __init__(self, detail: str | None):
        super().__init__(detail or "the broker closed the connection before its CONNACK")
        self.detail = detail


def fail_before_connack(client: aiomqtt.Client) -> None:
    """Make ``client``'s connect raise :class:`ClosedBeforeConnack` as soon as the broker
    closes the connection before its CONNACK, instead of waiting for the timeout.

    Uses aiomqtt 2.5's private ``_client`` (the paho client) and ``_connected`` (the future
    ``__aenter__`` awaits): call it on a new client, before ``__aenter__``."""
    inner: paho.Client = client._client
    connected = client._connected
    loop = client._loop
    errors: list[str] = []
    aiomqtt_on_disconnect = inner.on_disconnect

    def on_log(_client: Any, _userdata: Any, level: int, text: str) -> None:
        if level == paho.MQTT_LOG_ERR:
            errors[:] = [text.removeprefix("failed to receive on socket: ")]

    def fail() -> None:
        if connected is client._connected and not connected.done():
            connected.set_exception(ClosedBeforeConnack(errors[-1] if errors else None))

    def on_disconnect(*args: Any) -> None:
        if aiomqtt_on_disconnect is not None:
            aiomqtt_on_disconnect(*args)
        loop.call_soon_threadsafe(fail)

    inner.on_log = on_log
    inner.on_disconnect = on_disconnect


def read_password(section: MqttSection) -> str | None:
    """The password from ``section.password_env``; ValueError naming a missing variable."""
    if not section.password_env:
        return None
    value = os.environ.get(section.password_env)
    if value is None:
        raise ValueError(
            f"mqtt.password_env: the environment variable {section.password_env} is not set "
            "(it holds the MQTT password)"
        )
    return value


def tls_context(name: str, section: MqttSection) -> ssl.SSLContext | None:
    """The TLS context of an ``mqtts://`` section (None for ``mqtt://``); ConnectionLost
    when its files cannot be loaded."""
    if not section.tls:
        return None
    try:
        context = ssl.create_default_context(cafile=section.ca_file)
        if section.cert_file:
            context.load_cert_chain(section.cert_file, section.key_file)
    except (OSError, ssl.SSLError) as err:
        raise ConnectionLost(
            name, section.url, f"TLS setup failed: {err} (check ca_file, cert_file and key_file)"
        ) from err
    return context


def describe(
    name: str, section: MqttSection, err: aiomqtt.MqttError, *, connected: bool
) -> ConnectionLost:
    """The ConnectionLost an integrator can act on, from aiomqtt's error (aiomqtt raises
    ``MqttError(str(os_error)) from None``: the OSError is still its ``__context__``)."""
    url = section.url
    cause = err.__cause__ or err.__context__
    if isinstance(err, MqttConnectError):
        code = int(getattr(err.rc, "value", err.rc or 0))
        if code in REFUSED and section.username is None:
            text = (
                f"broker {url} refused the connection: {REFUSED[code]} (no username is "
                "configured, and the broker refuses anonymous clients)"
            )
        elif code in REFUSED:
            text = (
                f"broker {url} refused the connection: {REFUSED[code]} "
                "(check username and password_env)"
            )
        else:
            text = f"broker {url} refused the connection: {err}"
    elif isinstance(err, ClosedBeforeConnack):
        detail = err.detail or "no reason given"
        if "certificate required" in detail:
            text = (
                f"TLS with broker {url} failed: the broker requires a client certificate "
                f"(set cert_file and key_file): {detail}"
            )
        elif any(alert in detail for alert in CLIENT_CERTIFICATE_REFUSED):
            text = (
                f"TLS with broker {url} failed: the broker did not accept our client "
                f"certificate (cert_file must be signed by a CA the broker trusts): {detail}"
            )
        elif section.tls:  # e.g. the CONNECT met the broker's close: the alert is lost
            text = (
                f"TLS with broker {url} failed: the broker closed the connection right after "
                f"the handshake ({detail}); a broker that requires a client certificate does "
                "this when it gets none or does not trust ours (check cert_file and key_file)"
            )
        else:
            text = f"broker {url} closed the connection before accepting it: {detail}"
    elif isinstance(cause, ssl.SSLCertVerificationError):
        why = cause.verify_message or str(cause)
        if cause.verify_code in (62, 64):  # X509_V_ERR_HOSTNAME_MISMATCH, _IP_ADDRESS_MISMATCH
            hint = "its subjectAltName must name the host of the url"
        else:
            hint = "ca_file must hold the CA that signed it; unset, the system's CAs are used"
        text = (
            f"TLS with broker {url} failed: certificate verification of the broker failed: "
            f"{why} ({hint})"
        )
    elif isinstance(cause, ssl.SSLError | ssl.CertificateError):
        text = (
            f"TLS with broker {url} failed: {cause} (check ca_file, cert_file, key_file "
            "and that the broker speaks TLS on this port)"
        )
    elif not connected and isinstance(cause, OSError):
        text = f"cannot connect to broker {url}: {cause.strerror or cause}"
        if section.tls and isinstance(cause, ConnectionResetError):
            text += " during the TLS handshake (does the broker speak TLS on this port?)"
    elif not connected:
        text = f"cannot connect to broker {url}: {err}"
    else:
        text = f"lost the connection to broker {url}: {err}"
    result = ConnectionLost(name, url, text)
    result.__cause__ = err
    return result
