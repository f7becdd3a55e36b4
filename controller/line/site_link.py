"""The line's link to its site (``site:``): the journal relay and the MQTT events, built
from the config, with their secrets read from the environment."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from dataclasses import dataclass

from controller.alarms.board import AlarmBoard
from controller.errors import ConfigError
from controller.journal.writer import Journal
from controller.site.events import SiteEvents
from controller.site.relay import SiteRelay
from plc_configs.schema import LineConfig


@dataclass
class SiteLink:
    """The relay and the events publisher (each None when not configured)."""

    relay: SiteRelay | None = None
    events: SiteEvents | None = None


def _secret(key: str, name: str | None, what: str) -> str | None:
    if name is None:
        return None
    value = os.environ.get(name)
    if not value:
        raise ConfigError(
            f"{key}: the environment variable {name} is not set or empty (it holds {what})"
        )
    return value


def build_site_link(
    config: LineConfig,
    journal: Journal,
    alarms: AlarmBoard,
    clock: Callable[[], float] = time.monotonic,
) -> SiteLink:
    """The relay and the publisher of ``config.site``, registered as the journal's commit
    listeners; ConfigError naming the key when a password's variable is missing."""
    site = config.site
    link = SiteLink()
    if site is None:
        return link
    line = config.line.name
    if site.postgres is not None:
        pg = site.postgres
        password = _secret(
            "site.postgres.password_env", pg.password_env, "the site store's password"
        )
        link.relay = SiteRelay(
            line,
            site.site,
            journal.path,
            pg.url,
            password=password,
            batch_rows=pg.batch_rows,
            interval_s=pg.interval_s,
            min_gap_s=pg.min_gap_s,
            connect_timeout_s=pg.connect_timeout_s,
            reconnect_max_s=pg.reconnect_max_s,
            hmi_url=site.hmi_url,
            api_url=site.api_url,
            alarms=alarms,
            clock=clock,
        )
        journal.commit_listeners.append(link.relay.wake)
    if site.mqtt is not None:
        _secret("site.mqtt.password_env", site.mqtt.password_env, "the site broker's password")
        link.events = SiteEvents(
            site.site,
            line,
            site.mqtt,
            journal.path,
            site.event_types,
            alarms=alarms,
            clock=clock,
        )
        journal.commit_listeners.append(link.events.notify_threadsafe)
    return link
