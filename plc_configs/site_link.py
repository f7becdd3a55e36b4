"""A line's link to its site: the journal relayed to the site's PostgreSQL store, and
durable per-parcel events on the site's MQTT broker.

The section is optional: without it the line runs alone. The PostgreSQL password is
never in the file: ``postgres.password_env`` names the environment variable that holds
it (as ``mqtt.password_env`` does for the broker).
"""

from __future__ import annotations

import re
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from plc_configs.base import Strict
from plc_configs.integration import EVENT_TYPES
from plc_configs.mqtt import MqttSection

_NAME = re.compile(r"^[A-Za-z0-9_.-]+$")


class SitePostgresSection(Strict):
    """The site's PostgreSQL store the line relays its journal to."""

    url: str = Field(
        description="postgresql://USER@HOST:PORT/DATABASE (no password: see password_env)"
    )
    password_env: str | None = Field(
        None,
        description="name of the environment variable holding the password "
        "(the password itself is never in the config file; unset = no password)",
    )
    batch_rows: int = Field(
        500, ge=1, le=50_000, description="most rows of one stream sent in one transaction"
    )
    interval_s: float = Field(
        0.2,
        gt=0,
        le=60,
        description="longest wait between two looks at the journal (a journal commit wakes "
        "the relay sooner)",
    )
    min_gap_s: float = Field(
        0.1,
        ge=0,
        le=60,
        description="shortest time between two transactions while the relay keeps up: "
        "PostgreSQL pays per commit more than per row (0: one per journal commit)",
    )
    connect_timeout_s: float = Field(5.0, gt=0, le=60, description="connect and login timeout")
    reconnect_max_s: float = Field(
        10.0, gt=0, le=600, description="longest wait between reconnect attempts (doubling)"
    )

    @field_validator("url")
    @classmethod
    def _url(cls, url: str) -> str:
        parts = urlsplit(url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError(f"expected postgresql://USER@HOST:PORT/DATABASE, got {url!r}")
        if parts.password:
            raise ValueError(
                "the password must not be in the url: put it in the environment variable "
                "named by password_env"
            )
        try:
            port = parts.port
        except ValueError:
            port = None
        if not parts.username or not parts.hostname or port is None:
            raise ValueError(
                f"expected user, host and port, as in postgresql://lanesort@127.0.0.1:5432/site, "
                f"got {url!r}"
            )
        if parts.path.strip("/") == "" or "/" in parts.path.strip("/"):
            raise ValueError(f"expected one database name after the port, got {url!r}")
        return url

    @property
    def user(self) -> str:
        """The login name."""
        return urlsplit(self.url).username or ""

    @property
    def host(self) -> str:
        """The server's host name or address."""
        return urlsplit(self.url).hostname or ""

    @property
    def port(self) -> int:
        """The server's TCP port."""
        return urlsplit(self.url).port or 5432

    @property
    def database(self) -> str:
        """The database name."""
        return urlsplit(self.url).path.strip("/")


class SiteLinkSection(Strict):
    """The line's link to its site (``site:``): the store and the event broker."""

    site: str = Field(description="the site's name (in MQTT topics and the site store)")
    postgres: SitePostgresSection | None = Field(
        None, description="the site store the journal is relayed to (unset: no relay)"
    )
    mqtt: MqttSection | None = Field(
        None,
        description="the site broker durable parcel events are published to, at QoS 1, on "
        "lanesort/v1/{site}/{line}/events/{type} (unset: none)",
    )
    event_types: list[str] = Field(
        list(EVENT_TYPES),
        description="event types published over MQTT (they must also be in upstream.events: "
        "both are read from the journal's outbox)",
    )
    hmi_url: str | None = Field(None, description="this line's HMI, as the site links to it")
    api_url: str | None = Field(None, description="this line's REST API, as the site calls it")

    @field_validator("site")
    @classmethod
    def _site(cls, value: str) -> str:
        if not _NAME.match(value):
            raise ValueError(
                f"expected letters, digits, '_', '.', '-' (an MQTT topic level), got {value!r}"
            )
        return value

    @field_validator("event_types")
    @classmethod
    def _known(cls, value: list[str]) -> list[str]:
        unknown = sorted(set(value) - set(EVENT_TYPES))
        if unknown:
            raise ValueError(f"unknown event types {unknown}; known: {list(EVENT_TYPES)}")
        return value
