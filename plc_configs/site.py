"""The site configuration (``SITE.yaml``): one site service over the hub's lines.

Sections: ``site`` (name, data folder), ``postgres`` (the site store; the password comes
from an environment variable, never from this file), ``http`` (where the site's API, HMI
and metrics are served), ``auth`` (the site's own API tokens and HMI users), ``lines``
(each line's REST API, HMI and the environment variable holding the API token the site
pushes manifests and route plans with) and ``routes`` (route → line: an explicit map,
then prefixes, then regular expressions, then an optional default line).

Problems are reported like a line config's: file, line, key path and what was expected
(:func:`load_site_config`).
"""

from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import urlsplit

from pydantic import Field, field_validator, model_validator

from plc_configs.base import Strict
from plc_configs.integration import TlsSection
from plc_configs.loader import LineConfigError, load_config, parse_config

_NAME = r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$"
_ENV = r"^[A-Za-z_][A-Za-z0-9_]{0,127}$"


class SiteConfigError(LineConfigError):
    """A site configuration file could not be read or is not valid (every problem listed)."""


def _http_url(value: str, what: str) -> str:
    parts = urlsplit(value)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http:// or https:// URL of the {what}")
    return value.rstrip("/")


class SiteSection(Strict):
    """The site's name and where it keeps its files."""

    name: str = Field(pattern=_NAME, description="the site's name (shown on the HMI)")
    data_dir: str = Field(
        "site-data", description="folder of the site's tokens and users (relative paths: cwd)"
    )


class PostgresSection(Strict):
    """The site store (PostgreSQL) every line relays into."""

    url: str = Field(description="postgresql://USER@HOST:PORT/DATABASE (no password here)")
    password_env: str | None = Field(
        None,
        pattern=_ENV,
        description="name of the environment variable holding the password (none: no password)",
    )
    connect_timeout_s: float = Field(3.0, gt=0, le=60, description="one connection attempt")
    retention_days: float | None = Field(
        90,
        gt=0,
        description="the site service deletes parcels (with their events), containers, "
        "moves, trucks and put-wall events older than this (null: keep everything); the "
        "counters still count every parcel; the site's database user needs DELETE",
    )
    purge_every_h: float = Field(
        1.0, gt=0, le=7 * 24, description="how often the retention pass runs (also at start)"
    )

    @model_validator(mode="after")
    def _check_url(self) -> PostgresSection:
        # Checked on the section, not the field, so the URL is never echoed in the
        # message: it may hold the password this check refuses.
        parts = urlsplit(self.url)
        if parts.scheme not in ("postgresql", "postgres"):
            raise ValueError("url: expected postgresql://USER@HOST:PORT/DATABASE")
        if parts.password is not None:
            raise ValueError(
                "url: the password must not be in the file: put it in an environment "
                "variable and name that variable in postgres.password_env"
            )
        if not parts.hostname or not parts.path.strip("/"):
            raise ValueError("url: expected postgresql://USER@HOST:PORT/DATABASE (host, database)")
        return self


class HttpSection(Strict):
    """Where the site's REST API, HMI and ``/metrics`` are served."""

    host: str = Field("127.0.0.1", description="address to listen on (0.0.0.0: the network)")
    port: int = Field(8090, ge=0, le=65535, description="TCP port (0: any free port)")
    tls: TlsSection | None = Field(
        None,
        description="serve HTTPS (a certificate and key, or self_signed: made on first start "
        "in site.data_dir/tls for commissioning, its fingerprint logged); unset: HTTP",
    )


class AuthSection(Strict):
    """The site's own API tokens and HMI users (as on a line: roles tms, supervisor, viewer)."""

    tokens_path: str = Field(
        "tokens.sqlite",
        description="hashed API tokens (`lanesort token create --site SITE.yaml`); "
        "relative to site.data_dir",
    )
    users_path: str = Field(
        "users.sqlite",
        description="HMI users (`lanesort user add --site SITE.yaml`); relative to site.data_dir",
    )
    session_idle_min: float = Field(30, gt=0, le=24 * 60, description="HMI idle session end")
    session_max_h: float = Field(12, gt=0, le=7 * 24, description="HMI session end in any case")
    login_attempts: int = Field(5, ge=1, description="wrong passwords before a 1 min lockout")


class HmiSection(Strict):
    """The site's HMI page."""

    enabled: bool = Field(True, description="serve the site HMI page")
    path: str = Field("/hmi", pattern=r"^/[a-z0-9-]+$", description="URL path of the HMI")
    poll_s: float = Field(2.0, gt=0, le=60, description="how often each line's state is asked")


class SiteLine(Strict):
    """One line of the site, as the site reaches it."""

    api_url: str = Field(description="the line's REST API base URL (http://host:port)")
    hmi_url: str | None = Field(None, description="the line's own HMI (linked from the site)")
    token_env: str | None = Field(
        None,
        pattern=_ENV,
        description="environment variable with a line API token (role tms) the site uses to "
        "push manifests and route plans and read the line's state",
    )
    timeout_s: float = Field(3.0, gt=0, le=120, description="one request to the line")

    @field_validator("api_url")
    @classmethod
    def _check_api(cls, value: str) -> str:
        return _http_url(value, "line's REST API")

    @field_validator("hmi_url")
    @classmethod
    def _check_hmi(cls, value: str | None) -> str | None:
        return None if value is None else _http_url(value, "line's HMI")


class RoutesSection(Strict):
    """Which line sorts a route: ``map`` first, then the longest matching ``prefixes`` key,
    then the first matching ``patterns`` key (regular expressions, whole route), then
    ``default``. A route no rule matches is reported as unassigned."""

    map: dict[str, str] = Field(default_factory=dict, description="route -> line")
    prefixes: dict[str, str] = Field(default_factory=dict, description="route prefix -> line")
    patterns: dict[str, str] = Field(
        default_factory=dict, description="regular expression (whole route) -> line"
    )
    default: str | None = Field(None, description="line of every route no rule matches")

    @field_validator("patterns")
    @classmethod
    def _compile(cls, value: dict[str, str]) -> dict[str, str]:
        bad = []
        for pattern in value:
            try:
                re.compile(pattern)
            except re.error as err:
                bad.append(f"{pattern}: not a regular expression ({err})")
        if bad:
            raise ValueError("\n".join(bad))
        return value


class SiteConfig(Strict):
    """The whole site service."""

    site: SiteSection
    postgres: PostgresSection
    http: HttpSection = HttpSection()
    auth: AuthSection = AuthSection()
    hmi: HmiSection = HmiSection()
    lines: dict[str, SiteLine] = Field(min_length=1)
    routes: RoutesSection = RoutesSection()

    @model_validator(mode="after")
    def _known_lines(self) -> SiteConfig:
        problems = []
        for name in self.lines:
            if not re.match(_NAME, name):
                problems.append(f"lines.{name}: a line name is 1-64 letters, digits or _.-")
        for section in ("map", "prefixes", "patterns"):
            for key, line in getattr(self.routes, section).items():
                if line not in self.lines:
                    problems.append(f"routes.{section}.{key}: {_unknown(line, self.lines)}")
        if self.routes.default is not None and self.routes.default not in self.lines:
            problems.append(f"routes.default: {_unknown(self.routes.default, self.lines)}")
        if problems:
            raise ValueError("\n".join(problems))
        return self


def _unknown(line: str, lines: dict[str, SiteLine]) -> str:
    return f"no line {line!r} in lines (known: {', '.join(sorted(lines))})"


def parse_site_config(
    text: str, source: str = "<site config>", base_dir: Path | None = None
) -> SiteConfig:
    """Validate SITE.yaml text; raise :class:`SiteConfigError` listing every problem."""
    try:
        return parse_config(SiteConfig, text, source, base_dir)
    except SiteConfigError:
        raise
    except LineConfigError as err:
        raise SiteConfigError(err.problems) from err


def load_site_config(path: str | Path) -> SiteConfig:
    """Read and validate the site configuration file at ``path``."""
    return load_config(path, parse_site_config, SiteConfigError)
