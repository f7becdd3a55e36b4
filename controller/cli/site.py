"""``lanesort site --config SITE.yaml``: the site service on its own web server.

Serves the site API, ``/metrics`` and (through a web extension from the ``hmi`` package)
the site HMI page on ``http.host:http.port``, watches every line and retries parts
waiting for lines, until cancelled.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Sequence
from pathlib import Path

from fastapi import FastAPI

from controller.api.hardening import add_hardening_headers
from controller.api.tls import prepare_tls
from controller.cli.serve import bind, serve
from controller.errors import ConfigError
from controller.site.service import Site, create_site_app
from drivers.cancelling import start_guarded
from plc_configs.site import SiteConfig, SiteConfigError, load_site_config

log = logging.getLogger("lanesort.site")

SiteWebExtension = Callable[[FastAPI, Site], "str | None"]
"""Mounts pages on the site's app (the site HMI); returns a line to announce or None."""


def load_site(path: Path) -> SiteConfig:
    """The site config at ``path``; its problems as a :class:`ConfigError`."""
    try:
        return load_site_config(path)
    except SiteConfigError as err:
        raise ConfigError(str(err)) from err


async def run_site(
    site: Site,
    announce: Callable[[str], None],
    web: Sequence[SiteWebExtension] = (),
) -> None:
    """Serve ``site`` until cancelled (the port is bound first, so a taken one fails at once)."""
    http = site.config.http
    tls = await asyncio.to_thread(prepare_tls, http.tls, site.data_dir, http.host, "http.tls")
    sock = bind(http.host, http.port, "http")
    host, port = sock.getsockname()[:2]
    site.url = f"{'https' if tls else 'http'}://{host}:{port}"
    site.https = tls is not None
    app = create_site_app(site)
    add_hardening_headers(app, https=site.https)
    announce(f"site {site.config.site.name}: API on {site.url}/docs, metrics on {site.url}/metrics")
    if tls is not None:
        announce(
            f"HTTPS certificate {tls.certificate}{' (self-signed, made now)' if tls.made else ''}"
            f": SHA-256 fingerprint {tls.fingerprint}"
        )
    for mount in web:
        text = mount(app, site)
        if text:
            announce(text)
    for name, line in site.config.lines.items():
        token = "token set" if site.distributor.token(name) else "NO TOKEN"
        announce(f"line {name}: API {line.api_url} ({token}), HMI {line.hmi_url or '-'}")
    async with asyncio.TaskGroup() as group:
        start_guarded(group, serve(app, sock, tls=tls), "site-http")
        start_guarded(group, site.run(), "site")
