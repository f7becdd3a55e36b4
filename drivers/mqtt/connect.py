"""What a connection attempt needs and what its failure means: the password from the
environment, the TLS context, and the wording of a refused or failed connect."""

from __future__ import annotations

import os
import ssl

import aiomqtt
from aiomqtt.exceptions import MqttConnectError

from drivers.errors import ConnectionLost
from plc_configs.mqtt import MqttSection

REFUSED = {
    4: "bad user name or password",  # MQTT 3.1.1 CONNACK return codes
    5: "not authorised",
    134: "bad user name or password",  # the MQTT 5 reason codes paho 2 maps them to
    135: "not authorised",
}


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
