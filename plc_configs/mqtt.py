"""The MQTT broker a line talks to (the AMR fleet over VDA 5050, later SCADA over Sparkplug B).

The password is never in the file: ``password_env`` names the environment variable that
holds it. ``mqtts://`` means TLS (``ca_file`` to trust a private CA, ``cert_file`` and
``key_file`` for a client certificate); ``mqtt://`` is plain TCP.
"""

from __future__ import annotations

from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from plc_configs.base import Strict

SCHEMES = {"mqtt": 1883, "mqtts": 8883}
"""URL scheme → the port MQTT usually listens on (for the error message only: the port is
always written in the URL)."""


class MqttSection(Strict):
    """One MQTT broker connection: address, credentials, TLS, keepalive and reconnect timing."""

    url: str = Field(
        description="mqtt://HOST:PORT (plain TCP) or mqtts://HOST:PORT (TLS), e.g. "
        "mqtt://127.0.0.1:1883"
    )
    username: str | None = Field(None, description="user name (unset = anonymous)")
    password_env: str | None = Field(
        None,
        description="name of the environment variable holding the password "
        "(the password itself is never in the config file)",
    )
    ca_file: str | None = Field(
        None, description="mqtts: CA certificate(s) (PEM) to trust; unset = the system's"
    )
    cert_file: str | None = Field(None, description="mqtts: client certificate (PEM)")
    key_file: str | None = Field(None, description="mqtts: the client certificate's key (PEM)")
    keepalive_s: int = Field(
        15,
        ge=1,
        le=65535,
        description="MQTT keepalive: the broker drops us (and sends our will) after 1.5 x this "
        "without a packet",
    )
    client_id: str | None = Field(
        None, description="MQTT client identifier (unset = made from the line's name)"
    )
    connect_timeout_s: float = Field(
        5.0, gt=0, le=60, description="longest wait for the TCP/TLS connect and the CONNACK"
    )
    reconnect_min_s: float = Field(0.5, gt=0, description="first wait before reconnecting")
    reconnect_max_s: float = Field(
        10.0, gt=0, description="longest wait between attempts (doubling, jittered)"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in SCHEMES:
            raise ValueError(f"expected mqtt://HOST:PORT or mqtts://HOST:PORT (TLS), got {url!r}")
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.hostname or port is None:
            raise ValueError(
                f"expected host and port, as in {parts.scheme}://127.0.0.1:"
                f"{SCHEMES[parts.scheme]}, got {url!r}"
            )
        if parts.path not in ("", "/") or parts.query or parts.username or parts.password:
            raise ValueError(
                f"expected only {parts.scheme}://HOST:PORT (user name and password have "
                f"their own keys), got {url!r}"
            )
        return url

    @model_validator(mode="after")
    def _consistent(self) -> MqttSection:
        if self.password_env and not self.username:
            raise ValueError("password_env: set username too")
        if (self.cert_file is None) != (self.key_file is None):
            raise ValueError("cert_file and key_file: set both (client certificate) or neither")
        if not self.tls and (self.ca_file or self.cert_file):
            raise ValueError("ca_file/cert_file/key_file: TLS needs an mqtts:// url")
        if self.reconnect_min_s > self.reconnect_max_s:
            raise ValueError("reconnect_min_s: must not be more than reconnect_max_s")
        return self

    @property
    def host(self) -> str:
        """The broker's host name or address."""
        host = urlsplit(self.url).hostname
        assert host is not None  # checked by the validator
        return host

    @property
    def port(self) -> int:
        """The broker's TCP port."""
        port = urlsplit(self.url).port
        assert port is not None  # checked by the validator
        return port

    @property
    def tls(self) -> bool:
        """True for ``mqtts://``."""
        return urlsplit(self.url).scheme == "mqtts"
