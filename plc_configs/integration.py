"""The line config's integration sections: the REST API, the OPC UA server and upstream
reporting to the TMS."""

from __future__ import annotations

from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from plc_configs.base import Strict

#: Every event type the controller reports upstream.
EVENT_TYPES = (
    "parcel.measured",
    "parcel.sorted",
    "parcel.rejected",
    "parcel.lost",
    "container.closed",
    "parcel.put",
    "parcel.short",
    "stop.complete",
    "truck.loaded",
)


class TlsSection(Strict):
    """HTTPS for a web server (the API and the HMI): a certificate and its key, or a
    self-signed pair made on first start for commissioning."""

    certificate: str | None = Field(
        None,
        description="PEM certificate file (the chain after it, if any); relative to the data "
        "dir. Default with self_signed: tls/certificate.pem",
    )
    key: str | None = Field(
        None,
        description="PEM private key file of the certificate (unencrypted, mode 0600); "
        "relative to the data dir. Default with self_signed: tls/key.pem",
    )
    self_signed: bool = Field(
        False,
        description="commissioning: make a self-signed pair (EC P-256, 825 days, the host "
        "names and localhost) where the files are missing, and log its SHA-256 fingerprint; "
        "replace it with the site's certificate for production",
    )

    @model_validator(mode="after")
    def _files_or_self_signed(self) -> TlsSection:
        if not self.self_signed and (self.certificate is None or self.key is None):
            raise ValueError("set certificate and key, or self_signed: true")
        return self


class ApiSection(Strict):
    """The REST API (``/api/v1``, OpenAPI at ``/docs``) served by the controller process."""

    enabled: bool = Field(True, description="serve the REST API")
    host: str = Field(
        "127.0.0.1",
        description="address to listen on; 127.0.0.1 keeps the API on this machine, "
        "0.0.0.0 opens it to the network (every endpoint but health needs a token)",
    )
    port: int = Field(8080, ge=0, le=65535, description="TCP port (0: any free port)")
    tls: TlsSection | None = Field(
        None, description="serve the API and the HMI over HTTPS (absent: plain HTTP)"
    )
    tokens_path: str = Field(
        "tokens.sqlite",
        description="hashed API tokens (`lanesort token create`); relative to line.data_dir",
    )
    max_upload_mb: int = Field(1024, gt=0, description="largest manifest upload accepted, in MiB")
    sync_rows_limit: int = Field(
        10_000,
        gt=0,
        description="largest JSON manifest body answered synchronously; larger bodies and "
        "every file upload run as an import job",
    )


class HmiSection(Strict):
    """The supervisors' web HMI, served by the API's web server (needs ``api.enabled``)."""

    enabled: bool = Field(True, description="serve the HMI pages")
    path: str = Field(
        "/hmi",
        pattern=r"^/[a-z0-9-]+$",
        description="URL path the HMI is served under (the API keeps /api/v1 and /docs)",
    )
    users_path: str = Field(
        "users.sqlite",
        description="HMI users and their hashed passwords (`lanesort user add`); "
        "relative to line.data_dir",
    )
    session_idle_min: float = Field(
        30, gt=0, le=24 * 60, description="a session ends after this long without a touch"
    )
    session_max_h: float = Field(
        12, gt=0, le=7 * 24, description="a session ends this long after login, in any case"
    )
    login_attempts: int = Field(
        5, ge=1, description="wrong passwords in a row before a user is locked out for a minute"
    )


SecurityMode = Literal["None", "Sign", "SignAndEncrypt"]
"""An OPC UA message security mode (with policy Basic256Sha256 unless None)."""


class OpcuaServerSection(Strict):
    """LaneSort's own OPC UA server, for SCADA and MES: the line, its chutes, devices, alarms."""

    enabled: bool = Field(False, description="serve the line over OPC UA")
    host: str = Field(
        "127.0.0.1",
        description="address to listen on; 0.0.0.0 opens it to the network (clients need a "
        "trusted certificate and, unless allow_anonymous, a user)",
    )
    port: int = Field(4841, ge=0, le=65535, description="TCP port (0: any free port)")
    path: str = Field(
        "/lanesort",
        pattern=r"^(/[A-Za-z0-9._-]+)*$",
        description="endpoint path: opc.tcp://host:port<path>",
    )
    security_modes: list[SecurityMode] = Field(
        ["Sign", "SignAndEncrypt"],
        min_length=1,
        description="Basic256Sha256 modes offered; None (no signing, no encryption) only "
        "when listed here, and the log warns",
    )
    pki_dir: str = Field(
        "opcua-pki",
        description="the server certificate (own/, made on first start), trusted client "
        "certificates (trusted/) and refused ones (rejected/); relative to line.data_dir",
    )
    allow_anonymous: bool = Field(
        False, description="let clients in without a user name (as viewers: read only)"
    )
    update_interval_ms: float = Field(
        500, ge=50, le=60_000, description="how often the served values are refreshed"
    )


class UpstreamSection(Strict):
    """Webhook delivery of parcel events to the TMS, through the durable outbox."""

    webhook_url: str | None = Field(
        None,
        description="http(s) URL the TMS receives parcel events on; without it events stay "
        "in the outbox (nothing is lost) until a URL is configured",
    )
    secret_env: str | None = Field(
        None,
        description="name of the environment variable holding the HMAC-SHA256 signing "
        "secret; events are signed (X-LaneSort-Signature) when it is set",
    )
    events: list[str] = Field(
        list(EVENT_TYPES),
        description="event types to deliver (container.closed: a chute's container was "
        "closed out, with the parcels in it)",
    )
    timeout_ms: float = Field(5000, gt=0, description="one webhook POST, connect to answer")
    concurrency: int = Field(
        4,
        ge=1,
        le=64,
        description="delivery lanes; events of one parcel always share a lane (in order)",
    )
    max_attempts: int = Field(
        240,
        ge=1,
        description="attempts before an event is dead-lettered (alarm; replay via the API); "
        "with full jitter up to backoff_max_ms the mean wait is half of it: the default "
        "outlasts a TMS outage of about an hour",
    )
    backoff_min_ms: float = Field(500, gt=0, description="first retry delay")
    backoff_max_ms: float = Field(
        30_000, gt=0, description="longest retry delay (exponential, with full jitter)"
    )
    keep_delivered_days: float = Field(
        7, gt=0, description="delivered events are purged from the outbox after this"
    )

    @field_validator("webhook_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        if value is None:
            return value
        parts = urlsplit(value)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
        return value

    @field_validator("events")
    @classmethod
    def _known_events(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(EVENT_TYPES))
        if unknown:
            raise ValueError(f"unknown event types {unknown}; known: {list(EVENT_TYPES)}")
        return value

    @model_validator(mode="after")
    def _backoff_order(self) -> UpstreamSection:
        if self.backoff_max_ms < self.backoff_min_ms:
            raise ValueError("backoff_max_ms must not be shorter than backoff_min_ms")
        return self
